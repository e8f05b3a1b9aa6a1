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
    years at each period's end, ``efc`` [n, history] per period, ``y`` [n, horizons] true SOH,
    ``t_target`` [n, horizons] years, ``vehicle`` [n]."""

    x: np.ndarray
    t: np.ndarray
    y: np.ndarray
    t_target: np.ndarray
    vehicle: np.ndarray
    columns: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def column(self, name: str) -> np.ndarray:
        return self.x[:, :, self.columns.index(name)]


def samples(ds: Dataset, vehicles: np.ndarray, task: Task) -> Samples:
    """The windows of ``vehicles`` (indices into ``ds.vehicles``)."""
    columns = [*ds.features, "soh_reported"]
    xs, ts, ys, tts, vs = [], [], [], [], []
    far = max(task.horizons)
    for v in vehicles:
        s = ds.series(int(v))
        n = len(s["t_years"])
        table = np.stack([s[c] for c in columns], axis=1)
        for o in range(task.history - 1, n - far, task.stride):
            xs.append(table[o - task.history + 1 : o + 1])
            ts.append(s["t_years"][o - task.history + 1 : o + 1])
            idx = [o + h for h in task.horizons]
            ys.append(s["soh_true"][idx])
            tts.append(s["t_years"][idx])
            vs.append(v)
    if not xs:
        raise EvtwinError(
            f"no vehicle has {task.history} periods of history and {far} ahead: the dataset's "
            "series are too short for this task (shorten --history or the horizons)"
        )
    return Samples(np.array(xs), np.array(ts), np.array(ys), np.array(tts), np.array(vs), columns)
