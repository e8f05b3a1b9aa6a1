"""Math backends so each battery equation is written once and evaluated by numpy, CasADi or torch.

An equation in :mod:`battery_fmu.equations` takes an ``ops`` argument and calls only
``ops.exp``, ``ops.tanh``, ``ops.interp(table, x)`` and the few other functions below.
``SCALAR`` (the default) uses :mod:`math` and is what the FMU's step uses: Python floats
are much cheaper than 0-d numpy arrays, and the FMU then needs nothing beyond the standard
library. numpy, CasADi and torch are imported only when their backend is asked for
(``NUMPY``, :func:`casadi_ops`, :func:`torch_ops`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)
class Table1D:
    """A piecewise-linear table ``y(x)`` on an increasing grid, held constant beyond its ends.

    Parameters
    ----------
    name : str
        What the table is, for messages and CasADi function names.
    x, y : sequence of float
        Grid and values, in SI units.
    """

    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    # Backend-specific prepared forms (CasADi interpolant, torch tensors), built on first use.
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or len(self.x) < 2:
            raise ValueError(f"table {self.name!r}: needs at least 2 points and as many x as y values")
        if any(b <= a for a, b in zip(self.x, self.x[1:])):
            raise ValueError(f"table {self.name!r}: x must increase strictly")
        x0, x1, n = self.x[0], self.x[-1], len(self.x)
        step = (x1 - x0) / (n - 1)
        uniform = all(abs(xi - (x0 + i * step)) <= 1e-9 * max(1.0, abs(x1)) for i, xi in enumerate(self.x))
        # Slopes per interval, so a scalar look-up costs one multiply-add.
        slopes = tuple((self.y[i + 1] - self.y[i]) / (self.x[i + 1] - self.x[i]) for i in range(n - 1))
        object.__setattr__(self, "scalar", _scalar_lookup(self.x, self.y, slopes, uniform))
        object.__setattr__(self, "_slopes", slopes)
        object.__setattr__(self, "_uniform", uniform)

    def scalar_source(self, x: str, prefix: str, number) -> tuple[str, dict]:
        """``self.scalar(x)`` as one Python expression of the variable named ``x``, for generated code
        (:mod:`battery_fmu.trace`): the same operations, so the same result bit for bit, without a call.

        Returns the expression and the globals it needs (their names start with ``prefix``);
        ``number(v)`` writes a float as source.
        """
        xs, ys, slopes = self.x, self.y, self._slopes
        first, last = number(xs[0]), number(xs[-1])
        if self._uniform:
            inv_step = (len(xs) - 1) / (xs[-1] - xs[0])
            # One more interval, a copy of the last, where round-off puts an x just below the end.
            grid = {"x": xs[:-1] + xs[-2:-1], "y": ys[:-1] + ys[-2:-1], "s": slopes + slopes[-1:]}
            index = f"int(({x} - {first}) * {number(inv_step)})"
        else:
            grid = {"x": xs, "y": ys, "s": slopes}
            index = f"_bisect_right({prefix}x, {x}) - 1"
        i = f"{prefix}i"
        inside = f"{prefix}y[({i} := {index})] + {prefix}s[{i}] * ({x} - {prefix}x[{i}])"
        expression = (f"{number(ys[0])} if {x} <= {first} else "
                      f"({number(ys[-1])} if {x} >= {last} else {inside})")
        return expression, {prefix + k: v for k, v in grid.items()} | {"_bisect_right": bisect_right}

    def __call__(self, x):
        import numpy as np

        return np.interp(x, self.x, self.y)


def _scalar_lookup(xs: tuple, ys: tuple, slopes: tuple, uniform: bool):
    """A closure ``f(x) -> y`` for Python floats; constants bound as locals because it runs every step."""
    x_first, x_last, y_first, y_last = xs[0], xs[-1], ys[0], ys[-1]
    last = len(xs) - 2
    if uniform:
        inv_step = (len(xs) - 1) / (x_last - x_first)

        def lookup(x: float) -> float:
            if x <= x_first:
                return y_first
            if x >= x_last:
                return y_last
            i = int((x - x_first) * inv_step)
            if i > last:
                i = last
            return ys[i] + slopes[i] * (x - xs[i])
    else:

        def lookup(x: float) -> float:
            if x <= x_first:
                return y_first
            if x >= x_last:
                return y_last
            i = bisect_right(xs, x) - 1
            return ys[i] + slopes[i] * (x - xs[i])

    lookup.__doc__ = "Value at a Python float x (constant beyond the table's ends)."
    return lookup


class ScalarOps:
    """Python floats through :mod:`math` (the FMU's step)."""

    name = "scalar"
    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    sqrt = staticmethod(math.sqrt)
    tanh = staticmethod(math.tanh)
    fabs = staticmethod(abs)
    fmax = staticmethod(max)
    fmin = staticmethod(min)

    @staticmethod
    def power(x, p):
        return x**p

    @staticmethod
    def if_else(cond, a, b):
        return a if cond else b

    @staticmethod
    def interp(table: Table1D, x):
        return table.scalar(x)


class NumpyOps:
    """numpy arrays (vectorised evaluation, reference computations)."""

    name = "numpy"

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self.exp, self.log, self.sqrt, self.tanh = np.exp, np.log, np.sqrt, np.tanh
        self.fabs, self.fmax, self.fmin, self.power = np.abs, np.maximum, np.minimum, np.power

    def if_else(self, cond, a, b):
        return self._np.where(cond, a, b)

    def interp(self, table: Table1D, x):
        return self._np.interp(x, table.x, table.y)


class CasadiOps:
    """CasADi symbols (the MPC's prediction model)."""

    name = "casadi"

    def __init__(self) -> None:
        import casadi

        self._ca = casadi
        self.exp, self.log, self.sqrt, self.tanh = casadi.exp, casadi.log, casadi.sqrt, casadi.tanh
        self.fabs, self.fmax, self.fmin = casadi.fabs, casadi.fmax, casadi.fmin
        self.power = casadi.power

    def if_else(self, cond, a, b):
        return self._ca.if_else(cond, a, b)

    #: Tables with at most this many points are written into the expression as a sum of ramps.
    INLINE_POINTS = 16

    def interp(self, table: Table1D, x):
        # Clamp beyond the ends like the other backends (CasADi's linear interpolant extrapolates).
        xc = self.fmin(self.fmax(x, table.x[0]), table.x[-1])
        if len(table.x) <= self.INLINE_POINTS:
            # The same piecewise-linear function as y0 + s0 (x - x0) + sum((s_i - s_i-1) max(x - x_i, 0)):
            # plain SX operations, which the derivatives of an optimisation problem evaluate several
            # times faster than calls to an interpolant function.
            xs, ys = table.x, table.y
            slopes = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)]
            y = ys[0] + slopes[0] * (xc - xs[0])
            for i in range(1, len(slopes)):
                y = y + (slopes[i] - slopes[i - 1]) * self.fmax(xc - xs[i], 0.0)
            return y
        fn = table._cache.get("casadi")
        if fn is None:
            fn = self._ca.interpolant(table.name.replace(" ", "_"), "linear", [list(table.x)], list(table.y))
            table._cache["casadi"] = fn
        return fn(xc)


