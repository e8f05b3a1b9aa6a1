"""``evtwin fleet report DIR``: what a fleet or warranty engineer asks of a fleet run.

- SOH (capacity) percentiles against years and against km, printed and plotted;
- at a warranty point ("8 yr, 160000 km, 0.7": whichever of 8 years or 160 000 km comes first, and
  the capacity SOH guaranteed), each vehicle's SOH, the share under 80 % and 70 % and under the
  guaranteed SOH, broken down by climate, charging habit, driving style, parking and preset;
- the vehicles under the guaranteed SOH with their stressors: the daily features in which they
  stand furthest above the fleet's median.

A vehicle whose run ends before its warranty point is judged at its last day, and the report says
how many did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError

PERCENTILES = (5, 25, 50, 75, 95)
#: Stressors: daily feature -> how it is shown.
STRESSORS = {
    "efc": "EFC per day",
    "high_soc_h": "h a day above 80 % SOC",
    "t_cell_mean_degC": "mean cell temperature [degC]",
    "thermal_stress_Kh": "K.h a day above 30 degC",
    "fast_charge_events": "fast charges per day",
    "c_rate_p99": "99th percentile C-rate",
    "cycle_depth": "daily cycle depth",
    "distance_km": "km per day",
}
BREAKDOWNS = ("climate", "habit", "style", "parking", "preset")


@dataclass(frozen=True)
class Warranty:
    """A warranty point: ``years`` or ``km``, whichever comes first, and the guaranteed capacity SOH."""

    years: float
    km: float
    soh: float

    @staticmethod
    def parse(text: str) -> Warranty:
        """From ``"8 yr, 160000 km, 0.7"`` (any order; SOH as a fraction or a percentage)."""
        years = km = soh = None
        for part in (p.strip() for p in text.split(",") if p.strip()):
            m = re.fullmatch(r"([0-9.]+)\s*(yr|y|years?|km|%)?", part)
            if not m:
                raise EvtwinError(f"--warranty: cannot read {part!r}; expected e.g. \"8 yr, 160000 km, 0.7\"")
            value, unit = float(m.group(1)), m.group(2)
            if unit in ("yr", "y", "year", "years"):
                years = value
            elif unit == "km":
                km = value
            else:
                soh = value / 100.0 if unit == "%" or value > 1.0 else value
        if years is None or km is None or soh is None or not 0 < soh < 1:
            raise EvtwinError(f"--warranty: give years, km and an SOH within (0, 1), e.g. \"8 yr, 160000 km, 0.7\" "
                              f"(got {text!r})")
        return Warranty(years, km, soh)


def _per_vehicle(days: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    order = np.argsort(days["vehicle"], kind="stable")
    ids = days["vehicle"][order]
    cuts = np.flatnonzero(np.diff(ids)) + 1
    return [{k: v[order][idx] for k, v in days.items()} for idx in np.split(np.arange(len(ids)), cuts)]


def at_warranty(vehicle: dict[str, np.ndarray], w: Warranty) -> tuple[float, bool]:
    """(capacity SOH at the warranty point, whether the run reached the point)."""
    years = (vehicle["day"] + 1) / 365.0
    reached = np.flatnonzero((years >= w.years) | (vehicle["odometer_km"] >= w.km))
    if reached.size:
        return float(vehicle["soh_capacity"][reached[0]]), True
    return float(vehicle["soh_capacity"][-1]), False


def percentiles_over(x_per_vehicle: list[np.ndarray], soh_per_vehicle: list[np.ndarray], grid: np.ndarray):
    """SOH percentiles at each grid point over the vehicles whose runs reach it (NaN where none does)."""
    out = np.full((len(grid), len(PERCENTILES)), np.nan)
    counts = np.zeros(len(grid), dtype=int)
    for g, x in enumerate(grid):
        values = [np.interp(x, xs, s) for xs, s in zip(x_per_vehicle, soh_per_vehicle) if xs[-1] >= x]
        counts[g] = len(values)
        if values:
            out[g] = np.percentile(values, PERCENTILES)
    return out, counts


def analyse(folder: Path, w: Warranty) -> dict:
    """Everything the report prints and plots."""
    from fleet.store import FleetStore, read_fleet_table

    store = FleetStore(folder)
    # A run stopped by a kill, or still running, has no fleet table or an older one: read its vehicles.
    partial = bool(store.done()) and not store.table_is_current()
    days, vehicles = store.collect() if partial else read_fleet_table(folder)
    if not days:
        raise EvtwinError(f"{folder}: the fleet table holds no vehicle yet")
    per = _per_vehicle(days)
    years = [(v["day"] + 1) / 365.0 for v in per]
    km = [v["odometer_km"] for v in per]
    soh = [v["soh_capacity"] for v in per]
    year_grid = np.linspace(0, max(y[-1] for y in years), 41)[1:]
    km_grid = np.linspace(0, max(k[-1] for k in km), 41)[1:]
    by_year, n_year = percentiles_over(years, soh, year_grid)
    by_km, n_km = percentiles_over(km, soh, km_grid)
    judged = [at_warranty(v, w) for v in per]
    soh_w = np.array([s for s, _ in judged])
    means = {name: np.array([float(np.mean(v[name])) for v in per]) for name in STRESSORS}
    return {
        "per": per, "vehicles": vehicles, "year_grid": year_grid, "by_year": by_year, "n_year": n_year,
        "km_grid": km_grid, "by_km": by_km, "n_km": n_km, "soh_w": soh_w,
        "reached": np.array([r for _, r in judged]), "means": means, "failures": store.failures(),
        "partial": partial,
    }


def stressors(a: dict, k: int, top: int = 3) -> str:
    """The vehicle's features furthest above the fleet median, as ``name x.x (fleet y.y)``."""
    scored = []
    for name, label in STRESSORS.items():
        values = a["means"][name]
        med = float(np.median(values))
        spread = float(np.percentile(values, 75) - np.percentile(values, 25)) or abs(med) or 1.0
        scored.append(((values[k] - med) / spread, f"{label} {values[k]:.3g} (fleet median {med:.3g})"))
    scored.sort(key=lambda s: -s[0])
    return "; ".join(text for score, text in scored[:top] if score > 0) or "none above the fleet median"


