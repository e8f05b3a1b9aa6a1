"""The one unit registry: every port, parameter and result dataset names its unit here.

A unit is a set of exponents of the SI base units plus a linear map to the SI value
(``si = factor * value + offset``), as in FMI's ``BaseUnit``. Conversion between two
units is possible exactly when their exponents agree.

Symbols combine with ``.`` (product), ``/`` (quotient), ``^`` or a trailing integer
(power) and parentheses: ``J/(kg.K)``, ``m/s2``, ``W/m^2``. ``1`` is dimensionless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: Order of the exponents, as in FMI 2.0 ``BaseUnit``.
BASE_NAMES = ("kg", "m", "s", "A", "K", "mol", "cd", "rad")


class UnitError(ValueError):
    """A unit symbol that is unknown, or two units that cannot be converted."""


class UnknownUnit(UnitError):
    """A unit name this registry does not know; the message suggests close names."""

    def __init__(self, name: str, symbol: str, like: str | None = None):
        self.name, self.symbol = name, symbol
        super().__init__(unknown_unit(name, symbol, like))


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit: exponents of the SI base units, and the affine map ``si = factor*x + offset``."""

    exponents: tuple[int, ...]
    factor: float = 1.0
    offset: float = 0.0

    def __mul__(self, other: Unit) -> Unit:
        return Unit(tuple(a + b for a, b in zip(self.exponents, other.exponents)), self.factor * other.factor)

    def __truediv__(self, other: Unit) -> Unit:
        return Unit(tuple(a - b for a, b in zip(self.exponents, other.exponents)), self.factor / other.factor)

    def __pow__(self, n: int) -> Unit:
        return Unit(tuple(a * n for a in self.exponents), self.factor**n)

    @property
    def dimension(self) -> str:
        """Readable dimension, e.g. ``kg.m2.s-3`` for a power."""
        parts = [f"{n}{e if e != 1 else ''}" for n, e in zip(BASE_NAMES, self.exponents) if e]
        return ".".join(parts) or "1"


def _u(kg=0, m=0, s=0, A=0, K=0, mol=0, cd=0, rad=0, factor=1.0, offset=0.0) -> Unit:
    return Unit((kg, m, s, A, K, mol, cd, rad), factor, offset)


_ONE = _u()
_W = _u(kg=1, m=2, s=-3)
_J = _u(kg=1, m=2, s=-2)
_V = _u(kg=1, m=2, s=-3, A=-1)

