"""The step loop's FMI calls: set inputs, doStep, get outputs, as closures over the C functions.

Fresh function objects without declared argument types, called with ready-made ctypes arguments:
ctypes then skips its per-argument conversion, which costs more than the C call itself
(``benchmarks/bench_fmu_adapter.py``). Inputs or outputs that are not all Real/Float64 go through
fmpy's typed calls instead, one call per type (slower; the common case is all Real).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from ctypes import byref, c_bool, c_double, c_int, c_size_t, c_uint, c_void_p
from ctypes import cast as pointer_cast

from cosim.errors import SimulationError
from cosim.fmu.variables import Variable

#: ``fail(function, status, t, terminated=False)``: raises the error for a failed FMI call.
Fail = Callable[..., None]

#: ``end(function, t, t_last)``: raises :class:`~cosim.errors.UnitEnded` for an FMU that ended the
#: simulation after the step from ``t`` reached ``t_last``.
End = Callable[[str, float, float], None]

# fmi2StatusKind values (fmi2TypesPlatform.h / fmi2FunctionTypes.h)
_FMI2_LAST_SUCCESSFUL_TIME, _FMI2_TERMINATED = 2, 3
_FMI2_DISCARD = 2

#: The value range of each FMI integer type; values outside it would wrap around in C.
INTEGER_RANGE = {
    "Int8": (-(2**7), 2**7 - 1),
    "UInt8": (0, 2**8 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "UInt16": (0, 2**16 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "Integer": (-(2**31), 2**31 - 1),
    "Enumeration": (-(2**31), 2**31 - 1),
    "UInt32": (0, 2**32 - 1),
    "Int64": (-(2**63), 2**63 - 1),
    "UInt64": (0, 2**64 - 1),
}


def integer_range(v: Variable, fmi3: bool = True) -> tuple[int, int] | None:
    """The values ``v`` can take: its FMI type's range within its declared min/max; None if not integer."""
    kind = v.type
    if kind == "Enumeration" and fmi3:
        kind = "Int64"
    if kind not in INTEGER_RANGE:
        return None
    lo, hi = INTEGER_RANGE[kind]
    if v.min is not None:
        lo = max(lo, int(v.min))
    if v.max is not None:
        hi = min(hi, int(v.max))
    return lo, hi


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
    end: End,
    name: str = "",
) -> tuple[Callable, Callable, Callable]:
    """``(set_inputs, get_outputs, do_step)`` for an initialised instance of fmpy's ``slave``.

    ``call(fn, *args)`` is the adapter's checked call, for the typed (non-Real) path. A step after
    which the FMU asks to end the simulation (FMI 2.0: ``fmi2Discard`` with ``fmi2Terminated``;
    FMI 3.0: ``terminateSimulation``) calls ``end`` with the last time it reached.
    """
    lib = slave.dll
    c = c_void_p(component)
    set_inputs = _setter(lib, c, fail, slave, call, inputs, fmi3, name)
    get_outputs = _getter(lib, c, fail, slave, call, outputs, fmi3)
    if fmi3:
        fmi3_do_step = lib["fmi3DoStep"]
        no_prior = c_bool(no_set_prior)
        terminate, early, last = c_bool(), c_bool(), c_double()
        event_ref, terminate_ref = byref(c_bool()), byref(terminate)
        early_ref, last_ref = byref(early), byref(last)

        def do_step(t: float, h: float) -> None:
            status = fmi3_do_step(
                c, c_double(t), c_double(h), no_prior, event_ref, terminate_ref, early_ref, last_ref
            )
            if status > 1:
                fail("fmi3DoStep", status, t)
            if terminate.value:
                end("fmi3DoStep", t, last.value if early.value else t + h)
    else:
        fmi2_do_step = lib["fmi2DoStep"]
        no_prior = 1 if no_set_prior else 0

        def do_step(t: float, h: float) -> None:
            status = fmi2_do_step(c, c_double(t), c_double(h), no_prior)
            if status > 1:
                if status == _FMI2_DISCARD and _fmi2_terminated(lib, c):
                    end("fmi2DoStep", t, _fmi2_last_time(lib, c, t + h))
                fail("fmi2DoStep", status, t)

    return set_inputs, get_outputs, do_step


