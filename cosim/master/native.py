"""The macro step in C (``native.c``) for segments whose units all offer a compiled step.

A unit offers one with :meth:`~cosim.unit.Unit.compiled_step` (FMI 2.0 FMUs with Real inputs and
outputs do); constants are read once and never stepped. Here the connection graph is flattened
into the C core's arrays (value references, source indices, gains and offsets), the core is run a
chunk of macro steps at a time, and whatever it stops for is handled as the Python loop would:
a full row buffer goes to the writer, a failed FMI call to the unit's error reporting, a value
out of range to the master's check. Runs with events, loops, time sources stepped in Python or
observers that want every point in Python keep the generated Python loop
(:mod:`cosim.master.compiled`).

The core is compiled with gcc at first use into the user's cache folder (``$XDG_CACHE_HOME/evtwin``),
named by the hash of its source, so an upgrade rebuilds it; without gcc, runs use the Python loop.
"""

from __future__ import annotations

import ctypes as C
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.errors import EvtwinError
from cosim.master.observer import RunStats
from cosim.timeline import Segment

SOURCE = Path(__file__).with_name("native.c")
_DONE, _ROWS, _FMI_FAILED, _CHECK_FAILED = 0, 1, 2, 3
_CALLS = ("fmi2SetReal", "fmi2DoStep", "fmi2GetReal")
_DIRECT, _DELAYED, _MEAN = 0, 1, 2
#: No fused multiply-add: ``a * b + c`` rounds twice, as in Python, so both loops agree bit for bit.
CFLAGS = ("-O2", "-shared", "-fPIC", "-ffp-contract=off", "-std=c99")
#: Macro steps per call at most: the run comes back to Python this often (Ctrl-C, progress).
CHUNK = 0x1000


@dataclass(frozen=True, slots=True)
class CompiledStep:
    """What the C core needs to step a unit: an FMI 2.0 instance and its Real variables.

    ``set_real``, ``get_real``, ``do_step``: addresses of ``fmi2SetReal``, ``fmi2GetReal`` and
    ``fmi2DoStep``; ``vr_in``/``vr_out``: value references in bind order; ``no_prior``: the flag
    passed to doStep.
    """

    component: int
    set_real: int
    get_real: int
    do_step: int
    vr_in: Sequence[int]
    vr_out: Sequence[int]
    no_prior: bool
    unit: Any = None  # reports a failed call: ``fail(function, status, t)`` and ``end(function, t, t_last)``


class _Slot(C.Structure):
    _fields_ = [
        ("component", C.c_void_p),
        ("set_real", C.c_void_p),
        ("get_real", C.c_void_p),
        ("do_step", C.c_void_p),
        ("no_prior", C.c_int),
        ("n_in", C.c_int),
        ("n_out", C.c_int),
        ("vr_in", C.POINTER(C.c_uint)),
        ("vr_out", C.POINTER(C.c_uint)),
        ("in_off", C.c_int),
        ("out_off", C.c_int),
        ("term_off", C.c_int),
        ("n_mean", C.c_int),
        ("acc_off", C.c_int),
        ("n_bounds", C.c_int),
        ("bound_off", C.c_int),
        ("every", C.c_int),
        ("count", C.c_int),
        ("tw", C.c_double),
        ("stepped", C.c_int),
    ]


class _Term(C.Structure):
    _fields_ = [("kind", C.c_int), ("src", C.c_int), ("acc", C.c_int), ("g", C.c_double), ("o", C.c_double)]


class _Rows(C.Structure):
    _fields_ = [
        ("buffer", C.c_void_p),
        ("pos", C.c_long),
        ("next_check", C.c_long),
        ("n", C.c_int),
        ("gather", C.POINTER(C.c_int)),
    ]


class _Reduction(C.Structure):
    _fields_ = [
        ("gather", C.c_int),
        ("last", C.c_double),
        ("lo", C.c_double),
        ("hi", C.c_double),
        ("integral", C.c_double),
    ]


