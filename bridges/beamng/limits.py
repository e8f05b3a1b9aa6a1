"""Holding a BeamNG.tech vehicle's motors within the battery's discharge limit, with what the simulator offers.

BeamNG does not know the battery. beamngpy 1.36 has no call that caps a motor's power; what it offers is
the vehicle's inputs (``vehicle.control``: throttle, brake) and Lua in the vehicle's VM
(``vehicle.queue_lua_command``). So:

- ``driver: trace``: the bridge owns the throttle, so it caps it. After a step in which the motors took
  more than the battery delivers, the cap shrinks by the ratio of the limit to the step's peak motor
  power; after a step within the limit it relaxes by a quarter, up to full throttle. This needs nothing
  from the simulator beyond ``Control``.
- ``driver: ai``: BeamNG's AI sets its own throttle. A Lua chunk given as ``limit_lua`` (with
  ``{fraction}`` of the preset's peak power and ``{power_W}`` filled in) is sent whenever the limit
  moves by more than 2 % of that peak; which vehicle Lua holds a motor differs between BeamNG versions
  and vehicles, so the chunk is the user's. Unset or refused, the AI drives at full power.

Either way the power the battery could not deliver is recorded as ``P_unmet``.
"""

from __future__ import annotations

import math

#: Smallest throttle cap: a cap of zero would never learn that the limit has risen again.
MIN_THROTTLE_CAP = 0.02
#: Growth of the cap per step within the limit.
RELAX = 1.25
#: Change of the power fraction that makes ``limit_lua`` be sent again.
LUA_RESEND = 0.02


class MotorLimiter:
    """The throttle cap (trace driver) or the Lua requests (AI driver) that follow the battery's limit.

    Parameters
    ----------
    driver : str
        ``"trace"`` or ``"ai"``.
    limit_lua : str or None
        Lua chunk template for the AI driver.
    peak_power : float
        The motors' peak power [W], the base of ``{fraction}``.
    """

    def __init__(self, driver: str, limit_lua: str | None, peak_power: float):
        self.driver, self.limit_lua, self.peak_power = driver, limit_lua, peak_power
        self.reset()

    def reset(self) -> None:
        self.throttle_cap = 1.0
        self._fraction_sent = 1.0
        self._pending: float | None = None

    def after_step(self, step, ceiling: float) -> str | None:
        """Update from the step just taken (``StepPower``) and the motors' ceiling [W]; a Lua chunk to send."""
        if self.driver == "trace":
            if step.P_unmet > 0.0 and step.peak > 0.0:
                self.throttle_cap = max(MIN_THROTTLE_CAP, self.throttle_cap * max(0.0, ceiling) / step.peak)
            else:
                self.throttle_cap = min(1.0, RELAX * self.throttle_cap)
            return None
        if not self.limit_lua:
            return None
        fraction = min(1.0, max(0.0, ceiling / self.peak_power)) if math.isfinite(ceiling) else 1.0
        if abs(fraction - self._fraction_sent) <= LUA_RESEND:
            return None
        self._pending = fraction
        return self.limit_lua.format(fraction=fraction, power_W=max(0.0, ceiling))

    def sent(self, chunk: str) -> None:
        """The simulator took the last chunk."""
        if self._pending is not None:
            self._fraction_sent = self._pending
            self._pending = None

    def unheld(self, step) -> bool:
        """Power went unmet and nothing here can hold the motors (the AI without ``limit_lua``)."""
        return self.driver != "trace" and not self.limit_lua and step.P_unmet > 0.0
