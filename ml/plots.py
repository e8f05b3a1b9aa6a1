"""A plot of forecasts with their 90 % intervals for a few held-out vehicles.

For each vehicle: its true SOH (line), what its BMS reported (dots), and at every forecast origin the
ensemble's forecast at each horizon with the calibrated 90 % interval (error bars), placed at the
time it forecasts.
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
