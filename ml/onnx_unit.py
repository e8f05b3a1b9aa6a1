"""``type: onnx``: any exported model as a co-simulation unit.

Scenario settings::

    forecaster:
      type: onnx
      settings:
        model: soh_forecaster.onnx           # relative to the scenario file
        inputs:                              # port: the model feature it feeds, and the port's unit
          efc_week: {feature: efc, unit: "1"}
          T_cell: {feature: t_cell_mean_degC, unit: K}   # converted to the model's unit (degC)
        outputs:                             # port: the model output column, and its unit
          SOH_forecast: {index: 0, unit: "1"}
          SOH_low: {index: 0, unit: "1", interval: lower}   # minus the model's 90 % half-width
        sample_period: 7 d                   # a sample enters the window every period (default: every step)
        age_at_start: 3 yr                   # the pack's age when the run starts (default 0 s: new)

Every model feature must be fed by exactly one input. The unit keeps the last ``history`` samples
(the model's own window length, from its metadata); until the window is full it is padded with the
first sample. A file that reads inputs made from a window (``ml.export``'s layouts: the anchored law's
columns, the window's summary, the ensemble's file) is fed the window's columns instead (the
dataset's features, then ``soh_reported``); the unit keeps ``window_periods`` samples with their
times, the pack's age in years (``age_at_start`` plus the time since the run's start: the law the
files read ages a pack by its age), and makes the file's input with ``ml.export.input_for``, as the
evaluation does; until the window is full its outputs are the last reported SOH. An output with
``interval: lower`` (or ``upper``) is the model's output less (plus) the calibrated 90 % half-width
of that column (``conformal_90`` in the model's metrics). Its outputs are the model's answer to the
window after the last sample, so they hold between samples and depend on no input of the same step
(no algebraic loop).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cosim import si
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit
from ml.onnx_model import OnnxModel


def duration(value: Any) -> float:
    """A duration setting (a number of seconds, or ``"7 d"``) in seconds (None: 0)."""
    if value is None:
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    number, _, unit = str(value).strip().partition(" ")
    return si.to_si(float(number), unit.strip() or "s")


def _interval_shift(port: str, bound: Any, index: int, metrics: Mapping[str, Any]) -> float:
    """What an output adds to the model's column: 0, or -/+ the column's 90 % half-width."""
    if bound is None:
        return 0.0
    if bound not in ("lower", "upper"):
        raise ValueError(f"output {port!r}: interval {bound!r}: give lower or upper")
    half = list(metrics.get("conformal_90") or [])
    if index >= len(half):
        raise ValueError(
            f"output {port!r}: the model's metadata has no calibrated 90 % interval for output {index}"
        )
    return float(half[index]) * (-1.0 if bound == "lower" else 1.0)


def _window_columns(info, inputs: Mapping[str, Mapping[str, Any]]) -> list[str] | None:
    """The window's columns to feed when the file reads inputs made from them (and the inputs feed
    them rather than its features); None: the inputs feed the file's features as they are."""
    fed = {spec.get("feature", port) for port, spec in inputs.items()}
    if fed >= set(info.features):
        return None
    from ml.export import window_columns

    columns = window_columns(list(info.features), list(info.outputs))
    return columns if columns is not None and fed <= set(columns) else None


def _input_ports(inputs: Mapping[str, Mapping[str, Any]], wanted: list[str], info):
    """(the input ports, the port feeding each of ``wanted`` in order, each one's conversion to the
    model's unit); refused unless each of ``wanted`` is fed by exactly one input."""
    fed: dict[str, str] = {}
    ports = []
    for port, spec in inputs.items():
        feature = spec.get("feature", port)
        if feature not in wanted:
            raise ValueError(f"input {port!r}: the model has no feature {feature!r} (it has {wanted})")
        if feature in fed:
            raise ValueError(f"inputs {fed[feature]!r} and {port!r} both feed feature {feature!r}")
        fed[feature] = port
        ports.append(Port(port, INPUT, str(spec.get("unit", _unit(info, feature))), f"model feature {feature}",
                          start=0.0))
    missing = [f for f in wanted if f not in fed]
    if missing:
        raise ValueError(f"no input feeds the model features {missing}")
    units = {p.name: p.unit for p in ports}
    convert = [si.conversion(units[fed[f]], _unit(info, f)) for f in wanted]
    return ports, [fed[f] for f in wanted], convert


def _unit(info, feature: str) -> str:
    """A feature's unit in the file; a window column's is its mean's in a file that reads the summary."""
    return str(info.units.get(feature, info.units.get(f"mean_{feature}", "1")))