_ATOMS: dict[str, Unit] = {
    "1": _ONE,
    "%": _u(factor=0.01),
    "kg": _u(kg=1),
    "g": _u(kg=1, factor=1e-3),
    "t": _u(kg=1, factor=1e3),
    "m": _u(m=1),
    "cm": _u(m=1, factor=1e-2),
    "mm": _u(m=1, factor=1e-3),
    "km": _u(m=1, factor=1e3),
    "mi": _u(m=1, factor=1609.344),
    "L": _u(m=3, factor=1e-3),
    "s": _u(s=1),
    "ms": _u(s=1, factor=1e-3),
    "us": _u(s=1, factor=1e-6),
    "min": _u(s=1, factor=60.0),
    "h": _u(s=1, factor=3600.0),
    "d": _u(s=1, factor=86400.0),
    "yr": _u(s=1, factor=365.0 * 86400.0),
    "Hz": _u(s=-1),
    "A": _u(A=1),
    "mA": _u(A=1, factor=1e-3),
    "C": _u(s=1, A=1),
    "Ah": _u(s=1, A=1, factor=3600.0),
    "mAh": _u(s=1, A=1, factor=3.6),
    "V": _V,
    "mV": _u(kg=1, m=2, s=-3, A=-1, factor=1e-3),
    "kV": _u(kg=1, m=2, s=-3, A=-1, factor=1e3),
    "Ohm": _u(kg=1, m=2, s=-3, A=-2),
    "mOhm": _u(kg=1, m=2, s=-3, A=-2, factor=1e-3),
    "S": _u(kg=-1, m=-2, s=3, A=2),
    "F": _u(kg=-1, m=-2, s=4, A=2),
    "W": _W,
    "mW": _u(kg=1, m=2, s=-3, factor=1e-3),
    "kW": _u(kg=1, m=2, s=-3, factor=1e3),
    "MW": _u(kg=1, m=2, s=-3, factor=1e6),
    "hp": _u(kg=1, m=2, s=-3, factor=745.69987158227022),
    "J": _J,
    "kJ": _u(kg=1, m=2, s=-2, factor=1e3),
    "MJ": _u(kg=1, m=2, s=-2, factor=1e6),
    "Wh": _u(kg=1, m=2, s=-2, factor=3600.0),
    "kWh": _u(kg=1, m=2, s=-2, factor=3.6e6),
    "N": _u(kg=1, m=1, s=-2),
    "kN": _u(kg=1, m=1, s=-2, factor=1e3),
    "lbf": _u(kg=1, m=1, s=-2, factor=4.4482216152605),
    "Pa": _u(kg=1, m=-1, s=-2),
    "kPa": _u(kg=1, m=-1, s=-2, factor=1e3),
    "bar": _u(kg=1, m=-1, s=-2, factor=1e5),
    "K": _u(K=1),
    "degC": _u(K=1, offset=273.15),
    "degF": _u(K=1, factor=5.0 / 9.0, offset=273.15 - 32.0 * 5.0 / 9.0),
    "mol": _u(mol=1),
    "cd": _u(cd=1),
    "rad": _u(rad=1),
    "deg": _u(rad=1, factor=3.141592653589793 / 180.0),
    "rpm": _u(rad=1, s=-1, factor=2.0 * 3.141592653589793 / 60.0),
    "kph": _u(m=1, s=-1, factor=1.0 / 3.6),
    "mph": _u(m=1, s=-1, factor=0.44704),
    # Seen in thermal-hydraulic exports (AMESIM, Simulink, Modelica): litres, small pressures, revolutions.
    "l": _u(m=3, factor=1e-3),
    "ml": _u(m=3, factor=1e-6),
    "mL": _u(m=3, factor=1e-6),
    "mbar": _u(kg=1, m=-1, s=-2, factor=1e2),
    "MPa": _u(kg=1, m=-1, s=-2, factor=1e6),
    "rev": _u(rad=1, factor=2.0 * 3.141592653589793),
}