def step_failed(lib, component, status: int, t: float, fail: Fail, end: End) -> None:
    """Report an ``fmi2DoStep`` from ``t`` [s] that returned ``status`` > warning, as ``do_step`` does."""
    c = c_void_p(component)
    if status == _FMI2_DISCARD and _fmi2_terminated(lib, c):
        end("fmi2DoStep", t, _fmi2_last_time(lib, c, t))
    fail("fmi2DoStep", status, t)


def address_of(lib, name: str) -> int:
    """The address of the C function ``name`` of the loaded library ``lib``."""
    return pointer_cast(lib[name], c_void_p).value


def _fmi2_terminated(lib, c) -> bool:
    flag = c_int()
    return lib["fmi2GetBooleanStatus"](c, _FMI2_TERMINATED, byref(flag)) <= 1 and bool(flag.value)


def _fmi2_last_time(lib, c, fallback: float) -> float:
    value = c_double()
    if lib["fmi2GetRealStatus"](c, _FMI2_LAST_SUCCESSFUL_TIME, byref(value)) <= 1:
        return value.value
    return fallback


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


def _setter(lib, c, fail, slave, call, inputs, fmi3, name=""):
    if not inputs:
        return lambda values: None
    buffers = _real_buffers(inputs, fmi3)
    if buffers is None:
        return _typed_setter(slave, call, inputs, fmi3, name)
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


def integer_guard(inputs: Sequence[Variable], fmi3: bool, name: str = ""):
    """A check of input values against the range of each integer input (a value outside would wrap)."""
    ranges = [(i, v, r) for i, v in enumerate(inputs) if (r := integer_range(v, fmi3)) is not None]

    def check(values: Sequence[float]) -> None:
        for i, v, (lo, hi) in ranges:
            x = values[i]
            if not lo <= x <= hi or x != x:
                raise SimulationError(
                    f"input {v.name!r} ({v.type}) cannot take {x!r}: it takes whole numbers in "
                    f"[{lo}, {hi}]; the value would wrap around",
                    name or None,
                )

    return check


def wire_codes(variables: Sequence[Variable], fmi3: bool) -> str:
    """:mod:`struct` codes that carry each variable's values exactly: ``q``/``Q`` for integers (an Int64
    above 2**53 keeps every digit), ``d`` for the rest (Float32 and Boolean values fit a float64)."""
    codes = []
    for v in variables:
        r = integer_range(v, fmi3)
        codes.append("d" if r is None else "Q" if r[1] > 2**63 - 1 else "q")
    return "".join(codes)


def to_wire(variables: Sequence[Variable], fmi3: bool):
    """Values as :func:`wire_codes` packs them: integers cast as the FMU's setter casts them."""
    integers = [i for i, v in enumerate(variables) if integer_range(v, fmi3) is not None]
    to_int = _caster("Integer")

    def convert(values: Sequence[float]) -> list:
        values = list(values)
        for i in integers:
            values[i] = to_int(values[i])
        return values

    return convert


def _typed_setter(slave, call, inputs, fmi3, name=""):
    """Inputs of several types: one fmpy call per type; integers checked against their type's range."""
    plan = [
        (getattr(slave, "set" + kind), _caster(kind), positions, vrs)
        for kind, positions, vrs in _groups(inputs, fmi3)
    ]
    check = integer_guard(inputs, fmi3, name)

    def set_inputs(values: Sequence[float]) -> None:
        check(values)
        for setter, caster, positions, vrs in plan:
            call(setter, vrs, [caster(values[i]) for i in positions])

    return set_inputs


def _typed_getter(slave, call, outputs, fmi3):
    """Outputs of several types. Integers stay Python ints (an Int64 above 2**53 keeps every digit)."""
    n = len(outputs)
    plan = [
        (getattr(slave, "get" + kind), positions, vrs, kind in INTEGER_RANGE or kind == "Int64")
        for kind, positions, vrs in _groups(outputs, fmi3)
    ]

    def get_outputs() -> list[float]:
        result: list = [0.0] * n
        for getter, positions, vrs, integer in plan:
            for i, value in zip(positions, call(getter, vrs), strict=True):
                result[i] = int(value) if integer else float(value)
        return result

    return get_outputs


def _caster(kind: str):
    if kind == "Boolean":
        return lambda x: bool(x)
    if kind in ("Real", "Float64", "Float32"):
        return float
    return lambda x: x if type(x) is int else int(round(x))
