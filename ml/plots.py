"""Plots of the forecasters: forecasts with their 90 % intervals for a few held-out vehicles, and the
real cells' cycle life predicted from their first 100 cycles.

Forecasts, for each vehicle: its true SOH (line), what its BMS reported (dots), and at every forecast
origin the ensemble's forecast at each horizon with the calibrated 90 % interval (error bars), placed
at the time it forecasts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from ml.dataset import Dataset


def plot_forecasts(folder: Path, ds: Dataset, path: Path, split: str = "test", vehicles: int = 4) -> Path:
    """Write the plot of ``vehicles`` vehicles of ``split`` to ``path`` (PNG); the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ml.task import Task
    from ml.training import ensemble, horizon_keys, load_models, split_task

    meta, models = load_models(folder, ds)
    s = split_task(ds, meta, split)
    if s is None:
        raise EvtwinError(f"the dataset has no {split} vehicle with a whole window and horizon")
    best, half = ensemble({name: m.predict(s) for name, m in models.items()}, meta)
    task = Task(**{k: tuple(v) if k == "horizons" else v for k, v in meta["task"].items()})
    keys = horizon_keys(task, ds.period_days)
    chosen = np.unique(s.vehicle)[:vehicles]
    fig, axes = plt.subplots(len(chosen), 1, figsize=(8, 2.6 * len(chosen)), sharex=True, squeeze=False)
    for ax, v in zip(axes[:, 0], chosen, strict=True):
        series = ds.series(int(v))
        ax.plot(series["t_years"], 100 * series["soh_reported"], ".", ms=2, color="0.7", label="BMS report")
        ax.plot(series["t_years"], 100 * series["soh_true"], "k-", lw=1.2, label="true SOH")
        sel = s.vehicle == v
        for j, key in enumerate(keys):
            ax.errorbar(
                s.t_target[sel, j],
                100 * best[sel, j],
                yerr=100 * half[j],
                fmt="o",
                ms=3,
                capsize=2,
                lw=0.8,
                color=f"C{j}",
                label=f"forecast {key} ahead, 90 % interval",
            )
        ax.set_ylabel("SOH [%]")
        ax.set_title(f"{ds.vehicles['vehicle_id'][v]} ({ds.vehicles['climate'][v]})", fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    axes[-1, 0].set_xlabel("years in service")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_forecast_files(folder: Path, ds: Dataset, path: Path) -> list[Path]:
    """The plot of four ``test`` vehicles at ``path`` and, where the dataset holds out climates, of four
    of their vehicles beside it (``NAME_held_out_climate.png``); the paths written."""
    written = [plot_forecasts(folder, ds, path)]
    if len(ds.vehicle_indices("climate_test")):
        path = Path(path)
        beside = path.with_name(f"{path.stem}_held_out_climate{path.suffix}")
        written.append(plot_forecasts(folder, ds, beside, split="climate_test"))
    return written


def plot_cycle_life(path: Path) -> Path:
    """Write the real cells' plot to ``path`` (PNG): their capacity per cycle with the first 100 cycles
    marked, and the cross-validated cycle life from those cycles against the measured one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ml import cycle_life as cl

    d = cl.load()
    x = cl.features(d["capacity"], d["crates"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    shade = matplotlib.colors.Normalize(d["life"].min(), d["life"].max())
    colour = plt.get_cmap("viridis")(shade(d["life"]))
    for q, c in zip(d["capacity"], colour, strict=True):
        left.plot(np.arange(1, len(q) + 1), q, lw=0.7, color=c)
    left.axvline(cl.EARLY, color="k", ls="--", lw=0.8)
    left.axhline(cl.END_OF_LIFE_AH, color="0.5", lw=0.8)
    left.set(xlabel="cycle", ylabel="discharge capacity [Ah]", ylim=(0.85, 1.1))
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(shade, "viridis"), ax=left)
    bar.set_label("cycle life (to 0.88 Ah)")
    left.set_title(f"{len(d['life'])} LFP cells; the models see cycles 1-{cl.EARLY}", fontsize=9)
    top = 1.15 * d["life"].max()
    bottom = 0.85 * d["life"].min()
    right.fill_between([bottom, top], [0.9 * bottom, 0.9 * top], [1.1 * bottom, 1.1 * top], color="0.9")
    right.plot([bottom, top], [bottom, top], "k-", lw=0.8)
    cells = np.arange(len(d["life"]))
    splits = (("leave one cell out", cells, "o"), ("leave one protocol out", d["protocol"], "s"))
    for label, groups, marker in splits:
        predicted = cl.cross_validated(x, d["life"], groups)
        error = cl.mape(predicted, d["life"])
        right.plot(d["life"], predicted, marker, ms=4, mfc="none", label=f"{label}: {error:.1f} % mean error")
    right.set(xlabel="measured cycle life", ylabel="predicted from the first 100 cycles", xlim=(bottom, top))
    right.set_ylim(bottom, top)
    right.legend(fontsize=8, loc="upper left", title="grey: within 10 %", title_fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
