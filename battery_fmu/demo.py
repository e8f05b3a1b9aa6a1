"""Run the battery FMU on a pack-power profile through ``fmpy.simulate_fmu`` (the quick demo)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np

from battery_fmu.life import PROFILES_DIR
from cosim.textfile import read_text

COLUMNS = ("time_s", "P_load_W", "I_charge_A", "T_ambient_degC")
#: Air temperatures on Earth [degC]: the records are -89.2 degC (Vostok, 1983), 56.7 degC (Death Valley, 1913).
AIR_TEMPERATURE_DEGC = (-90.0, 60.0)


def read_power_profile(path: str | Path) -> np.ndarray:
    """Read ``time_s,P_load_W,I_charge_A,T_ambient_degC`` into fmpy's input array (SI units, T in K)."""
    path = Path(path)
    if not path.exists() and path.parent == Path(".") and (PROFILES_DIR / f"{path.name}.csv").exists():
        path = PROFILES_DIR / f"{path.name}.csv"
    if not path.exists():
        raise ValueError(f"{path}: profile not found")
    text = read_text(path, f"CSV profile with columns {','.join(COLUMNS)}")  # TextFileError: a ValueError
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; expected header {','.join(COLUMNS)}")
        rows = []
        for n, row in enumerate(reader, start=2):
            try:
                values = tuple(float(row[c]) for c in COLUMNS)
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{n}: expected numbers in {','.join(COLUMNS)}, found {row}") from None
            if not all(np.isfinite(values)):
                raise ValueError(f"{path}:{n}: expected finite numbers in {','.join(COLUMNS)}, found {row}")
            if not AIR_TEMPERATURE_DEGC[0] <= values[3] <= AIR_TEMPERATURE_DEGC[1]:
                raise ValueError(
                    f"{path}:{n}: T_ambient_degC {values[3]:g} is not an air temperature "
                    f"({AIR_TEMPERATURE_DEGC[0]:g} to {AIR_TEMPERATURE_DEGC[1]:g} degC)"
                )
            rows.append(values)
    data = np.array(rows)
    names = ("time", "P_load", "I_charge", "T_ambient", "T_coolant")
    signals = np.zeros(len(data), dtype=[(n, float) for n in names])
    signals["time"], signals["P_load"], signals["I_charge"] = data[:, 0], data[:, 1], data[:, 2]
    signals["T_ambient"] = signals["T_coolant"] = data[:, 3] + 273.15
    return signals


def run_demo(profile: str | Path, fmu_path: Path, soc_init: float = 0.8) -> dict[str, str]:
    """Simulate ``fmu_path`` (built first if missing) on ``profile``; a summary of printable strings."""
    from fmpy import simulate_fmu

    from battery_fmu.build import build_fmu

    signals = read_power_profile(profile)  # first: a bad profile builds nothing
    if not fmu_path.exists():
        build_fmu(fmu_path.parent)
    step = float(np.median(np.diff(signals["time"])))
    wall = time.perf_counter()
    result = simulate_fmu(
        str(fmu_path), start_time=float(signals["time"][0]), stop_time=float(signals["time"][-1]),
        output_interval=step, input=signals,
        start_values={"SOC_init": soc_init, "T_init": float(signals["T_ambient"][0])},
        output=["SOC", "V_terminal", "I_terminal", "P_terminal", "T_cell", "SOH_capacity", "Q_heat", "EFC"],
    )
    wall = time.perf_counter() - wall
    duration = float(result["time"][-1] - result["time"][0])
    p = result["P_terminal"][1:]
    soh = result["SOH_capacity"]
    return {
        "profile": str(profile),
        "simulated": f"{duration / 3600:.2f} h in steps of {step:g} s",
        "energy delivered": f"{np.sum(np.clip(p, 0, None)) * step / 3.6e6:.2f} kWh",
        "energy charged": f"{-np.sum(np.clip(p, None, 0)) * step / 3.6e6:.2f} kWh",
        "heat generated": f"{np.sum(result['Q_heat'][1:]) * step / 3.6e6:.3f} kWh",
        "SOC start / min / end": f"{soc_init:.3f} / {result['SOC'].min():.3f} / {result['SOC'][-1]:.3f}",
        "cell temperature min / max": f"{result['T_cell'].min() - 273.15:.1f} / {result['T_cell'].max() - 273.15:.1f} degC",
        "voltage min / max": f"{result['V_terminal'].min():.1f} / {result['V_terminal'].max():.1f} V",
        "equivalent full cycles": f"{result['EFC'][-1]:.3f}",
        "capacity fade": f"{(soh[0] - soh[-1]) * 1e6:.1f} ppm",
        "wall time": f"{wall:.2f} s",
        "real-time factor": f"{duration / wall:,.0f}x",
    }
