"""Reading an SSP 1.0 package (System Structure and Parameterization): its system, FMUs and parameter sets.

An ``.ssp`` is a zip archive (or a folder laid out like one) holding ``SystemStructure.ssd`` and the
files it names (FMUs under ``resources/``, parameter values in ``.ssv`` files). evtwin reads a system of
FMU components: their connectors, the connections between them (with a linear transformation), the
named parameter sets bound to components and systems (inline ``ssd:ParameterValues`` or an ``.ssv``
file), the unit definitions (:mod:`cosim.ssp.units`), the default experiment, and the algorithm evtwin
writes as an annotation. Nested systems are flattened: a component ``plate`` of the system ``cooling``
becomes the unit ``cooling_plate``, and connections through the systems' own connectors become direct
connections between components, their linear transformations composed.
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
from cosim.si import Unit
from cosim.ssp.units import quantity, read_units

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
    units: dict[str, Unit] = field(default_factory=dict)


def read_ssp(path: str | Path) -> SystemStructure:
    """Unpack (into a temporary folder kept until the process ends) and read an SSP.

    Raises
    ------
    ScenarioError
        Naming the file and what is wrong: not an SSP, no SystemStructure.ssd, malformed XML, an
        unsupported element (a component that is not an FMU), a connection to nothing.
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
    flat = _Flat(folder, path, read_units(root.find(f"{{{SSD}}}Units"), path))
    flat.system(system, ())
    structure = SystemStructure(
        name=system.get("name") or root.get("name") or path.stem,
        folder=folder,
        components=flat.components,
        connections=flat.connections(),
        parameter_sets=flat.sets,
        units=flat.units,
    )
    _experiment(root, structure)
    return structure


def _parse(file: Path, where: Path) -> ET.Element:
    try:
        return ET.parse(file).getroot()
    except ET.ParseError as err:
        raise ScenarioError(f"{where}: {file.name}: malformed XML: {err}") from None


