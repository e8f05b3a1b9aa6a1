"""The live twin of one vehicle's pack: SOC, capacity, resistance and temperature estimated from telemetry.

A sigma-point Kalman filter (:mod:`service.ukf`, Gauss-Hermite along the SOC) whose process model is the step
(:mod:`service.twin_model` calls :func:`battery_fmu.step.advance` on every sigma point) and whose
measurements are the terminal voltage and the cell temperature. The resistance and capacity factors, the
temperature the housing exchanges heat with and the current sensor's offset are states of the same filter
(a joint filter), so what the voltage cannot tell shows as a wider band. The twin's own aging model
(:mod:`battery_fmu.aging`, fed with the estimates) predicts how capacity and resistance should move; the
anomaly detectors (:mod:`service.anomalies`) compare the data with that prediction.

::

    from service.twin import LiveTwin

    twin = LiveTwin.new({"preset": "model3_rwd_lfp"}, soc_init=0.8)
    twin.ingest([{"t": 1.7e9, "current_A": 20.0, "voltage_V": 350.0, "temperature_degC": 21.0},
                 {"t": 1.7e9 + 1, "current_A": 25.0, "voltage_V": 349.6, "temperature_degC": 21.0}])
    twin.state()["soc"], twin.state()["soc_std"]
    twin = LiveTwin.from_json(twin.to_json())

A sample's current and voltage describe the interval since the previous sample (the current held over
it, the voltage its mean, as a BMS samples them) up to :data:`MAX_HOLD_S`; over a longer gap the
current changes from the previous sample's to this one's at an unknown moment within the stream's last
interval (at most :data:`CARRY_S`), then the pack rests. The twin is causal: a sample not newer than the last one it used is skipped (counted in
``skipped``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from battery_fmu.aging_laws import aging_model
from service import anomalies, twin_pack, ukf
from service.projection import Usage
from service.twin_model import (
    OFFSET,
    RESISTANCE,
    SOC,
    SOH,
    T_BOUNDARY,
    T_CELL,
    CellModel,
    NoiseModel,
    Prior,
    as_dict,
    bounded,
    from_dict,
    initial_state,
    process_noise,
)

#: Longest time [s] a sample's current is taken to have flowed before it.
MAX_HOLD_S = 60.0
#: Longest time [s] over which the current may go on changing into a longer gap (a charge sampled every few
#: minutes); the rest of the gap is a rest.
CARRY_S = 900.0
ZERO_CELSIUS = 273.15
FORMAT_VERSION = 1


class LiveTwin:
    """One pack's estimated state; build with :meth:`new` or :meth:`from_json`."""

    def __init__(self, pack: dict[str, Any], x: np.ndarray, p: np.ndarray, noise: NoiseModel, prior: Prior,
                 aging_state: list | None = None):
        self.pack = pack
        self.params = twin_pack.cell(pack)
        self.noise, self.prior = noise, prior
        self.x, self.P = x, p
        self.model = CellModel(self.params, pack["n_parallel"], pack["coolant_connected"],
                               noise.voltage_bias_time)
        if aging_state is None:
            aging_state = aging_model(self.params, soh_capacity=pack["soh"], warn=_ignore).get_state()
        self.aging = twin_pack.aging(self.params, aging_state)
        self.last_sample_t: float | None = None
        self.efc = 0.0
        self.samples = 0
        self.skipped = 0
        self.diverged = 0  # intervals the filter could not follow (telemetry beyond any pack)
        self.detectors = anomalies.Detectors()
        self.usage = Usage()
        self.last_current = 0.0  # [A] the last sample's pack current
        self.last_interval: float | None = None  # [s] between the last two samples
        voltage_var = noise.voltage_sd_cell ** 2 + noise.model_voltage_sd ** 2
        self._r = np.diag([voltage_var, noise.temperature_sd ** 2])

    # ------------------------------------------------------------------ construction

    @classmethod
    def new(cls, pack: dict[str, Any], soc_init: float, noise: NoiseModel | None = None,
            prior: Prior | None = None) -> LiveTwin:
        """A twin of ``pack`` (``{"preset": id}`` or the pack's parameters, :mod:`service.twin_pack`)
        believed to be at ``soc_init`` [1]; the first sample sets its temperatures."""
        if isinstance(soc_init, bool) or not isinstance(soc_init, (int, float)) or not 0.0 <= soc_init <= 1.0:
            raise ValueError(f"soc_init must be a fraction within [0, 1], got {soc_init!r}")
        full = twin_pack.resolve(pack)
        noise, prior = noise or NoiseModel(), prior or Prior()
        x, p = initial_state(float(soc_init), 298.15, full["soh"], prior, noise)
        return cls(full, x, p, noise, prior)

    # ------------------------------------------------------------------ telemetry

    def ingest(self, samples: list[dict]) -> None:
        """Update the estimate with ``samples`` (sorted by ``t`` [unix s]; SI keys ``current_A`` (positive
        discharging), ``voltage_V`` (pack), ``temperature_degC``)."""
        for i, s in enumerate(samples):
            try:
                t = float(s["t"])
                current = float(s["current_A"])
                voltage = float(s.get("voltage_V", math.nan))
                temperature = float(s.get("temperature_degC", math.nan)) + ZERO_CELSIUS
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"sample {i}: {type(err).__name__}: {err}") from None
            if not (math.isfinite(t) and math.isfinite(current)):
                raise ValueError(f"sample {i}: t and current_A must be finite numbers")
            if self.last_sample_t is None:
                self._first(t, temperature)
                continue
            dt = t - self.last_sample_t
            if dt <= 0.0:
                self.skipped += 1
                continue
            self._advance(t, dt, current, voltage, temperature)

    def _first(self, t: float, temperature: float) -> None:
        if math.isfinite(temperature):
            self.x[T_CELL:T_CELL + 3] = temperature
        self.aging.reset_soc(float(self.x[SOC]))
        self.last_sample_t = t
        self.samples += 1

    def _advance(self, t: float, dt: float, current: float, voltage: float, temperature: float) -> None:
        """One sample: over a long gap the current changes from the previous sample's to this one's at an
        unknown time within a carry span, then the pack rests; then the sample's own current with its
        measurements."""
        hold = min(dt, MAX_HOLD_S)
        carry = self._carry(dt - hold)
        # Somewhere within the carry span the current went from the previous sample's to this one's; with
        # the moment unknown (uniform), the charge moved is their mean's, give or take |difference| / sqrt(12)
        # over the span: the SOC's uncertainty says so, and the voltage afterwards settles it.
        carried = 0.5 * (self.last_current + current)
        unknown = abs(self.last_current - current) / math.sqrt(12.0)
        segments = [(length, i, sd) for length, i, sd in ((carry, carried, unknown),
                                                          (dt - hold - carry, 0.0, 0.0)) if length > 0.0]
        for length, i, sd in segments:
            self._filter_step(length, i, None, sd)
        segments = [(length, i) for length, i, _ in segments] + [(hold, current)]
        y = np.array([voltage / self.pack["n_series"], temperature])
        start = self.x.copy()
        innovation = self._filter_step(hold, current, y)
        offset, n_parallel = float(start[OFFSET]), self.pack["n_parallel"]
        cells = [(length, 0.0 if i == 0.0 else (i - offset) / n_parallel) for length, i in segments]
        efc = sum(abs(i) * length for length, i in cells) / (2.0 * self.params.capacity)
        self.efc += efc
        floor = self.params.aging.crate_floor * self.params.capacity / 3600.0  # below it: storage [A]
        moving = sum(length for length, i in cells if abs(i) >= floor)
        self.usage.add(dt, _clip(float(self.x[SOC])), float(self.x[T_CELL]), efc, moving)
        self.detectors.update(self, t, dt, cells, start, temperature, innovation)
        self.last_sample_t = t
        self.last_current = current
        self.last_interval = dt
        self.samples += 1

    def _carry(self, gap: float) -> float:
        """How long [s] of a ``gap`` beyond the hold the current may have gone on changing: up to the
        stream's own previous interval (a stream that sampled a charge every 5 minutes and then falls silent
        for an hour saw the charge end within about 5 minutes), at most :data:`CARRY_S`."""
        return min(gap, CARRY_S, self.last_interval if self.last_interval is not None else CARRY_S)

    def _filter_step(self, dt: float, current: float, y: np.ndarray | None, current_sd: float = 0.0):
        """One filter step of ``dt`` [s] under the pack ``current`` [A], known to ``current_sd`` [A] beyond
        the sensor's own noise."""
        start_soc = float(self.x[SOC])
        sd = math.hypot(self.noise.current_sd, current_sd) / self.pack["n_parallel"]
        q = process_noise(self.noise, dt, sd, self.params.capacity * max(float(self.x[SOH]), 0.2))
        try:
            with np.errstate(all="ignore"):
                x, p, innovation, _ = ukf.step(
                    self.x, self.P, lambda sig: self.model.propagate(sig, current, dt), q, self._r, y)
        except np.linalg.LinAlgError:  # the predicted measurements' covariance overflowed to a singular one
            x = p = np.array([np.nan])
        if np.isfinite(x).all() and np.isfinite(p).all():
            self.x, self.P = bounded(x, p)
        else:
            # Telemetry no pack produces (thousands of amperes for hours) takes the step's spread of states
            # out of the numbers' range: such an interval teaches nothing, so the estimate stays as it was.
            self.diverged += 1
            innovation = None
        cell_current = 0.0
        if current != 0.0:
            cell_current = (current - float(self.x[OFFSET])) / self.pack["n_parallel"]
        end_soc = _clip(float(self.x[SOC]))
        self.aging.advance(dt, _clip(start_soc), end_soc, float(self.x[T_CELL]), cell_current)
        return innovation

    # ------------------------------------------------------------------ outputs

    def std(self, index: int) -> float:
        return math.sqrt(max(float(self.P[index, index]), 0.0))

    def state(self) -> dict[str, Any]:
        """SOC, capacity and resistance relative to new, each with its standard deviation, cell temperature
        and the estimated temperature the housing exchanges heat with (ambient or coolant) [degC], equivalent
        full cycles and the time of the last sample used [unix s]."""
        return {
            "soc": _clip(float(self.x[SOC])),
            "soc_std": self.std(SOC),
            "soh_capacity": float(self.x[SOH]),
            "soh_capacity_std": self.std(SOH),
            "soh_resistance": float(self.x[RESISTANCE]),
            "soh_resistance_std": self.std(RESISTANCE),
            "temperature_degC": float(self.x[T_CELL]) - ZERO_CELSIUS,
            "t_boundary_degC": float(self.x[T_BOUNDARY]) - ZERO_CELSIUS,
            "efc": self.efc,
            "last_sample_t": self.last_sample_t,
        }

    # ------------------------------------------------------------------ persistence

    def to_json(self) -> str:
        """Everything the twin knows (filter state, covariance, aging, detectors), as JSON."""
        return json.dumps({
            "version": FORMAT_VERSION, "pack": self.pack, "noise": as_dict(self.noise),
            "prior": as_dict(self.prior), "x": self.x.tolist(), "P": self.P.tolist(),
            "aging": self.aging.get_state(), "last_sample_t": self.last_sample_t, "efc": self.efc,
            "samples": self.samples, "skipped": self.skipped, "diverged": self.diverged,
            "last_current": self.last_current, "last_interval": self.last_interval,
            "detectors": self.detectors.to_dict(), "usage": as_dict(self.usage),
        })

    @classmethod
    def from_json(cls, text: str) -> LiveTwin:
        """The twin :meth:`to_json` wrote."""
        d = json.loads(text)
        if d.get("version") != FORMAT_VERSION:
            raise ValueError(f"live twin state of version {d.get('version')!r}; "
                             f"this code reads version {FORMAT_VERSION}")
        twin = cls(d["pack"], np.array(d["x"], dtype=float), np.array(d["P"], dtype=float),
                   from_dict(NoiseModel, d["noise"]), from_dict(Prior, d["prior"]), d["aging"])
        twin.last_sample_t, twin.efc = d["last_sample_t"], d["efc"]
        twin.samples, twin.skipped, twin.last_current = d["samples"], d["skipped"], d["last_current"]
        twin.diverged = d.get("diverged", 0)
        twin.last_interval = d.get("last_interval")
        twin.detectors = anomalies.Detectors.from_dict(d["detectors"])
        twin.usage = Usage(**d["usage"])
        return twin


def _clip(soc: float) -> float:
    return min(max(soc, 0.0), 1.0)


def _ignore(message: str) -> None:
    """The aging model's out-of-range notes: the estimate goes on; they are not the service's to log."""