class _Core(C.Structure):
    _fields_ = [
        ("n_slots", C.c_int),
        ("slots", C.POINTER(_Slot)),
        ("terms", C.POINTER(_Term)),
        ("acc", C.POINTER(C.c_double)),
        ("out", C.POINTER(C.c_double)),
        ("prev", C.POINTER(C.c_double)),
        ("in_", C.POINTER(C.c_double)),
        ("n_values", C.c_int),
        ("need_prev", C.c_int),
        ("jacobi", C.c_int),
        ("bound_pos", C.POINTER(C.c_int)),
        ("bound_lo", C.POINTER(C.c_double)),
        ("bound_hi", C.POINTER(C.c_double)),
        ("n_rows", C.c_int),
        ("rows", C.POINTER(_Rows)),
        ("n_reductions", C.c_int),
        ("reductions", C.POINTER(_Reduction)),
        ("t_last", C.c_double),
        ("k", C.c_long),
        ("err_slot", C.c_int),
        ("err_call", C.c_int),
        ("err_status", C.c_int),
        ("err_t", C.c_double),
    ]


_library: Any = None
#: Why the core is not available (a failed build), or None.
unavailable: str | None = None


def core_library():
    """The compiled core (built now if needed), or None when it cannot be built (see :data:`unavailable`)."""
    global _library, unavailable
    if _library is None and unavailable is None:
        try:
            _library = _load(_build())
        except (OSError, subprocess.SubprocessError) as err:
            unavailable = f"the C stepping core could not be built: {err}"
    return _library