# Spellings people write in scenario files and FMUs from other tools.
_ALIASES = {
    "": "1",
    "-": "1",
    "A.h": "Ah",
    "A·h": "Ah",
    "W.h": "Wh",
    "kW.h": "kWh",
    "°C": "degC",
    "degreeC": "degC",
    "Celsius": "degC",
    "ohm": "Ohm",
    "Ω": "Ohm",
    "mΩ": "mOhm",
    "km/h": "kph",
    "1/min": "rpm",
    "sec": "s",
    "hour": "h",
    "day": "d",
    "Nm": "N.m",
    "degK": "K",
    "deg_C": "degC",
    "lpm": "l/min",
}

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z%°Ω][A-Za-z°Ω]*)(?:\^?(?P<exp>-?\d+))?|(?P<num>1)|(?P<op>[./*()]))")


def _tokens(symbol: str):
    pos = 0
    while pos < len(symbol):
        m = _TOKEN.match(symbol, pos)
        if not m or m.end() == pos:
            raise UnitError(f"cannot read unit {symbol!r} at {symbol[pos:]!r}")
        pos = m.end()
        if m.group("name"):
            yield ("atom", m.group("name"), int(m.group("exp") or 1))
        elif m.group("num"):
            yield ("atom", "1", 1)
        else:
            yield ("op", m.group("op"), 0)


def _parse(symbol: str) -> Unit:
    tokens = list(_tokens(symbol))
    pos = 0

    def factor() -> Unit:
        nonlocal pos
        kind, value, exp = tokens[pos]
        pos += 1
        if kind == "atom":
            if value not in _ATOMS:
                raise UnknownUnit(value, symbol)
            base = _ATOMS[value]
            if base.offset and (exp != 1 or len(tokens) > 1):
                raise UnitError(f"{value!r} has an offset and cannot be combined in {symbol!r}")
            return base**exp if exp != 1 else base
        if value == "(":
            inner = product()
            if pos >= len(tokens) or tokens[pos][1] != ")":
                raise UnitError(f"unbalanced parenthesis in unit {symbol!r}")
            pos += 1
            return inner
        raise UnitError(f"unexpected {value!r} in unit {symbol!r}")

    def product() -> Unit:
        nonlocal pos
        result = factor()
        while pos < len(tokens) and tokens[pos][1] in "./*":
            op = tokens[pos][1]
            pos += 1
            rhs = factor()
            result = result / rhs if op == "/" else result * rhs
        return result

    unit = product()
    if pos != len(tokens):
        raise UnitError(f"unexpected {tokens[pos][1]!r} in unit {symbol!r}")
    return unit


@lru_cache(maxsize=None)
def parse(symbol: str) -> Unit:
    """The :class:`Unit` for a symbol such as ``kW``, ``degC`` or ``J/(kg.K)``.

    Raises :class:`UnitError` naming the symbol when it cannot be read.
    """
    key = _ALIASES.get(symbol.strip(), symbol.strip())
    if key in _ATOMS:
        return _ATOMS[key]
    return _parse(key)


def is_known(symbol: str) -> bool:
    """Whether ``symbol`` names a unit this registry can convert."""
    try:
        parse(symbol)
    except UnitError:
        return False
    return True


def conversion(source: str, target: str) -> tuple[float, float]:
    """``(gain, offset)`` such that ``value_in_target = gain * value_in_source + offset``.

    Raises :class:`UnitError` when the two units measure different quantities.
    """
    a, b = parse(source), parse(target)
    if a.exponents != b.exponents:
        raise UnitError(
            f"cannot convert {source!r} ({a.dimension}) to {target!r} ({b.dimension}): different quantities"
        )
    gain = a.factor / b.factor
    offset = (a.offset - b.offset) / b.factor
    return gain, offset


def to_si(value: float, symbol: str) -> float:
    """``value`` given in ``symbol`` expressed in the coherent SI unit."""
    u = parse(symbol)
    return u.factor * value + u.offset


def from_si(value: float, symbol: str) -> float:
    """An SI ``value`` expressed in ``symbol``."""
    u = parse(symbol)
    return (value - u.offset) / u.factor


def units_like(symbol: str) -> list[str]:
    """The unit names measuring the same quantity as ``symbol`` (``"s"``: s, ms, us, min, h, d, yr)."""
    try:
        kind = parse(symbol).exponents
    except UnitError:
        return []
    return [name for name, u in _ATOMS.items() if u.exponents == kind and name not in ("l", "ml", "mL")]


def unknown_unit(name: str, symbol: str | None = None, like: str | None = None) -> str:
    """A sentence for an unknown unit ``name`` (in ``symbol``), suggesting names, of ``like``'s kind first."""
    import difflib

    same = units_like(like) if like is not None else []
    close = difflib.get_close_matches(name, same, n=2, cutoff=0.5) or difflib.get_close_matches(
        name, [*_ATOMS, *_ALIASES], n=2, cutoff=0.6
    )
    text = f"unknown unit {name!r}" + (f" in {symbol!r}" if symbol and symbol.strip() != name else "")
    if close:
        text += f"; did you mean {' or '.join(repr(c) for c in close)}?"
    if same:
        text += f" (units of this kind: {', '.join(same)})"
    else:
        text += " (units are SI symbols such as W, kW, Wh, V, A, Ah, K, degC, s, min, h, d, m, km)"
    return text
