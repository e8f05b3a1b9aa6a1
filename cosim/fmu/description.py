"""What an FMU declares, read without instantiating it: variables, ports, units and capabilities.

The variables themselves (types, causalities, units, bounds) are in :mod:`cosim.fmu.variables`.

:func:`read_description` is what the scenario validator and ``evtwin inspect`` use; the FMU
adapter (:mod:`cosim.fmu.adapter`) builds on it. fmpy is imported inside the functions, so importing this
module costs nothing.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from cosim import si
from cosim.errors import FMUFileError
from cosim.fmu.variables import (
    DeclaredUnit,
    UnknownNameError,
    Variable,
    parse_unit,
    parse_variable,
    unknown_name_message,
    variable_port,
)
from cosim.unit import Port


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
        The ``DefaultExperiment`` step size [s]: the communication step the exporter suggests.
    internal_step : float or None
        FMI 3.0 ``fixedInternalStepSize`` [s]: the step of the FMU's own solver, not a
        communication step.
    platforms : tuple of str
        Platforms the archive has binaries for (``linux64``, ``x86_64-linux``, ``win64``, ...).
    platform : str
        The binary folder this machine needs.
    runs_here : bool
        Whether the archive has a binary for this machine.
    log_categories : tuple of str
        The FMU's ``LogCategories``.
    initial_dependencies : dict or None
        From ``ModelStructure/InitialUnknowns``: for each output whose initial value the FMU computes,
        the inputs it depends on (None: on every input); an output not listed depends on none (its
        start value holds). None when the FMU declares no InitialUnknowns.
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
    internal_step: float | None
    platforms: tuple[str, ...]
    platform: str
    runs_here: bool
    log_categories: tuple[str, ...]
    initial_dependencies: dict[str, tuple[str, ...] | None] | None = None

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

    @property
    def unsupported(self) -> dict[str, str]:
        """Inputs, outputs and parameters that are not ports, with the reason: ``{name: why}``."""
        return {v.name: why for v in self.variables if (why := v.unsupported()) is not None}

    @property
    def unitless(self) -> tuple[str, ...]:
        """Real ports that declare no unit (``port_units`` can state one)."""
        names = {p.name for p in self.ports}
        return tuple(
            v.name for v in self.variables if v.name in names and v.port_type == "Real" and not v.has_unit
        )


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
    _require_co_simulation(path, md)
    identifier = md.coSimulation.modelIdentifier
    platform, platforms, runs_here = _binary(path, names, md, require_binary)
    variables = tuple(parse_variable(v) for v in md.modelVariables)
    step = None
    if md.defaultExperiment is not None and md.defaultExperiment.stepSize is not None:
        step = float(md.defaultExperiment.stepSize)
    internal = md.coSimulation.fixedInternalStepSize
    return FMUDescription(
        path=path,
        fmi_version=md.fmiVersion,
        model_name=md.modelName or identifier,
        model_identifier=identifier,
        guid=md.guid or "",
        generation_tool=md.generationTool or "",
        description=md.description or "",
        variables=variables,
        ports=tuple(variable_port(v) for v in variables if v.is_port),
        units=tuple(parse_unit(u) for u in md.unitDefinitions),
        can_save_state=bool(md.coSimulation.canGetAndSetFMUstate),
        can_serialize_state=bool(md.coSimulation.canSerializeFMUstate),
        can_vary_step=bool(md.coSimulation.canHandleVariableCommunicationStepSize),
        needs_execution_tool=bool(md.coSimulation.needsExecutionTool),
        one_instance_per_process=bool(md.coSimulation.canBeInstantiatedOnlyOncePerProcess),
        default_step=float(step) if step is not None else None,
        internal_step=float(internal) if internal is not None else None,
        platforms=platforms,
        platform=platform,
        runs_here=runs_here,
        log_categories=tuple(c.name for c in md.logCategories),
        initial_dependencies=_initial_dependencies(md),
    )


def _initial_dependencies(md) -> dict[str, tuple[str, ...] | None] | None:
    """Outputs' initial dependencies on inputs, by name, from ``InitialUnknowns``; None if not declared."""
    if not md.initialUnknowns:
        return None
    result = {}
    for u in md.initialUnknowns:
        if u.variable.causality != "output":
            continue
        deps = u.dependencies
        result[u.variable.name] = (
            None if deps is None else tuple(v.name for v in deps if v.causality == "input")
        )
    return result


def _require_co_simulation(path: Path, md) -> None:
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


def _binary(path: Path, names: set[str], md, require_binary: bool) -> tuple[str, tuple[str, ...], bool]:
    """``(this machine's platform, the archive's platforms, whether it has a binary for this one)``."""
    platform, platforms = _platforms(names, md.fmiVersion.startswith("3."))
    binary = f"binaries/{platform}/{md.coSimulation.modelIdentifier}{_library_suffix()}"
    runs_here = binary in names
    if require_binary and not runs_here:
        found = ", ".join(platforms) or "none (a source-only FMU)"
        raise FMUFileError(
            str(path),
            f"no binary for this platform: expected {binary} in the archive; it has "
            f"binaries for: {found}. Export the FMU for {platform}, or compile a source FMU "
            "with `fmpy compile`.",
        )
    return platform, platforms, runs_here


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
                root = element
                break
            else:
                root = None
    except ET.ParseError as err:
        raise FMUFileError(str(path), f"modelDescription.xml is not well-formed XML: {err}") from None
    if root is None or root.tag != "fmiModelDescription":
        found = f"<{root.tag}>" if root is not None else "nothing"
        raise FMUFileError(
            str(path),
            f"modelDescription.xml holds {found} at its root, expected <fmiModelDescription fmiVersion=...>; "
            "the archive's model description is not an FMI model description",
        )
    if "fmiVersion" not in root.attrib:
        raise FMUFileError(
            str(path),
            "modelDescription.xml: <fmiModelDescription> has no fmiVersion attribute (expected \"2.0\" or "
            "\"3.0\"); the export is incomplete",
        )
    return root.get("fmiVersion", "")


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


def port_map(description: FMUDescription) -> Mapping[str, Variable]:
    """Variables by name, for look-ups."""
    return {v.name: v for v in description.variables}


def ports_with_units(description: FMUDescription, port_units: Mapping[str, str]) -> tuple[Port, ...]:
    """The FMU's ports with the units ``port_units`` states for Real ports that declare none.

    Raises
    ------
    ValueError
        One line per problem: a name that is not a Real port, a unit evtwin cannot read, or a port
        that declares a different unit of its own.
    """
    if not port_units:
        return description.ports
    variables = {v.name: v for v in description.variables}
    real = [p.name for p in description.ports if p.type == "Real"]
    problems = []
    for name, unit in port_units.items():
        v = variables.get(name)
        if v is None or name not in real:
            why = "" if v is None else f" ({name!r} is {v.type}, which has no unit)"
            owner = f"FMU {description.model_name!r}"
            problems.append(f"{name}: " + unknown_name_message(owner, "Real port", name, real) + why)
        elif not si.is_known(str(unit)):
            try:
                si.parse(str(unit))
            except si.UnitError as err:
                problems.append(f"{name}: {err}")
        elif v.has_unit and v.unit != unit:
            problems.append(
                f"{name}: the FMU declares it in {v.unit!r}; port_units can only state the unit of a "
                f"port that declares none (drop {name} from port_units, or convert with gain/offset)"
            )
    if problems:
        raise ValueError("\n".join(problems))
    return tuple(
        replace(p, unit=str(port_units[p.name])) if p.name in port_units else p for p in description.ports
    )
