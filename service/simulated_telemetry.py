"""Telemetry of a simulated vehicle, with its truth: the battery twin driven through drive cycles, read
through noisy sensors. What the live twin's accuracy is judged against, and a demo feed for the service.

The pack is the battery twin itself (:class:`battery_fmu.model.BatteryPack`), loaded from a vehicle
preset; the vehicle's power comes from the built-in EV model on the shipped drive cycles
(:class:`bridges.ev_model.CycleTable`). Sensors: the pack voltage with white noise of
``voltage_sd_cell`` per cell (times ``n_series``), the current with white noise and a constant offset,
the cell temperature with white noise. Faults can be injected: a resistance jump, a cooling failure.

::

    from service.simulated_telemetry import SimulatedVehicle

    car = SimulatedVehicle("model3_rwd_lfp", soc=0.6, ambient_degC=20.0, seed=1)
    car.drive("udds")
    car.park(8 * 3600)
    car.charge(11e3, until_soc=0.9)
    car.samples[0], car.truth[0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from battery_fmu.model import BatteryPack
from bridges.drive_cycles import resolve
from bridges.ev_model import CycleTable
from bridges.presets import get_preset
from bridges.vehicle_params import VehicleParams, aux_power
from service.twin_pack import cell
from service.twin_pack import resolve as resolve_pack

ZERO_CELSIUS = 273.15


@dataclass(frozen=True)
class Sensors:
    """How the simulated BMS reads the pack."""

    voltage_sd_cell: float = 0.010  # [V] per cell: white noise on the pack voltage divided by n_series
    current_sd: float = 0.5  # [A] white
    current_offset: float = 0.3  # [A] constant: a Hall sensor's zero error
    temperature_sd: float = 0.3  # [K] white


class SimulatedVehicle:
    """A vehicle whose pack is the battery twin; every step adds one telemetry sample and one truth row.

    Parameters
    ----------
    preset : str
        Vehicle preset id (its pack and its road load).
    soc : float
        True initial SOC [1].
    ambient_degC : float
        Ambient temperature [degC]; :attr:`ambient_degC` can be changed between calls.
    coolant_degC : float, optional
        When given, the pack is cooled by a coolant loop at this temperature.
    resistance_factor : float
        The pack's resistance relative to new at the start (an aged pack).
    hysteresis : str
        Where the hysteresis starts: ``"discharge"`` (full, below the OCV: the pack was last driven),
        ``"charge"`` (full, above: last charged) or ``"none"``.
    sensors : Sensors
    seed : int
    t0 : float
        Unix time of the start [s].
    """

    def __init__(self, preset: str, soc: float, ambient_degC: float = 20.0, coolant_degC: float | None = None,
                 resistance_factor: float = 1.0, hysteresis: str = "discharge",
                 sensors: Sensors | None = None, seed: int = 0, t0: float = 1.7e9):
        self.preset = get_preset(preset)
        self.pack_spec = resolve_pack({"preset": preset, "coolant_connected": coolant_degC is not None})
        spec = self.pack_spec
        self.pack = BatteryPack(cell(spec), spec["n_series"], spec["n_parallel"], soc=soc,
                                temperature=ambient_degC + ZERO_CELSIUS,
                                coolant_connected=spec["coolant_connected"])
        self.pack.aging.r_cal += resistance_factor - 1.0
        sign = {"discharge": -1.0, "charge": 1.0, "none": 0.0}[hysteresis]
        self.pack.hysteresis = sign * self.pack.p.hysteresis_magnitude.scalar(soc)
        self.pack._prep = None
        self.vehicle = VehicleParams.from_preset(self.preset)
        self.ambient_degC = ambient_degC
        self.coolant_degC = coolant_degC
        self.sensors = sensors or Sensors()
        self.rng = np.random.default_rng(seed)
        self.t = float(t0)
        self.samples: list[dict] = []
        self.truth: list[dict] = []
        self._tables: dict[str, CycleTable] = {}

    # ------------------------------------------------------------------ what the vehicle does

    def drive(self, cycle: str, dt: float = 1.0, regen_strength: float = 3.0) -> None:
        """Drive ``cycle`` (a shipped cycle or mix) once, with one sample every ``dt`` [s] (whole seconds;
        the pack steps under the mean power of each)."""
        n = max(1, int(round(dt)))
        for c in resolve(cycle):
            table = self._tables.get(c.name) or self._tables.setdefault(
                c.name, CycleTable(self.vehicle, c, regen_strength))
            ambient = self.ambient_degC + ZERO_CELSIUS
            p_aux = aux_power(self.vehicle, ambient, True)
            for k0 in range(0, table.n_segments, n):
                ks = range(k0, min(k0 + n, table.n_segments))
                energy = sum(table.segment(k, p_aux, self.pack.power_charge_max).battery for k in ks)
                self._step(float(len(ks)), energy / len(ks), 0.0, {"speed_mps": table.speed[ks[-1] + 1]})

    def park(self, seconds: float, sample_every: float = 3600.0) -> None:
        """Rest ``seconds``, a sample every ``sample_every`` [s] (each the last second of its interval)."""
        left = float(seconds)
        while left > 0.5:
            span = min(sample_every, left)
            if span > 1.0:
                self._advance(span - 1.0, 0.0, 0.0)
            self._step(min(1.0, span), 0.0, 0.0, {"speed_mps": 0.0})
            left -= span

    def charge(self, power_W: float, until_soc: float = 1.0, sample_every: float = 10.0,
               max_seconds: float = 86400.0) -> None:
        """Charge at ``power_W`` [W into the pack] until the true SOC reaches ``until_soc`` or the pack takes
        no more, one sample every ``sample_every`` [s]."""
        elapsed = 0.0
        while self.pack.soc < until_soc - 1e-6 and elapsed < max_seconds:
            # A charger tapers where the pack's limits bind: the request is clamped by the pack.
            self._step(sample_every, -float(power_W), 0.0, {"speed_mps": 0.0})
            elapsed += sample_every
            if self.pack.current > -1e-3:
                break

    # ------------------------------------------------------------------ faults

    def resistance_jump(self, factor: float) -> None:
        """Multiply the pack's resistance by ``factor`` from now on (a contact or cell fault)."""
        aging = self.pack.aging
        aging.r_cal += (factor - 1.0) * aging.resistance_factor
        self.pack._prep = None

    def cooling_failure(self) -> None:
        """The coolant loop stops: the housing exchanges heat with the air alone from now on."""
        self.pack.coolant_connected = False
        self.pack._constants.clear()
        self.pack._prep = None

    # ------------------------------------------------------------------ stepping and sensing

    def _advance(self, dt: float, power: float, charge_current: float) -> None:
        coolant = None if self.coolant_degC is None else self.coolant_degC + ZERO_CELSIUS
        self.pack.step(dt, power, charge_current, self.ambient_degC + ZERO_CELSIUS, coolant)
        self.t += dt

    def _step(self, dt: float, power: float, charge_current: float, extra: dict) -> None:
        self._advance(dt, power, charge_current)
        pack, s, rng = self.pack, self.sensors, self.rng
        noise_v, noise_i, noise_t = rng.standard_normal(3)
        self.samples.append({
            "t": self.t,
            "current_A": pack.current + s.current_offset + s.current_sd * noise_i,
            "voltage_V": pack.voltage + s.voltage_sd_cell * pack.n_series * noise_v,
            "temperature_degC": pack.t_cell - ZERO_CELSIUS + s.temperature_sd * noise_t,
            **extra,
        })
        self.truth.append({"t": self.t, "soc": pack.soc, "temperature_degC": pack.t_cell - ZERO_CELSIUS,
                           "resistance_factor": pack.aging.resistance_factor,
                           "soh_capacity": pack.aging.soh_capacity, "current_A": pack.current,
                           "voltage_V": pack.voltage, "hysteresis_V": pack.hysteresis})


def soc_rmse(estimates: list[float], truths: list[float]) -> float:
    """Root-mean-square difference of two equally long sequences."""
    n = len(truths)
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(estimates, truths, strict=True)) / n) if n else math.nan
