"""A fleet run turned into a forecasting dataset: per vehicle-period usage features and SOH.

Each row is one period (a week by default) of one vehicle: the usage features a fleet has (the
daily table of ``fleet/daily.py`` aggregated over the period), the SOH the BMS reports at the
period's end (:mod:`ml.bms`: truth + drifting bias + noise) and the true capacity SOH, which only
scoring may read. The manufacturing variation (the fleet table's ``truth_*`` columns) is not copied.

Splits are by vehicle: whole climates are held out first (``climate_test``: does a model
generalise to a climate it never saw?), the other vehicles are shuffled from the seed into
``train``, ``calibration`` (conformal intervals) and ``test``.

File layout (HDF5): ``rows/<column>`` one row per vehicle-period (``vehicle`` indexes
``vehicles/``), ``vehicles/<attribute>`` with ``split``; attributes ``features``, ``units``,
``bms``, ``period_days``, ``held_out_climates``, ``source``, ``source_sha256``, ``format`` (JSON where not a
number).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from ml.bms import BmsModel

#: Feature -> (daily column, aggregation over the period, unit). The seed's list plus climate statistics.
FEATURES: dict[str, tuple[str, str, str]] = {
    "avg_power_kW": ("avg_power_kW", "mean", "kW"),
    "peak_power_kW": ("peak_power_kW", "max", "kW"),
    "regen_fraction": ("regen_fraction", "mean", "1"),
    "soc_swing": ("soc_swing", "mean", "1"),
    "soc_mean": ("soc_mean", "mean", "1"),
    "high_soc_h": ("high_soc_h", "sum", "h"),
    "fast_charge_events": ("fast_charge_events", "sum", "1"),
    "c_rate_p99": ("c_rate_p99", "max", "1/h"),
    "thermal_stress_Kh": ("thermal_stress_Kh", "sum", "K.h"),
    "cycle_depth": ("cycle_depth", "mean", "1"),
    "efc": ("efc", "sum", "1"),
    "distance_km": ("distance_km", "sum", "km"),
    "t_cell_mean_degC": ("t_cell_mean_degC", "mean", "degC"),
    "t_ambient_mean_degC": ("t_ambient_mean_degC", "mean", "degC"),
    "t_ambient_min_degC": ("t_ambient_mean_degC", "min", "degC"),
    "t_ambient_max_degC": ("t_ambient_mean_degC", "max", "degC"),
}
VEHICLE_ATTRIBUTES = ("vehicle_id", "preset", "chemistry", "climate", "style", "habit", "parking")
SPLITS = ("train", "calibration", "test", "climate_test")
DAYS_PER_YEAR = 365.0
#: Bumped whenever the same fleet run gives another dataset (features, splits, the BMS model): a cached
#: one is rebuilt.
FORMAT = 3


@dataclass
class Dataset:
    """A dataset in memory: ``rows`` columns, ``vehicles`` columns and the file's attributes."""

    rows: dict[str, np.ndarray]
    vehicles: dict[str, np.ndarray]
    features: list[str]
    units: dict[str, str]
    period_days: int
    sha256: str = ""

    def vehicle_indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.vehicles["split"] == split)

    def series(self, vehicle: int) -> dict[str, np.ndarray]:
        """The rows of one vehicle, in time order."""
        sel = self.rows["vehicle"] == vehicle
        return {k: v[sel] for k, v in self.rows.items()}


def fleet_folder(path: Path) -> Path:
    """The run folder FLEET_DIR, or for FLEET.yaml ``results/<stem>`` (where ``evtwin fleet run`` puts it)."""
    path = Path(path)
    folder = path if path.is_dir() else Path("results") / path.stem
    if not (folder / "fleet.h5").exists():
        raise EvtwinError(
            f"{folder / 'fleet.h5'} does not exist: run `evtwin fleet run {path} -o {folder}` first"
        )
    return folder


def aggregate(daily: dict[str, np.ndarray], period: int) -> dict[str, np.ndarray]:
    """:data:`FEATURES`, ``soh_true`` and ``t_years`` (years at each period's end) of one vehicle's days
    (a daily table of ``fleet/daily.py``, day 0 its first) in whole periods of ``period`` days (a
    trailing partial period is dropped)."""
    n = len(daily["day"]) // period
    out: dict[str, np.ndarray] = {}
    for name, (col, how, _) in FEATURES.items():
        x = np.asarray(daily[col], dtype=float)[: n * period].reshape(n, period)
        out[name] = getattr(np, how)(x, axis=1)
    out["soh_true"] = np.asarray(daily["soh_capacity"], dtype=float)[period - 1 : n * period : period]
    out["t_years"] = (
        np.asarray(daily["day"], dtype=float)[period - 1 : n * period : period] + 1.0
    ) / DAYS_PER_YEAR
    return out


def assign_splits(
    climates: np.ndarray, held_out: list[str], seed: int, fractions: tuple[float, float] = (0.3, 0.1)
) -> np.ndarray:
    """Split of each vehicle: ``climate_test`` for the held-out climates, the others shuffled from
    ``seed`` into ``test`` and ``calibration`` (``fractions`` of them, at least one each once there
    are three vehicles) and ``train``."""
    split = np.full(len(climates), "train", dtype=object)
    split[np.isin(climates, held_out)] = "climate_test"
    rest = np.flatnonzero(split == "train")
    order = np.random.default_rng([seed, 7]).permutation(rest)
    n_test = max(int(round(fractions[0] * len(rest))), 1 if len(rest) >= 3 else 0)
    n_cal = max(int(round(fractions[1] * len(rest))), 1 if len(rest) >= 3 else 0)
    split[order[:n_test]] = "test"
    split[order[n_test : n_test + n_cal]] = "calibration"
    return split.astype(str)


