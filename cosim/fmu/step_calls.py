"""The step loop's FMI calls: set inputs, doStep, get outputs, as closures over the C functions.

Fresh function objects without declared argument types, called with ready-made ctypes arguments:
ctypes then skips its per-argument conversion, which costs more than the C call itself
(``benchmarks/bench_fmu_adapter.py``). Inputs or outputs that are not all Real/Float64 go through
fmpy's typed calls instead, one call per type (slower; the common case is all Real).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from ctypes import byref, c_bool, c_double, c_size_t, c_uint, c_void_p

from cosim.fmu.variables import Variable

#: ``fail(function, status, t, terminated=False)``: raises the error for a failed FMI call.
Fail = Callable[..., None]


def step_calls(
    slave,
    component,
    *,
    fmi3: bool,
    inputs: tuple[Variable, ...],
    outputs: tuple[Variable, ...],
    no_set_prior: bool,
    fail: Fail,
    call: Callable,
) -> tuple[Callable, Callable, Callable]:
    """``(set_inputs, get_outputs, do_step)`` for an initialised instance of fmpy's ``slave``.

    ``call(fn, *args)`` is the adapter's checked call, for the typed (non-Real) path.
    """
    lib = slave.dll
    c = c_void_p(component)
    set_inputs = _setter(lib, c, fail, slave, call, inputs, fmi3)
    get_outputs = _getter(lib, c, fail, slave, call, outputs, fmi3)
    if fmi3:
        fmi3_do_step = lib["fmi3DoStep"]
        no_prior = c_bool(no_set_prior)
        terminate = c_bool()
        flags = byref(c_bool()), byref(terminate), byref(c_bool()), byref(c_double())
        event_ref, terminate_ref, early_ref, last_ref = flags

        def do_step(t: float, h: float) -> None:
            status = fmi3_do_step(
                c, c_double(t), c_double(h), no_prior, event_ref, terminate_ref, early_ref, last_ref
            )
            if status > 1 or terminate.value:
                fail("fmi3DoStep", status, t, terminated=terminate.value)
    else:
        fmi2_do_step = lib["fmi2DoStep"]
        no_prior = 1 if no_set_prior else 0

        def do_step(t: float, h: float) -> None:
            status = fmi2_do_step(c, c_double(t), c_double(h), no_prior)
            if status > 1:
                fail("fmi2DoStep", status, t)

    return set_inputs, get_outputs, do_step


def fmpy_type(v: Variable, fmi3: bool) -> str:
    """The type name in fmpy's ``set<Type>``/``get<Type>`` methods for ``v``."""
    if v.type == "Enumeration":
        return "Int64" if fmi3 else "Integer"
    return v.type


def _real_buffers(variables: tuple[Variable, ...], fmi3: bool):
    """``(value references, values, count)`` as ctypes objects, or None unless all are Float64/Real."""
    real = "Float64" if fmi3 else "Real"
    if not all(v.type == real for v in variables):
        return None
    n = len(variables)
    return (c_uint * n)(*(v.value_reference for v in variables)), (c_double * n)(), c_size_t(n)


def _setter(lib, c, fail, slave, call, inputs, fmi3):
    if not inputs:
        return lambda values: None
    buffers = _real_buffers(inputs, fmi3)
    if buffers is None:
        return _typed_setter(slave, call, inputs, fmi3)
    vr, buf, n = buffers
    if fmi3:
        fmi3_set = lib["fmi3SetFloat64"]

        def set_inputs(values: Sequence[float]) -> None:
            buf[:] = values
            status = fmi3_set(c, vr, n, buf, n)
            if status > 1:
                fail("fmi3SetFloat64", status, None)
    else:
        fmi2_set = lib["fmi2SetReal"]

        def set_inputs(values: Sequence[float]) -> None:
            buf[:] = values
            status = fmi2_set(c, vr, n, buf)
            if status > 1:
                fail("fmi2SetReal", status, None)

    return set_inputs


def _getter(lib, c, fail, slave, call, outputs, fmi3):
    if not outputs:
        return lambda: ()
    buffers = _real_buffers(outputs, fmi3)
    if buffers is None:
        return _typed_getter(slave, call, outputs, fmi3)
    vr, buf, n = buffers
    if fmi3:
        fmi3_get = lib["fmi3GetFloat64"]

        def get_outputs() -> list[float]:
            status = fmi3_get(c, vr, n, buf, n)
            if status > 1:
                fail("fmi3GetFloat64", status, None)
            return buf[:]
    else:
        fmi2_get = lib["fmi2GetReal"]

        def get_outputs() -> list[float]:
            status = fmi2_get(c, vr, n, buf)
            if status > 1:
                fail("fmi2GetReal", status, None)
            return buf[:]

    return get_outputs


def _groups(variables: tuple[Variable, ...], fmi3: bool) -> list[tuple[str, list[int], list[int]]]:
    """Variables grouped by fmpy type: ``(type, positions, value references)``."""
    groups: dict[str, tuple[list[int], list[int]]] = {}
    for i, v in enumerate(variables):
        positions, vrs = groups.setdefault(fmpy_type(v, fmi3), ([], []))
        positions.append(i)
        vrs.append(v.value_reference)
    return [(kind, positions, vrs) for kind, (positions, vrs) in groups.items()]


def _typed_setter(slave, call, inputs, fmi3):
    """Inputs of several types: one fmpy call per type."""
    plan = [
        (getattr(slave, "set" + kind), _caster(kind), positions, vrs)
        for kind, positions, vrs in _groups(inputs, fmi3)
    ]

    def set_inputs(values: Sequence[float]) -> None:
        for setter, cast, positions, vrs in plan:
            call(setter, vrs, [cast(values[i]) for i in positions])

    return set_inputs


def _typed_getter(slave, call, outputs, fmi3):
    n = len(outputs)
    plan = [(getattr(slave, "get" + kind), positions, vrs) for kind, positions, vrs in _groups(outputs, fmi3)]

    def get_outputs() -> list[float]:
        result = [0.0] * n
        for getter, positions, vrs in plan:
            for i, value in zip(positions, call(getter, vrs), strict=True):
                result[i] = float(value)
        return result

    return get_outputs


def _caster(kind: str):
    if kind == "Boolean":
        return lambda x: bool(x)
    if kind in ("Real", "Float64", "Float32"):
        return float
    return lambda x: int(round(x))
