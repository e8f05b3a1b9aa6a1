"""The variables an FMU declares, as evtwin sees them: types and causalities mapped onto ports, units
of measure, start values and bounds, and the checks of a value set on a variable by name.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cosim import si
from cosim.unit import INPUT, OUTPUT, PARAMETER, Port

#: FMI causalities that become ports, and the port causality each maps to.
_PORT_CAUSALITY = {"input": INPUT, "output": OUTPUT, "parameter": PARAMETER}


#: FMI variable types, FMI 2.0 and 3.0, and the port type each maps to. Values cross the unit
#: protocol as floats, so every numeric type is either Real or Integer there.
_PORT_TYPE = {
    "Real": "Real",
    "Float64": "Real",
    "Float32": "Real",
    "Integer": "Integer",
    "Enumeration": "Integer",
    "Int8": "Integer",
    "UInt8": "Integer",
    "Int16": "Integer",
    "UInt16": "Integer",
    "Int32": "Integer",
    "UInt32": "Integer",
    "Int64": "Integer",
    "UInt64": "Integer",
    "Boolean": "Boolean",
    "String": "String",
}


@dataclass(frozen=True, slots=True)
class Variable:
    """One model variable as the FMU declares it, ports and non-ports alike.

    Attributes
    ----------
    name, description : str
        As in the model description.
    causality : str
        The FMI causality: ``input``, ``output``, ``parameter``, ``calculatedParameter``,
        ``local``, ``independent`` or ``structuralParameter``.
    variability : str
        ``constant``, ``fixed``, ``tunable``, ``discrete`` or ``continuous``.
    type : str
        The FMI type name (``Real``, ``Float64``, ``Int32``, ``Boolean``, ...).
    unit : str
        Unit symbol from the variable or its declared type; ``"1"`` when it has none.
    start : float, int, bool, str or None
        Declared start value, in ``unit``; None when the FMU declares none.
    min, max : float or None
        Declared bounds, in ``unit``.
    value_reference : int
        The FMI value reference.
    scalar : bool
        False for FMI 3.0 arrays, which are not ports.
    has_unit : bool
        Whether the FMU declares a unit for it (on the variable or its type); ``unit`` is ``"1"``
        when it does not.
    """

    name: str
    causality: str
    variability: str
    type: str
    unit: str
    start: Any
    min: float | None
    max: float | None
    description: str
    value_reference: int
    scalar: bool = True
    has_unit: bool = True

    @property
    def port_type(self) -> str | None:
        """``Real``, ``Integer``, ``Boolean`` or ``String`` as the unit protocol names it; None for others."""
        return _PORT_TYPE.get(self.type)

    @property
    def is_port(self) -> bool:
        """Inputs, outputs and parameters that evtwin can set, connect or record.

        String parameters are ports (they can be set before the run); String inputs and outputs,
        Binary variables and arrays are not (see :meth:`unsupported`).
        """
        if self.causality not in _PORT_CAUSALITY or not self.scalar or self.port_type is None:
            return False
        return self.port_type != "String" or self.causality == "parameter"

    def unsupported(self) -> str | None:
        """Why this input, output or parameter is not a port, in words; None for ports and others."""
        if self.causality not in _PORT_CAUSALITY or self.is_port:
            return None
        if not self.scalar:
            what = f"an array of {self.type}"
        elif self.type == "String":
            what = f"a String {self.causality}"
        else:
            what = f"{self.type} ({self.causality})"
        return (
            f"{what}; evtwin connects and records scalar numeric and Boolean variables only"
            + (" (a String can be set as a parameter)" if self.type == "String" else "")
        )


@dataclass(frozen=True, slots=True)
class DeclaredUnit:
    """A unit from the FMU's ``UnitDefinitions``: ``si = factor * value + offset`` in SI base units."""

    name: str
    exponents: tuple[int, ...] | None  # kg, m, s, A, K, mol, cd, rad; None without a BaseUnit
    factor: float = 1.0
    offset: float = 0.0

    def registry_mismatch(self) -> str | None:
        """How evtwin's unit registry disagrees with this declaration; None when it agrees.

        Returns
        -------
        str or None
            ``"unknown to evtwin"`` for a symbol the registry cannot read; a description of the
            difference when the registry reads the symbol as another quantity or scale.
        """
        try:
            ours = si.parse(self.name)
        except si.UnitError:
            return "unknown to evtwin"
        if self.exponents is None:
            return None
        if tuple(ours.exponents) != self.exponents:
            return f"FMU declares dimension {_dimension(self.exponents)}, evtwin reads {ours.dimension}"
        if not (
            math.isclose(ours.factor, self.factor, rel_tol=1e-9)
            and math.isclose(ours.offset, self.offset, rel_tol=1e-9, abs_tol=1e-9)
        ):
            return (
                f"FMU declares factor {self.factor:g} offset {self.offset:g}, "
                f"evtwin reads factor {ours.factor:g} offset {ours.offset:g}"
            )
        return None

    @property
    def si_text(self) -> str:
        """The declaration in words, e.g. ``K + 273.15`` or ``m3.s-1 * 1.66667e-05``."""
        if self.exponents is None:
            return "(no BaseUnit)"
        text = _dimension(self.exponents)
        if self.factor != 1.0:
            text += f" * {self.factor:g}"
        if self.offset:
            text += f" + {self.offset:g}"
        return text


