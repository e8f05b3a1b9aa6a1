"""The live twin's state-space model: the battery step applied to a cloud of states at once.

The filter's state (:data:`STATE`) is the cell's fast states of :class:`battery_fmu.step.CellState`
plus what the data must reveal and the step takes as inputs: the temperature the housing exchanges
heat with, the resistance and capacity factors, and the current sensor's offset. One call of
:func:`propagate` steps every sigma point through :func:`battery_fmu.step.advance` (the step's own
parts, with the numpy backend, all points at once): the process model is the battery step itself,
and the measurement is the step's mean terminal voltage and its cell temperature.

SI units; per cell except the current offset (pack amperes, as the sensor reads them).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from battery_fmu.ops import numpy_ops
from battery_fmu.step import CellState, advance, boundary, constants, lookups

#: The filter's state, in this order.
STATE = ("soc", "v1", "v2", "hysteresis", "t_cell", "t_housing", "t_boundary", "resistance_factor", "soh",
         "current_offset", "voltage_bias")
SOC, V1, V2, HYST, T_CELL, T_HOUSING, T_BOUNDARY, RESISTANCE, SOH, OFFSET, BIAS = range(len(STATE))
#: Lower bounds the sigma points are held above where the step would lose its meaning (a resistance or a
#: capacity of zero); far below any value the filter reaches in use.
FACTOR_FLOOR = 0.2
HOUR = 3600.0
DAY = 86400.0
#: Where each state can physically be (SI, per cell). Telemetry that no pack could produce (a 2 kV reading,
#: a current no cell carries for an hour) would otherwise drag the estimate where the step has no meaning
#: (a cell at 30 K, then overflow); the filter's mean is held inside these bounds after every update, and
#: no standard deviation is let grow beyond their width. In use the estimate stays far inside them.
STATE_LOWER = np.array([-0.1, -1.0, -1.0, -0.1, 213.15, 213.15, 213.15, FACTOR_FLOOR, FACTOR_FLOOR, -100.0, -0.5])
STATE_UPPER = np.array([1.1, 1.0, 1.0, 0.1, 423.15, 423.15, 423.15, 10.0, 1.5, 100.0, 0.5])


def bounded(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` held inside the state's bounds and ``p`` with no standard deviation wider than them (scaled
    as D P D with D diagonal, which keeps it a covariance)."""
    width = STATE_UPPER - STATE_LOWER
    sd = np.sqrt(np.maximum(np.diag(p), 0.0))
    scale = np.minimum(1.0, width / np.maximum(sd, 1e-300))
    return np.clip(x, STATE_LOWER, STATE_UPPER), p * scale[:, None] * scale[None, :]


@dataclass(frozen=True)
class NoiseModel:
    """What the filter assumes about the sensors and about how fast the hidden quantities move.

    Sensor noise is the standard deviation of one sample; a process noise ``*_walk`` is the standard
    deviation a random walk gains over the time unit in its name (it grows with the square root of time).
    """

    voltage_sd_cell: float = 0.010  # [V] per cell: the voltage sensor, as the pack voltage over n_series
    model_voltage_sd: float = 0.002  # [V] per cell: what the step does not model (sampling skew, ...)
    temperature_sd: float = 0.3  # [K] the temperature sensor
    current_sd: float = 0.5  # [A] pack current sensor, white
    rc_walk_per_s: float = 2e-5  # [V / sqrt(s)] RC voltages: model error
    hysteresis_walk_per_hour: float = 0.002  # [V / sqrt(h)]
    cell_temperature_walk_per_s: float = 0.005  # [K / sqrt(s)] heat the model misses
    boundary_walk_per_hour: float = 0.7  # [K / sqrt(h)] ambient or coolant temperature drifting
    resistance_walk_per_hour: float = 0.02  # [1 / sqrt(h)] resistance factor (aging, contact faults)
    soh_walk_per_day: float = 0.002  # [1 / sqrt(d)] capacity factor
    offset_walk_per_day: float = 0.05  # [A / sqrt(d)] current sensor offset drift
    # What the tables do not know: the cell's own OCV and hysteresis differ from the parameter set's by a few
    # millivolts, an error that changes with SOC and so, slowly, in time (a Gauss-Markov process). On LFP's
    # plateau a few millivolts are ten points of SOC: this is what keeps the band honest there.
    voltage_bias_sd: float = 0.003  # [V] per cell, stationary standard deviation
    voltage_bias_time: float = 2 * HOUR  # [s] correlation time


@dataclass(frozen=True)
class Prior:
    """Standard deviations of the initial state around the declared values."""

    soc_sd: float = 0.25
    rc_sd: float = 0.01  # [V]
    hysteresis_sd: float = 0.015  # [V]
    t_cell_sd: float = 1.0  # [K] around the first measured temperature
    t_housing_sd: float = 3.0  # [K]
    t_boundary_sd: float = 8.0  # [K]
    resistance_sd: float = 0.2
    soh_sd: float = 0.05
    offset_sd: float = 0.5  # [A], pack


