"""Reading an SSP 1.0 package (System Structure and Parameterization): its system, FMUs and parameter sets.

An ``.ssp`` is a zip archive (or a folder laid out like one) holding ``SystemStructure.ssd`` and the
files it names (FMUs under ``resources/``, parameter values in ``.ssv`` files). evtwin reads one flat
system of FMU components: their connectors, the connections between them (with a linear
transformation), the named parameter sets bound to each component (inline ``ssd:ParameterValues`` or
an ``.ssv`` file), the default experiment, and the algorithm evtwin writes as an annotation.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import ScenarioError

SSD = "http://ssp-standard.org/SSP1/SystemStructureDescription"
SSC = "http://ssp-standard.org/SSP1/SystemStructureCommon"
SSV = "http://ssp-standard.org/SSP1/SystemStructureParameterValues"
#: The annotation type of evtwin's algorithm settings in a DefaultExperiment.
ANNOTATION = "org.evtwin.algorithm"
EVTWIN = "https://github.com/evtwin/ssp-annotations"
FMU_TYPE = "application/x-fmu-sharedlibrary"
TYPES = ("Real", "Integer", "Boolean", "String", "Enumeration")


@dataclass
class Component:
    """An FMU: ``source``, its path inside the package; ``connectors``, {name: (kind, type, unit)}."""

    name: str
    source: str
    connectors: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class SSPConnection:
    """``start`` -> ``end`` (``element.connector``), the value mapped as ``factor * x + offset``."""

    start: str
    end: str
    factor: float = 1.0
    offset: float = 0.0


@dataclass
class SystemStructure:
    """What an SSP declares; ``parameter_sets``: {set: {component: {parameter: value or {value, unit}}}}."""

    name: str
    folder: Path
    components: dict[str, Component]
    connections: list[SSPConnection]
    parameter_sets: dict[str, dict[str, dict[str, Any]]]
    start: float = 0.0
    stop: float | None = None
    algorithm: dict[str, Any] = field(default_factory=dict)


def read_ssp(path: str | Path) -> SystemStructure:
    """Unpack (into a temporary folder kept until the process ends) and read an SSP.

    Raises
    ------
    ScenarioError
        Naming the file and what is wrong: not an SSP, no SystemStructure.ssd, malformed XML, an
        unsupported element (nested systems, non-FMU components), a connection to nothing.
    """
    path = Path(path)
    if path.is_dir():
        folder = path
    else:
        if not path.is_file():
            raise ScenarioError(f"{path}: no such file")
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise ScenarioError(f"{path}: not an SSP (a zip archive): {err}") from None
        folder = Path(tempfile.mkdtemp(prefix="evtwin-ssp-"))
        atexit.register(shutil.rmtree, folder, True)
        with archive:
            archive.extractall(folder)
    ssd = folder / "SystemStructure.ssd"
    if not ssd.is_file():
        raise ScenarioError(f"{path}: no SystemStructure.ssd at the top of the package")
    root = _parse(ssd, path)
    if root.tag != f"{{{SSD}}}SystemStructureDescription":
        raise ScenarioError(f"{path}: SystemStructure.ssd is not an SSP 1.0 system structure description")
    system = root.find(f"{{{SSD}}}System")
    if system is None:
        raise ScenarioError(f"{path}: SystemStructure.ssd has no ssd:System")
    components, sets = _components(system, folder, path)
    structure = SystemStructure(
        name=system.get("name") or root.get("name") or path.stem,
        folder=folder,
        components=components,
        connections=_connections(system, components, path),
        parameter_sets=sets,
    )
    _experiment(root, structure)
    return structure


def _parse(file: Path, where: Path) -> ET.Element:
    try:
        return ET.parse(file).getroot()
    except ET.ParseError as err:
        raise ScenarioError(f"{where}: {file.name}: malformed XML: {err}") from None


def _components(system: ET.Element, folder: Path, where: Path):
    components: dict[str, Component] = {}
    sets: dict[str, dict[str, dict[str, Any]]] = {}
    elements = system.find(f"{{{SSD}}}Elements")
    for element in [] if elements is None else list(elements):
        name = element.get("name", "")
        if element.tag == f"{{{SSD}}}System":
            raise ScenarioError(f"{where}: element {name!r} is a nested system; evtwin reads one flat system")
        if element.tag != f"{{{SSD}}}Component":
            continue
        kind = element.get("type", FMU_TYPE)
        if kind != FMU_TYPE:
            raise ScenarioError(
                f"{where}: component {name!r} is of type {kind!r}; evtwin runs FMUs ({FMU_TYPE})"
            )
        source = element.get("source", "")
        if not (folder / source).is_file():
            raise ScenarioError(f"{where}: component {name!r}: its source {source!r} is not in the package")
        component = Component(name, source)
        for connector in element.iterfind(f"{{{SSD}}}Connectors/{{{SSD}}}Connector"):
            component.connectors[connector.get("name", "")] = (
                connector.get("kind", ""),
                *_type_of(connector),
            )
        components[name] = component
        for binding in element.iterfind(f"{{{SSD}}}ParameterBindings/{{{SSD}}}ParameterBinding"):
            set_name, values = _parameter_set(binding, folder, where)
            sets.setdefault(set_name, {}).setdefault(name, {}).update(values)
    return components, sets


def _type_of(node: ET.Element) -> tuple[str, str | None]:
    for kind in TYPES:
        child = node.find(f"{{{SSC}}}{kind}")
        if child is not None:
            return kind, child.get("unit")
    return "Real", None


def _parameter_set(binding: ET.Element, folder: Path, where: Path) -> tuple[str, dict[str, Any]]:
    inline = binding.find(f"{{{SSD}}}ParameterValues/{{{SSV}}}ParameterSet")
    if inline is None:
        source = binding.get("source")
        if not source:
            raise ScenarioError(f"{where}: a ParameterBinding has neither a source nor ParameterValues")
        file = folder / source
        if not file.is_file():
            raise ScenarioError(f"{where}: parameter binding source {source!r} is not in the package")
        inline = _parse(file, where)
    values: dict[str, Any] = {}
    for parameter in inline.iterfind(f"{{{SSV}}}Parameters/{{{SSV}}}Parameter"):
        values[parameter.get("name", "")] = _value(parameter, where)
    return inline.get("name") or "default", values


def _value(parameter: ET.Element, where: Path) -> Any:
    for kind in ("Real", "Integer", "Boolean", "String"):
        node = parameter.find(f"{{{SSV}}}{kind}")
        if node is None:
            continue
        text = node.get("value", "")
        try:
            value: Any = (
                {"Real": float, "Integer": int, "String": str}[kind](text)
                if kind != "Boolean"
                else (text.strip().lower() in ("true", "1"))
            )
        except ValueError:
            raise ScenarioError(
                f"{where}: parameter {parameter.get('name')!r}: {text!r} is not a {kind}"
            ) from None
        unit = node.get("unit")
        return {"value": value, "unit": unit} if unit and kind == "Real" else value
    raise ScenarioError(f"{where}: parameter {parameter.get('name')!r} has no value evtwin reads")


def _connections(system: ET.Element, components: dict[str, Component], where: Path) -> list[SSPConnection]:
    out = []
    for c in system.iterfind(f"{{{SSD}}}Connections/{{{SSD}}}Connection"):
        ends = []
        for side in ("start", "end"):
            element, connector = c.get(f"{side}Element"), c.get(f"{side}Connector", "")
            if element is None or element not in components:
                what = "the system's own connectors" if element is None else f"no component {element!r}"
                raise ScenarioError(
                    f"{where}: connection to {connector!r}: {what} (evtwin connects components)"
                )
            ends.append(f"{element}.{connector}")
        factor, offset = 1.0, 0.0
        linear = c.find(f"{{{SSC}}}LinearTransformation")
        if linear is not None:
            factor, offset = float(linear.get("factor", 1.0)), float(linear.get("offset", 0.0))
        out.append(SSPConnection(ends[0], ends[1], factor, offset))
    return out


def _experiment(root: ET.Element, structure: SystemStructure) -> None:
    node = root.find(f"{{{SSD}}}DefaultExperiment")
    if node is None:
        return
    structure.start = float(node.get("startTime", 0.0))
    if node.get("stopTime") is not None:
        structure.stop = float(node.get("stopTime"))
    for annotation in node.iterfind(f"{{{SSD}}}Annotations/{{{SSC}}}Annotation"):
        if annotation.get("type") == ANNOTATION:
            algorithm = annotation.find(f"{{{EVTWIN}}}Algorithm")
            if algorithm is not None:
                if algorithm.get("method"):
                    structure.algorithm["method"] = algorithm.get("method")
                if algorithm.get("step"):
                    structure.algorithm["step"] = float(algorithm.get("step"))