def default_held_out(climates: np.ndarray, share: float = 1.0 / 6.0) -> list[str]:
    """The rarest climates, fewest vehicles first (the last by name on a tie), until they hold at least
    ``share`` of the vehicles, so the held-out climates' scores rest on more than one or two vehicles;
    at least one climate is always left to train on (none is held out of a one-climate fleet)."""
    names, counts = np.unique(climates, return_counts=True)  # names sorted
    order = sorted(reversed(range(len(names))), key=lambda i: counts[i])  # stable: later names first
    held: list[str] = []
    for i in order[:-1]:
        held.append(str(names[i]))
        if counts[np.isin(names, held)].sum() >= share * len(climates):
            break
    return held


def build(
    folder: Path, period_days: int = 7, bms: BmsModel | None = None, held_out: list[str] | None = None
) -> Dataset:
    """The dataset of the fleet run in ``folder`` (see the module docstring)."""
    from fleet.store import read_fleet_table

    if period_days < 1:
        raise EvtwinError(f"period {period_days} days: give at least 1")
    days, vehicles = read_fleet_table(folder)
    if not len(days.get("day", ())):
        raise EvtwinError(f"{folder / 'fleet.h5'} holds no vehicle-days")
    seed = (
        int(json.loads((Path(folder) / "metadata.json").read_text(encoding="utf-8")).get("seed", 0))
        if (Path(folder) / "metadata.json").exists()
        else 0
    )
    # the fleet's seed draws the reports, whatever the BMS model's parameters
    bms = (bms or BmsModel()).with_seed(seed)
    parts: dict[str, list[np.ndarray]] = {}
    for v in range(len(vehicles["vehicle_id"])):
        sel = days["vehicle"] == v
        agg = aggregate({k: c[sel] for k, c in days.items()}, period_days)
        agg["soh_reported"] = bms.report(v, agg["t_years"], agg["soh_true"])
        agg["vehicle"] = np.full(len(agg["t_years"]), v, dtype=np.int32)
        for k, c in agg.items():
            parts.setdefault(k, []).append(c)
    rows = {k: np.concatenate(c) for k, c in parts.items()}
    if not len(rows["vehicle"]):
        raise EvtwinError(f"the run in {folder} is shorter than one period of {period_days} days")
    kept = {k: np.asarray(vehicles[k]).astype(str) for k in VEHICLE_ATTRIBUTES if k in vehicles}
    climates = kept["climate"]
    unknown = sorted(set(held_out or []) - set(climates))
    if unknown:
        raise EvtwinError(
            f"held-out climate {unknown[0]!r} is not in the fleet (it has {sorted(set(climates))})"
        )
    held = default_held_out(climates) if held_out is None else list(held_out)
    kept["split"] = assign_splits(climates, held, seed)
    ds = Dataset(rows, kept, list(FEATURES), {k: u for k, (_, _, u) in FEATURES.items()}, period_days)
    ds.bms = bms  # type: ignore[attr-defined]
    ds.held_out = held  # type: ignore[attr-defined]
    return ds


def save(ds: Dataset, path: Path, source: Path) -> Path:
    """Write ``ds`` to ``path`` (whole, then renamed into place)."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with h5py.File(tmp, "w") as f:
        for k, c in ds.rows.items():
            f.create_dataset(f"rows/{k}", data=c)
        for k, c in ds.vehicles.items():
            f.create_dataset(f"vehicles/{k}", data=c.astype(h5py.string_dtype()))
        f.attrs["features"] = json.dumps(ds.features)
        f.attrs["units"] = json.dumps(ds.units)
        f.attrs["period_days"] = ds.period_days
        f.attrs["bms"] = json.dumps(getattr(ds, "bms", BmsModel()).as_dict())
        f.attrs["held_out_climates"] = json.dumps(getattr(ds, "held_out", []))
        f.attrs["source"] = str(source)
        f.attrs["source_sha256"] = file_sha256(Path(source) / "fleet.h5")
        f.attrs["format"] = FORMAT
    os.replace(tmp, path)
    return path


def load(path: Path) -> Dataset:
    """Read a dataset written by :func:`save`; ``sha256``: the file's hash (a model's training-data hash)."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise EvtwinError(f"{path} does not exist: make it with `evtwin ml dataset FLEET_DIR -o {path}`")
    try:
        with h5py.File(path, "r") as f:
            rows = {k: f["rows"][k][()] for k in f["rows"]}
            vehicles = {k: f["vehicles"][k][()].astype(str) for k in f["vehicles"]}
            ds = Dataset(
                rows,
                vehicles,
                json.loads(f.attrs["features"]),
                json.loads(f.attrs["units"]),
                int(f.attrs["period_days"]),
            )
            bms = json.loads(f.attrs["bms"]) if "bms" in f.attrs else {}
            ds.bms = BmsModel(**bms)  # type: ignore[attr-defined]
    except (OSError, KeyError) as e:
        raise EvtwinError(f"{path} is not an evtwin ML dataset ({e})") from None
    ds.sha256 = file_sha256(path)
    return ds


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
