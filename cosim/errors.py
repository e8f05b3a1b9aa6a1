"""Domain exceptions. Each message says what, where, what was expected and what was found."""

from __future__ import annotations


class EvtwinError(Exception):
    """Base of every error the command line reports without a traceback."""


class EvtwinWarning(UserWarning):
    """Something the run can go on with but the user should know (e.g. a unit that cannot roll back)."""


class ScenarioError(EvtwinError):
    """A scenario file that cannot run. ``problems`` lists every problem found, each with its location."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(f"- {p}" for p in self.problems) if len(self.problems) > 1 else self.problems[0])


class SimulationError(EvtwinError):
    """A unit failed or produced an invalid value during a run."""

    def __init__(self, message: str, unit: str | None = None, t: float | None = None):
        self.unit, self.t = unit, t
        where = []
        if unit is not None:
            where.append(f"unit {unit!r}")
        if t is not None:
            where.append(f"t = {t:g} s")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class FMUCallError(SimulationError):
    """An FMI function returned an error status."""

    def __init__(self, function: str, status: int, unit: str | None = None, t: float | None = None,
                 log: str = ""):
        self.function, self.status, self.log = function, status, log
        label = ("OK", "warning", "discard", "error", "fatal", "pending")
        msg = f"{function} returned status {status}" + (f" ({label[status]})" if 0 <= status < len(label) else "")
        if log:
            msg += f"; FMU log:\n{log}"
        super().__init__(msg, unit, t)


class FMUFileError(ScenarioError):
    """An FMU file that cannot be used: missing, not an FMU, the wrong kind or platform, or invalid.

    A :class:`ScenarioError`, so a scenario validator can list it with the scenario's other problems.
    """

    def __init__(self, path: str, problem: str):
        self.path = path
        super().__init__(f"{path}: {problem}")


class UnitEnded(EvtwinError):
    """A unit asked to end the simulation (an FMU's ``terminateSimulation``): a clean end, not a failure.

    ``t`` [s] is the last time the unit reached; its outputs are valid there.
    """

    def __init__(self, unit: str, t: float, reason: str = ""):
        self.unit, self.t, self.reason = unit, t, reason
        ended = f"unit {unit!r} ended the simulation at t = {t:g} s"
        super().__init__(ended + (f": {reason}" if reason else ""))