def print_report(folder: Path, w: Warranty, plot_file: Path) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    a = analyse(folder, w)
    n = len(a["per"])
    console.print(f"[bold]{escape(str(folder))}[/bold]: {n} vehicles, {sum(len(v['day']) for v in a['per'])} vehicle-days")
    if a["partial"]:
        console.print("the run has not written its fleet table (stopped, or still running): the report covers "
                      "the vehicles finished so far; `evtwin fleet run ... --resume` finishes it")
    _percentile_table(console, "SOH (capacity) percentiles against years", "years", a["year_grid"], a["by_year"],
                      a["n_year"], "{:.3g}")
    _percentile_table(console, "SOH (capacity) percentiles against km", "km", a["km_grid"], a["by_km"], a["n_km"],
                      "{:,.0f}")
    soh_w, reached = a["soh_w"], a["reached"]
    console.print(
        f"\n[bold]Warranty {w.years:g} yr / {w.km:g} km, {w.soh:.0%}[/bold] (whichever comes first): "
        f"under 80 %: {np.mean(soh_w < 0.8):.1%}, under 70 %: {np.mean(soh_w < 0.7):.1%}"
        + ("" if w.soh in (0.7, 0.8) else f", under {w.soh:.0%}: {np.mean(soh_w < w.soh):.1%}")
        + f" of {n} vehicles"
    )
    if not reached.all():
        console.print(f"{int((~reached).sum())} vehicles' runs end before their warranty point: judged at their "
                      "last day (run more years to judge them)")
    for key in BREAKDOWNS:
        _breakdown(console, a, key, w)
    _failing(console, a, w)
    for key, message in a["failures"].items():
        console.print(f"[red]{key} did not finish:[/red] {escape(message.splitlines()[0]) if message else ''}")
    plot(a, w, plot_file)
    console.print(f"\nplot: {plot_file}")


def _percentile_table(console, title, xname, grid, values, counts, x_format: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in (xname, *[f"p{p}" for p in PERCENTILES], "vehicles"):
        table.add_column(col, justify="right")
    for g in np.linspace(3, len(grid) - 1, 10).astype(int):
        if counts[g]:
            table.add_row(x_format.format(grid[g]), *[f"{v:.4f}" for v in values[g]], str(counts[g]))
    console.print(table)


def _breakdown(console, a, key: str, w: Warranty) -> None:
    from rich.table import Table

    groups = a["vehicles"][key]
    names = sorted(set(groups))
    if len(names) < 2:
        return
    table = Table(title=f"by {key}")
    limits = sorted({0.8, 0.7, w.soh}, reverse=True)
    for col in (key, "vehicles", "median SOH at warranty", *[f"under {x:.0%}" for x in limits]):
        table.add_column(col, justify="right")
    for name in names:
        s = a["soh_w"][groups == name]
        table.add_row(name, str(len(s)), f"{np.median(s):.4f}", *[f"{np.mean(s < x):.0%}" for x in limits])
    console.print(table)


def _failing(console, a, w: Warranty) -> None:
    from rich.markup import escape

    under = np.flatnonzero(a["soh_w"] < w.soh)
    if not under.size:
        console.print(f"No vehicle under {w.soh:.0%} at its warranty point.")
        return
    console.print(f"\n[bold]Vehicles under {w.soh:.0%} at the warranty point[/bold] ({under.size}):")
    vehicles = a["vehicles"]
    for k in under[np.argsort(a["soh_w"][under])]:
        console.print(
            f"  {vehicles['vehicle_id'][k]} ({vehicles['preset'][k]}, {vehicles['climate'][k]}, "
            f"{vehicles['style'][k]}, {vehicles['habit'][k]}): SOH {a['soh_w'][k]:.3f}; {escape(stressors(a, k))}"
        )


def plot(a: dict, w: Warranty, path: Path) -> None:
    """SOH percentile bands against years and against km, with the warranty point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    panels = ((axes[0], a["year_grid"], a["by_year"], "years", w.years),
              (axes[1], a["km_grid"] / 1000.0, a["by_km"], "thousand km", w.km / 1000.0))
    for ax, x, v, label, limit in panels:
        ax.fill_between(x, v[:, 0], v[:, 4], alpha=0.2, color="C0", label="5-95 %")
        ax.fill_between(x, v[:, 1], v[:, 3], alpha=0.35, color="C0", label="25-75 %")
        ax.plot(x, v[:, 2], color="C0", label="median")
        ax.axhline(w.soh, color="C3", ls="--", lw=1, label=f"warranty {w.soh:.0%}")
        if limit <= x[-1]:
            ax.axvline(limit, color="C3", ls=":", lw=1)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("capacity SOH")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"Fleet capacity SOH ({len(a['per'])} vehicles)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
