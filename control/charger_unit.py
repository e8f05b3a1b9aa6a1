"""What every charger unit shares: its ports, its metering, its departures, the command it sets.

A charger reads the battery's state at the start of each step ``[t, t + h]`` and sets the current
for that step (``docs/charging.md``). :class:`ChargerUnit` does the bookkeeping around that
decision, the same for every policy: the SOC gain per coulomb it observes, the departures it scores,
the grid power and losses of the current (through the efficiency curve), and the running totals.
A policy (:mod:`control.cccv`, :mod:`control.mpc`) implements :meth:`ChargerUnit.decide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from control.charge_need import SessionNeeds
from control.departure import DepartureError, Departures
from control.efficiency import DEFAULT_EFFICIENCY, ChargerEfficiency, EfficiencyError
from cosim.errors import ScenarioError
from cosim.unit import INPUT, OUTPUT, PARAMETER, Port, PythonUnit

#: Value of an unconnected ``I_charge_max``: no BMS limit.
NO_LIMIT = 1e6

#: SOC short of the target [1] that counts a departure as missed.
MISSED_TOLERANCE = 1e-3


def charger_input_ports() -> tuple[Port, ...]:
    """Inputs shared by the CC-CV charger and the MPC."""
    return (
        Port(
            "plugged",
            INPUT,
            "1",
            "1 while the vehicle is plugged in (from the usage schedule)",
            1.0,
            0.0,
            1.0,
        ),
        Port("SOC", INPUT, "1", "Battery state of charge", 0.5, 0.0, 1.0),
        Port("V_terminal", INPUT, "V", "Battery terminal voltage (last step's mean)", 0.0),
        Port(
            "I_charge_max",
            INPUT,
            "A",
            "Battery's charge current limit (its BMS); unconnected: no limit",
            NO_LIMIT,
            0.0,
        ),
        Port(
            "departure_time",
            INPUT,
            "s",
            "Absolute time of the next departure; 0: use the departure setting",
            0.0,
        ),
    )


def charger_output_ports() -> tuple[Port, ...]:
    """Outputs shared by the CC-CV charger and the MPC."""
    return (
        Port("I_charge", OUTPUT, "A", "Charge current into the battery over this step (>= 0)", 0.0, 0.0),
        Port("P_grid", OUTPUT, "W", "Power drawn from the grid, losses included", 0.0, 0.0),
        Port("P_loss", OUTPUT, "W", "Charger losses (grid power minus power into the pack)", 0.0, 0.0),
        Port("charging", OUTPUT, "1", "1 while current flows", 0.0, 0.0, 1.0),
        Port(
            "done",
            OUTPUT,
            "1",
            "1 once this plug-in session has reached its target or cut-off",
            0.0,
            0.0,
            1.0,
        ),
        # Running totals, so a run's figures need no output recorded at full rate.
        Port("E_grid", OUTPUT, "J", "Energy drawn from the grid so far", 0.0, 0.0),
        Port("E_loss", OUTPUT, "J", "Charger losses so far", 0.0, 0.0),
        Port("charge_time", OUTPUT, "s", "Time with current flowing so far", 0.0, 0.0),
        Port("sessions", OUTPUT, "1", "Plug-in sessions in which current flowed, so far", 0.0, 0.0),
        Port(
            "departures",
            OUTPUT,
            "1",
            "Departures after a plug-in session so far (with a known departure time)",
            0.0,
            0.0,
        ),
        Port(
            "missed_departures",
            OUTPUT,
            "1",
            "Of those, departures missed: with a reserve, the car came home under it; without, it left "
            "under the target (by > 1e-3)",
            0.0,
            0.0,
        ),
        Port("goal_soc", OUTPUT, "1", "SOC this session charges to (the target, the trips' need, a top-up)",
             0.0, 0.0, 1.0),
        Port("cost", OUTPUT, "1", "Cost of the grid energy so far, at the tariff (0 without one)", 0.0, 0.0),
        Port("stranded_events", OUTPUT, "1", "Times the vehicle was stranded so far", 0.0, 0.0),
    )


def trip_ports() -> tuple[Port, ...]:
    """Inputs of a charger that charges for the trips ahead (all optional)."""
    return (
        Port("E_planned", INPUT, "J", "Forecast battery energy of the next departure day's trips (the vehicle's)",
             0.0, 0.0),
        Port("consumption", INPUT, "J/m", "The vehicle's forecast consumption (a reserve in km needs it)", 0.0, 0.0),
        Port("stranded", INPUT, "1", "1 while the vehicle is stranded (counted in stranded_events)", 0.0, 0.0, 1.0),
    )


def limit_ports(power_limit: float = 7400.0, current_limit: float = 250.0) -> tuple[Port, ...]:
    """Parameters shared by the CC-CV charger and the MPC."""
    return (
        Port(
            "power_limit",
            PARAMETER,
            "W",
            "Charger power delivered to the pack (7.4 kW AC wallbox, 150 kW DC)",
            power_limit,
            0.0,
        ),
        Port("current_limit", PARAMETER, "A", "Charger output current limit", current_limit, 0.0),
        Port("target_soc", PARAMETER, "1", "SOC at which the charge ends", 0.9, 0.0, 1.0),
        Port(
            "cutoff_c_rate",
            PARAMETER,
            "1/h",
            "CV taper end current as a C-rate of the pack (C/20 = 0.05)",
            0.05,
            0.0,
        ),
    )


def pack_ports() -> tuple[Port, ...]:
    """The pack a charger needs to know: the battery's own parameters, taken from the scenario's shared
    values (a vehicle preset states them) unless set."""
    return (
        # The ranges are the battery twin's own (battery_fmu/interface.py).
        Port("capacity_Ah", PARAMETER, "Ah", "Nominal cell capacity (the battery's)", 220.0, 1e-3, 1e5),
        Port("n_parallel", PARAMETER, "1", "Cells in parallel (the battery's)", 1, 1, 10000, type="Integer"),
    )


def make_departures(departure: str | Mapping[str, str] | None) -> Departures | None:
    try:
        return Departures(departure) if departure is not None else None
    except DepartureError as err:
        raise ScenarioError(str(err)) from None


def make_efficiency(efficiency: Any) -> ChargerEfficiency:
    try:
        return ChargerEfficiency(efficiency)
    except EfficiencyError as err:
        raise ScenarioError(str(err)) from None


class ChargerUnit(PythonUnit):
    """A charger as a unit: the metering and the session bookkeeping around a policy's :meth:`decide`.

    Parameters
    ----------
    departure : str or mapping, optional
        Departure clock time(s): ``"07:30"`` or ``{"weekdays": "07:30", "sat": "10:00"}`` (time 0 is
        Monday 00:00). The ``departure_time`` input, when connected and > 0, wins.
    efficiency : float, str or mapping
        Grid-to-pack efficiency: a constant, a shipped curve name or a table (see
        :class:`control.efficiency.ChargerEfficiency`). Default: the ADAC 2022 Model 3 AC curve.
    charge_for, reserve, trip_margin, min_soc, top_up, top_up_soc, tariff
        What a session charges to and what energy costs: see :class:`control.charge_need.SessionNeeds`
        (default: the fixed ``target_soc``, no reserve, no top-up, no tariff).
    """

    can_save_state: ClassVar[bool] = True
    SHARED_PARAMETERS: ClassVar[dict[str, str]] = {"capacity_Ah": "capacity_Ah", "n_parallel": "n_parallel"}

    def __init__(
        self,
        departure: str | Mapping[str, str] | None = None,
        efficiency: float | str | Mapping[str, Any] = DEFAULT_EFFICIENCY,
        charge_for: str = "target",
        reserve: Any = None,
        trip_margin: float = 0.4,
        min_soc: float = 0.0,
        top_up: Any = None,
        top_up_soc: float = 1.0,
        tariff: Any = None,
    ):
        super().__init__()
        self.departure_clock = make_departures(departure)
        self.efficiency = make_efficiency(efficiency)
        self.needs = SessionNeeds(charge_for, reserve, trip_margin, min_soc, top_up, top_up_soc, tariff)
        self._reset_session()

    def _reset_session(self) -> None:
        self._applied = 0.0  # current [A] decided at the last step
        self._soc_at_apply = -1.0  # SOC read then
        self._t_at_apply = 0.0  # and the time [s] it was decided for
        self._coulomb_gain = 0.0  # observed dSOC per coulomb [1/C]
        self._started = False
        self._v_rest = 0.0  # terminal voltage [V] read as the session began (pack energy per SOC)

    def setup(self, start_time: float) -> None:
        self._reset_session()
        self.I_charge = self.P_grid = self.P_loss = self.charging = self.done = 0.0
        self.E_grid = self.E_loss = self.charge_time = self.sessions = 0.0
        self.departures = self.missed_departures = self.departures_count = self.missed_count = 0.0
        self.goal_soc = self.cost = self.stranded_events = 0.0
        self._pending_departure: float | None = None
        self._session_counted = False
        self._away = False  # left for a departure, not plugged in again yet
        self._was_plugged = False
        self._was_stranded = False

    # ------------------------------------------------------------------ what a policy reads

    def cc_current(self) -> float:
        """The constant-current phase's current [A]: the current limit or the power limit at V_terminal."""
        v = self.V_terminal
        return min(self.current_limit, self.power_limit / v) if v > 0.0 else 0.0

    def pack_capacity(self) -> float:
        """Nominal pack capacity [C]: cells in parallel times the cell capacity."""
        return self.capacity_Ah * 3600.0 * self.n_parallel

    def cutoff_current(self) -> float:
        """The taper end current [A]."""
        return self.cutoff_c_rate * self.pack_capacity() / 3600.0

    def next_departure(self, now: float) -> float | None:
        """Absolute time [s] of the next departure after ``now`` [s], if known."""
        if self.departure_time > 0.0:
            return self.departure_time
        return self.departure_clock.next_after(now) if self.departure_clock is not None else None

    def pack_energy(self) -> float:
        """Energy [J] the pack holds from empty to full now: capacity (times SOH when read) at the
        voltage read as the session began."""
        v = self._v_rest or self.V_terminal
        return self.pack_capacity() * getattr(self, "SOH_capacity", 1.0) * v

    def session_goal(self, now: float) -> float:
        """The SOC [1] this session charges to: ``target_soc``, or the trips' need, or a top-up."""
        if self._v_rest <= 0.0 and self.V_terminal > 0.0:
            self._v_rest = self.V_terminal
        return self.needs.goal(self.next_departure(now), self.target_soc, getattr(self, "E_planned", 0.0),
                               self.pack_energy(), getattr(self, "consumption", 0.0))

    def _observe(self, now: float) -> None:
        """Update the SOC gain per coulomb from the current decided at the last step and the SOC since."""
        elapsed = now - self._t_at_apply
        if self._applied > 0.0 and self._soc_at_apply >= 0.0 and elapsed > 0.0:
            gained = self.SOC - self._soc_at_apply
            if gained > 0.0:
                self._coulomb_gain = gained / (self._applied * elapsed)

    def decide(self, now: float, h: float) -> float:
        """The current [A] for the step that starts at ``now`` [s] (expected length ``h`` [s])."""
        raise NotImplementedError

    # ------------------------------------------------------------------ stepping

    def do_step(self, t: float, h: float) -> None:
        self._t_now = t
        self._observe(t)
        self._check_departure(t)
        self._check_return_and_stranding()
        if self.plugged >= 0.5:
            self.goal_soc = self.session_goal(t)
        self._prepare_step(t, h)
        current = self.decide(t, h)
        self.set_command(current)
        self._count(current, h)
        self._applied, self._soc_at_apply, self._t_at_apply = current, self.SOC, t

    def _prepare_step(self, t: float, h: float) -> None:
        """Hook for what a subclass does each step before deciding."""

    def _check_departure(self, t: float) -> None:
        """Score the departure a plug-in session was charging for, once its time has come."""
        if self._pending_departure is None:
            if self.plugged >= 0.5 and (self.departure_clock is not None or self.departure_time > 0.0):
                self._pending_departure = self.next_departure(t)
            return
        if t >= self._pending_departure - 1e-6:
            self.departures_count += 1.0
            if self.needs.reserve is None and self.SOC < self.goal_soc - MISSED_TOLERANCE:
                self.missed_count += 1.0
            self._away = self.needs.reserve is not None
            self._pending_departure = None

    def _check_return_and_stranding(self) -> None:
        """With a reserve: a car that comes home (plugs in again) under it missed that departure; and
        count the vehicle's strandings."""
        plugged = self.plugged >= 0.5
        if plugged and not self._was_plugged and self._away:
            reserve = self.needs.reserve_soc(self.pack_energy(), getattr(self, "consumption", 0.0))
            if self.SOC < reserve - MISSED_TOLERANCE:
                self.missed_count += 1.0
            self._away = False
        self._was_plugged = plugged
        stranded = getattr(self, "stranded", 0.0) >= 0.5
        if stranded and not self._was_stranded:
            self.stranded_events += 1.0
        self._was_stranded = stranded

    def _count(self, current: float, h: float) -> None:
        self.E_grid += self.P_grid * h
        self.E_loss += self.P_loss * h
        if self.P_grid > 0.0:
            self.cost += self.P_grid * h / 3.6e6 * self.needs.price(self._t_now, h)
        if current > 0.0:
            self.charge_time += h
            if not self._session_counted:
                self.sessions += 1.0
                self._session_counted = True
        if self.plugged < 0.5:
            self._session_counted = False
        self.departures, self.missed_departures = self.departures_count, self.missed_count

    def set_command(self, current: float) -> None:
        """Set ``I_charge`` and the power outputs for a commanded current [A] at the voltage last read."""
        pack_power = current * self.V_terminal if current > 0.0 else 0.0
        grid = self.efficiency.grid_power(pack_power) if pack_power > 0.0 else 0.0
        self.I_charge = current
        self.P_grid = grid
        self.P_loss = grid - pack_power
        self.charging = 1.0 if current > 0.0 else 0.0

    # ------------------------------------------------------------------ state

    _STATE = (
        "I_charge",
        "P_grid",
        "P_loss",
        "charging",
        "done",
        "_applied",
        "_soc_at_apply",
        "_t_at_apply",
        "_coulomb_gain",
        "_started",
        "E_grid",
        "E_loss",
        "charge_time",
        "sessions",
        "departures",
        "missed_departures",
        "departures_count",
        "missed_count",
        "_pending_departure",
        "_session_counted",
        "_v_rest",
        "goal_soc",
        "cost",
        "stranded_events",
        "_away",
        "_was_plugged",
        "_was_stranded",
    )

    def save_state(self) -> Any:
        return tuple(getattr(self, k) for k in self._STATE)

    def restore_state(self, state: Any) -> None:
        for k, v in zip(self._STATE, state, strict=True):
            setattr(self, k, v)

