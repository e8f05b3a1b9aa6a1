"""Equations compiled to straight-line Python by recording one evaluation with symbolic inputs.

The equations of :mod:`battery_fmu.equations` take a math backend ``ops``; :class:`TraceOps` is one
that records: every operation on a :class:`Sym` becomes a line of Python, while what depends on
numbers alone (the parameters) is computed on the way. :func:`compile_traced` turns the record of a
function into a Python function whose only calls are table look-ups and :mod:`math` functions, free
of the calls and tuples of the nested original. It runs the same operations on the same numbers in
the same order as the scalar backend (:class:`battery_fmu.ops.ScalarOps`), so its results are
identical bit for bit. Hot loops use it (the twin's step, the aging rates); the equations stay
written once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

_make = tuple.__new__
#: Compiled code by its source text: packs of the same cell design (a fleet) share it.
_CODE: dict[str, object] = {}
#: Bound of :data:`_CODE`: more distinct designs than this in one process compile again.
_CODE_CACHE_SIZE = 64


class Sym:
    """A traced value: a local variable of the generated function."""

    __slots__ = ("trace", "name")

    def __init__(self, trace: Trace, name: str):
        self.trace, self.name = trace, name

    def __bool__(self):
        raise TypeError("a traced value has no truth value: the step must branch through ops.if_else")

    def __eq__(self, other):
        raise TypeError("traced values are compared with <, >, <= or >= only")

    __hash__ = object.__hash__

    def __neg__(self):
        return self.trace.emit(f"-{self.name}")


def _operator(symbol: str, reflected: bool):
    """A :class:`Sym` method for the binary operator ``symbol`` (``reflected``: the Sym is on the right)."""

    def method(self: Sym, other):
        a, b = (other, self) if reflected else (self, other)
        return self.trace.emit(f"{self.trace.ref(a)} {symbol} {self.trace.ref(b)}")

    return method


for _name, _symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("pow", "**")):
    setattr(Sym, f"__{_name}__", _operator(_symbol, False))
    setattr(Sym, f"__r{_name}__", _operator(_symbol, True))
for _name, _symbol in (("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")):
    setattr(Sym, f"__{_name}__", _operator(_symbol, False))


class Trace:
    """The lines of a function being recorded and the names its code refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, object] = {"_make": _make, "_exp": math.exp, "_log": math.log,
                                             "_sqrt": math.sqrt, "_tanh": math.tanh}
        self._names: dict[int, str] = {}
        self._values: dict[str, Sym] = {}

    def emit(self, expression: str) -> Sym:
        """The value of ``expression``: a new local, or the one already holding it (every operation is
        pure, so an expression met again is the same number)."""
        known = self._values.get(expression)
        if known is not None:
            return known
        name = f"t{len(self.lines)}"
        self.lines.append(f"    {name} = {expression}")
        known = self._values[expression] = Sym(self, name)
        return known

    def ref(self, value) -> str:
        """Source text of ``value``: a traced value's name, a number's exact literal, an object's global."""
        if isinstance(value, Sym):
            return value.name
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, int | float) and math.isfinite(value):
            text = repr(float(value)) if isinstance(value, float) else repr(int(value))
            return f"({text})" if text.startswith("-") else text
        return self.global_name(value)

    def global_name(self, obj) -> str:
        """The generated code's name for ``obj`` (a table's look-up, a result class, a non-finite number)."""
        name = self._names.get(id(obj))
        if name is None:
            name = self._names[id(obj)] = f"_g{len(self._names)}"
            self.namespace[name] = obj
        return name


