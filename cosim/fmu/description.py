"""What an FMU declares, read without instantiating it: variables, ports, units and capabilities.

:func:`read_description` is what the scenario validator and ``evtwin inspect`` use; the FMU
adapter (:mod:`cosim.fmu.adapter`) builds on it. fmpy is imported inside the functions, so importing this
module costs nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim import si
from cosim.errors import FMUFileError
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

    @property
    def port_type(self) -> str | None:
        """``Real``, ``Integer``, ``Boolean`` or ``String`` as the unit protocol names it; None for others."""
        return _PORT_TYPE.get(self.type)

    @property
    def is_port(self) -> bool:
        return self.causality in _PORT_CAUSALITY and self.scalar and self.port_type is not None


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


@dataclass(frozen=True, slots=True)
class FMUDescription:
    """Everything evtwin needs to know about an FMU before running it.

    Attributes
    ----------
    path : Path
        The .fmu file.
    fmi_version : str
        ``"2.0"`` or ``"3.0"``.
    model_name, model_identifier, guid, generation_tool, description : str
        From the model description; ``guid`` is the ``instantiationToken`` for FMI 3.0.
    variables : tuple of Variable
        Every model variable, in the order the FMU declares them.
    ports : tuple of Port
        The inputs, outputs and parameters (scalar, of a type the unit protocol carries).
    units : tuple of DeclaredUnit
        The FMU's ``UnitDefinitions``.
    can_save_state, can_serialize_state, can_vary_step : bool
        ``canGetAndSetFMUstate``, ``canSerializeFMUstate``,
        ``canHandleVariableCommunicationStepSize``.
    needs_execution_tool, one_instance_per_process : bool
        ``needsExecutionTool`` and ``canBeInstantiatedOnlyOncePerProcess``.
    default_step : float or None
        The ``DefaultExperiment`` step size [s] (or FMI 3.0 ``fixedInternalStepSize``).
    platforms : tuple of str
        Platforms the archive has binaries for (``linux64``, ``x86_64-linux``, ``win64``, ...).
    platform : str
        The binary folder this machine needs.
    runs_here : bool
        Whether the archive has a binary for this machine.
    log_categories : tuple of str
        The FMU's ``LogCategories``.
    """

    path: Path
    fmi_version: str
    model_name: str
    model_identifier: str
    guid: str
    generation_tool: str
    description: str
    variables: tuple[Variable, ...]
    ports: tuple[Port, ...]
    units: tuple[DeclaredUnit, ...]
    can_save_state: bool
    can_serialize_state: bool
    can_vary_step: bool
    needs_execution_tool: bool
    one_instance_per_process: bool
    default_step: float | None
    platforms: tuple[str, ...]
    platform: str
    runs_here: bool
    log_categories: tuple[str, ...]

    def variable(self, name: str) -> Variable:
        """The variable called ``name``; KeyError with close matches when there is none."""
        for v in self.variables:
            if v.name == name:
                return v
        raise UnknownNameError(
            unknown_name_message(
                f"FMU {self.model_name!r}", "variable", name, [v.name for v in self.variables]
            )
        )


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


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, hex, read in chunks so that large FMUs cost no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---- reading ------------------------------------------------------------------------------


def read_description(
    path: str | Path, *, validate: bool = True, require_binary: bool = True
) -> FMUDescription:
    """Read an FMU's model description without extracting or instantiating it.

    Parameters
    ----------
    path : str or Path
        The .fmu file.
    validate : bool
        Check the model description against the FMI schema and rules with fmpy (units declared,
        start values, ...). Turn off only for slightly non-compliant vendor FMUs.
    require_binary : bool
        Raise when the archive has no binary for this machine (``evtwin inspect`` turns it off).

    Raises
    ------
    FMUFileError
        For a missing file, a file that is not an FMU, an invalid model description, an FMI
        version other than 2.0/3.0, a Model Exchange-only FMU, or (``require_binary``) no binary
        for this platform. The message says what was expected and how to fix it.
    """
    path = Path(path)
    names = _archive_names(path)
    md = _parse(path, validate)
    if md.coSimulation is None:
        kinds = [
            k
            for k, v in (("Model Exchange", md.modelExchange), ("Scheduled Execution", md.scheduledExecution))
            if v
        ]
        raise FMUFileError(
            str(path),
            f"{md.modelName!r} is a {' and '.join(kinds) or 'non-co-simulation'} FMU "
            "without Co-Simulation; evtwin steps co-simulation FMUs. Export it again with "
            "the co-simulation interface (its own solver inside the FMU).",
        )
    fmi3 = md.fmiVersion.startswith("3.")
    platform, platforms = _platforms(names, fmi3)
    identifier = md.coSimulation.modelIdentifier
    binary = f"binaries/{platform}/{identifier}{_library_suffix()}"
    runs_here = binary in names
    if require_binary and not runs_here:
        found = ", ".join(platforms) or "none (a source-only FMU)"
        raise FMUFileError(
            str(path),
            f"no binary for this platform: expected {binary} in the archive; it has "
            f"binaries for: {found}. Export the FMU for {platform}, or compile a source FMU "
            "with `fmpy compile`.",
        )
    variables = tuple(_variable(v) for v in md.modelVariables)
    step = md.coSimulation.fixedInternalStepSize
    if step is None and md.defaultExperiment is not None and md.defaultExperiment.stepSize is not None:
        step = float(md.defaultExperiment.stepSize)
    return FMUDescription(
        path=path,
        fmi_version=md.fmiVersion,
        model_name=md.modelName or identifier,
        model_identifier=identifier,
        guid=md.guid or "",
        generation_tool=md.generationTool or "",
        description=md.description or "",
        variables=variables,
        ports=tuple(_port(v) for v in variables if v.is_port),
        units=tuple(_declared_unit(u) for u in md.unitDefinitions),
        can_save_state=bool(md.coSimulation.canGetAndSetFMUstate),
        can_serialize_state=bool(md.coSimulation.canSerializeFMUstate),
        can_vary_step=bool(md.coSimulation.canHandleVariableCommunicationStepSize),
        needs_execution_tool=bool(md.coSimulation.needsExecutionTool),
        one_instance_per_process=bool(md.coSimulation.canBeInstantiatedOnlyOncePerProcess),
        default_step=float(step) if step is not None else None,
        platforms=platforms,
        platform=platform,
        runs_here=runs_here,
        log_categories=tuple(c.name for c in md.logCategories),
    )


def _archive_names(path: Path) -> set[str]:
    expected = "expected an FMU (a .fmu zip archive with modelDescription.xml at its root)"
    if not path.exists():
        raise FMUFileError(
            str(path),
            f"no such file; {expected}. Check the path (relative paths are "
            "resolved from the current directory) and build or copy the FMU there.",
        )
    if path.is_dir():
        raise FMUFileError(str(path), f"is a directory; {expected}.")
    if not zipfile.is_zipfile(path):
        raise FMUFileError(
            str(path),
            f"not an FMU: the file is not a zip archive; {expected}. Was it copied or downloaded completely?",
        )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as err:
        raise FMUFileError(
            str(path), f"not an FMU: cannot read the zip archive ({err}); {expected}."
        ) from None
    if "modelDescription.xml" not in names:
        nested = sorted(n for n in names if n.endswith("/modelDescription.xml"))
        hint = (
            f" It has {nested[0]}: zip the contents of that folder, not the folder itself." if nested else ""
        )
        raise FMUFileError(
            str(path), f"not an FMU: the archive has no modelDescription.xml at its root.{hint}"
        )
    return names


def _parse(path: Path, validate: bool):
    from fmpy.model_description import ValidationError, read_model_description

    version = _fmi_version(path)
    if not version.startswith(("2.", "3.")):
        raise FMUFileError(
            str(path),
            f"FMI version {version or '(none)'} is not supported; evtwin runs FMI 2.0 and "
            "3.0 co-simulation FMUs. Export it again as FMI 2.0 or 3.0.",
        )
    try:
        return read_model_description(str(path), validate=validate)
    except ValidationError as err:
        problems = "\n".join(f"  - {p}" for p in err.problems)
        raise FMUFileError(
            str(path),
            f"the model description is not valid FMI:\n{problems}\n"
            "Fix the export, or load it anyway with validation off "
            "(validate: false) if you trust it.",
        ) from None
    except Exception as err:  # fmpy raises plain Exception for unsupported versions and XML errors
        text = str(err)
        if "Unsupported FMI version" in text:
            text += "; evtwin runs FMI 2.0 and 3.0 co-simulation FMUs. Export it again as FMI 2.0 or 3.0"
        raise FMUFileError(str(path), f"cannot read modelDescription.xml: {text}") from None


def _fmi_version(path: Path) -> str:
    import xml.etree.ElementTree as ET

    try:
        with zipfile.ZipFile(path) as zf, zf.open("modelDescription.xml") as xml:
            for _, element in ET.iterparse(xml, events=("start",)):
                return element.get("fmiVersion", "")
    except ET.ParseError as err:
        raise FMUFileError(str(path), f"modelDescription.xml is not well-formed XML: {err}") from None
    return ""


def _platforms(names: set[str], fmi3: bool) -> tuple[str, tuple[str, ...]]:
    import fmpy

    platform = fmpy.platform_tuple if fmi3 else fmpy.platform
    found = sorted(
        {
            n.split("/")[1]
            for n in names
            if n.startswith("binaries/") and n.count("/") >= 2 and not n.endswith("/")
        }
    )
    return platform, tuple(found)


def _library_suffix() -> str:
    import fmpy

    return fmpy.sharedLibraryExtension


def _variable(v) -> Variable:
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


def _port(v: Variable) -> Port:
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


def _declared_unit(u) -> DeclaredUnit:
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
            if isinstance(value, str) or float(value) != int(value):
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


def port_map(description: FMUDescription) -> Mapping[str, Variable]:
    """Variables by name, for look-ups."""
    return {v.name: v for v in description.variables}