def _dimension(exponents: tuple[int, ...]) -> str:
    parts = [f"{n}{e if e != 1 else ''}" for n, e in zip(si.BASE_NAMES, exponents, strict=True) if e]
    return ".".join(parts) or "1"


class UnknownNameError(KeyError):
    """A KeyError whose message prints as written (KeyError's own ``str`` shows the repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def unknown_name_message(owner: str, kind: str, name: str, known: Iterable[str]) -> str:
    """``"<owner> has no <kind> 'x'; did you mean 'y'? Known: a, b, c"``, for KeyErrors."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    msg = f"{owner} has no {kind} {name!r}"
    if close:
        msg += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = ", ".join(known[:25]) + (f", ... ({len(known)} in all)" if len(known) > 25 else "")
    return msg + f" Known: {shown or '(none)'}"


def unknown_units(ports: Iterable[Port]) -> dict[str, str]:
    """Ports whose unit symbol :mod:`cosim.si` cannot read, as ``{port name: unit symbol}``.

    Such ports still connect to ports of the very same symbol; a connection that would need a
    conversion cannot be made (the scenario validator reports it).
    """
    return {p.name: p.unit for p in ports if not si.is_known(p.unit)}


def parse_variable(v) -> Variable:
    unit = v.unit
    if unit is None and v.declaredType is not None:
        unit = v.declaredType.unit
    lo, hi = v.min, v.max
    if v.declaredType is not None:
        lo = lo if lo is not None else v.declaredType.min
        hi = hi if hi is not None else v.declaredType.max
    return Variable(
        name=v.name,
        causality=v.causality or "local",
        variability=v.variability or "continuous",
        type=v.type,
        unit=unit or "1",
        start=_start(v),
        min=_number(lo),
        max=_number(hi),
        description=v.description or "",
        value_reference=int(v.valueReference),
        scalar=not v.dimensions,
        has_unit=unit is not None,
    )


def _start(v) -> Any:
    if v.start is None or v.dimensions:
        return None
    kind = _PORT_TYPE.get(v.type)
    text = str(v.start).strip()
    if kind == "Real":
        return float(text)
    if kind == "Integer":
        return int(text)
    if kind == "Boolean":
        return text.lower() in ("true", "1")
    return v.start


def _number(text) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def variable_port(v: Variable) -> Port:
    numeric = v.port_type in ("Real", "Integer")
    return Port(
        name=v.name,
        causality=_PORT_CAUSALITY[v.causality],
        unit=v.unit if v.port_type == "Real" else "1",
        description=v.description,
        start=v.start,
        min=v.min if numeric else None,
        max=v.max if numeric else None,
        type=v.port_type,
    )


def parse_unit(u) -> DeclaredUnit:
    b = u.baseUnit
    if b is None:
        return DeclaredUnit(u.name, None)
    exponents = tuple(int(getattr(b, n) or 0) for n in si.BASE_NAMES)
    return DeclaredUnit(u.name, exponents, float(b.factor or 1.0), float(b.offset or 0.0))


def settable_value(variable: Variable, value: Any, owner: str) -> Any:
    """``value`` converted to what ``variable``'s FMI type takes; ValueError naming both when it cannot.

    Parameters
    ----------
    variable : Variable
        A parameter or input.
    value : float, int, bool or str
        In the variable's unit.
    owner : str
        Who is being configured, for the message (e.g. ``"unit 'plate'"``).
    """
    kind = variable.port_type
    what = f"{owner}: {variable.name!r} is {variable.type}" + (
        f" [{variable.unit}]" if kind == "Real" else ""
    )
    try:
        if kind == "Real":
            if isinstance(value, str):
                raise ValueError
            converted = float(value)
        elif kind == "Integer":
            if isinstance(value, str) or (not isinstance(value, int) and float(value) != int(value)):
                raise ValueError
            converted = int(value)
        elif kind == "Boolean":
            if value not in (True, False, 0, 1):
                raise ValueError
            converted = bool(value)
        elif kind == "String":
            if not isinstance(value, str):
                raise ValueError
            converted = value
        else:
            raise TypeError(f"{what}, a type evtwin cannot set")
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{what}; got {value!r} ({type(value).__name__})") from None
    if kind in ("Real", "Integer"):
        if (variable.min is not None and converted < variable.min) or (
            variable.max is not None and converted > variable.max
        ):
            raise ValueError(
                f"{what}; got {value!r}, expected within "
                f"[{_bound(variable.min, '-inf')}, {_bound(variable.max, 'inf')}] as the FMU declares"
            )
    return converted


def _bound(x: float | None, missing: str) -> str:
    return missing if x is None else f"{x:g}"
