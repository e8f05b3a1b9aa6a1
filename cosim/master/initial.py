"""The start of a run: every connected input gets its initial value before stepping starts.

Units are set up (an FMU enters its initialisation mode), then the initial outputs are passed
through the connections in execution order, pass after pass, until no input changes: one pass
settles a run without loops (its second pass only confirms it), an initial algebraic loop takes
as many as its fixed-point iteration needs, or fails naming the units whose inputs kept changing.
Only then does each unit end its initialisation (``Unit.end_initialization``), so an FMU that
computes its initial state from its inputs starts from the values they really have.
"""

from __future__ import annotations

from collections.abc import Sequence

from cosim.errors import SimulationError
from cosim.master.slots import Slot

#: Passes through the connections before an initial loop counts as not converging.
MAX_PASSES = 100


def initial_values(slots: Sequence[Slot], outs: list, ins: list, t0: float, tolerance: float) -> int:
    """Propagate initial outputs to inputs until they agree; the number of passes it took.

    ``tolerance`` is relative: a value has settled when ``|new - old| <= tolerance * max(1, |new|)``.

    Raises
    ------
    SimulationError
        When the inputs still change after :data:`MAX_PASSES` passes (an initial algebraic loop
        without a fixed point the iteration finds).
    """
    for s in slots:
        outs[s.i] = s.get_outputs()
    changing: list[str] = []
    for n in range(1, MAX_PASSES + 1):
        changing = []
        for s in slots:
            if not s.inputs:
                continue
            vals = (
                [outs[a][b] * g + o for a, b, g, o in s.direct]
                + [outs[a][b] * g + o for a, b, g, o in s.delayed]
                + [outs[a][b] * g + o for a, b, g, o in s.mean]
            )
            if not _settled(ins[s.i], vals, tolerance):
                changing.append(s.name)
            s.set_inputs(vals)
            ins[s.i] = vals
            outs[s.i] = s.get_outputs()
        if not changing:
            return n
    raise SimulationError(
        f"the initial values did not settle after {MAX_PASSES} passes through the connections: the "
        f"inputs of {', '.join(changing)} kept changing (an initial algebraic loop without a fixed "
        "point); break the loop with 'delay: 1' or give its units consistent start values",
        None,
        t0,
    )


def _settled(old: Sequence[float], new: Sequence[float], tolerance: float) -> bool:
    if len(old) != len(new):
        return False
    for a, b in zip(old, new, strict=True):
        if a == b:
            continue
        try:
            if abs(b - a) > tolerance * max(1.0, abs(b)):
                return False
        except TypeError:
            return False
    return True
