"""What the MPC charger knows of the battery beyond its outputs: the hidden fast states and the fade so far.

The battery outputs its SOC, temperatures and health; the RC voltages and the hysteresis it does
not, so :class:`CarriedState` carries them with the prediction model itself from the currents
applied (at plug-in after a rest: RC pairs empty, the hysteresis read from the rest voltage).
The fade rates' slopes depend on the calendar and cycle fade so far, which the battery does not
split: :class:`AgingObserver` integrates the same rate forms along what the charger reads.
"""

from __future__ import annotations

from battery_fmu import equations as eq
from battery_fmu.ops import SCALAR


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


class CarriedState:
    """The cell state a plan starts from: SOC and temperatures as read, RC voltages and hysteresis carried.

    ``reading`` is the charger unit: its inputs ``SOC``, ``T_cell``, ``T_housing`` (0: taken equal to
    ``T_cell``), ``V_terminal``, ``T_ambient``, ``SOH_capacity``, ``SOH_resistance`` and ``n_series``.
    """

    def __init__(self, model):
        self.model = model
        self.x: list[float] | None = None  # carried cell state (STATES order)

    def reset(self) -> None:
        """A new plug-in session: the next state is read afresh."""
        self.x = None

    def now(self, reading) -> list[float]:
        """The cell state now (STATES order)."""
        u = reading
        t_housing = u.T_housing if u.T_housing > 0.0 else u.T_cell
        if self.x is None:
            # Plug-in: RC pairs empty; the hysteresis from the rest voltage, within its magnitude.
            p = self.model.p
            ocv = eq.open_circuit_voltage(u.SOC, u.T_cell, p)
            magnitude = p.hysteresis_magnitude.scalar(u.SOC)
            rest = u.V_terminal / u.n_series - ocv
            h = min(max(rest, -magnitude), magnitude) if u.V_terminal > 0 else 0.0
            self.x = [u.SOC, 0.0, 0.0, h, u.T_cell, t_housing]
        x = list(self.x)
        x[0], x[4], x[5] = u.SOC, u.T_cell, t_housing
        return x

    def carry(self, reading, current: float, h: float) -> None:
        """Move the carried RC and hysteresis states over a step of ``current`` [A] lasting ``h`` [s]."""
        from control.prediction import AgingContext

        if self.x is None or h <= 0.0:
            return
        u = reading
        out = self.model.interval(
            self.now(u), current, h, u.T_ambient, u.SOH_capacity, AgingContext(), SCALAR, u.SOH_resistance
        )
        self.x = list(out.state)
