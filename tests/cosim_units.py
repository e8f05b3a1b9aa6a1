"""Small Python units with known analytic behaviour, for testing the engine."""

from __future__ import annotations

from cosim.unit import INPUT, OUTPUT, Port, PythonUnit


class Integrator(PythonUnit):
    """``x' = u``; without feed-through (its output is its state)."""

    PORTS = (Port("u", INPUT, "W", "rate"), Port("x", OUTPUT, "J", "integral of u"))
    can_save_state = True
    direct_feedthrough = False

    def __init__(self, x0: float = 0.0):
        super().__init__()
        self.x0 = x0
        self.steps: list[tuple[float, float]] = []

    def setup(self, start_time):
        self.x = self.x0

    def do_step(self, t, h):
        self.steps.append((t, h))
        self.x += self.u * h

    def save_state(self):
        return (self.x, len(self.steps))

    def restore_state(self, state):
        self.x = state[0]
        del self.steps[state[1] :]


class Gain(PythonUnit):
    """``y = k * u + c`` with direct feed-through."""

    PORTS = (Port("u", INPUT, "1"), Port("y", OUTPUT, "1"))
    can_save_state = True

    def __init__(self, k: float = 1.0, c: float = 0.0, unit: str = "1"):
        self.PORTS = (Port("u", INPUT, unit), Port("y", OUTPUT, unit))
        super().__init__()
        self.k, self.c = k, c

    def setup(self, start_time):
        self.y = self.k * self.u + self.c

    def do_step(self, t, h):
        self.y = self.k * self.u + self.c

    def save_state(self):
        return self.y

    def restore_state(self, state):
        self.y = state


class Counter(PythonUnit):
    """Outputs the number of steps it has taken and the time it has reached."""

    PORTS = (Port("n", OUTPUT, "1"), Port("t", OUTPUT, "s"))

    def setup(self, start_time):
        self.n, self.t = 0, start_time

    def do_step(self, t, h):
        self.n += 1
        self.t = t + h


class Follower(PythonUnit):
    """Records the input it sees at each step."""

    PORTS = (Port("u", INPUT, "1"), Port("y", OUTPUT, "1"))

    def __init__(self, unit: str = "1"):
        self.PORTS = (Port("u", INPUT, unit), Port("y", OUTPUT, unit))
        super().__init__()
        self.seen: list[tuple[float, float]] = []

    def setup(self, start_time):
        self.y = self.u

    def do_step(self, t, h):
        self.seen.append((t, self.u))
        self.y = self.u


class Failing(PythonUnit):
    """Raises in do_step at ``fail_at`` [s] or returns NaN, as told (or raises in set-up: ``how="setup"``)."""

    PORTS = (Port("y", OUTPUT, "1", max=10.0),)

    def __init__(self, fail_at: float, how: str = "raise"):
        super().__init__()
        self.fail_at, self.how = fail_at, how
        self.terminated = False

    def setup(self, start_time):
        if self.how == "setup":
            raise RuntimeError("cannot open its device")
        self.y = 0.0

    def do_step(self, t, h):
        if t + h >= self.fail_at:
            if self.how == "raise":
                raise RuntimeError("solver diverged")
            self.y = float("nan") if self.how == "nan" else 11.0

    def terminate(self):
        self.terminated = True


class StandInCharger(PythonUnit):
    """A constant-current charger that stops at a target SOC: stands in for the CC-CV charger in tests."""

    PORTS = (
        Port("V_terminal", INPUT, "V"),
        Port("SOC", INPUT, "1"),
        Port("plugged", INPUT, "1", type="Boolean"),
        Port("I_charge", OUTPUT, "A", min=0.0),
    )
    can_save_state = True

    def __init__(self, current: float = 40.0, target_soc: float = 0.95):
        super().__init__()
        self.current, self.target_soc = current, target_soc

    def setup(self, start_time):
        self.I_charge = 0.0

    def do_step(self, t, h):
        self.I_charge = self.current if self.plugged and self.SOC < self.target_soc else 0.0

    def save_state(self):
        return self.I_charge

    def restore_state(self, state):
        self.I_charge = state


class ClockWithInput(PythonUnit):
    """A time source that (wrongly) declares an input: the wiring checks refuse to feed it."""

    PORTS = (Port("u", INPUT, "W", "nothing may feed this"), Port("t", OUTPUT, "s", "time"))
    steps_ahead = True
    direct_feedthrough = False

    def setup(self, start_time):
        self.t = start_time

    def do_step(self, t, h):
        self.t = t + h


class NotAUnit:
    """Has ports but is no :class:`~cosim.unit.Unit`: the validator and the master refuse it."""

    def ports(self):
        return (Port("y", OUTPUT, "1"),)


class FixedStepCounter(Counter):
    """A counter that says it can only run at one communication step (as fixed-step FMU exports do)."""

    can_vary_step = False


class Beacon(PythonUnit):
    """Integrates ``u`` like :class:`Integrator` (keeping no history), outputs the time [s], and
    publishes the end of each step in a small file (one ``pwrite`` per step, so what it wrote is in the
    kernel's page cache the moment the call returns and outlives a SIGKILL), so that a test that kills the
    process knows how far the run got."""

    PORTS = (
        Port("u", INPUT, "W", "rate"),
        Port("x", OUTPUT, "J", "integral of u"),
        Port("t", OUTPUT, "s", "end of the last step"),
    )
    direct_feedthrough = False

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def setup(self, start_time):
        import os
        import struct

        self._fd = os.open(self.file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._pack = struct.Struct("d").pack
        self._pwrite = os.pwrite
        self.t = start_time
        self.x = 0.0
        self._pwrite(self._fd, self._pack(start_time), 0)

    def do_step(self, t, h):
        self.x += self.u * h
        self.t = t + h
        self._pwrite(self._fd, self._pack(self.t), 0)

    def terminate(self):
        import os

        os.close(self._fd)


def beacon_time(file) -> float:
    """The time a :class:`Beacon` last published [s]."""
    import struct

    with open(file, "rb") as fh:
        return struct.unpack("d", fh.read(8))[0]


class InterruptedInside(PythonUnit):
    """Like a Python FMU hit by Ctrl-C: the KeyboardInterrupt raised inside its step is caught
    there and comes out as an error of the unit (at ``at`` [s])."""

    PORTS = (Port("y", OUTPUT, "1"),)

    def __init__(self, at: float):
        super().__init__()
        self.at = at

    def setup(self, start_time):
        self.y = 0.0

    def do_step(self, t, h):
        import os
        import signal

        if t + h >= self.at:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(10**6):  # the handler runs here, inside the step
                    pass
            except KeyboardInterrupt:
                raise RuntimeError("FMU failure (fatal)") from None
        self.y = t + h
