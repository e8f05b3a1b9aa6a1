"""Simulated days of a vehicle for the live twin's tests, its benchmark and its docs' figures."""

from __future__ import annotations

import numpy as np

from service.simulated_telemetry import SimulatedVehicle
from service.twin import LiveTwin

PRESET = "model3_rwd_lfp"


def charge_day(seed: int = 1) -> SimulatedVehicle:
    """Two commutes on the plateau, then an 11 kW charge to full: it leaves the plateau above 95 %."""
    car = SimulatedVehicle(PRESET, soc=0.6, ambient_degC=20.0, seed=seed)
    car.drive("commute")
    car.park(9 * 3600)
    car.drive("commute")
    car.park(2 * 3600)
    car.charge(11e3, until_soc=1.0)
    car.park(8 * 3600)
    return car


def low_day(seed: int = 1) -> SimulatedVehicle:
    """A long highway day from the middle of the plateau down below 20 %."""
    car = SimulatedVehicle(PRESET, soc=0.5, ambient_degC=20.0, seed=seed)
    for _ in range(12):
        car.drive("hwfet", dt=2.0)
    car.park(3600, sample_every=600)
    car.drive("udds", dt=2.0)
    car.park(6 * 3600)
    return car


def track(car: SimulatedVehicle, soc_init: float, pack: dict | None = None) -> dict[str, np.ndarray]:
    """Feed ``car``'s samples one by one; the truth and the estimate after each."""
    twin = LiveTwin.new(pack or {"preset": PRESET}, soc_init=soc_init)
    rows = []
    for sample in car.samples:
        twin.ingest([sample])
        s = twin.state()
        rows.append((s["soc"], s["soc_std"], s["soh_resistance"]))
    est = np.array(rows)
    return {"t": np.array([s["t"] for s in car.samples]), "soc": est[:, 0], "soc_std": est[:, 1],
            "resistance": est[:, 2], "true_soc": np.array([r["soc"] for r in car.truth]),
            "true_resistance": np.array([r["resistance_factor"] for r in car.truth]), "twin": twin}


def figures(run: dict) -> dict[str, float]:
    """SOC RMSE and 95 % band coverage before and after the truth first leaves the plateau (> 0.95, < 0.2)."""
    err = run["soc"] - run["true_soc"]
    covered = np.abs(err) <= 1.96 * run["soc_std"]
    off = (run["true_soc"] > 0.95) | (run["true_soc"] < 0.2)
    k = int(np.argmax(off)) if off.any() else len(err)
    return {"left_plateau_at_s": float(run["t"][k] - run["t"][0]) if k < len(err) else float("nan"),
            "rmse_after": float(np.sqrt(np.mean(err[k:] ** 2))),
            "rmse_plateau": float(np.sqrt(np.mean(err[:k] ** 2))),
            "coverage_plateau": float(covered[:k].mean()), "coverage_after": float(covered[k:].mean())}
