"""An SSP as a scenario: ``evtwin run system.ssp``, and ``from_ssp:`` in a scenario file.

The SSP's components become FMU units, its connections connections (the linear transformation as
gain and offset; evtwin converts between the connectors' units as well), its default experiment the
experiment, and its parameter sets the units' parameters: every set in document order (later values
win, as the standard reads them), or the one named set chosen at run time. Without evtwin's algorithm
annotation the method is Jacobi, as in ecos and libcosim.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from cosim.errors import ScenarioError
from cosim.scenario.source import Located
from cosim.ssp.reader import SystemStructure, read_ssp
from cosim.ssp.units import quantity

#: Simulated time [s] of an SSP whose default experiment gives no stop time.
DEFAULT_DURATION = 3600.0


def is_ssp(path: str | Path) -> bool:
    """Whether ``path`` names an SSP: an ``.ssp`` file, or a folder holding ``SystemStructure.ssd``."""
    path = Path(path)
    return path.suffix.lower() == ".ssp" or (path.is_dir() and (path / "SystemStructure.ssd").is_file())


def parameter_sets(structure: SystemStructure, name: str | None) -> dict[str, dict[str, Any]]:
    """{component: {parameter: value}} of set ``name``, or of every set in order when ``name`` is None."""
    if name is not None and name not in structure.parameter_sets:
        known = ", ".join(structure.parameter_sets) or "none"
        raise ScenarioError(f"the SSP {structure.name!r} has no parameter set {name!r} (it has: {known})")
    chosen = [structure.parameter_sets[name]] if name is not None else list(structure.parameter_sets.values())
    merged: dict[str, dict[str, Any]] = {}
    for values in chosen:
        for component, params in values.items():
            merged.setdefault(component, {}).update(params)
    return merged


def scenario_data(structure: SystemStructure, parameter_set: str | None = None) -> dict[str, Any]:
    """The scenario (as the YAML's plain data) that runs ``structure``."""
    units: dict[str, Any] = {
        name: {"fmu": str((structure.folder / c.source).resolve())}
        for name, c in structure.components.items()
    }
    connections: list[dict[str, Any]] = []
    for component, params in parameter_sets(structure, parameter_set).items():
        if component not in units:
            raise ScenarioError(f"the SSP's parameter set names no component {component!r}")
        inputs = {k: v for k, v in params.items() if _kind(structure, component, k) == "input"}
        # An input's value: a constant unit feeding it (a scenario's parameters are parameters only).
        for name, value in inputs.items():
            source = _constant_name(component, name, units)
            units[source] = {
                "type": "constant",
                "settings": {"outputs": {"value": _quantity(structure, component, name, value)}},
            }
            connections.append({"from": f"{source}.value", "to": f"{component}.{name}"})
        rest = {k: v for k, v in params.items() if k not in inputs}
        if rest:
            units[component]["parameters"] = rest
    for c in structure.connections:
        spec: dict[str, Any] = {"from": c.start, "to": c.end}
        if c.factor != 1.0:
            spec["gain"] = c.factor
        if c.offset != 0.0:
            spec["offset"] = c.offset
        connections.append(spec)
    duration = DEFAULT_DURATION if structure.stop is None else structure.stop - structure.start
    data: dict[str, Any] = {
        "version": 1,
        "description": f"the system {structure.name!r} of an SSP",
        "experiment": {"start": structure.start, "duration": duration},
        "units": units,
        "connections": connections,
    }
    # SSP says nothing of the algorithm: without evtwin's annotation, Jacobi, as ecos and libcosim step
    # such a system (its connections read the start of the macro step, so loops between FMUs run as written).
    data["algorithm"] = {"method": "jacobi", **structure.algorithm}
    return data


def _kind(structure: SystemStructure, component: str, name: str) -> str:
    connector = structure.components[component].connectors.get(name)
    if connector is not None:
        return connector[0]
    return _variable(structure, component, name).causality if _variable(structure, component, name) else ""


def _variable(structure: SystemStructure, component: str, name: str):
    from cosim.fmu import read_description

    c = structure.components[component]
    found = [v for v in read_description(structure.folder / c.source).variables if v.name == name]
    return found[0] if found else None


def _quantity(structure: SystemStructure, component: str, name: str, value: Any) -> Any:
    """``{value, unit}`` in the connector's (or the FMU variable's) unit, unless the SSV gave one."""
    if isinstance(value, dict) or isinstance(value, bool):
        return value
    connector = structure.components[component].connectors.get(name)
    unit = connector[2] if connector is not None else None
    if unit is None:
        variable = _variable(structure, component, name)
        unit = variable.unit if variable is not None else None
    return quantity(value, unit, structure.units)  # as the SSD's ssd:Units define the connector's unit


def _constant_name(component: str, port: str, taken: dict[str, Any]) -> str:
    base = re.sub(r"\W", "_", f"{component}_{port}")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def ssp_source(path: str | Path, parameter_set: str | None = None) -> Located:
    """The scenario an SSP file stands for, as if read from YAML (its text is what the result file keeps)."""
    data = scenario_data(read_ssp(path), parameter_set)
    return Located(Path(path), _yaml(data), data, {})


def expand_from_ssp(source: Located, parameter_set: str | None = None) -> Located:
    """A scenario whose ``from_ssp:`` (a path, or {file, parameter_set}) is merged in: the SSP's units and
    connections first, the file's own after; the SSP's experiment and algorithm where the file has none."""
    data = source.data
    spec = data.get("from_ssp")
    if spec is None:
        return source
    where = source.problem(("from_ssp",), "")
    if isinstance(spec, str):
        spec = {"file": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
        raise ScenarioError(f"{where}expected a file name or {{file, parameter_set}}")
    chosen = parameter_set if parameter_set is not None else spec.get("parameter_set")
    try:
        ssp = scenario_data(read_ssp(source.path.parent / spec["file"]), chosen)
    except ScenarioError as err:
        raise ScenarioError(f"{where}{err}") from None
    merged = dict(data)
    own_units = data.get("units") or {}
    clash = sorted(set(own_units) & set(ssp["units"]))
    if clash:
        raise ScenarioError(f"{where}units named in the SSP and in the file: {', '.join(clash)}")
    merged["units"] = {**ssp["units"], **own_units}
    merged["connections"] = ssp["connections"] + list(data.get("connections") or [])
    for key in ("experiment", "algorithm"):
        if key not in data and key in ssp:
            merged[key] = ssp[key]
    return Located(source.path, source.text, merged, source.lines)


def _yaml(data: dict[str, Any]) -> str:
    from ruamel.yaml import YAML

    out = io.StringIO()
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()