def _build() -> Path:
    text = SOURCE.read_bytes()
    tag = hashlib.sha256(text).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evtwin"
    target = cache / f"master-core-{tag}.so"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache)
    os.close(fd)
    try:
        cmd = ["gcc", *CFLAGS, "-o", tmp, str(SOURCE), "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise OSError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "gcc failed")
        os.replace(tmp, target)  # atomic: parallel workers building at once all end with a whole file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _load(path: Path):
    lib = C.CDLL(str(path))
    run = lib.evtwin_core_run
    run.argtypes = [C.POINTER(_Core), C.c_double, C.c_double, C.c_long, C.c_double, C.c_long]
    run.restype = C.c_int
    return lib


class NativeCore:
    """The flattened segment for the C core: built once per master and pattern of step multiples."""

    def __init__(
        self,
        master: Any,
        steps: list[CompiledStep | None],
        everies: Sequence[int],
        fast: Sequence,
        reducers=(),
    ):
        self.master = master
        slots = master.slots
        self.keep: list[Any] = []  # ctypes arrays the core points into
        out_off, in_off, n_out, n_in = [], [], 0, 0
        for s in slots:
            out_off.append(n_out)
            in_off.append(n_in)
            n_out += len(s.outputs)
            n_in += len(s.inputs)
        self.out_off, self.in_off = out_off, in_off
        self.out = (C.c_double * max(n_out, 1))()
        self.prev = (C.c_double * max(n_out, 1))()
        self.ins = (C.c_double * max(n_in, 1))()
        cslots, terms, bounds, n_acc = self._slot_tables(slots, steps, everies)
        self.steps = steps
        self.slots = (_Slot * len(cslots))(*cslots)
        self.terms = (_Term * max(len(terms), 1))(*terms)
        self.acc = (C.c_double * max(n_acc, 1))()
        self.bound_pos = (C.c_int * max(len(bounds), 1))(*(pos for pos, _, _ in bounds))
        self.bound_lo = (C.c_double * max(len(bounds), 1))(*(lo for _, lo, _ in bounds))
        self.bound_hi = (C.c_double * max(len(bounds), 1))(*(hi for _, _, hi in bounds))
        self.fast = list(fast)
        rows = self._fast_rows(slots)
        self.rows = (_Rows * max(len(rows), 1))(*rows)
        # Observers whose per-point work the core does (the summary's reductions), and where each signal is.
        self.reducers = list(reducers)
        self.reduced: list[tuple[Any, int, int]] = []  # (reducer, its signal's index, reduction index)
        gathers = []
        for reducer in self.reducers:
            for j, (is_out, i, pos) in enumerate(reducer.native_reductions()):
                self.reduced.append((reducer, j, len(gathers)))
                gathers.append(out_off[i] + pos if is_out else -1 - (in_off[i] + pos))
        self.reductions = (_Reduction * max(len(gathers), 1))(*(_Reduction(g) for g in gathers))
        jacobi = master._jacobi
        need_prev = jacobi or any(s.delayed for s in slots)
        self.core = _Core(
            n_slots=len(cslots),
            slots=self.slots,
            terms=self.terms,
            acc=self.acc,
            out=self.out,
            prev=self.prev,
            in_=self.ins,
            n_values=n_out,
            need_prev=int(need_prev),
            jacobi=int(jacobi),
            bound_pos=self.bound_pos,
            bound_lo=self.bound_lo,
            bound_hi=self.bound_hi,
            n_rows=len(rows),
            rows=self.rows,
            n_reductions=len(self.reduced),
            reductions=self.reductions,
        )
        self.run = core_library().evtwin_core_run

    def _slot_tables(self, slots, steps, everies) -> tuple[list, list, list, int]:
        """(the C slots, the connection terms, the input bounds, the number of mean accumulators): each
        unit's wiring flattened into offsets in the core's value arrays, and its fmi2 calls."""
        terms, bounds, cslots, n_acc = [], [], [], 0
        out_off, in_off = self.out_off, self.in_off
        for s, step in zip(slots, steps, strict=True):
            cs = _Slot(n_in=len(s.inputs), n_out=len(s.outputs), in_off=in_off[s.i], out_off=out_off[s.i])
            cs.term_off, cs.acc_off, cs.bound_off = len(terms), n_acc, len(bounds)
            for kind, plan in ((_DIRECT, s.direct), (_DELAYED, s.delayed), (_MEAN, s.mean)):
                for a, b, g, o in plan:
                    acc = n_acc if kind == _MEAN else -1
                    n_acc += kind == _MEAN
                    terms.append(_Term(kind, out_off[a] + b, acc, g, o))
            cs.n_mean = len(s.mean)
            bounds += s.bounds
            cs.n_bounds = len(s.bounds)
            cs.every, cs.count, cs.stepped = everies[s.i], 0, step is not None
            if step is not None:
                vr_in = (C.c_uint * max(len(step.vr_in), 1))(*step.vr_in)
                vr_out = (C.c_uint * max(len(step.vr_out), 1))(*step.vr_out)
                self.keep += [vr_in, vr_out]
                cs.component, cs.set_real, cs.get_real = step.component, step.set_real, step.get_real
                cs.do_step, cs.no_prior = step.do_step, int(step.no_prior)
                cs.vr_in, cs.vr_out = vr_in, vr_out
            cslots.append(cs)
        return cslots, terms, bounds, n_acc

    def _fast_rows(self, slots) -> list:
        """One row description per packed output buffer: which values it gathers (an output's offset,
        or ``-1 - offset`` for an input) and where its rows go."""
        rows = []
        for entry in self.fast:
            gather = []
            for is_out, i in entry.vectors:
                s = slots[i]
                if is_out:
                    gather += [self.out_off[i] + p for p in range(len(s.outputs))]
                else:
                    gather += [-1 - (self.in_off[i] + p) for p in range(len(s.inputs))]
            g = (C.c_int * max(len(gather), 1))(*gather)
            self.keep.append(g)
            address = C.addressof(C.c_char.from_buffer(entry.buffer))
            rows.append(_Rows(address, 0, 0, len(gather), g))
        return rows

    # ------------------------------------------------------------------------------------------
    def run_segment(self, seg: Segment, stats: RunStats, progress) -> None:
        """Step ``seg`` in C; the master's outputs and inputs hold its end values afterwards."""
        core = self.core
        self._load(seg.start)
        n = seg.n_steps()
        done = stats.steps
        core.k = 0
        for r, entry in enumerate(self.fast):
            self.rows[r].pos, self.rows[r].next_check = entry.start()
        self._load_reductions()
        try:
            while core.k < n:
                # Stop where the Python loop reports progress: after steps done + k + 1 = 4096 m.
                k_stop = min(n, core.k + CHUNK - ((done + core.k) & (CHUNK - 1)))
                code = self.run(core, seg.start, seg.step, n, seg.stop, k_stop)
                if code == _ROWS:
                    for r, entry in enumerate(self.fast):
                        if self.rows[r].pos >= self.rows[r].next_check:
                            self.rows[r].pos, self.rows[r].next_check = entry.check(self.rows[r].pos)
                elif code != _DONE:
                    self._store()
                    self._failed(code)
                if progress is not None and core.k == k_stop and not (done + core.k) & (CHUNK - 1):
                    progress(seg.stop if core.k == n else seg.start + core.k * seg.step)
        finally:
            for r, entry in enumerate(self.fast):
                entry.save(self.rows[r].pos)
            self._store_reductions()
        self._store()

    def _load_reductions(self) -> None:
        for reducer, j, r in self.reduced:
            d = self.reductions[r]
            d.last, d.lo, d.hi, d.integral = reducer.reduction_state(j)
        if self.reduced:
            self.core.t_last = self.reduced[0][0].t_last

    def _store_reductions(self) -> None:
        for reducer, j, r in self.reduced:
            d = self.reductions[r]
            reducer.set_reduction_state(j, (d.last, d.lo, d.hi, d.integral), self.core.t_last)

    def _load(self, t0: float) -> None:
        master = self.master
        for s in master.slots:
            o, i = self.out_off[s.i], self.in_off[s.i]
            self.out[o : o + len(s.outputs)] = list(master.outs[s.i])
            if s.inputs:
                self.ins[i : i + len(s.inputs)] = list(master.ins[s.i])
            self.slots[s.i].count, self.slots[s.i].tw = 0, t0
        for j in range(len(self.acc)):
            self.acc[j] = 0.0

    def _store(self) -> None:
        master = self.master
        for s in master.slots:
            o, i = self.out_off[s.i], self.in_off[s.i]
            if self.steps[s.i] is not None:
                master.outs[s.i] = self.out[o : o + len(s.outputs)]
            if s.inputs:
                master.ins[s.i] = self.ins[i : i + len(s.inputs)]

    def _failed(self, code: int) -> None:
        core, master = self.core, self.master
        slot = master.slots[core.err_slot]
        if code == _CHECK_FAILED:
            master._check(slot, master.outs[slot.i], core.err_t)
            raise EvtwinError(f"unit {slot.name!r}: the C core found a value the check does not")
        unit = self.steps[slot.i].unit
        if core.err_call == 1:
            unit._step_failed(core.err_status, core.err_t)  # raises, or ends the run cleanly
        unit._fail(_CALLS[core.err_call], core.err_status, None)


def core_for(master: Any, everies: Sequence[int]) -> NativeCore | None:
    """The C core for the master's current segment, or None when some unit or observer needs Python."""
    if master._ahead or core_library() is None:
        return None
    # Observers wanting each point in Python keep the Python loop, unless the core can do their work.
    reducers = [obs for obs in master._sampled if getattr(obs, "native_reductions", None) is not None]
    if len(reducers) != len(master._sampled):
        return None
    stepped = {s.i for s in master._blocks}
    steps: list[CompiledStep | None] = []
    for s in master.slots:
        step = s.unit.compiled_step() if s.i in stepped else None
        if s.i in stepped and step is None:
            return None
        steps.append(step)
    return NativeCore(master, steps, everies, master._fast, reducers)
