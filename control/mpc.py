"""Model-predictive charging: the least predicted capacity loss and energy loss that still meets the target.

Unit type ``mpc_charger``. Wired like the CC-CV charger (``docs/charging.md``), plus the battery's
temperatures and health. At plug-in it lays ``intervals`` intervals of ``resolution`` (or longer,
to reach the departure) over the horizon and solves :class:`control.mpc_problem.ChargingProblem`
from the present state; at every interval boundary it solves again from the new state over the
intervals left (warm-started from the last solution moved on by the intervals passed). In between
it applies the plan, clipped to the battery's BMS limit.

Two objectives:

- ``overnight``: the horizon ends ``departure_margin`` before the next departure; the target SOC
  must be reached by then (a slack with a large weight keeps the program feasible when it cannot
  be). Calendar aging while parked is part of the cost, so the plan charges late; the battery's
  losses and the charger's efficiency decide how fast.
- ``fast``: DC fast charging over a receding horizon of ``intervals`` x ``resolution``: the time
  short of the target (``time_weight``) against the predicted fade (``degradation_weight``), under
  the voltage, temperature, power, current and fitted C-rate limits.

When IPOPT fails or runs out of its time budget the unit charges as CC-CV for that step, sets
``fallback`` and logs the IPOPT return status (logger ``control.mpc``).

The prediction model is the battery twin's own step and parameter set (:mod:`control.prediction`).
The parts: :mod:`control.mpc_settings` (ports, objectives, weights, named constants),
:mod:`control.mpc_estimator` (the hidden fast states and the fade so far), :mod:`control.mpc_horizon`
(the grid, the first guess, the plan applied step by step), :mod:`control.mpc_problem` (the program).
The CC-CV fallback is a :class:`control.cccv.CCCVPolicy` the unit holds, not a base class.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from operator import attrgetter
from typing import Any, ClassVar

import numpy as np

from control.cccv import CCCVPolicy
from control.charger_unit import ChargerUnit
from control.efficiency import DEFAULT_EFFICIENCY
from control.mpc_estimator import AgingObserver, CarriedState
from control.mpc_horizon import moved_grid, new_grid, next_boundary, step_current
from control.mpc_problem import DEAD_INTERVAL
from control.mpc_settings import (
    FIRST_GUESS_FRACTION,
    LANDING_TOLERANCE,
    MIN_HORIZON,
    MIN_SESSION_DOD,
    MPC_PORTS,
    OFF_CURRENT,
    checked_choices,
    weights,
)
from cosim.errors import ScenarioError
from cosim.unit import Port

log = logging.getLogger(__name__)


class MPCCharger(ChargerUnit):
    """A charger whose current comes from a CasADi/IPOPT model-predictive controller.

    Parameters
    ----------
    objective : str
        ``"overnight"`` (reach the target by the departure with the least fade and losses) or
        ``"fast"`` (DC fast charging: time against fade).
    departure : str or mapping, optional
        Departure clock time(s), as for the CC-CV timer; the ``departure_time`` input wins when > 0.
        Needed by ``overnight``.
    efficiency : float, str or mapping
        Grid-to-pack efficiency (see :class:`control.efficiency.ChargerEfficiency`).
    crate_stressor : str, optional
        The C-rate in the cycle-fade rate: ``"chunk"``, the battery aging model's daily average
        (default for ``overnight``), or ``"current"``, the interval's own C-rate (default for ``fast``).
    duty_cycle : bool, optional
        Deliver an interval's planned charge at full current over the interval's last part (default:
        when the efficiency is a curve, which rises with power) instead of at the planned current.
    charge_for, reserve, trip_margin, min_soc, top_up, top_up_soc, tariff
        As :class:`control.charger_unit.ChargerUnit`: with ``charge_for="trips"`` the plan's target is
        the trips' need; with a ``tariff`` the grid energy's price is in the objective.
    """

    SHARED_PARAMETERS: ClassVar[dict[str, str]] = {
        name: name for name in ("capacity_Ah", "n_series", "n_parallel", "parameter_set", "coolant_connected")
    }
    PORTS: ClassVar[tuple[Port, ...]] = MPC_PORTS

    def __init__(
        self,
        objective: str = "overnight",
        departure: str | Mapping[str, str] | None = None,
        efficiency: float | str | Mapping[str, Any] = DEFAULT_EFFICIENCY,
        crate_stressor: str | None = None,
        duty_cycle: bool | None = None,
        charge_for: str = "target",
        reserve: Any = None,
        trip_margin: float = 0.4,
        min_soc: float = 0.0,
        top_up: Any = None,
        top_up_soc: float = 1.0,
        tariff: Any = None,
    ):
        self.crate_stressor = checked_choices(objective, crate_stressor)
        self.objective = objective
        self.problem = None
        self.model = None
        self.carried: CarriedState | None = None
        super().__init__(departure, efficiency, charge_for, reserve, trip_margin, min_soc, top_up, top_up_soc,
                         tariff)
        self.fallback_policy = CCCVPolicy(self)
        # Full power or off within an interval pays where efficiency rises with power (a measured curve).
        self._duty_cycle = bool(self.efficiency.table is not None if duty_cycle is None else duty_cycle)
        self.solve_times: list[float] = []  # wall time of every replanning [s]
        self.iterations: list[int] = []  # IPOPT iterations of every solve

    # ------------------------------------------------------------------ set-up

    def setup(self, start_time: float) -> None:
        if self.objective == "overnight" and self.departure_clock is None:
            raise ScenarioError(
                f"unit {self.name!r}: objective 'overnight' needs a departure time: the setting "
                'departure: "07:30" (or a mapping of days), or a connected departure_time input'
            )
        super().setup(start_time)
        self._build()
        self.problem.prepare(self.time_budget)
        self.carried = CarriedState(self.model)
        self._reset_plan()
        self.aging = AgingObserver(self.model.p)
        self.solve_time = self.fallback = self.soc_departure = self.solves = self.fallbacks = 0.0
        self.solve_times, self.iterations = [], []

    def _build(self) -> None:
        from battery_fmu.parameters import ParameterError
        from control.mpc_problem import ChargingProblem
        from control.prediction import PredictionModel, pack_parameters

        cooled = bool(self.coolant_connected)
        key = (self.parameter_set, float(self.capacity_Ah), int(self.n_series), int(self.n_parallel), cooled,
               int(self.intervals), self.crate_stressor, self.efficiency.describe())
        if self.problem is not None and getattr(self, "_built_for", None) == key:
            return
        try:
            params = pack_parameters(self.parameter_set, self.capacity_Ah)
        except ParameterError as err:
            raise ScenarioError(f"unit {self.name!r}: {err}") from None
        if params.chemistry != "LFP":
            # The prediction's fade rates are the LFP laws' (equations.py); an NMC cell would be mispredicted.
            raise ScenarioError(f"unit {self.name!r}: the MPC predicts aging with the LFP laws only; parameter set "
                                f"{self.parameter_set!r} is {params.chemistry} (use the CC-CV charger)")
        self.model = PredictionModel(params, int(self.n_series), int(self.n_parallel), cooled)
        self.problem = ChargingProblem(
            self.model, intervals=int(self.intervals), crate_from_current=self.crate_stressor == "current"
        )
        self._built_for = key

    def _reset_plan(self) -> None:
        self._retry_at = -np.inf
        self._plan = None  # (t0 [s], interval lengths [s], currents [A]) of the last successful solve
        self._dod = 0.5
        self._departure = None
        if self.carried is not None:
            self.carried.reset()
        if self.problem is not None:
            self.problem.reset_warm_start()

    def _reset_session(self) -> None:
        super()._reset_session()
        if getattr(self, "model", None) is not None:
            self._reset_plan()

    # ------------------------------------------------------------------ limits and parameters

    def _v_max(self) -> float:
        return self.v_max if self.v_max > 0.0 else self.model.p.voltage_max

    def _current_max(self) -> float:
        """The most a plan may charge with [A, pack]: the charger's ``current_limit``, the C-rate the fade
        law was fitted to (or ``max_c_rate``), and the battery's BMS limit for an interval of
        ``resolution`` from the present state (the twin's :func:`battery_fmu.step.limits`)."""
        p = self.model.p
        c_rate = self.max_c_rate if self.max_c_rate > 0.0 else p.aging.crate_charge_max
        bms = self.model.charge_limit(self.carried.now(self), self.resolution, self.SOH_capacity,
                                      self.SOH_resistance)
        return min(self.current_limit, c_rate * p.capacity / 3600.0 * self.n_parallel, bms)

    def _chunk_crate(self) -> float:
        # The aging model averages |dSOC/dt| over a day: one charge and one discharge of the daily swing.
        return 2.0 * self._dod * self.SOH_capacity / (self.model.p.aging.chunk_time / 3600.0)

    # ------------------------------------------------------------------ stepping

    def _prepare_step(self, t: float, h: float) -> None:
        self.carried.carry(self, self._applied, t - self._t_at_apply)
        self.aging.update(self.SOC, self.T_cell, self.SOH_capacity, h, self._dod, self._chunk_crate())
        self.solve_time = 0.0
        self.fallback = 0.0

    def decide(self, now: float, h: float) -> float:
        if self.plugged < 0.5 or self.done >= 0.5 or self.SOC >= self.goal_soc:
            return self.fallback_policy.decide(now, h)
        if not self._started:
            self._started = True
            self._dod = max(self.goal_soc - self.SOC, MIN_SESSION_DOD)
        planned = self._planned_current(now, h)
        if planned is None:
            if self.objective == "overnight" and not self._late_enough(now):
                return 0.0  # no plan (a failed first solve): wait as the CC-CV timer would
            return self.fallback_policy.decide(now, h)  # CC-CV: a failed solve, or too close to departure
        limit = min(self.I_charge_max, self.cc_current())
        current = min(planned, limit)
        if self._coulomb_gain > 0.0 and h > 0.0:
            # Never past the target; and where the plan ends a hair short of it (within its tolerance),
            # land on it in this step rather than leave the rest for a step of its own.
            needed = (self.goal_soc - self.SOC) / (self._coulomb_gain * h)
            short = (needed - current) * self._coulomb_gain * h
            current = needed if needed <= limit and short <= LANDING_TOLERANCE else min(current, needed)
        return max(current, 0.0)

    def _late_enough(self, now: float) -> bool:
        """Whether a CC-CV charge must start now to reach the goal by ``departure_margin`` (plus 15 min)
        before the departure."""
        i_cc = self.cc_current()
        if i_cc <= 0.0:
            return True
        needed = max(self.goal_soc - self.SOC, 0.0) * self.pack_capacity() / i_cc
        return now >= self.next_departure(now) - self.departure_margin - 900.0 - needed

    def _planned_current(self, now: float, h: float) -> float | None:
        """The current for the step ``[now, now + h]`` [s], replanning at each interval boundary; None:
        charge as CC-CV (a failed solve, or too close to the departure)."""
        if self.objective == "overnight":
            departure = self.next_departure(now) - self.departure_margin
            if departure != self._departure:
                self._departure, self._plan = departure, None
            if departure - now < MIN_HORIZON:
                return None
        if now < self._retry_at:
            return None  # CC-CV until the next try, after a failed first solve
        if self._plan is None or now >= next_boundary(self._plan):
            if not self._replan(now):
                return None
        full = min(self.cc_current(), self.I_charge_max, self._current_max())
        return step_current(self._plan, now, h, full, self._duty_cycle)

    def _prices(self, now: float, dts) -> np.ndarray:
        """Each interval's mean tariff price [per kWh] (zeros without a tariff)."""
        if self.needs.tariff is None:
            return np.zeros(len(dts))
        ends = now + np.cumsum(dts)
        return np.array([self.needs.tariff.mean(b - d, b) for b, d in zip(ends, dts)])

    def _horizon(self, now: float):
        """(interval lengths, first guess, intervals passed or None) for a solve at ``now`` [s]."""
        if self._plan is not None:
            pad = self.resolution if self.objective == "fast" else DEAD_INTERVAL
            moved = moved_grid(self._plan, now, pad)
            if moved is not None:
                return moved
        first_guess = FIRST_GUESS_FRACTION * min(self.cc_current() or self._current_max(), self._current_max())
        need = max(self.goal_soc - self.SOC, 0.0) * self.SOH_capacity * self.pack_capacity()
        departure = self._departure if self.objective == "overnight" else None
        dts, guess = new_grid(now, int(self.intervals), self.resolution, departure, first_guess, need,
                              late=self.objective == "overnight")
        return dts, guess, None

    def _replan(self, now: float) -> bool:
        start = time.perf_counter()
        limits = {
            "current_max": self._current_max(),
            "power_max": self.power_limit,
            "v_max": self._v_max(),
            "t_max": max(self.t_max, self.T_cell),
            "soc_max": max(self.goal_soc, self.SOC),
        }
        params = {
            "T_ambient": self.T_ambient,
            "soh": self.SOH_capacity,
            "r_factor": self.SOH_resistance,
            "q_cal": self.aging.q_cal or 0.0,
            "q_cyc": self.aging.q_cyc,
            "dod": self._dod,
            "crate": self._chunk_crate(),
            "target": self.goal_soc,
            "u_previous": self._applied,
            "efficiency": self.efficiency.at_pack_power(self.power_limit),
            **weights(self.objective, self.degradation_weight, self.loss_weight, self.time_weight),
            "resistance_weight": self.resistance_weight,
            "tariff_weight": self.tariff_weight,
        }
        dts, guess, shift = self._horizon(now)
        params["prices"] = self._prices(now, dts)
        solution = self.problem.solve(
            self.carried.now(self), dts, limits, params, guess, time_budget=self.time_budget, shift=shift
        )
        self.solve_time = time.perf_counter() - start
        self.solve_times.append(self.solve_time)
        self.iterations.append(solution.iterations)
        self.solves += 1.0
        if not solution.success:
            self.fallback = 1.0
            self.fallbacks += 1.0
            # Keep following the last plan, moved on, to its next boundary; without one, CC-CV for an
            # interval (a solve that failed under load would fail again at the next step).
            moved = moved_grid(self._plan, now, DEAD_INTERVAL) if self._plan is not None else None
            if moved is not None:
                self._plan = (now, moved[0], moved[1])
            else:
                self._plan = None
                self._retry_at = now + self.resolution
            log.warning(
                "unit %r, t = %g s: MPC fell back to CC-CV for this step: IPOPT returned %s after %d "
                "iterations in %.1f ms (budget %.1f ms)%s",
                self.name,
                now,
                solution.status,
                solution.iterations,
                1e3 * solution.solve_time,
                1e3 * self.time_budget,
                "; following the last plan" if moved is not None else "",
            )
            return moved is not None
        self._plan = (now, dts, np.where(solution.current < OFF_CURRENT, 0.0, solution.current))
        self.soc_departure = solution.soc_end
        self.last_solution = solution
        return True

    # ------------------------------------------------------------------ state

    # Everything beyond the base charger's state that decides the next steps (dotted: on sub-objects).
    _MPC_STATE = ("_plan", "_retry_at", "carried.x", "_dod", "_departure", "aging.q_cal", "aging.q_cyc", "aging._soc",
                  "solve_time", "fallback", "soc_departure", "solves", "fallbacks", "problem.warm_start")

    def save_state(self) -> Any:
        return super().save_state(), copy.deepcopy([attrgetter(name)(self) for name in self._MPC_STATE])

    def restore_state(self, state: Any) -> None:
        base, mine = state
        super().restore_state(base)
        for name, value in zip(self._MPC_STATE, copy.deepcopy(mine)):
            owner, _, attr = name.rpartition(".")
            setattr(attrgetter(owner)(self) if owner else self, attr, value)

    def metadata(self) -> dict[str, str]:
        return {
            "type": "mpc_charger",
            "objective": self.objective,
            "efficiency": self.efficiency.describe(),
            "parameter_set": self.parameter_set,
            "crate_stressor": self.crate_stressor,
            "intervals": str(int(self.intervals)),
            **self.needs.describe(),
        }
