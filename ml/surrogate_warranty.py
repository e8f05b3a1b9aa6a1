"""``evtwin ml surrogate FLEET.yaml``: the fleet report's warranty question, answered by the aging surrogate.

The vehicles are drawn from the fleet file as ``evtwin fleet run`` draws them (vehicle ``i`` from the
stream ``(seed, i)``, past the file's count where more are asked for; those with packs of another
chemistry than the surrogate's LFP cell are left out, and said so), each one's year of usage is
drawn without simulation (:mod:`ml.usage_draw`), and the surrogate gives its SOH after 1..10 years.
At the warranty point (whichever of its years and its km comes first, at the vehicle's drawn yearly
distance) the SOH is interpolated between whole years (from the pack's capacity factor at year 0).

Intervals (95 %) of each share: the vehicles are resampled (bootstrap), and each resampled vehicle's
SOH moves by a draw of the surrogate's own error against the physics (normal, with the RMSE its
metadata states at that year: against held-out fleet runs, from their usage drawn as here, where it
was scored on them), so the interval holds both the sampling of a finite fleet and the error of the
drawn usage and the surrogate together.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from fleet.report import Warranty
from ml import surrogate as sg

LIMITS = (0.8, 0.7)
BOOTSTRAP = 2000


def draw_inputs(fleet_file: Path, n: int) -> tuple[np.ndarray, np.ndarray, list, int]:
    """``x`` of the LFP vehicles among ``n`` drawn from the fleet file, their yearly distance [km], the
    vehicles and how many others were left out."""
    from ml.surrogate_train import lfp_vehicles
    from ml.usage_draw import daily_stressors, usage_year

    vehicles, left_out = lfp_vehicles(fleet_file, n)
    days = [daily_stressors(usage_year(v)) for v in vehicles]
    factors = [{name: v.variation.get(name, 1.0) for name in sg.VARIATION} for v in vehicles]
    km = np.array([float(d["distance_km"].sum()) for d in days])
    return sg.inputs(days, factors), km, vehicles, left_out


def soh_at(soh: np.ndarray, start: np.ndarray, t_years: np.ndarray) -> np.ndarray:
    """SOH at ``t_years`` of each vehicle, linear between its whole years (``start``: at year 0)."""
    grid = np.arange(0, sg.YEARS + 1, dtype=float)
    full = np.column_stack([start, soh])
    return np.array([np.interp(t, grid, row) for t, row in zip(t_years, full, strict=True)])


def answer(fleet_file: Path, warranty: Warranty, n: int = 1000, model: Path | None = None,
           seed: int = 0) -> dict:
    """The shares under :data:`LIMITS` and the warranty's SOH at the warranty point, with intervals."""
    from ml.onnx_model import OnnxModel

    if warranty.years > sg.YEARS:
        raise EvtwinError(f"--warranty: {warranty.years:g} years is past the surrogate's {sg.YEARS} years")
    surrogate = OnnxModel(model or sg.default_model(), features=[*sg.DAILY, *sg.VARIATION])
    cpu0 = time.process_time()
    x, km, vehicles, left_out = draw_inputs(fleet_file, n)
    n = len(vehicles)
    cpu1 = time.process_time()
    soh = surrogate.run(x).astype(float)
    cpu2 = time.process_time()
    t_w = np.minimum(warranty.years, warranty.km / np.maximum(km, 1e-9))
    soh_w = soh_at(soh, x[:, 0, len(sg.DAILY)].astype(float), t_w)
    metrics = surrogate.info.metrics
    error = (metrics.get("rmse_fleet_runs_drawn_usage") or metrics.get("rmse_fleet_runs")
             or metrics.get("rmse_drawn_held_out") or [0.0] * sg.YEARS)
    error = np.asarray(error, dtype=float)
    sigma = np.interp(t_w, np.arange(1, sg.YEARS + 1), error) / 100.0
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, n, size=(BOOTSTRAP, n))
    resampled = soh_w[pick] + sigma[pick] * rng.standard_normal((BOOTSTRAP, n))
    limits = sorted({*LIMITS, warranty.soh}, reverse=True)
    shares = {}
    for limit in limits:
        boot = np.mean(resampled < limit, axis=1)
        shares[f"{limit:.2f}"] = {"share": float(np.mean(soh_w < limit)),
                                  "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]}
    return {
        "fleet": str(fleet_file), "vehicles": n, "left_out_not_lfp": left_out, "warranty": warranty.__dict__,
        "judged_at_km": int(np.sum(t_w < warranty.years)),
        "soh_at_warranty": {"median": float(np.median(soh_w)), "p5": float(np.percentile(soh_w, 5)),
                            "p95": float(np.percentile(soh_w, 95))},
        "under": shares,
        "by_climate": _by(vehicles, "climate", soh_w, warranty.soh),
        "cpu_s": {"usage_draws": cpu1 - cpu0, "surrogate": cpu2 - cpu1},
        "surrogate_rmse_pct_points": error.tolist(),
    }


def _by(vehicles: list, key: str, soh_w: np.ndarray, limit: float) -> dict:
    groups = np.array([getattr(v, key) for v in vehicles])
    out = {}
    for g in sorted(set(groups)):
        s = soh_w[groups == g]
        out[str(g)] = {"vehicles": len(s), "median_soh": float(np.median(s)),
                       "under_warranty": float(np.mean(s < limit))}
    return out


def print_answer(a: dict, say) -> None:
    w = a["warranty"]
    if a["left_out_not_lfp"]:
        drawn = a["vehicles"] + a["left_out_not_lfp"]
        say(f"{a['left_out_not_lfp']} of the {drawn} vehicles drawn have packs "
            "of another chemistry and are left out: the surrogate learnt the LFP cell's laws only")
    say(f"{a['vehicles']} vehicles drawn from {a['fleet']} (none simulated): usage in "
        f"{a['cpu_s']['usage_draws']:.1f} CPU s, SOH by the surrogate in {a['cpu_s']['surrogate']:.2f} CPU s")
    say(f"warranty point: {w['years']:g} years or {w['km']:g} km, whichever comes first "
        f"({a['judged_at_km']} vehicles reach the km first); guaranteed SOH {w['soh']:.0%}")
    s = a["soh_at_warranty"]
    say(f"SOH at the warranty point: median {s['median']:.1%}, "
        f"5-95 % of vehicles {s['p5']:.1%}-{s['p95']:.1%}")
    for limit, row in a["under"].items():
        lo, hi = row["ci95"]
        say(f"  under {float(limit):.0%}: {row['share']:.1%} of vehicles (95 % interval {lo:.1%}-{hi:.1%})")
    say("by climate (median SOH at the warranty point, share under the guaranteed SOH):")
    for name, row in a["by_climate"].items():
        say(f"  {name:12} {row['vehicles']:5d} vehicles  {row['median_soh']:.1%}  "
            f"{row['under_warranty']:.1%}")
    rmse = a["surrogate_rmse_pct_points"]
    say("the surrogate's RMSE against the physics, %-points, years 1..10: "
        + " ".join(f"{v:.2f}" for v in rmse))
