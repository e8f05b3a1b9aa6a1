"""Straight-line Python for the macro-step loop of a segment, generated once per rate pattern.

The master's interpreter (``Master._macro_step``) walks a list of slots each macro step; for
runs of millions of steps that bookkeeping costs more than the units themselves. Here the
same semantics are written out as one function per combination of step multiples: outputs
live in local variables, gains and offsets are literals, and a unit that steps every macro
step skips the window bookkeeping. The generated source is kept on the function
(``__source__``) for reading, and the test suite checks that it produces bit-identical
results to the interpreter.

Used when a run has no events and no iterated loops (those need the interpreter's
save/restore around each step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cosim.errors import EvtwinError, SimulationError
from cosim.master.observer import RunStats
from cosim.timeline import Segment


def _read(src: str, a: int, b: int, g: float, o: float) -> str:
    term = f"{src}{a}[{b}]"
    if g != 1.0:
        term = f"{term} * {g!r}"
    if o != 0.0:
        term = f"{term} + {o!r}"
    return term


# A code generator reads best as one pass over the slots, emitting in order.
def build_segment_runner(
    slots: Sequence[Any],
    ahead: Sequence[Any],
    blocks: Sequence[Any],
    jacobi: bool,
    everies: Sequence[int],
    watched_outputs: set[int],
    watched_inputs: set[int],
    fast: Sequence[tuple] = (),
) -> Callable:
    """Generate ``run(start, h, n, stop, outs, ins, observers, progress, done, check)``.

    Parameters
    ----------
    slots : sequence of master slots (execution order, ``slot.i`` is the index into ``outs``)
    ahead : slots of time sources, stepped first
    blocks : the remaining slots in execution order (no loops)
    jacobi : read every connection from the values at the start of the macro step
    everies : step multiple of each slot for this segment, by ``slot.i``
    watched_outputs, watched_inputs : slots whose outputs / inputs observers read at every point;
        the others are written back to ``outs`` at the end of the segment only
    fast : entries of observers' fast sampling (:meth:`cosim.master.Observer.fast_sampling`): each
        row is packed inline into the entry's buffer at every point

    When a call fails, the exception carries ``__cosim_unit__`` (the slot index whose code
    raised it, found from the traceback's line number) and ``__cosim_time__`` [s].
    """
    L: list[str] = []
    w = L.append
    owner: dict[int, int] = {}  # generated line number -> slot index

    def unit_lines(i: int, emit: Callable[[], None]) -> None:
        first = len(L)
        emit()
        for n in range(first, len(L)):
            owner[n + 1] = i

    prev = _start_of_step_reads(blocks, jacobi)
    _emit_prologue(w, slots, blocks, everies, watched_inputs)
    w("    t_end = start")
    w("    last = n - 1")
    for j in range(len(fast)):
        w(f"    fp{j}, fc{j} = fstart{j}()")
    w("    try:")
    w("        for k in range(n):")
    w("            t = start + k * h")
    w("            t_end = stop if k == last else start + (k + 1) * h")
    w("            hh = t_end - t")
    for s in ahead:
        unit_lines(s.i, lambda s=s: _emit_step(w, s, "t", "hh", s.i in watched_outputs))
    for i in sorted(prev):
        w(f"            p{i} = o{i}")
    src = "p" if jacobi else "o"
    for s in blocks:
        unit_lines(
            s.i,
            lambda s=s: _emit_block(w, s, src, everies[s.i], s.i in watched_outputs, s.i in watched_inputs),
        )
    _emit_fast_sampling(w, fast)
    w("            for obs in observers:")
    w("                obs.sample(t_end, outs, ins)")
    w("            if progress is not None and not (done + k + 1) & 0xFFF:")
    w("                progress(t_end)")
    w("    except BaseException as err:")
    w("        err.__cosim_unit__ = _owner(err)")
    w("        err.__cosim_time__ = t_end")
    for j in range(len(fast)):
        w(f"        fsave{j}(fp{j})")
    w("        raise")
    for j in range(len(fast)):
        w(f"    fsave{j}(fp{j})")
    for s in slots:
        w(f"    outs[{s.i}] = o{s.i}")
        if s in blocks and s.inputs and s.i not in watched_inputs:
            w(f"    ins[{s.i}] = in{s.i}")
    return _compile_runner("\n".join(L) + "\n", owner, slots, fast)


def _compile_runner(
    source: str, owner: dict[int, int], slots: Sequence[Any], fast: Sequence[tuple]
) -> Callable:
    """The generated ``run``, with the units' calls and the fast-sampling buffers in its namespace."""

    def find_owner(err: BaseException) -> int:
        tb = err.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == _FILENAME and tb.tb_lineno in owner:
                return owner[tb.tb_lineno]
            tb = tb.tb_next
        return -1

    namespace: dict[str, Any] = {"INF": float("inf"), "_owner": find_owner}
    for j, entry in enumerate(fast):
        namespace[f"fpack{j}"], namespace[f"fbuf{j}"] = entry.pack_into, entry.buffer
        namespace[f"fstart{j}"], namespace[f"fcheck{j}"] = entry.start, entry.check
        namespace[f"fsave{j}"] = entry.save
    for s in slots:
        namespace[f"do{s.i}"] = s.do_step
        namespace[f"get{s.i}"] = s.get_outputs
        namespace[f"set{s.i}"] = s.set_inputs
    code = compile(source, _FILENAME, "exec")
    exec(code, namespace)  # the source is built from indices and float literals only
    run = namespace["run"]
    run.__source__ = source
    return run


_FILENAME = "<cosim segment runner>"


def _start_of_step_reads(blocks: Sequence[Any], jacobi: bool) -> set[int]:
    """Slots whose start-of-step values are read: all sources in Jacobi, else delayed ones' sources."""
    prev = set()
    for s in blocks:
        prev |= {a for a, _, _, _ in s.delayed}
        if jacobi:
            prev |= {a for a, _, _, _ in (*s.direct, *s.mean)}
    return prev


def _emit_prologue(w, slots: Sequence[Any], blocks: Sequence[Any], everies, watched_inputs: set[int]) -> None:
    w("def run(start, h, n, stop, outs, ins, observers, progress, done, check):")
    for s in slots:
        w(f"    o{s.i} = outs[{s.i}]")
    for s in blocks:
        if everies[s.i] != 1:
            w(f"    c{s.i} = 0")
            w(f"    tw{s.i} = start")
        for j in range(len(s.mean)):
            w(f"    a{s.i}_{j} = 0.0")
        if s.inputs and s.i not in watched_inputs:
            w(f"    in{s.i} = ins[{s.i}]")


def _emit_fast_sampling(w, fast: Sequence[tuple]) -> None:
    """One ``pack_into`` per entry and point; a call to the entry's ``check`` every few rows."""
    for j, entry in enumerate(fast):
        vectors = "".join(f", *o{i}" if is_out else f", *ins[{i}]" for is_out, i in entry.vectors)
        w(f"            fpack{j}(fbuf{j}, fp{j}, t_end{vectors})")
        w(f"            fp{j} += {int(entry.row_bytes)}")
        w(f"            if fp{j} >= fc{j}:")
        w(f"                fp{j}, fc{j} = fcheck{j}(fp{j})")


def _emit_block(w, s: Any, src: str, every: int, watched_out: bool, watched_in: bool) -> None:
    i = s.i
    for j, (a, b, _, _) in enumerate(s.mean):
        w(f"            a{i}_{j} += {src}{a}[{b}] * hh")
    indent = "            "
    if every != 1:
        w(f"            c{i} += 1")
        w(f"            if c{i} == {every} or k == last:")
        indent += "    "
        start_t, span = f"tw{i}", f"(t_end - tw{i})"
    else:
        start_t, span = "t", "hh"
    if s.inputs:
        terms = [_read(src, a, b, g, o) for a, b, g, o in s.direct]
        terms += [_read("p", a, b, g, o) for a, b, g, o in s.delayed]
        terms += [f"a{i}_{j} / {span} * {g!r} + {o!r}" for j, (_, _, g, o) in enumerate(s.mean)]
        w(f"{indent}v = [{', '.join(terms)}]")
        for j in range(len(s.mean)):
            w(f"{indent}a{i}_{j} = 0.0")
        w(f"{indent}set{i}(v)")
        # The interpreter keeps every unit's last inputs; here only those an observer reads.
        w(f"{indent}ins[{i}] = v" if watched_in else f"{indent}in{i} = v")
    _emit_step(w, s, start_t, span, watched_out, indent)
    if every != 1:
        w(f"{indent}tw{i} = t_end")
        w(f"{indent}c{i} = 0")


def _emit_step(w, s: Any, t: str, span: str, watched: bool, indent: str = "            ") -> None:
    i = s.i
    w(f"{indent}do{i}({t}, {span})")
    w(f"{indent}o{i} = get{i}()")
    if watched:
        w(f"{indent}outs[{i}] = o{i}")
    w(f"{indent}x = sum(o{i})")
    tests = ["x - x != 0.0"] + [
        f"not {lo!r} <= o{i}[{pos}] <= {hi!r}".replace("inf", "INF") for pos, lo, hi in s.bounds
    ]
    w(f"{indent}if {' or '.join(tests)}:")
    w(f"{indent}    check({i}, o{i}, t_end)")


class CompiledSegments:
    """The compiled half of :class:`~cosim.master.Master`: runs a segment through a generated runner.

    Uses the master's ``slots``, ``_ahead``, ``_blocks``, ``_jacobi``, ``_watched_out``, ``_watched_in``,
    ``_fast``, ``_runners``, ``_native``, ``_cores``, ``outs``, ``ins``, ``_sampled`` and ``_check``.
    """

    def _run_segment_compiled(self, seg: Segment, stats: RunStats, progress) -> bool:
        everies = tuple(s.every for s in self.slots)
        if self._native and self._run_segment_native(seg, stats, progress, everies):
            return False
        run = self._runners.get(everies)
        if run is None:
            run = build_segment_runner(
                self.slots,
                self._ahead,
                self._blocks,
                self._jacobi,
                everies,
                self._watched_out,
                self._watched_in,
                self._fast,
            )
            self._runners[everies] = run
        n = seg.n_steps()
        try:
            run(
                seg.start,
                seg.step,
                n,
                seg.stop,
                self.outs,
                self.ins,
                self._sampled,
                progress,
                stats.steps,
                self._check_index,
            )
        except EvtwinError:
            raise
        except Exception as err:
            cur = getattr(err, "__cosim_unit__", -1)
            t_end = getattr(err, "__cosim_time__", None)
            name = self.slots[cur].name if cur >= 0 else None
            raise SimulationError(f"do_step failed: {type(err).__name__}: {err}", name, t_end) from err
        for s in self.slots:
            s.t_w, s.count = seg.stop, 0
        stats.steps += n
        stats.end = seg.stop
        return False

    def _run_segment_native(self, seg: Segment, stats: RunStats, progress, everies: tuple[int, ...]) -> bool:
        """Step ``seg`` in the C core (:mod:`cosim.master.native`) when every unit offers a compiled
        step and no observer wants each point in Python; False (nothing done) otherwise."""
        if everies not in self._cores:
            from cosim.master.native import core_for

            self._cores[everies] = core_for(self, everies)
        core = self._cores[everies]
        if core is None:
            return False
        core.run_segment(seg, stats, progress)
        for s in self.slots:
            s.t_w, s.count = seg.stop, 0
        stats.steps += seg.n_steps()
        stats.end = seg.stop
        return True

    def _check_index(self, i: int, values: Sequence[float], t: float) -> None:
        self._check(self.slots[i], values, t)
