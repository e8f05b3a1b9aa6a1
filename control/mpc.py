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

The prediction model is the battery twin's own equations and parameter set
(:mod:`control.prediction`). Hidden states the battery does not output (RC voltages, hysteresis)
are carried by the model itself from the currents applied; at plug-in after a rest the
hysteresis is read from the terminal voltage. The capacity-fade states the fade *rates* need are
followed from the SOC and temperature the unit reads (:class:`AgingObserver`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from operator import attrgetter
from typing import Any, ClassVar

import numpy as np

from battery_fmu import equations as eq
from battery_fmu.ops import SCALAR
from control.cccv import CCCVCharger, charger_input_ports, charger_output_ports, limit_ports
from control.efficiency import DEFAULT_EFFICIENCY
from control.mpc_problem import DEAD_INTERVAL
from cosim.errors import ScenarioError
from cosim.unit import INPUT, OUTPUT, PARAMETER, Port

log = logging.getLogger(__name__)

OBJECTIVES = ("overnight", "fast")
CRATE_STRESSORS = ("chunk", "current")
#: Below this time to departure [s] the plan is not worth solving: charge as CC-CV.
MIN_HORIZON = 300.0
#: SOC [1] a plan may end short of its target (IPOPT's constraint tolerance, the clipping of currents
#: under OFF_CURRENT) that the step reaching the target adds, above the planned current; a larger
#: remainder is left to the plan, whose current keeps the temperature and voltage limits.
LANDING_TOLERANCE = 1e-3
#: A planned current under this [A] is read as off: an interior-point solution sits a hair inside its
#: bounds (IPOPT's bound push, 1e-6 of a current scale of 100 A), never exactly on zero.
OFF_CURRENT = 0.05
#: The first guess charges at this fraction of the CC current: the CC current is the power limit at
#: the terminal voltage last read, and the plan checks the power at the (higher) voltage at an
#: interval's end, where 3 % covers the voltage rise of a charge to full.
FIRST_GUESS_FRACTION = 0.97


class AgingObserver:
    """Calendar and cycle fade followed from the SOC and temperature a charger reads.

    The fade rates' virtual-time slopes depend on the fade so far; a charger does not see the
    battery's split into calendar and cycle fade, so it integrates the same rate forms along what it
    observes (all steps, driving included). The fade before the first step is booked as calendar
    fade, as the battery does with ``SOH_init``.
    """

    def __init__(self, params):
        self.p = params
        self.q_cal: float | None = None
        self.q_cyc = 0.0
        self._soc: float | None = None

    def update(self, soc: float, temperature: float, soh: float, h: float, dod: float, crate: float) -> None:
        """Integrate the fade rates over a step of ``h`` [s] that ended at ``soc`` [1] and ``temperature``
        [K], with the battery's relative capacity ``soh`` and the chunk stressors ``dod``, ``crate``."""
        p = self.p
        if self.q_cal is None:
            self.q_cal = max(1.0 - soh, 0.0)
        moved = abs(soc - self._soc) if self._soc is not None else 0.0
        # The current that moved the SOC that far: the cycle rate counts charge against the nominal capacity.
        current = moved * soh * p.capacity / h if h > 0.0 else 0.0
        rate_cal, rate_cyc = eq.fade_rates(self.q_cal, self.q_cyc, temperature, soc, current, dod, crate, p)
        self.q_cal += rate_cal * h
        if moved > 0.0 and h > 0.0:
            self.q_cyc += rate_cyc * h
        self._soc = soc


class MPCCharger(CCCVCharger):
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
    parameter_set : str
        The battery's cell parameter set (as its ``parameter_set`` parameter).
    coolant_connected : bool
        As the battery's parameter (the coolant is taken at ambient temperature).
    crate_stressor : str, optional
        The C-rate in the cycle-fade rate: ``"chunk"``, the battery aging model's daily average
        (default for ``overnight``), or ``"current"``, the interval's own C-rate (default for ``fast``).
    duty_cycle : bool, optional
        Deliver an interval's planned charge at full current over the interval's last part (default:
        when the efficiency is a curve, which rises with power) instead of at the planned current.
    """

    PORTS: ClassVar[tuple[Port, ...]] = (
        *charger_input_ports(),
        Port("T_cell", INPUT, "K", "Battery cell temperature", 298.15),
        Port(
            "T_housing",
            INPUT,
            "K",
            "Battery housing temperature; 0 (unconnected): taken equal to T_cell",
            0.0,
        ),
        Port("T_ambient", INPUT, "K", "Ambient temperature", 298.15),
        Port("SOH_capacity", INPUT, "1", "Battery capacity relative to new", 1.0),
        Port("SOH_resistance", INPUT, "1", "Battery resistance relative to new", 1.0),
        *charger_output_ports(),
        Port(
            "solve_time",
            OUTPUT,
            "s",
            "Wall time of this step's replanning (0 when it followed the plan)",
            0.0,
        ),
        Port(
            "fallback",
            OUTPUT,
            "1",
            "1 when this step fell back to CC-CV (IPOPT failed or ran out of time)",
            0.0,
            0.0,
            1.0,
        ),
        Port(
            "soc_departure",
            OUTPUT,
            "1",
            "SOC the last plan predicts at its horizon's end (the departure)",
            0.0,
        ),
        Port("solves", OUTPUT, "1", "Solves so far", 0.0, 0.0),
        Port(
            "fallbacks",
            OUTPUT,
            "1",
            "Solves so far that failed (IPOPT status or time budget): CC-CV for the step",
            0.0,
            0.0,
        ),
        *limit_ports(),
        Port(
            "capacity_Ah", PARAMETER, "Ah", "Nominal cell capacity (as the battery's parameter)", 220.0, 0.0
        ),
        Port(
            "n_series", PARAMETER, "1", "Cells in series (as the battery's parameter)", 106, 1, type="Integer"
        ),
        Port(
            "n_parallel",
            PARAMETER,
            "1",
            "Cells in parallel (as the battery's parameter)",
            1,
            1,
            type="Integer",
        ),
        Port(
            "degradation_weight",
            PARAMETER,
            "1",
            "Cost of 1 % of capacity lost, in kWh-equivalent",
            2600.0,
            0.0,
        ),
        Port("loss_weight", PARAMETER, "1", "Cost of 1 kWh lost in the charger and the battery", 1.0, 0.0),
        Port(
            "time_weight",
            PARAMETER,
            "1",
            "Cost of one SOC-hour short of the target; negative: 0 overnight, 100 fast",
            -1.0,
        ),
        Port("v_max", PARAMETER, "V", "Cell voltage limit; 0: the parameter set's voltage_max", 0.0, 0.0),
        Port("t_max", PARAMETER, "K", "Cell temperature limit", 318.15),
        Port(
            "max_c_rate",
            PARAMETER,
            "1/h",
            "Charge C-rate limit; 0: the aging model's fitted range (0.65C)",
            0.0,
            0.0,
        ),
        Port("intervals", PARAMETER, "1", "Intervals of the horizon (N)", 24, 2, type="Integer"),
        Port(
            "resolution",
            PARAMETER,
            "s",
            "Interval length (longer when N of them do not reach the departure); "
            "the plan is solved again at every interval boundary",
            900.0,
            1.0,
        ),
        Port(
            "departure_margin",
            PARAMETER,
            "s",
            "Overnight: plan to reach the target this long before departure "
            "(the rest of the way is charged as CC-CV, absorbing model error)",
            600.0,
            0.0,
        ),
        Port(
            "time_budget",
            PARAMETER,
            "s",
            "Wall-time budget of one solve; over it: CC-CV for the step",
            1.0,
            0.0,
        ),
    )

    def __init__(
        self,
        objective: str = "overnight",
        departure: str | Mapping[str, str] | None = None,
        efficiency: float | str | Mapping[str, Any] = DEFAULT_EFFICIENCY,
        parameter_set: str = "lfp_220ah",
        coolant_connected: bool = False,
        crate_stressor: str | None = None,
        duty_cycle: bool | None = None,
    ):
        super().__init__(mode="plug_in", departure=departure, efficiency=efficiency)
        if objective not in OBJECTIVES:
            raise ScenarioError(
                f"mpc_charger: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}"
            )
        crate_stressor = crate_stressor or ("chunk" if objective == "overnight" else "current")
        if crate_stressor not in CRATE_STRESSORS:
            raise ScenarioError(
                f"mpc_charger: crate_stressor must be one of {', '.join(CRATE_STRESSORS)}, "
                f"got {crate_stressor!r}"
            )
        self.objective = objective
        self.crate_stressor = crate_stressor
        # Full power or off within an interval pays where efficiency rises with power (a measured curve).
        self._duty_cycle = bool(self.efficiency.table is not None if duty_cycle is None else duty_cycle)
        self.parameter_set = parameter_set
        self.coolant_connected = bool(coolant_connected)
        self.problem = None
        self.model = None
        self.solve_times: list[float] = []  # wall time of every replanning [s]
        self.iterations: list[int] = []  # IPOPT iterations of every solve

    # ------------------------------------------------------------------ set-up

    def pack_capacity(self) -> float:
        return self.capacity_Ah * 3600.0 * self.n_parallel

    def setup(self, start_time: float) -> None:
        if self.objective == "overnight" and self.departure_clock is None:
            raise ScenarioError(
                f"unit {self.name!r}: objective 'overnight' needs a departure time: the setting "
                'departure: "07:30" (or a mapping of days), or a connected departure_time input'
            )
        super().setup(start_time)
        self._build()
        self.problem.prepare(self.time_budget)
        self._reset_plan()
        self.aging = AgingObserver(self.model.p)
        self.solve_time = self.fallback = self.soc_departure = self.solves = self.fallbacks = 0.0
        self.solve_times, self.iterations = [], []

    def _build(self) -> None:
        from battery_fmu.parameters import ParameterError
        from control.mpc_problem import ChargingProblem
        from control.prediction import PredictionModel, pack_parameters

        key = (
            self.parameter_set,
            float(self.capacity_Ah),
            int(self.n_series),
            int(self.n_parallel),
            self.coolant_connected,
            int(self.intervals),
            self.crate_stressor,
            self.efficiency.describe(),
        )
        if self.problem is not None and getattr(self, "_built_for", None) == key:
            return
        try:
            params = pack_parameters(self.parameter_set, self.capacity_Ah)
        except ParameterError as err:
            raise ScenarioError(f"unit {self.name!r}: {err}") from None
        self.model = PredictionModel(params, int(self.n_series), int(self.n_parallel), self.coolant_connected)
        self.problem = ChargingProblem(
            self.model, intervals=int(self.intervals), crate_from_current=self.crate_stressor == "current"
        )
        self._built_for = key

    def _reset_plan(self) -> None:
        self._plan = None  # (t0 [s], interval lengths [s], currents [A]) of the last successful solve
        self._x = None  # carried cell state (STATES order)
        self._dod = 0.5
        self._departure = None
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
        p = self.model.p
        c_rate = self.max_c_rate if self.max_c_rate > 0.0 else p.aging.crate_charge_max
        return min(
            self.current_limit,
            c_rate * p.capacity / 3600.0 * self.n_parallel,
            p.current_max_charge * self.n_parallel,
        )

    def _weights(self) -> dict[str, float]:
        time_weight = (
            self.time_weight if self.time_weight >= 0.0 else (0.0 if self.objective == "overnight" else 100.0)
        )
        return {
            "degradation_weight": self.degradation_weight,
            "loss_weight": self.loss_weight,
            "time_weight": time_weight,
            "slack_weight": 1e5 if self.objective == "overnight" else 0.0,
        }

    def _chunk_crate(self) -> float:
        # The aging model averages |dSOC/dt| over a day: one charge and one discharge of the daily swing.
        return 2.0 * self._dod * self.SOH_capacity / (self.model.p.aging.chunk_time / 3600.0)

    # ------------------------------------------------------------------ the carried state

    def _state_now(self) -> list[float]:
        t_housing = self.T_housing if self.T_housing > 0.0 else self.T_cell
        if self._x is None:
            # Plug-in: RC pairs empty; the hysteresis from the rest voltage, within its magnitude.
            p = self.model.p
            ocv = eq.open_circuit_voltage(self.SOC, self.T_cell, p)
            magnitude = p.hysteresis_magnitude.scalar(self.SOC)
            h = (
                min(max(self.V_terminal / self.n_series - ocv, -magnitude), magnitude)
                if self.V_terminal > 0
                else 0.0
            )
            self._x = [self.SOC, 0.0, 0.0, h, self.T_cell, t_housing]
        x = list(self._x)
        x[0], x[4], x[5] = self.SOC, self.T_cell, t_housing
        return x

    def _carry(self, current: float, h: float) -> None:
        """Move the carried RC and hysteresis states over a step of ``current`` [A] lasting ``h`` [s]."""
        from control.prediction import AgingContext

        if self._x is None or h <= 0.0:
            return
        out = self.model.interval(
            self._state_now(),
            current,
            h,
            self.T_ambient,
            self.SOH_capacity,
            AgingContext(),
            SCALAR,
            self.SOH_resistance,
        )
        self._x = list(out.state)

    # ------------------------------------------------------------------ stepping

    def _prepare_step(self, t: float, h: float) -> None:
        self._carry(self._applied, t - self._t_at_apply)
        self.aging.update(self.SOC, self.T_cell, self.SOH_capacity, h, self._dod, self._chunk_crate())
        self.solve_time = 0.0
        self.fallback = 0.0

    def decide(self, now: float, h: float) -> float:
        if self.plugged < 0.5 or self.done >= 0.5 or self.SOC >= self.target_soc:
            return super().decide(now, h)
        if not self._started:
            self._started = True
            self._dod = max(self.target_soc - self.SOC, 0.05)
        planned = self._planned_current(now, h)
        if planned is None:
            return super().decide(now, h)  # CC-CV: a failed solve, or too close to departure
        limit = min(self.I_charge_max, self.cc_current())
        current = min(planned, limit)
        if self._coulomb_gain > 0.0 and h > 0.0:
            # Never past the target; and where the plan ends a hair short of it (within its tolerance),
            # land on it in this step rather than leave the rest for a step of its own.
            needed = (self.target_soc - self.SOC) / (self._coulomb_gain * h)
            short = (needed - current) * self._coulomb_gain * h
            current = needed if needed <= limit and short <= LANDING_TOLERANCE else min(current, needed)
        return max(current, 0.0)

    def _planned_current(self, now: float, h: float) -> float | None:
        """The current for the step ``[now, now + h]`` [s], replanning at each interval boundary; None:
        charge as CC-CV (a failed solve, or too close to the departure)."""
        if self.objective == "overnight":
            departure = self.next_departure(now) - self.departure_margin
            if departure != self._departure:
                self._departure, self._plan = departure, None
            if departure - now < MIN_HORIZON:
                return None
        if self._plan is None or now >= self._plan[0] + self._plan[1][0]:
            if not self._replan(now):
                return None
        return self._step_current(now, h)

    def _step_current(self, now: float, h: float) -> float:
        """The plan's mean current over the step ``[now, now + h]``, which may straddle intervals.

        The program prices charger losses at the rated power (the convex envelope of a loss that
        grows less than in proportion to power). With ``duty_cycle`` an interval's charge is
        delivered at the charger's full current over the interval's last part, which realises that
        price: a plan of 40 % of full current becomes full current over the last 40 % of the
        interval, the same charge at the measured curve's best efficiency, and later.
        """
        t0, dts, currents = self._plan
        ends = t0 + np.cumsum(dts)
        full = min(self.cc_current(), self.I_charge_max, self._current_max())
        first = int(np.searchsorted(ends, now, side="right"))
        charge = 0.0
        for k in range(first, len(currents)):
            start, end = ends[k] - dts[k], ends[k]
            if start >= now + h:
                break
            planned = float(currents[k])
            if self._duty_cycle and 0.0 < planned < full:
                start, planned = end - dts[k] * planned / full, full
            charge += planned * max(min(now + h, end) - max(now, start), 0.0)
        return charge / h

    def _new_grid(self, now: float):
        """Interval lengths [s] and the first guess for a fresh horizon at ``now`` [s]."""
        n, res = int(self.intervals), self.resolution
        if self.objective == "fast":
            dts = np.full(n, res)
        else:
            left = self._departure - now
            live = min(n, max(1, math.ceil(left / res - 1e-9)))
            dts = np.concatenate([np.full(live, left / live), np.full(n - live, DEAD_INTERVAL)])
        # Charge at (just under) the CC current, as late as possible (overnight) or at once (fast): close
        # to the optimum and inside the power limit.
        i_cc = FIRST_GUESS_FRACTION * min(self.cc_current() or self._current_max(), self._current_max())
        need = max(self.target_soc - self.SOC, 0.0) * self.SOH_capacity * self.pack_capacity()
        guess = np.zeros(n)
        order = range(n - 1, -1, -1) if self.objective == "overnight" else range(n)
        for k in order:
            if need <= 1e-9:
                break
            if dts[k] > 2.0 * DEAD_INTERVAL:
                charge = min(i_cc * dts[k], need)
                guess[k], need = charge / dts[k], need - charge
        return dts, guess

    def _moved_grid(self, now: float):
        """The last plan's grid and currents moved on to ``now`` [s]: the interval holding ``now`` starts
        there, the passed ones drop off, the tail is padded (unused intervals, or more of the fast
        horizon). Returns (interval lengths, currents, intervals passed), or None past its end."""
        t0, dts, currents = self._plan
        ends = t0 + np.cumsum(dts)
        k = int(np.searchsorted(ends, now, side="right"))
        n = len(dts)
        if k >= n or ends[k] - now <= 2.0 * DEAD_INTERVAL:
            return None
        pad = self.resolution if self.objective == "fast" else DEAD_INTERVAL
        new_dts = np.concatenate([[ends[k] - now], dts[k + 1 :], np.full(k, pad)])
        new_currents = np.concatenate([currents[k:], np.zeros(k)])
        return new_dts, new_currents, k

    def _replan(self, now: float) -> bool:
        start = time.perf_counter()
        x0 = self._state_now()
        current_max = self._current_max()
        limits = {
            "current_max": current_max,
            "power_max": self.power_limit,
            "v_max": self._v_max(),
            "t_max": max(self.t_max, self.T_cell),
            "soc_max": max(self.target_soc, self.SOC),
        }
        params = {
            "T_ambient": self.T_ambient,
            "soh": self.SOH_capacity,
            "r_factor": self.SOH_resistance,
            "q_cal": self.aging.q_cal or 0.0,
            "q_cyc": self.aging.q_cyc,
            "dod": self._dod,
            "crate": self._chunk_crate(),
            "target": self.target_soc,
            "u_previous": self._applied,
            "efficiency": self.efficiency.at_pack_power(self.power_limit),
            **self._weights(),
        }
        moved = self._moved_grid(now) if self._plan is not None else None
        if moved is not None:
            dts, guess, shift = moved
        else:
            (dts, guess), shift = self._new_grid(now), None
        solution = self.problem.solve(
            x0, dts, limits, params, guess, time_budget=self.time_budget, shift=shift
        )
        self.solve_time = time.perf_counter() - start
        self.solve_times.append(self.solve_time)
        self.iterations.append(solution.iterations)
        self.solves += 1.0
        if not solution.success:
            self.fallback = 1.0
            self.fallbacks += 1.0
            self._plan = None
            log.warning(
                "unit %r, t = %g s: MPC fell back to CC-CV for this step: IPOPT returned %s after %d "
                "iterations in %.1f ms (budget %.1f ms)",
                self.name,
                now,
                solution.status,
                solution.iterations,
                1e3 * solution.solve_time,
                1e3 * self.time_budget,
            )
            return False
        self._plan = (now, dts, np.where(solution.current < OFF_CURRENT, 0.0, solution.current))
        self.soc_departure = solution.soc_end
        self.last_solution = solution
        return True

    # ------------------------------------------------------------------ state

    # Everything beyond the base charger's state that decides the next steps (dotted: on sub-objects).
    _MPC_STATE = ("_plan", "_x", "_dod", "_departure", "aging.q_cal", "aging.q_cyc", "aging._soc", "solve_time",
              "fallback", "soc_departure", "solves", "fallbacks", "problem.warm_start")

    def save_state(self) -> Any:
        import copy

        return super().save_state(), copy.deepcopy([attrgetter(name)(self) for name in self._MPC_STATE])

    def restore_state(self, state: Any) -> None:
        import copy

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
        }
