"""The start of a run, and an end a unit asks for.

Every connected input gets its initial value before stepping starts.

Units are set up (an FMU enters its initialisation mode), then the initial outputs are passed
through the connections in dependency order: where units say which inputs each initial output
depends on (an FMU's ``InitialUnknowns``, :meth:`~cosim.unit.Unit.initial_dependencies`), every output
is computed after the outputs it depends on, through delayed connections too, so one sweep gives every
input its value. Then passes in execution order, until no input changes, confirm it (one pass), or
iterate an initial algebraic loop to its fixed point, or fail naming the units whose inputs kept
changing. Without declared dependencies (or with a loop among them) the passes alone do the work: a
chain that runs against the execution order takes one pass per link.
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
    for s in dependency_order(slots) or ():
        vals = _gathered(s, outs)
        s.set_inputs(vals)
        ins[s.i] = vals
        outs[s.i] = s.get_outputs()
    changing: list[str] = []
    for n in range(1, MAX_PASSES + 1):
        changing = []
        for s in slots:
            if not s.inputs:
                continue
            vals = _gathered(s, outs)
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


def _gathered(s: Slot, outs: list) -> list:
    """The values of ``s``'s inputs from the outputs ``outs``, in bind order."""
    return (
        [outs[a][b] * g + o for a, b, g, o in s.direct]
        + [outs[a][b] * g + o for a, b, g, o in s.delayed]
        + [outs[a][b] * g + o for a, b, g, o in s.mean]
    )


def dependency_order(slots: Sequence[Slot]) -> list[Slot] | None:
    """The slots to visit (set inputs, read outputs), in order, so that each initial output is read
    after every output it depends on; a slot may come more than once. None when no unit declares its
    initial dependencies, or they form a loop (the passes then iterate)."""
    declared = {s.i: s.unit.initial_dependencies() for s in slots}
    if all(d is None for d in declared.values()):
        return None
    sources = {s.i: [(a, b) for a, b, _, _ in (*s.direct, *s.delayed, *s.mean)] for s in slots}
    needs: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for s in slots:
        deps = declared[s.i]
        for p, name in enumerate(s.outputs):
            wanted = None if deps is None else deps.get(name, ())
            needs[s.i, p] = [
                src
                for src, port in zip(sources[s.i], s.inputs, strict=True)
                if wanted is None or port in wanted
            ]
    level = _levels(needs)
    if level is None:
        return None
    order = []
    for depth in range(1, max(level.values(), default=0) + 1):
        order += [s for s in slots if any(level[s.i, p] == depth for p in range(len(s.outputs)))]
    # and the inputs no output depends on, so that the passes after find every input settled
    return order + [s for s in slots if s.inputs and s not in order]


def _levels(needs: dict) -> dict | None:
    """Each output's depth: 0 without dependencies, else one more than its deepest; None on a loop."""
    level: dict = {}
    for start in needs:
        stack = [(start, iter(needs[start]))]
        on_path = {start}
        while stack:
            node, pending = stack[-1]
            nxt = next((m for m in pending if m not in level), None)
            if nxt is None:
                stack.pop()
                on_path.discard(node)
                level[node] = 1 + max((level[m] for m in needs[node]), default=-1)
            elif nxt in on_path:
                return None
            else:
                on_path.add(nxt)
                stack.append((nxt, iter(needs[nxt])))
    return level


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