def as_dict(obj) -> dict:
    return asdict(obj)


def from_dict(cls, data: dict | None):
    names = {f.name for f in fields(cls)}
    return cls(**{k: float(v) for k, v in (data or {}).items() if k in names})


def initial_state(soc: float, t_measured: float, soh: float, prior: Prior, noise: NoiseModel
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of the state before any voltage has been seen; ``t_measured`` [K]."""
    x = np.array([soc, 0.0, 0.0, 0.0, t_measured, t_measured, t_measured, 1.0, soh, 0.0, 0.0])
    sd = np.array([prior.soc_sd, prior.rc_sd, prior.rc_sd, prior.hysteresis_sd, prior.t_cell_sd,
                   prior.t_housing_sd, prior.t_boundary_sd, prior.resistance_sd, prior.soh_sd,
                   prior.offset_sd, noise.voltage_bias_sd])
    return x, np.diag(sd * sd)


def process_noise(noise: NoiseModel, dt: float, current_sd_cell: float, capacity: float) -> np.ndarray:
    """Diagonal process-noise covariance over a step of ``dt`` [s]; ``capacity`` [C] per cell."""
    q = np.empty(len(STATE))
    q[SOC] = (current_sd_cell * dt / capacity) ** 2
    q[V1] = q[V2] = noise.rc_walk_per_s ** 2 * dt
    q[HYST] = noise.hysteresis_walk_per_hour ** 2 * dt / HOUR
    q[T_CELL] = q[T_HOUSING] = noise.cell_temperature_walk_per_s ** 2 * dt
    q[T_BOUNDARY] = noise.boundary_walk_per_hour ** 2 * dt / HOUR
    q[RESISTANCE] = noise.resistance_walk_per_hour ** 2 * dt / HOUR
    q[SOH] = noise.soh_walk_per_day ** 2 * dt / DAY
    q[OFFSET] = noise.offset_walk_per_day ** 2 * dt / DAY
    q[BIAS] = noise.voltage_bias_sd ** 2 * -math.expm1(-2.0 * dt / noise.voltage_bias_time)
    return np.diag(q)


class CellModel:
    """The step for one pack, applied to sigma points (rows of an array shaped ``(m, len(STATE))``).

    Parameters
    ----------
    params : CellParameters
        The pack's cell (:func:`battery_fmu.parameters.load_cell`).
    n_parallel : int
        Cells in parallel: the pack current divided by it is the cell current.
    coolant_connected : bool
        Whether the housing exchanges heat with a coolant loop (the boundary conductance).
    """

    def __init__(self, params, n_parallel: int, coolant_connected: bool, voltage_bias_time: float):
        self.p = params
        self.n_parallel = int(n_parallel)
        self.coolant_connected = bool(coolant_connected)
        self.ops = numpy_ops()
        # The boundary conductance is the pack's own; the boundary temperature is a state.
        self.conductance, _ = boundary(params, 0.0, 0.0, self.coolant_connected)
        self._constants: dict[float, object] = {}
        self.voltage_bias_time = voltage_bias_time

    def constants(self, dt: float):
        k = self._constants.get(dt)
        if k is None:
            if len(self._constants) > 256:
                self._constants.clear()
            k = self._constants[dt] = constants(self.p, dt, self.conductance, self.ops)
        return k

    def propagate(self, sigma: np.ndarray, current_pack: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(states after ``dt`` [s], measurements) for every sigma point, under the measured pack current
        ``current_pack`` [A] (positive discharging) held over the step.

        A measurement is (mean terminal voltage over the step [V per cell], cell temperature at its end [K]);
    the voltage includes the state's bias of the tables (:attr:`NoiseModel.voltage_bias_sd`).
        """
        ops, p = self.ops, self.p
        soh = np.maximum(sigma[:, SOH], FACTOR_FLOOR)
        rf = np.maximum(sigma[:, RESISTANCE], FACTOR_FLOOR)
        current = (current_pack - sigma[:, OFFSET]) / self.n_parallel if current_pack != 0.0 else 0.0 * soh
        state = CellState(sigma[:, SOC], sigma[:, V1], sigma[:, V2], sigma[:, HYST], sigma[:, T_CELL],
                          sigma[:, T_HOUSING])
        look = lookups(p, state.soc, state.t_cell, rf, ops)
        new, means = advance(p, state, look, self.constants(dt), current, sigma[:, T_BOUNDARY],
                             soh * p.capacity, ops)
        out = sigma.copy()
        out[:, SOC], out[:, V1], out[:, V2], out[:, HYST], out[:, T_CELL], out[:, T_HOUSING] = new
        out[:, BIAS] *= math.exp(-dt / self.voltage_bias_time)
        return out, np.column_stack((means.voltage + sigma[:, BIAS], new.t_cell))