class TorchOps:
    """torch tensors (the physics-informed network's residual), differentiable."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self._torch = torch

    # Plain floats (parameters, step lengths) mix with tensors in the equations: wrap them.
    def exp(self, x):
        return self._torch.exp(self._as_tensor(x))

    def log(self, x):
        return self._torch.log(self._as_tensor(x))

    def sqrt(self, x):
        return self._torch.sqrt(self._as_tensor(x))

    def tanh(self, x):
        return self._torch.tanh(self._as_tensor(x))

    def fabs(self, x):
        return self._torch.abs(self._as_tensor(x))

    def power(self, x, p):
        return self._torch.pow(self._as_tensor(x), p)

    def fmax(self, a, b):
        return self._torch.maximum(self._as_tensor(a), self._as_tensor(b))

    def fmin(self, a, b):
        return self._torch.minimum(self._as_tensor(a), self._as_tensor(b))

    def _as_tensor(self, v):
        return v if isinstance(v, self._torch.Tensor) else self._torch.tensor(v, dtype=self._torch.float64)

    def if_else(self, cond, a, b):
        return self._torch.where(cond, self._as_tensor(a), self._as_tensor(b))

    def interp(self, table: Table1D, x):
        torch = self._torch
        cached = table._cache.get("torch")
        if cached is None:
            cached = (torch.tensor(table.x, dtype=torch.float64), torch.tensor(table.y, dtype=torch.float64))
            table._cache["torch"] = cached
        xs, ys = cached
        xs, ys = xs.to(x.dtype), ys.to(x.dtype)
        xc = torch.clamp(x, float(xs[0]), float(xs[-1]))
        i = torch.clamp(torch.searchsorted(xs, xc, right=True) - 1, 0, len(xs) - 2)
        x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
        return y0 + (y1 - y0) * (xc - x0) / (x1 - x0)


SCALAR = ScalarOps()
_lazy: dict[str, object] = {}


def numpy_ops() -> NumpyOps:
    """The numpy backend (imports numpy on first use); also available as ``ops.NUMPY``."""
    if "numpy" not in _lazy:
        _lazy["numpy"] = NumpyOps()
    return _lazy["numpy"]


def __getattr__(name: str):
    # ``from battery_fmu.ops import NUMPY`` without importing numpy when the module loads.
    if name == "NUMPY":
        return numpy_ops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def casadi_ops() -> CasadiOps:
    """The CasADi backend (imports casadi on first use)."""
    if "casadi" not in _lazy:
        _lazy["casadi"] = CasadiOps()
    return _lazy["casadi"]


def torch_ops() -> TorchOps:
    """The torch backend (imports torch on first use)."""
    if "torch" not in _lazy:
        _lazy["torch"] = TorchOps()
    return _lazy["torch"]