class TraceOps:
    """The math backend that records: numbers in, numbers out (folded now); a :class:`Sym` in, a line
    of code out. Each function does what :class:`battery_fmu.ops.ScalarOps` does, so the generated code
    matches the scalar step exactly (``max(a, b)`` keeps ``a`` unless ``b > a``, as the builtin does)."""

    name = "trace"

    def __init__(self, trace: Trace):
        self.t = trace

    def _call(self, fn: str, scalar: Callable, x):
        return self.t.emit(f"{fn}({x.name})") if isinstance(x, Sym) else scalar(x)

    def exp(self, x):
        return self._call("_exp", math.exp, x)

    def log(self, x):
        return self._call("_log", math.log, x)

    def sqrt(self, x):
        return self._call("_sqrt", math.sqrt, x)

    def tanh(self, x):
        return self._call("_tanh", math.tanh, x)

    def fabs(self, x):
        return self._call("abs", abs, x)

    def power(self, x, p):
        return x**p

    def _choose(self, cond, a, b):
        if not isinstance(cond, Sym):
            return a if cond else b
        r = self.t.ref
        return self.t.emit(f"{r(a)} if {r(cond)} else {r(b)}")

    def fmax(self, a, b):
        return self._choose(b > a, b, a)

    def fmin(self, a, b):
        return self._choose(b < a, b, a)

    def if_else(self, cond, a, b):
        return self._choose(cond, a, b)

    def interp(self, table, x):
        if not isinstance(x, Sym):
            return table.scalar(x)
        prefix = self.t.global_name(table) + "_"
        expression, names = table.scalar_source(x.name, prefix, self.t.ref)
        self.t.namespace.update(names)
        return self.t.emit(expression)


def _render(trace: Trace, value) -> str:
    """Source text that rebuilds ``value`` (tuples and named tuples of traced values and numbers)."""
    if isinstance(value, tuple):
        items = ", ".join(_render(trace, v) for v in value)
        if hasattr(value, "_fields"):
            return f"_make({trace.global_name(type(value))}, ({items},))"
        return f"({items},)"
    return trace.ref(value)


def _argument(trace: Trace, name: str, cls, nested: dict[str, int]) -> tuple[object, list[str], dict]:
    """One argument: (its symbolic value, the lines unpacking it, {nested field's local: its parts}).

    A number, or a named tuple of class ``cls`` unpacked into locals; a field named in ``nested`` is
    itself a tuple of that many numbers."""
    if cls is None:
        return Sym(trace, name), [], {}
    items, names, inner = [], [], {}
    for field in cls._fields:
        local = f"{name}_{field}"
        names.append(local)
        if field in nested:
            inner[local] = [f"{local}_{i}" for i in range(nested[field])]
            items.append(tuple(Sym(trace, n) for n in inner[local]))
        else:
            items.append(Sym(trace, local))
    return _make(cls, items), [f"    {', '.join(names)}, = {name}"], inner


def compile_traced(name: str, body: Callable, arguments: Sequence) -> Callable:
    """``body(ops, *args)`` as a generated Python function of ``arguments``.

    ``arguments``: for each, its name, or ``(name, cls)`` for a named tuple of class ``cls``, or
    ``(name, cls, {field: n})`` where a field is itself a tuple of ``n`` numbers. ``body`` may
    return numbers, traced values and (named) tuples of them; it must branch through ``ops.if_else``.
    """
    trace = Trace()
    names, values, unpack, inner = [], [], [], {}
    for argument in arguments:
        arg_name, cls, nested = (argument, None, {}) if isinstance(argument, str) else (*argument, {})[:3]
        value, lines, parts = _argument(trace, arg_name, cls, nested)
        names.append(arg_name)
        values.append(value)
        unpack += lines
        inner.update(parts)
    result = body(TraceOps(trace), *values)
    lines = trace.lines + [f"    return {_render(trace, result)}"]
    # A nested tuple is unpacked only where the body reads it (not the thermal transition for the look-ups).
    used = set(re.findall(r"\w+", "\n".join(lines)))
    unpack += [f"    {', '.join(parts)}, = {local}" for local, parts in inner.items()
               if used.intersection(parts)]
    source = "\n".join([f"def {name}({', '.join(names)}):"] + unpack + lines) + "\n"
    code = _CODE.get(source)
    if code is None:
        if len(_CODE) >= _CODE_CACHE_SIZE:
            _CODE.clear()
        code = _CODE[source] = compile(source, f"<compiled: {name}>", "exec")
    namespace = dict(trace.namespace)
    exec(code, namespace)
    fn = namespace[name]
    fn.__source__ = source  # with fn.__globals__ (its tables), what a translation to C reads
    return fn
