"""CC-CV charger: constant current (or constant power) until the battery's BMS limit binds, then follow it.

Scenario type ``cccv_charger``. The charger drives the battery's ``I_charge`` input. In each step
``[t, t + h]`` it sets the current for that step from the battery's state at ``t``: wire the
battery's outputs to the charger with ``delay: 1`` and ``charger.I_charge -> battery.I_charge``
without (``docs/charging.md``). (With the delay on ``I_charge`` instead, it works one step late.)

- CC phase: ``min(current_limit, power_limit / V_terminal)``, where ``power_limit`` is the power
  delivered to the pack (the grid supplies it plus the losses of the efficiency curve);
- CV phase: when the battery's ``I_charge_max`` (its BMS limit: current rating, temperature
  derating, voltage and SOC window) is lower, the charger follows it, so it never exceeds it;
- end: at the target SOC (the last step is trimmed to land on it, using the SOC gain per
  coulomb observed on the previous step), or when the BMS-limited taper falls under the cut-off
  current (``cutoff_c_rate`` times the pack capacity, C/20 by default). A limit under the cut-off
  before the pack has taken any charge in the session (a cold-soaked pack's derating) is waited out.

``mode="timer"`` waits and starts so that the charge ends ``timer_margin`` before the next
departure (from the ``departure`` setting or the ``departure_time`` input), estimating the
duration from the energy still needed at the CC current.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from control.charger_unit import (
    ChargerUnit,
    charger_input_ports,
    charger_output_ports,
    limit_ports,
    pack_ports,
    trip_ports,
)
from control.efficiency import DEFAULT_EFFICIENCY
from cosim.errors import ScenarioError
from cosim.unit import PARAMETER, Port

MODES = ("plug_in", "timer")


class CCCVPolicy:
    """The CC-CV decision for a charger unit, from what the unit reads (its inputs, parameters and
    session state): the CC-CV charger's, and the MPC's fallback."""

    def __init__(self, unit: ChargerUnit, mode: str = "plug_in"):
        self.unit, self.mode = unit, mode

    def timer_allows(self, now: float) -> bool:
        """Whether a timer charge starts now (always, at plug-in)."""
        u = self.unit
        if self.mode != "timer" or u._started:
            return True
        departure = u.next_departure(now)
        i_cc = u.cc_current()
        if departure is None or i_cc <= 0.0:
            return True
        charge_needed = max(u.goal_soc - u.SOC, 0.0) * u.pack_capacity()  # C, nominal capacity
        duration = charge_needed / i_cc
        return now >= departure - u.timer_margin - duration

    def decide(self, now: float, h: float) -> float:
        """The CC-CV current [A] for the step that starts at ``now`` [s] (expected length ``h`` [s]);
        sets the unit's ``done`` and session state as the charge ends or starts."""
        u = self.unit
        if u.plugged < 0.5:
            if u._started or u.done:
                u._reset_session()
            u.done = 0.0
            return 0.0
        if u.done >= 0.5:
            return 0.0
        if u.SOC >= u.goal_soc:
            u.done = 1.0
            return 0.0
        if not self.timer_allows(now):
            return 0.0
        u._started = True
        i_cc = u.cc_current()
        current = min(i_cc, u.I_charge_max)
        if u.I_charge_max < i_cc and current < u.cutoff_current():
            if u._coulomb_gain > 0.0:
                u.done = 1.0  # CV taper under the cut-off
            # Else the pack has taken nothing yet this session: a limit this low from the start is the
            # cold (or hot) pack's temperature derating, not a taper; wait, plugged in, for it to lift.
            return 0.0
        if u._coulomb_gain > 0.0 and h > 0.0:
            # Land on the target instead of passing it by up to a step's worth.
            current = min(current, (u.goal_soc - u.SOC) / (u._coulomb_gain * h))
        return max(current, 0.0)


class CCCVCharger(ChargerUnit):
    """A CC-CV charger (AC wallbox or DC charger) as a unit.

    Parameters
    ----------
    mode : str
        ``"plug_in"``: charge as soon as plugged in; ``"timer"``: start so the charge ends
        ``timer_margin`` [s] before the next departure.
    departure, efficiency, charge_for, reserve, trip_margin, min_soc, top_up, top_up_soc, tariff
        As :class:`control.charger_unit.ChargerUnit`. With ``charge_for="trips"`` this is the
        ``charge_to_need`` heuristic: CC-CV to the reserve plus the forecast trips (with their margin).
    """

    PORTS: ClassVar[tuple[Port, ...]] = (
        *charger_input_ports(),
        *trip_ports(),
        *charger_output_ports(),
        *limit_ports(),
        *pack_ports(),
        Port("timer_margin", PARAMETER, "s", "Timer mode: finish this long before departure", 900.0, 0.0),
    )

    def __init__(
        self,
        mode: str = "plug_in",
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
        if mode not in MODES:
            raise ScenarioError(f"cccv_charger: mode must be one of {', '.join(MODES)}, got {mode!r}")
        super().__init__(departure, efficiency, charge_for, reserve, trip_margin, min_soc, top_up, top_up_soc,
                         tariff)
        self.mode = mode
        self.policy = CCCVPolicy(self, mode)

    def setup(self, start_time: float) -> None:
        if self.mode == "timer" and self.departure_clock is None:
            raise ScenarioError(
                f"unit {self.name!r}: mode 'timer' needs a departure time: the setting departure: \"07:30\" "
                "(or a mapping of days), or a connected departure_time input"
            )
        super().setup(start_time)

    def decide(self, now: float, h: float) -> float:
        return self.policy.decide(now, h)

    def metadata(self) -> dict[str, str]:
        return {"type": "cccv_charger", "mode": self.mode, "efficiency": self.efficiency.describe(),
                **self.needs.describe()}
