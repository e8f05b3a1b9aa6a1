"""Result files to PNG: one panel per plot the scenario names, or panels chosen by unit."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from cosim import si
from cosim.results import Result

_SECONDS_PER = {"s": 1.0, "h": 3600.0, "d": 86400.0}


def _time_axis(span: float) -> tuple[str, float]:
    if span > 3 * 86400:
        return "d", _SECONDS_PER["d"]
    if span > 3 * 3600:
        return "h", _SECONDS_PER["h"]
    return "s", 1.0


def plot_result(result: Result, out: str | Path) -> Path:
    """Draw the result's plots (stored by the run) into a PNG; the path written.

    Raises
    ------
    ValueError
        When the result records nothing to plot (no signals, or no rows yet).
    """
    if result.rows == 0 or not any(len(s.time) for s in result.signals.values()):
        raise ValueError(f"it holds no rows to plot; it is from {result.describe()}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = result.json_attr("plots", None) or []
    panels = [p for p in panels if any(s in result.signals for s in p["signals"])]
    if not panels:
        # Results from another writer: one panel per unit symbol.
        by_unit: dict[str, list[str]] = {}
        for name, sig in result.signals.items():
            by_unit.setdefault(sig.unit, []).append(name)
        panels = [{"title": unit, "signals": names[:8], "unit": unit} for unit, names in by_unit.items()]
    if not panels:
        raise ValueError("the result holds no signals")
    t_all = np.concatenate([s.time for s in result.signals.values() if len(s.time)] or [np.zeros(1)])
    t0 = float(t_all.min())
    unit_t, scale = _time_axis(float(t_all.max()) - t0)
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.6 * len(panels)), sharex=True, squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        shown = panel.get("unit")
        for name in panel["signals"]:
            if name not in result.signals:
                continue
            sig = result.signals[name]
            g, o = si.conversion(sig.unit, shown) if shown else (1.0, 0.0)
            ax.plot((sig.time - t0) / scale, g * sig.values + o, label=name, linewidth=1.0)
        ax.set_title(panel["title"], fontsize=10, loc="left")
        ax.set_ylabel(f"[{shown}]" if shown else "")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[-1, 0].set_xlabel(f"time [{unit_t}]")
    title = Path(str(result.attrs.get("scenario_path", result.path))).name
    fig.suptitle(f"{title} ({result.status})", fontsize=11)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Rendered in memory and written here: matplotlib's PNG writer ignores write errors (a full disk
    # left an empty file and a success).
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    try:
        out.write_bytes(png.getvalue())
    except OSError as err:
        err.filename = err.filename or str(out)  # a write error names no file otherwise
        raise
    return out