class OnnxUnit(PythonUnit):
    """Runs an ONNX model (with evtwin metadata) on a window of its inputs; see the module docstring."""

    path_settings: ClassVar[tuple[str, ...]] = ("model",)
    direct_feedthrough: ClassVar[bool] = False
    can_save_state: ClassVar[bool] = True

    def __init__(
        self,
        model: str | Path,
        inputs: Mapping[str, Mapping[str, Any]],
        outputs: Mapping[str, Mapping[str, Any]],
        sample_period: Any = None,
        age_at_start: Any = None,
    ):
        self.model = OnnxModel(model)
        info = self.model.info
        # A file that reads the law's columns or the window's summary (ml.export's layouts) is fed
        # the window's columns; the unit makes the rest as the training did.
        self._columns = _window_columns(info, inputs)
        wanted = self._columns or info.features
        ports, self._feature_ports, self._convert = _input_ports(inputs, wanted, info)
        self._out_index, self._out_shift = [], []
        for port, spec in outputs.items():
            index = int(spec.get("index", 0))
            if not 0 <= index < max(len(info.outputs), 1):
                raise ValueError(f"output {port!r}: index {index} outside the model's outputs {info.outputs}")
            self._out_index.append(index)
            self._out_shift.append(_interval_shift(port, spec.get("interval"), index, info.metrics))
            ports.append(Port(port, OUTPUT, str(spec.get("unit", "1")), f"model output {index}", start=0.0))
        self._out_ports = list(outputs)
        self._ports = tuple(ports)
        self.period = duration(sample_period)
        # The law the files read ages a pack by its age, not the run's: an aged pack (SOH_init < 1, a
        # used car) fades more slowly than a new one at the same stress.
        self.age_at_start = duration(age_at_start)
        if self.age_at_start < 0.0:
            raise ValueError(f"age_at_start {age_at_start!r}: give the pack's age, zero or more")
        self.history = max(int(info.window_periods if self._columns else info.history), 1)
        super().__init__()

    def ports(self) -> Sequence[Port]:
        return self._ports

    def setup(self, start_time: float) -> None:
        self.window: deque[np.ndarray] = deque(maxlen=self.history)
        self.times: deque[float] = deque(maxlen=self.history)
        self._start = self._next_sample = start_time

    def _sample(self) -> np.ndarray:
        pairs = zip(self._feature_ports, self._convert, strict=True)
        return np.array([a * getattr(self, port) + b for port, (a, b) in pairs], dtype=np.float32)

    def _evaluate(self) -> None:
        window = list(self.window)
        if self._columns is not None:
            y = self._from_window(window)
        else:
            window = [window[0]] * (self.history - len(window)) + window
            x = np.stack(window)[None] if self.model.rank == 3 else window[-1][None]
            y = np.asarray(self.model.run(x)).reshape(-1)
        for port, index, shift in zip(self._out_ports, self._out_index, self._out_shift, strict=True):
            setattr(self, port, float(y[index]) + shift)

    def _from_window(self, window: list[np.ndarray]) -> np.ndarray:
        """The forecast of a file that reads what :func:`ml.export.input_for` makes from the window;
        until a whole window has come in, the last reported SOH (the model knows whole windows only)."""
        info = self.model.info
        if len(window) < self.history:
            return np.full(len(info.outputs), window[-1][-1])
        from ml.dataset import DAYS_PER_YEAR
        from ml.export import input_for
        from ml.task import Samples

        t = (np.array(self.times) - self._start + self.age_at_start) / (DAYS_PER_YEAR * 86400.0)
        ahead = np.array([int(o.removeprefix("soh_")) for o in info.outputs]) * info.period_days / DAYS_PER_YEAR
        s = Samples(np.stack(window)[None].astype(float), t[None], np.zeros((1, len(ahead))),
                    (t[-1] + ahead)[None], np.zeros(1, dtype=int), list(self._columns))
        return np.asarray(self.model.run(input_for(info.features, s))).reshape(-1)

    def do_step(self, t: float, h: float) -> None:
        end = t + h
        if self.period <= 0.0 or end >= self._next_sample + self.period - 1e-9:
            self.window.append(self._sample())
            self.times.append(end)
            self._next_sample = end
            self._evaluate()

    def save_state(self) -> Any:
        return list(self.window), list(self.times), self._next_sample, [getattr(self, p) for p in self._out_ports]

    def restore_state(self, state: Any) -> None:
        window, times, self._next_sample, outs = state
        self.window = deque(window, maxlen=self.history)
        self.times = deque(times, maxlen=self.history)
        for p, v in zip(self._out_ports, outs, strict=True):
            setattr(self, p, v)

    def metadata(self) -> dict[str, str]:
        return {
            "type": "OnnxUnit",
            "model": str(self.model.path),
            "kind": self.model.info.kind,
            "age_at_start_s": str(self.age_at_start),
            "training_data_sha256": self.model.info.training_data_sha256,
        }