class _Flat:
    """Reads a system and the systems nested in it into one flat set of components and connections.

    A connection's ends are nodes: ``("port", "unit.connector")`` for a component's connector, and
    ``("system", path, connector)`` for a system's own connector (``path``: the names of the systems
    leading to it). Connections out of a port are followed through system connectors to ports.
    """

    def __init__(self, folder: Path, where: Path, units: dict[str, Unit]):
        self.folder, self.where, self.units = folder, where, units
        self.components: dict[str, Component] = {}
        self.sets: dict[str, dict[str, dict[str, Any]]] = {}
        self.edges: list[tuple[tuple, tuple, float, float]] = []

    def system(self, system: ET.Element, path: tuple[str, ...]) -> None:
        """Read ``system`` (at ``path``) and, depth first, the systems in its elements."""
        elements = system.find(f"{{{SSD}}}Elements")
        local: dict[str, str | tuple[str, ...]] = {}  # element name -> unit name, or a system's path
        for element in [] if elements is None else list(elements):
            name = element.get("name", "")
            if element.tag == f"{{{SSD}}}System":
                local[name] = (*path, name)
                self.system(element, (*path, name))
            elif element.tag == f"{{{SSD}}}Component":
                local[name] = self._component(element, "_".join((*path, name)))
        for binding in system.iterfind(f"{{{SSD}}}ParameterBindings/{{{SSD}}}ParameterBinding"):
            set_name, values = _parameter_set(binding, self.folder, self.where, self.units)
            for key, value in values.items():
                unit, parameter = self._owner(system, path, key)
                self.sets.setdefault(set_name, {}).setdefault(unit, {})[parameter] = value
        for c in system.iterfind(f"{{{SSD}}}Connections/{{{SSD}}}Connection"):
            ends = [
                self._node(local, path, c.get(f"{side}Element"), c.get(f"{side}Connector", ""))
                for side in ("start", "end")
            ]
            factor, offset = 1.0, 0.0
            linear = c.find(f"{{{SSC}}}LinearTransformation")
            if linear is not None:
                factor, offset = float(linear.get("factor", 1.0)), float(linear.get("offset", 0.0))
            self.edges.append((ends[0], ends[1], factor, offset))

    def _component(self, element: ET.Element, unit: str) -> str:
        name, where = element.get("name", ""), self.where
        kind = element.get("type", FMU_TYPE)
        if kind != FMU_TYPE:
            raise ScenarioError(
                f"{where}: component {name!r} is of type {kind!r}; evtwin runs FMUs ({FMU_TYPE})"
            )
        source = element.get("source", "")
        if not (self.folder / source).is_file():
            raise ScenarioError(f"{where}: component {name!r}: its source {source!r} is not in the package")
        if unit in self.components:
            raise ScenarioError(f"{where}: two components flatten to the unit name {unit!r}")
        component = Component(unit, source)
        for connector in element.iterfind(f"{{{SSD}}}Connectors/{{{SSD}}}Connector"):
            component.connectors[connector.get("name", "")] = (
                connector.get("kind", ""),
                *_type_of(connector),
            )
        self.components[unit] = component
        for binding in element.iterfind(f"{{{SSD}}}ParameterBindings/{{{SSD}}}ParameterBinding"):
            set_name, values = _parameter_set(binding, self.folder, where, self.units)
            self.sets.setdefault(set_name, {}).setdefault(unit, {}).update(values)
        return unit

    def _owner(self, system: ET.Element, path: tuple[str, ...], key: str) -> tuple[str, str]:
        """The unit and parameter that a system's ``element.parameter`` (``sub.element.parameter``) names."""
        head, dot, rest = key.partition(".")
        unit = "_".join((*path, head))
        if dot and unit in self.components:
            return unit, rest
        sub = system.find(f"{{{SSD}}}Elements/{{{SSD}}}System[@name='{head}']")
        if dot and sub is not None:
            return self._owner(sub, (*path, head), rest)
        system_name = ".".join(path) or "the top system"
        raise ScenarioError(f"{self.where}: parameter {key!r} of {system_name} names no component")

    def _node(self, local: dict, path: tuple[str, ...], element: str | None, connector: str) -> tuple:
        if element is None:
            return ("system", path, connector)
        target = local.get(element)
        if target is None:
            raise ScenarioError(f"{self.where}: connection to {connector!r}: no component {element!r}")
        return (
            ("system", target, connector) if isinstance(target, tuple) else ("port", f"{target}.{connector}")
        )

    def connections(self) -> list[SSPConnection]:
        """Every path from a component's output through systems' connectors to a component's input,
        in document order; connections that end at a system connector nothing reads are dropped."""
        onward: dict[tuple, list[tuple[tuple, float, float]]] = {}
        for start, end, factor, offset in self.edges:
            onward.setdefault(start, []).append((end, factor, offset))
        out: list[SSPConnection] = []

        def follow(origin: str, node: tuple, factor: float, offset: float, seen: frozenset) -> None:
            for end, f, o in onward.get(node, ()):
                g, c = f * factor, f * offset + o  # f * (factor * x + offset) + o
                if end[0] == "port":
                    out.append(SSPConnection(origin, end[1], g, c))
                elif end not in seen:
                    follow(origin, end, g, c, seen | {end})

        for node in onward:
            if node[0] == "port":
                follow(node[1], node, 1.0, 0.0, frozenset())
        return out


def _type_of(node: ET.Element) -> tuple[str, str | None]:
    for kind in TYPES:
        child = node.find(f"{{{SSC}}}{kind}")
        if child is not None:
            return kind, child.get("unit")
    return "Real", None


def _parameter_set(
    binding: ET.Element, folder: Path, where: Path, units: dict[str, Unit]
) -> tuple[str, dict[str, Any]]:
    inline = binding.find(f"{{{SSD}}}ParameterValues/{{{SSV}}}ParameterSet")
    if inline is None:
        source = binding.get("source")
        if not source:
            raise ScenarioError(f"{where}: a ParameterBinding has neither a source nor ParameterValues")
        file = folder / source
        if not file.is_file():
            raise ScenarioError(f"{where}: parameter binding source {source!r} is not in the package")
        inline = _parse(file, where)
    own = {**units, **read_units(inline.find(f"{{{SSV}}}Units"), where)}  # the set's definitions first
    prefix = binding.get("prefix", "")
    values: dict[str, Any] = {}
    for parameter in inline.iterfind(f"{{{SSV}}}Parameters/{{{SSV}}}Parameter"):
        name = parameter.get("name", "")
        values[name.removeprefix(prefix) if prefix else name] = _value(parameter, where, own)
    return inline.get("name") or "default", values


def _value(parameter: ET.Element, where: Path, units: dict[str, Unit]) -> Any:
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
        return quantity(value, node.get("unit"), units) if kind == "Real" else value
    raise ScenarioError(f"{where}: parameter {parameter.get('name')!r} has no value evtwin reads")


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
