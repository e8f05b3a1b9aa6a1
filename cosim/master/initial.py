"""The start of a run, and an end a unit asks for.

Every connected input gets its initial value before stepping starts.

Units are set up (an FMU enters its initialisation mode), then the initial outputs are passed
through the connections in execution order, pass after pass, until no input changes: one pass
settles a run without loops (its second pass only confirms it), an initial algebraic loop takes
as many as its fixed-point iteration needs, or fails naming the units whose inputs kept changing.
Only then does each unit end its initialisation (``Unit.end_initialization``), so an FMU that
computes its initial state from its inputs starts from the values they really have.
"""

from __future__ import annotations

from collections.abc import Sequence

from cosim.errors import EvtwinError, SimulationError, UnitEnded
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


def end_initialization(slots: Sequence[Slot], outs: list, t0: float, check) -> None:
    """Every unit leaves initialisation; its step calls are taken again and its outputs checked."""
    for s in slots:
        try:
            s.unit.end_initialization()
        except EvtwinError:
            raise
        except Exception as err:
            raise SimulationError(
                f"ending initialisation failed: {type(err).__name__}: {err}", s.name, t0
            ) from err
        # Units may replace their step calls when they leave initialisation (the FMU adapter does).
        s.set_inputs, s.do_step, s.get_outputs = s.unit.set_inputs, s.unit.do_step, s.unit.get_outputs
        outs[s.i] = s.get_outputs()
        check(s, outs[s.i], t0)


def record_unit_end(slot: Slot, ended: UnitEnded, stats, master) -> None:
    """A unit ended the simulation: record its last point and stop, as after a stopping event.

    Units after it in the step order have not taken that step: their values are the previous
    communication point's. ``master`` gives the outputs, inputs and observers.
    """
    outs, ins, t = master.outs, master.ins, ended.t
    outs[slot.i] = slot.get_outputs()
    stats.end = t
    stats.stopped_by = f"{ended.unit}: {ended.reason or 'ended the simulation'}"
    stats.events.append((t, f"{ended.unit} ended"))
    for entry in master._fast:  # groups the generated loop fills directly: one more row
        pos, _ = entry.start()
        row = [v for is_out, i in entry.vectors for v in (outs[i] if is_out else ins[i])]
        entry.pack_into(entry.buffer, pos, t, *row)
        entry.save(pos + entry.row_bytes)
    for obs in master._sampled:
        obs.sample(t, outs, ins)
    for obs in master._observers:
        obs.event(t, f"{ended.unit} ended")
