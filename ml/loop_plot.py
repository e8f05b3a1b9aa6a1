"""Forecast against physics over the years, from a run with the SOH forecaster in the loop.

The run (``scenarios/soh_forecast_in_loop.yaml``) records the physics battery's capacity SOH and, once a
week, the forecaster's SOH one and five years ahead with their 90 % intervals. A forecast made at time
``t`` is drawn at ``t + horizon``, where the physics value it forecasts lies; forecasts made before the
forecaster's window was full (padded with the first week) are drawn lighter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from cosim.results import read_result

YEAR = 365.0 * 86400.0
#: (output prefix, horizon [weeks], colour) of the forecasts the shipped scenario records.
HORIZONS = (("SOH_1y", 52, "tab:blue"), ("SOH_5y", 260, "tab:orange"))


def forecast_pairs(result_path: Path, forecaster: str = "forecaster", battery: str = "battery",
                   usage: str = "usage") -> dict[str, dict[str, np.ndarray]]:
    """Per horizon: ``made`` [s] (when each weekly forecast was made), ``at`` [s] (the time it forecasts),
    ``soh``, ``lower``, ``upper``, ``physics`` (the battery's SOH at ``at``; NaN past the run's end) and
    ``full`` (whether the forecaster's window was full then)."""
    run = read_result(result_path)
    try:
        t = run[f"{battery}.SOH_capacity"].time
        physics = run[f"{battery}.SOH_capacity"].values
        periods = run[f"{usage}.periods"].values
        out = {}
        for prefix, weeks, _ in HORIZONS:
            soh = run[f"{forecaster}.{prefix}"].values
            fresh = np.flatnonzero(np.diff(periods, prepend=0.0) > 0)  # a new week's forecast
            made = t[fresh]
            at = made + weeks * 7 * 86400.0
            inside = at <= t[-1] + 1e-6
            truth = np.full(len(at), np.nan)
            truth[inside] = np.interp(at[inside], t, physics)
            out[prefix] = {
                "made": made, "at": at, "soh": soh[fresh], "physics": truth,
                "lower": run[f"{forecaster}.{prefix}_lower"].values[fresh],
                "upper": run[f"{forecaster}.{prefix}_upper"].values[fresh],
                "full": periods[fresh] >= 104,
            }
    except KeyError as err:
        raise EvtwinError(f"{result_path}: {err.args[0]} (run scenarios/soh_forecast_in_loop.yaml)") from None
    out["physics"] = {"t": t, "soh": physics}
    return out


def plot_forecast_in_loop(result_path: Path, path: Path) -> tuple[Path, dict[str, float]]:
    """Write the plot to ``path`` (PNG); the path and the RMSE [%-points] of each horizon's forecasts made
    with a full window, against the physics (NaN where none lands inside the run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = forecast_pairs(result_path)
    fig, ax = plt.subplots(figsize=(8, 4))
    physics = pairs["physics"]
    ax.plot(physics["t"] / YEAR, 100 * physics["soh"], "k-", lw=1.5, label="physics battery")
    rmse = {}
    for prefix, weeks, colour in HORIZONS:
        p = pairs[prefix]
        for full, alpha in ((False, 0.25), (True, 1.0)):
            sel = p["full"] == full
            if not sel.any():
                continue
            x = p["at"][sel] / YEAR
            label = f"forecast {weeks // 52} y ahead" + ("" if full else " (window padded)")
            ax.fill_between(x, 100 * p["lower"][sel], 100 * p["upper"][sel], color=colour, alpha=0.12 * alpha,
                            lw=0)
            ax.plot(x, 100 * p["soh"][sel], ".", ms=3, color=colour, alpha=alpha, label=label)
        scored = p["full"] & np.isfinite(p["physics"])
        rmse[prefix] = float(100 * np.sqrt(np.mean((p["soh"][scored] - p["physics"][scored]) ** 2))) \
            if scored.any() else float("nan")
    ax.set_xlabel("vehicle age [years]")
    ax.set_ylabel("capacity SOH [%]")
    ax.set_title("SOH forecaster (ONNX, in the loop) against the physics battery; bands: 90 % intervals")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, rmse
