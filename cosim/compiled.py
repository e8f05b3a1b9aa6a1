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


def _read(src: str, a: int, b: int, g: float, o: float) -> str:
    term = f"{src}{a}[{b}]"
    if g != 1.0:
        term = f"{term} * {g!r}"
    if o != 0.0:
        term = f"{term} + {o!r}"
    return term


# A code generator reads best as one pass over the slots, emitting in order.
def build_segment_runner(  # noqa: C901
    slots: Sequence[Any],
    ahead: Sequence[Any],
    blocks: Sequence[Any],
    jacobi: bool,
    need_prev: bool,
    everies: Sequence[int],
) -> Callable:
    """Generate ``run(start, h, n, stop, outs, ins, observers, progress, done, check)``.

    Parameters
    ----------
    slots : sequence of master slots (execution order, ``slot.i`` is the index into ``outs``)
    ahead : slots of time sources, stepped first
    blocks : the remaining slots in execution order (no loops)
    jacobi : read every connection from the values at the start of the macro step
    need_prev : some connection reads the start-of-step value (Jacobi or ``delay: 1``)
    everies : step multiple of each slot for this segment, by ``slot.i``
    """
    L: list[str] = []
    w = L.append
    w("def run(start, h, n, stop, outs, ins, observers, progress, done, check):")
    for s in slots:
        w(f"    o{s.i} = outs[{s.i}]")
    multi = [s for s in blocks if everies[s.i] != 1]
    for s in multi:
        w(f"    c{s.i} = 0")
        w(f"    tw{s.i} = start")
    for s in blocks:
        for j in range(len(s.mean)):
            w(f"    a{s.i}_{j} = 0.0")
    w("    cur = -1")
    w("    t_end = start")
    w("    last = n - 1")
    w("    try:")
    w("        for k in range(n):")
    w("            t = start + k * h")
    w("            t_end = stop if k == last else start + (k + 1) * h")
    w("            hh = t_end - t")
    for s in ahead:
        _emit_step(w, s, "t", "hh")
    if need_prev:
        for s in slots:
            w(f"            p{s.i} = o{s.i}")
    src = "p" if jacobi else "o"
    for s in blocks:
        i = s.i
        for j, (a, b, _, _) in enumerate(s.mean):
            w(f"            a{i}_{j} += {src}{a}[{b}] * hh")
        indent = "            "
        if everies[i] != 1:
            w(f"            c{i} += 1")
            w(f"            if c{i} == {everies[i]} or k == last:")
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
            w(f"{indent}ins[{i}] = v")
        _emit_step(w, s, start_t, span, indent)
        if everies[i] != 1:
            w(f"{indent}tw{i} = t_end")
            w(f"{indent}c{i} = 0")
    w("            for obs in observers:")
    w("                obs.sample(t_end, outs, ins)")
    w("            if progress is not None and not (done + k + 1) & 0xFFF:")
    w("                progress(t_end)")
    w("    except BaseException as err:")
    w("        err.__cosim_unit__ = cur")
    w("        err.__cosim_time__ = t_end")
    w("        raise")
    source = "\n".join(L) + "\n"
    namespace: dict[str, Any] = {"INF": float("inf")}
    for s in slots:
        namespace[f"do{s.i}"] = s.do_step
        namespace[f"get{s.i}"] = s.get_outputs
        namespace[f"set{s.i}"] = s.set_inputs
    code = compile(source, "<cosim segment runner>", "exec")
    exec(code, namespace)  # the source is built from indices and float literals only
    run = namespace["run"]
    run.__source__ = source
    return run


def _emit_step(w, s: Any, t: str, span: str, indent: str = "            ") -> None:
    i = s.i
    w(f"{indent}cur = {i}")
    w(f"{indent}do{i}({t}, {span})")
    w(f"{indent}o{i} = get{i}()")
    w(f"{indent}outs[{i}] = o{i}")
    w(f"{indent}x = sum(o{i})")
    tests = ["x - x != 0.0"] + [
        f"not {lo!r} <= o{i}[{pos}] <= {hi!r}".replace("inf", "INF") for pos, lo, hi in s.bounds
    ]
    w(f"{indent}if {' or '.join(tests)}:")
    w(f"{indent}    check({i}, o{i}, t_end)")
