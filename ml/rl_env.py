"""A Gymnasium environment on the twin for learning when to charge: the battery step, the week's schedule,
the trips with their daily variation and monthly long trip, the tariff, the climate.

One step is ``step_s`` (15 min) of a plug-in session: the action is 0 (wait) or 1 (charge at the
wallbox's power, up to the session's goal). Between sessions the environment drives the day's trips
(each a constant power over its duration: the trip's energy from the vehicle's consumption on its cycle
mix at the hour's temperature, at the mix's mean speed) and parks, with the same battery step
(:class:`battery_fmu.model.BatteryPack`, the twin's in-process pack) and the twin's aging laws.

Reward, in kWh-equivalent as the MPC's objective (:mod:`control.mpc_nlp`), per step: minus the capacity
fade (the twin's rate laws, :class:`control.mpc_estimator.AgingObserver`) times the degradation weight,
minus the grid energy's price times the tariff weight, minus ``MISS_PENALTY`` per 1 % of SOC a car comes
home under its reserve. The observation is :func:`control.rl_charger.observation`, the shield
:func:`control.rl_charger.shielded`: what the ``rl_charger`` unit computes from its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from control.charge_need import Reserve, Tariff, need_soc
from control.rl_charger import OBSERVATIONS, PriceOutlook, observation, shielded
from control.trip_plan import DAY, TripPlan

#: Penalty per 1 % of SOC under the reserve on coming home [kWh-equivalent].
MISS_PENALTY = 500.0
#: Reward scale for the learner (rewards of order one).
REWARD_SCALE = 0.05


def _clock(text: str) -> float:
    h, m = str(text).split(":")
    return int(h) * 3600.0 + int(m) * 60.0


@dataclass
class Usage:
    """The week the environment simulates (defaults: ``scenarios/charging_commute.yaml``'s)."""

    trips: dict = field(default_factory=lambda: {"weekdays": ["28.5 km", "28.5 km"], "sat": ["28.5 km"]})
    drive_times: dict = field(default_factory=lambda: {"weekdays": ["07:30", "17:30"], "sat": ["10:00"]})
    plug_in: dict = field(default_factory=lambda: {"weekdays": "18:20", "sat": "15:30"})
    long_trip: dict | None = field(default_factory=lambda: {"distance": "250 km", "day": "sat"})
    variation: tuple = (0.7, 1.3)
    tariff: Any = field(default_factory=lambda: {"00:00": 0.08, "06:00": 0.15, "16:00": 0.35, "21:00": 0.15})
    reserve: str = "20 %"
    trip_margin: float = 0.4
    preset: str = "model3_rwd_lfp"
    cycle: str = "commute"
    climate: str = "miami"
    power_limit: float = 7400.0
    efficiency: float = 0.909  # the ADAC curve at a 7.4 kW wallbox (docs/charging.md)
    degradation_weight: float = 2600.0
    tariff_weight: float = 1.0 / 0.15

    def per_weekday(self, spec: dict) -> list:
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        groups = {"weekdays": days[:5], "weekend": days[5:], "every_day": days}
        out: dict = {}
        for key, value in spec.items():
            for d in groups.get(key, (key,)):
                if key in days or d not in spec:
                    out[d] = value
        return [out.get(d) for d in days]


class ChargingEnv:
    """The environment (Gymnasium API: ``reset``, ``step``, ``observation_space``, ``action_space``).

    ``days``: episode length; each episode starts on a random week of the year with a random SOC and a
    fresh seed for the trips' variation (``rng`` from ``reset(seed=...)``).
    """

    metadata: dict = {"render_modes": []}

    def __init__(self, days: int = 14, usage: Usage | None = None, step_s: float = 900.0):
        import gymnasium as gym

        from battery_fmu.parameters import load_cell
        from bridges.presets import get_preset
        from bridges.vehicle_unit import EVUnit
        from cosim.schedule import Ambient, ScheduleUnit

        self.days, self.step_s = int(days), float(step_s)
        self.usage = u = usage or Usage()
        pack = get_preset(u.preset).pack()
        self.pack = pack
        self.cell = load_cell(pack["parameter_set"], pack["capacity_Ah"])
        self.vehicle = EVUnit(u.preset, cycle=u.cycle)
        self.speed = sum(t.dist[-1] for t in (self.vehicle.table(i) for i in range(len(self.vehicle.cycles)))) / sum(
            c.duration for c in self.vehicle.cycles)
        self.ambient = ScheduleUnit._ambient_column(Ambient.profile(u.climate))
        self.tariff = Tariff(u.tariff) if u.tariff is not None else None
        self.reserve = Reserve.parse(u.reserve)
        self.drive_times = [[_clock(t) for t in (v or [])] for v in u.per_weekday(u.drive_times)]
        self.plug_in = [(_clock(v) if v else None) for v in u.per_weekday(u.plug_in)]
        self.observation_space = gym.spaces.Box(-5.0, 5.0, (OBSERVATIONS,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.np_random = np.random.default_rng()

    # ------------------------------------------------------------------ the world

    def _temperature(self, t0: float, t1: float) -> float:
        return self.ambient.mean(t0 % (365 * DAY), t0 % (365 * DAY) + (t1 - t0))

    def _advance(self, t1: float, load: float = 0.0, current: float = 0.0, chunk: float = 3600.0) -> float:
        """Step the pack from the present time to ``t1`` [s]; the fade [1] on the way."""
        q0 = self.observer.q_cal + self.observer.q_cyc
        while self.t < t1 - 1e-9:
            dt = min(chunk, t1 - self.t)
            t_amb = self._temperature(self.t, self.t + dt)
            self.battery.step(dt, load, current, t_amb)
            b = self.battery
            self.observer.update(b.soc, b.t_cell, b.soh_capacity, dt, 0.3, 0.05)
            self.t += dt
        return self.observer.q_cal + self.observer.q_cyc - q0

    def _pack_energy(self) -> float:
        b = self.battery
        return self.pack["capacity_Ah"] * 3600.0 * self.pack["n_parallel"] * b.soh_capacity * b.ocv * b.n_series

    def _session(self, t: float) -> tuple[float, float]:
        """(departure, plug-in time of the next evening) for the session plugged in at ``t``."""
        day = int(t // DAY)
        for d in range(day, day + 8):
            times = self.drive_times[d % 7]
            if times and d * DAY + times[0] > t:
                return d * DAY + times[0], d
        raise RuntimeError("no departure within a week")

    def _drive_day(self, day: int) -> float:
        """Drive the day's trips (from the present time, the departure) and park until plug-in; the
        fade on the way."""
        fade = 0.0
        distances = self.plan.actual(day)
        times = self.drive_times[day % 7]
        if self.plan.is_long_trip_day(day):
            times = times[:1]
        for start, dist in zip(times, distances):
            t_start = day * DAY + start
            fade += self._advance(t_start)
            duration = max(dist / self.speed, 60.0)
            t_amb = self._temperature(t_start, t_start + duration)
            power = dist * self.vehicle.forecast_consumption(t_amb) / duration
            fade += self._advance(t_start + duration, load=power, chunk=300.0)
        fade += self._advance(day * DAY + self.plug_in[day % 7])
        return fade

    def _start_session(self) -> None:
        self.departure, self.departure_day = self._session(self.t)
        t_amb = self._temperature(self.t, self.t + 3600.0)
        planned = sum(self.plan.planned(self.departure_day))
        consumption = self.vehicle.forecast_consumption(t_amb)
        energy = self._pack_energy()
        self.reserve_soc = self.reserve.soc(energy, consumption)
        self.goal = need_soc(planned * consumption, energy, self.reserve_soc, self.usage.trip_margin, 0.0, 0.9)

    # ------------------------------------------------------------------ Gymnasium API

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        from battery_fmu.model import BatteryPack
        from control.mpc_estimator import AgingObserver

        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        rng = self.np_random
        u = self.usage
        self.plan = TripPlan(u.trips, u.variation, int(rng.integers(1 << 30)), u.long_trip)
        week = int(rng.integers(0, 50))
        self.t0 = self.t = week * 7 * DAY + self.plug_in[0]  # a Monday evening, plugged in
        self.end = self.t0 + self.days * DAY
        soc = float(rng.uniform(0.2, 0.6))
        self.battery = BatteryPack(self.cell, self.pack["n_series"], self.pack["n_parallel"], soc=soc,
                                   temperature=self._temperature(self.t, self.t + 1.0), warn=lambda message: None)
        self.observer = AgingObserver(self.cell)
        self.observer.update(soc, self.battery.t_cell, 1.0, 1.0, 0.3, 0.05)
        self._start_session()
        return self._observe(), {}

    def _full_current(self) -> float:
        b = self.battery
        return min(self.usage.power_limit / max(b.voltage, 1.0), b.current_charge_max, 250.0)

    def _full_seconds(self) -> float:
        missing = max(self.goal - self.battery.soc, 0.0) * self.pack["capacity_Ah"] * 3600.0 \
            * self.pack["n_parallel"] * self.battery.soh_capacity
        i = self._full_current()
        return missing / i if i > 0.0 else float("inf")

    def _observe(self) -> np.ndarray:
        full = self._full_seconds()
        prices = PriceOutlook.of(self.tariff, self.t, self.departure, full)
        return observation(self.battery.soc, self.goal, self.departure - self.t, prices, full)

    def step(self, action):
        u = self.usage
        left = self.departure - self.t
        dt = min(self.step_s, left)
        on = shielded(bool(action), left, self._full_seconds()) and self.battery.soc < self.goal
        current = 0.0
        if on:
            pack_capacity = self.pack["capacity_Ah"] * 3600.0 * self.pack["n_parallel"] * self.battery.soh_capacity
            current = min(self._full_current(), (self.goal - self.battery.soc) * pack_capacity / dt)
        price = self.tariff.mean(self.t, self.t + dt) if self.tariff else 0.0
        grid_kwh = current * self.battery.voltage * dt / u.efficiency / 3.6e6
        fade = self._advance(self.t + dt, current=current, chunk=dt)
        cost = 100.0 * fade * u.degradation_weight + u.tariff_weight * price * grid_kwh
        if self.t >= self.departure - 1e-6:
            fade = self._drive_day(self.departure_day)
            cost += 100.0 * fade * u.degradation_weight
            shortfall = self.reserve_soc - self.battery.soc
            if shortfall > 0.0:
                cost += MISS_PENALTY * 100.0 * shortfall
            self._start_session()
        done = self.t >= self.end
        return self._observe(), -REWARD_SCALE * cost, done, False, {"grid_kWh": grid_kwh, "fade": fade}


def make_env(days: int = 14, usage: Usage | None = None):
    """The environment as a registered-free Gymnasium ``Env`` (Stable-Baselines3 checks the type)."""
    import gymnasium as gym

    class _Env(ChargingEnv, gym.Env):
        pass

    return _Env(days, usage)
