"""The forecasting task: from a vehicle's history up to an origin, its true SOH at horizons ahead.

A sample is one (vehicle, origin): the last ``history`` periods of usage features and reported SOH
up to and including the origin, and the true SOH ``horizons`` periods after it (the score). Origins
step through each vehicle's series every ``stride`` periods wherever the whole window and the
farthest horizon fit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cosim.errors import EvtwinError
from ml.dataset import Dataset

#: Reports averaged for a window's recent SOH, the level the forecasters add their change to: half a
#: year of weekly reports, so the BMS's report-to-report noise (1 %-point) averages down to 0.2; the
#: fade over those weeks (the mean lags the last report by a quarter of a year of it) is learnt.
RECENT = 26
#: The usage features that act on aging through the cell's temperature, which the anchored law already
#: reads each period (its Arrhenius calendar rate and its cycle temperature factor): a correction of the
#: law that reads them learns a function of temperature, which a climate colder or warmer than the
#: training fleet's takes outside the range it was fitted on.
TEMPERATURES = (
    "t_cell_mean_degC",
    "t_ambient_mean_degC",
    "t_ambient_min_degC",
    "t_ambient_max_degC",
    "thermal_stress_Kh",
)


def seen(names: list[str], blind: tuple[str, ...]) -> np.ndarray:
    """float32 [len(names)]: 0 where a name is one of ``blind`` (its feature or that feature's window
    mean, ``mean_<feature>``), else 1: the mask of the inputs a network reads."""
    hidden = {*blind, *(f"mean_{b}" for b in blind)}
    return np.array([0.0 if n in hidden else 1.0 for n in names], dtype=np.float32)


@dataclass(frozen=True)
class Task:
    """Window and horizons in periods of the dataset (weeks by default)."""

    history: int = 104
    horizons: tuple[int, ...] = (52, 260)
    stride: int = 13

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Samples:
    """Windows of one split: ``x`` [n, history, features + 1] (reported SOH last), ``t`` [n, history]
    years at each period's end, ``y`` [n, horizons] true SOH, ``t_target`` [n, horizons] years,
    ``vehicle`` [n]; ``soh_true`` [n, history] the true SOH over the window, which only training
    reads (:func:`denoised_targets`)."""

    x: np.ndarray
    t: np.ndarray
    y: np.ndarray
    t_target: np.ndarray
    vehicle: np.ndarray
    columns: list[str]
    soh_true: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def column(self, name: str) -> np.ndarray:
        return self.x[:, :, self.columns.index(name)]

    def subset(self, keep: np.ndarray) -> Samples:
        """The windows where ``keep`` (a mask or indices)."""
        return Samples(
            *(getattr(self, f)[keep] for f in ("x", "t", "y", "t_target", "vehicle")),
            self.columns,
            None if self.soh_true is None else self.soh_true[keep],
        )

    def with_true_reports(self) -> Samples:
        """The same windows with the true SOH where the reports were (for training targets only)."""
        x = self.x.copy()
        x[:, :, -1] = self.soh_true
        return Samples(x, self.t, self.y, self.t_target, self.vehicle, self.columns, self.soh_true)


def denoised_targets(s: Samples, anchor) -> np.ndarray:
    """Training targets [n, horizons] for a model that forecasts the change from ``anchor(s)`` [n] (a
    level it estimates from the window's reports): ``y + anchor(reports) - anchor(true SOH)``.

    The model then learns the change from the level the same estimate gives on the true SOH. What the
    BMS adds to the reports (each training vehicle's own bias, which no forecaster can know of a new
    vehicle) stays out of what it learns; its forecast still starts from the reports. Without the
    window's true SOH, the plain targets.
    """
    if s.soh_true is None:
        return s.y
    shift = np.asarray(anchor(s)) - np.asarray(anchor(s.with_true_reports()))
    return s.y + shift.reshape(len(s), -1)


def recent_mean(s: Samples) -> np.ndarray:
    """Mean [n] of the last :data:`RECENT` reports of each window."""
    return s.column("soh_reported")[:, -RECENT:].mean(axis=1)


def samples(ds: Dataset, vehicles: np.ndarray, task: Task) -> Samples:
    """The windows of ``vehicles`` (indices into ``ds.vehicles``)."""
    columns = [*ds.features, "soh_reported"]
    xs, ts, ys, tts, vs, trues = [], [], [], [], [], []
    far = max(task.horizons)
    for v in vehicles:
        s = ds.series(int(v))
        n = len(s["t_years"])
        table = np.stack([s[c] for c in columns], axis=1)
        for o in range(task.history - 1, n - far, task.stride):
            xs.append(table[o - task.history + 1 : o + 1])
            ts.append(s["t_years"][o - task.history + 1 : o + 1])
            trues.append(s["soh_true"][o - task.history + 1 : o + 1])
            idx = [o + h for h in task.horizons]
            ys.append(s["soh_true"][idx])
            tts.append(s["t_years"][idx])
            vs.append(v)
    if not xs:
        raise EvtwinError(
            f"no vehicle has {task.history} periods of history and {far} ahead: the dataset's "
            "series are too short for this task (shorten --history or the horizons)"
        )
    arrays = (np.array(a) for a in (xs, ts, ys, tts, vs))
    return Samples(*arrays, columns, np.array(trues))
