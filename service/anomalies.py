"""Anomalies: the pack's resistance or temperature far from what the twin predicts.

Two detectors run on every sample the twin takes (:meth:`Detectors.update`):

- resistance: the filter's resistance factor against the twin's prediction of it, the aging model's
  resistance growth times the factor the filter settled on when the twin first knew it well
  (:data:`Settings.resistance_calibration_sd`). A contact fault or a damaged cell jumps away from it.
- temperature: the measured cell temperature against an open-loop prediction, the battery step run from
  the filtered temperatures with the boundary temperature held at its estimate, restarted every
  :data:`Settings.temperature_window_s`. Within one window the filter cannot explain a cooling fault
  away as a drift of the ambient. Beside it, the filter's estimate of the temperature the housing exchanges
  heat with, against its own value up to one window earlier (a sliding window): a cooling loop that stops
  makes the filter explain the heat as a warmer boundary, faster than air or a regulated coolant move.

Each detector keeps its latest event (when it began, when it was last seen, the largest deviation), so
an anomaly inside a batch is still reported after it (:func:`service.alerts.evaluate_alerts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from battery_fmu.step import CellState, advance, boundary, constants, lookups
from service.twin_model import HYST, RESISTANCE, SOC, SOH, T_BOUNDARY, T_CELL, T_HOUSING, V1, V2

#: The step's constants by (cell, step length, boundary conductance): a service's samples come at few lengths.
_CONSTANTS: dict[tuple, object] = {}


def _constants(p, length: float, kb: float):
    key = (id(p), length, kb)
    k = _CONSTANTS.get(key)
    if k is None:
        if len(_CONSTANTS) > 1024:
            _CONSTANTS.clear()
        k = _CONSTANTS[key] = constants(p, length, kb)
    return k


@dataclass(frozen=True)
class Settings:
    """Thresholds of the detectors."""

    resistance_deviation: float = 0.15  # relative to the prediction [1]
    resistance_sigmas: float = 4.0  # and this many standard deviations of the estimate
    resistance_calibration_sd: float = 0.05  # the estimate's sd [1] below which the prediction is anchored
    temperature_deviation_K: float = 2.0  # [K] of the smoothed residual
    temperature_window_s: float = 3600.0  # [s] length of one open-loop prediction
    temperature_smoothing_s: float = 300.0  # [s] time constant of the residual's moving average
    temperature_calibration_sd: float = 1.5  # [K] the boundary estimate's sd below which predictions count
    boundary_shift_K: float = 3.0  # [K] how far an air-cooled pack's boundary estimate may move in a window
    # A liquid-cooled pack's boundary is mostly the coolant loop, which its thermal management holds at a
    # set point; the air's share moves it little. [K] within one window.
    boundary_shift_coolant_K: float = 2.0
    boundary_sigmas: float = 3.0  # and this many standard deviations of the boundary estimate
    boundary_checkpoints: int = 6  # sliding reference: one checkpoint per window / this


def boundary_shift_limit(coolant_connected: bool) -> float:
    """[K] how far the boundary estimate may move within a window before it is an anomaly."""
    return SETTINGS.boundary_shift_coolant_K if coolant_connected else SETTINGS.boundary_shift_K


SETTINGS = Settings()


@dataclass
class Event:
    """One anomaly: first and last time seen [unix s], its largest deviation, whether it still holds."""

    kind: str
    t_start: float
    t_last: float
    peak: float
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Detectors:
    """The detectors' memory, part of the twin's saved state."""

    resistance_reference: float | None = None  # resistance factor when new the prediction starts from [1]
    predictor: list[float] | None = None  # [t0, t_cell, t_housing, t_boundary] of the open-loop prediction
    temperature_residual: float = 0.0  # measured minus predicted cell temperature, last sample [K]
    resistance_deviation: float = 0.0  # estimated / predicted resistance - 1, last sample [1]
    boundary_history: list[list[float]] = field(default_factory=list)  # [t, boundary estimate [K]], sliding
    events: dict[str, Event] = field(default_factory=dict)

    def update(self, twin, t: float, dt: float, segments: list[tuple[float, float]], start, measured_t: float,
               innovation) -> None:
        """Check one sample taken at ``t`` [unix s], ``dt`` [s] after the previous one; ``segments``:
        (length [s], cell current [A]) of the interval; ``start``: the filter's mean before its last one."""
        self._resistance(twin, t)
        if math.isfinite(measured_t):
            self._temperature(twin, t, dt, segments, start, measured_t)

    def _resistance(self, twin, t: float) -> None:
        s = SETTINGS
        r, sd = float(twin.x[RESISTANCE]), twin.std(RESISTANCE)
        growth = twin.aging.soh_resistance
        if self.resistance_reference is None:
            if sd < s.resistance_calibration_sd:
                self.resistance_reference = r / growth
            return
        predicted = self.resistance_reference * growth
        deviation = r / predicted - 1.0
        self.resistance_deviation = deviation
        self._flag("resistance", t, deviation,
                   abs(deviation) > s.resistance_deviation and abs(r - predicted) > s.resistance_sigmas * sd)

    def _temperature(self, twin, t, dt, segments, start, measured_t) -> None:
        s = SETTINGS
        x = twin.x
        window = s.temperature_window_s
        if twin.std(T_BOUNDARY) > s.temperature_calibration_sd:
            self.predictor = None
            self.boundary_history = []
            return
        if dt > window:
            self.boundary_history = []
        reference = self._boundary_reference(t, float(x[T_BOUNDARY]))
        if self.predictor is None or t - self.predictor[0] > window or dt > window:
            self.predictor = [t, float(x[T_CELL]), float(x[T_HOUSING]), float(x[T_BOUNDARY])]
            self.temperature_residual = 0.0
            return
        p = twin.params
        t0, tc, th, tb = self.predictor
        state = CellState(float(start[SOC]), float(start[V1]), float(start[V2]), float(start[HYST]), tc, th)
        capacity = p.capacity * max(float(start[SOH]), 0.2)
        kb, _ = boundary(p, tb, tb, twin.pack["coolant_connected"])
        for length, current in segments:
            look = lookups(p, state.soc, state.t_cell, max(float(start[RESISTANCE]), 0.2))
            state, _ = advance(p, state, look, _constants(p, length, kb), current, tb, capacity)
        self.predictor = [t0, state.t_cell, state.t_housing, tb]
        weight = 1.0 - math.exp(-dt / s.temperature_smoothing_s)
        residual = self.temperature_residual
        residual += weight * (measured_t - state.t_cell - residual)
        self.temperature_residual = residual
        # The filter explains unexpected heat partly as a warmer boundary: a cooling loop that stops shows
        # there too, faster than air or coolant temperatures move.
        shift, limit = float(x[T_BOUNDARY]) - reference, boundary_shift_limit(twin.pack["coolant_connected"])
        by_cell = abs(residual) / s.temperature_deviation_K >= abs(shift) / limit
        value = residual if by_cell else shift
        # The estimate moves more between the sparse samples of a parked pack, where it knows less: a shift
        # counts where it is beyond what the estimate's own uncertainty explains as well.
        moved = abs(shift) > max(limit, s.boundary_sigmas * twin.std(T_BOUNDARY))
        self._flag("temperature", t, value, abs(residual) > s.temperature_deviation_K or moved)

    def _boundary_reference(self, t: float, estimate: float) -> float:
        """The boundary estimate [K] about one window before ``t`` (the oldest checkpoint still within it),
        after recording ``estimate`` as a checkpoint when the last one is old enough."""
        s = SETTINGS
        window, history = s.temperature_window_s, self.boundary_history
        if not history or t - history[-1][0] >= window / s.boundary_checkpoints:
            history.append([t, estimate])
        while len(history) > 1 and t - history[0][0] > window:
            history.pop(0)
        return history[0][1]

    def _flag(self, kind: str, t: float, value: float, anomalous: bool) -> None:
        event = self.events.get(kind)
        if anomalous:
            if event is None or not event.active:
                self.events[kind] = Event(kind, t, t, value)
            else:
                event.t_last = t
                if abs(value) > abs(event.peak):
                    event.peak = value
        elif event is not None and event.active:
            event.active = False

    def to_dict(self) -> dict[str, Any]:
        return {"resistance_reference": self.resistance_reference, "predictor": self.predictor,
                "temperature_residual": self.temperature_residual,
                "resistance_deviation": self.resistance_deviation, "boundary_history": self.boundary_history,
                "events": {k: e.to_dict() for k, e in self.events.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Detectors:
        return cls(d["resistance_reference"], d["predictor"], d["temperature_residual"],
                   d["resistance_deviation"], d.get("boundary_history", []),
                   {k: Event(**e) for k, e in d["events"].items()})
