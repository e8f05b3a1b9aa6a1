"""Forecast against physics over the years, from a run with the SOH forecaster in the loop.

The run (``scenarios/soh_forecast_in_loop.yaml``) records the physics battery's capacity SOH and, once a
week, the forecaster's SOH one and five years ahead with their 90 % intervals. A forecast made at time
``t`` is drawn at ``t + horizon``, where the physics value it forecasts lies. Only forecasts made with a
whole window (:data:`WINDOW` weeks) are drawn and scored: before that the forecaster's outputs are the
SOH of the week (the models know whole windows only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from cosim.results import read_result

YEAR = 365.0 * 86400.0
WEEK = 7 * 86400.0
WINDOW = 104  # weeks of history the shipped forecaster reads
#: (output prefix, horizon [weeks], colour) of the forecasts the shipped scenario records.
HORIZONS = (("SOH_1y", 52, "tab:blue"), ("SOH_5y", 260, "tab:orange"))


def forecast_pairs(result_path: Path, forecaster: str = "forecaster", battery: str = "battery",
                   usage: str = "usage") -> dict[str, dict[str, np.ndarray]]:
    """Per horizon: ``made`` [s] (when each weekly forecast was made), ``at`` [s] (the time it forecasts),
    ``soh``, ``lower``, ``upper``, ``physics`` (the battery's SOH at ``at``; NaN past the run's end) and
    ``full`` (whether the forecaster's window was whole then); ``physics``: ``t`` [s] and ``soh``."""
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
            at = made + weeks * WEEK
            inside = at <= t[-1] + 1e-6
            truth = np.full(len(at), np.nan)
            truth[inside] = np.interp(at[inside], t, physics)
            out[prefix] = {
                "made": made, "at": at, "soh": soh[fresh], "physics": truth,
                "lower": run[f"{forecaster}.{prefix}_lower"].values[fresh],
                "upper": run[f"{forecaster}.{prefix}_upper"].values[fresh],
                "full": periods[fresh] >= WINDOW,
            }
    except KeyError as err:
        raise EvtwinError(f"{result_path}: {err.args[0]} (run scenarios/soh_forecast_in_loop.yaml)") from None
    out["physics"] = {"t": t, "soh": physics}
    return out


def scores(pairs: dict) -> dict[str, dict[str, float]]:
    """Per horizon, over the forecasts made with a whole window that land inside the run: ``rmse``
    [%-points] against the physics, ``covered`` (the share whose 90 % interval holds it) and ``n``."""
    out = {}
    for prefix, _, _ in HORIZONS:
        p = pairs[prefix]
        sel = p["full"] & np.isfinite(p["physics"])
        err = p["soh"][sel] - p["physics"][sel]
        held = (p["lower"][sel] <= p["physics"][sel]) & (p["physics"][sel] <= p["upper"][sel])
        out[prefix] = {
            "rmse": float(100 * np.sqrt(np.mean(err**2))) if sel.any() else float("nan"),
            "covered": float(np.mean(held)) if sel.any() else float("nan"),
            "n": int(sel.sum()),
        }
    return out


def at_dates(pairs: dict) -> list[tuple[float, float, list[tuple[float, float, float]]]]:
    """At each whole year of the run that a whole window's forecast lands on: (year, the physics SOH,
    [(forecast, lower, upper) of each horizon, NaN where none lands]), from the weekly forecast
    landing nearest to it."""
    physics = pairs["physics"]
    rows = []
    for year in range(1, int(physics["t"][-1] / YEAR + 1e-9) + 1):
        at = year * YEAR
        row = []
        for prefix, _, _ in HORIZONS:
            p = pairs[prefix]
            near = np.flatnonzero(p["full"] & (np.abs(p["at"] - at) <= WEEK / 2))
            k = near[0] if len(near) else None
            row.append((np.nan,) * 3 if k is None else (p["soh"][k], p["lower"][k], p["upper"][k]))
        if any(np.isfinite(f[0]) for f in row):
            rows.append((float(year), float(np.interp(at, physics["t"], physics["soh"])), row))
    return rows


def describe(pairs: dict) -> str:
    """The figures of a run as lines of text: per horizon RMSE and interval coverage; a table by year."""
    lines = ["forecasts made with a whole window, against the physics:"]
    for prefix, s in scores(pairs).items():
        lines.append(f"  {prefix}: RMSE {s['rmse']:.2f} %-points, 90 % interval holds the physics "
                     f"{s['covered']:.3f} of {s['n']} weekly forecasts")
    head = "  ".join(f"{p} [90 % interval] %".rjust(28) for p, _, _ in HORIZONS)
    lines.append(f"  year  physics %  {head}")
    for year, soh, row in at_dates(pairs):
        cells = "  ".join(
            (f"{100 * f:8.2f} [{100 * lo:6.2f}, {100 * hi:6.2f}]" if np.isfinite(f) else "-").rjust(28)
            for f, lo, hi in row
        )
        lines.append(f"  {year:4.0f}  {100 * soh:9.2f}  {cells}")
    return "\n".join(lines)


def plot_forecast_in_loop(result_path: Path, path: Path) -> tuple[Path, dict]:
    """Write the plot to ``path`` (PNG); the path and the run's :func:`forecast_pairs`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = forecast_pairs(result_path)
    fig, ax = plt.subplots(figsize=(8, 4))
    physics = pairs["physics"]
    ax.plot(physics["t"] / YEAR, 100 * physics["soh"], "k-", lw=1.5, label="physics battery")
    for prefix, weeks, colour in HORIZONS:
        p = pairs[prefix]
        sel = p["full"]
        if not sel.any():
            continue
        x = p["at"][sel] / YEAR
        ax.fill_between(x, 100 * p["lower"][sel], 100 * p["upper"][sel], color=colour, alpha=0.15, lw=0)
        ax.plot(x, 100 * p["soh"][sel], ".", ms=3, color=colour, label=f"forecast {weeks // 52} y ahead")
    ax.set_xlabel("vehicle age [years]")
    ax.set_ylabel("capacity SOH [%]")
    ax.set_title("SOH forecaster (ONNX ensemble, in the loop) against the physics battery;\n"
                 "each forecast drawn at the date it forecasts; bands: 90 % intervals", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, pairs
