"""A scenario's FMU part as an SSP 1.0 package: ``evtwin ssp export SCENARIO -o system.ssp``.

Each FMU unit becomes a component (its FMU copied to ``resources/<unit>.fmu``) with a connector for
each port (kind, type, unit); each connection between FMUs a connection (a gain or offset as a linear
transformation); the units' parameters the inline parameter set ``scenario``; the experiment and the
algorithm the default experiment (the algorithm as an evtwin annotation). A ``constant`` unit feeding
an FMU input becomes that input's value in the parameter set. What SSP cannot say (other built-in
units, ``delay``, ``transfer: mean``, ``every``) is left out and listed in the notes returned.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosim.connection import coefficients
from cosim.ssp.reader import ANNOTATION, EVTWIN, FMU_TYPE, SSC, SSD, SSV

#: The parameter set the scenario's own values go to.
SCENARIO_SET = "scenario"
KINDS = {"input": "input", "output": "output", "parameter": "parameter"}

for _prefix, _uri in (("ssd", SSD), ("ssc", SSC), ("ssv", SSV), ("evtwin", EVTWIN)):
    ET.register_namespace(_prefix, _uri)


def export_ssp(
    plan: Any, out: str | Path, extra_sets: Mapping[str, Mapping[str, Mapping[str, Any]]] = ()
) -> list[str]:
    """Write the FMU part of a checked scenario (:func:`cosim.scenario.check`) to ``out``; the notes.

    ``extra_sets``: more named parameter sets, {set: {unit: {parameter: value}}}.
    """
    model = plan.model
    fmus = [name for name, up in plan.units.items() if up.kind == "fmu"]
    notes = [f"unit {name!r} is not an FMU: left out" for name, up in plan.units.items() if up.kind != "fmu"]
    values: dict[str, dict[str, Any]] = {name: dict(plan.units[name].parameters) for name in fmus}
    kept = []
    for c in plan.connections:
        if c.source_unit in fmus and c.target_unit in fmus:
            kept.append(c)
            if c.delay or c.transfer != "last":
                notes.append(f"connection {c.source} -> {c.target}: 'delay'/'transfer' cannot be said in SSP")
        elif c.target_unit in fmus and _is_constant(model, c.source_unit):
            src = plan.units[c.source_unit].ports[c.source_port]
            g, o = coefficients(c, src, plan.units[c.target_unit].ports[c.target_port])
            values[c.target_unit][c.target_port] = src.start * g + o
            notes.append(
                f"constant {c.source} -> {c.target}: the input's value in parameter set {SCENARIO_SET!r}"
            )
        elif c.source_unit in fmus or c.target_unit in fmus:
            notes.append(f"connection {c.source} -> {c.target}: one end is not an FMU: left out")
    for name in fmus:
        if plan.units[name].every != 1:
            notes.append(f"unit {name!r}: 'every' cannot be said in SSP: it steps every macro step there")
    sets = {SCENARIO_SET: values, **{k: dict(v) for k, v in dict(extra_sets).items()}}
    root = _structure(plan, fmus, kept, sets)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("SystemStructure.ssd", ET.tostring(root, encoding="utf-8", xml_declaration=True))
        for name in fmus:
            archive.write(_fmu_path(plan, name), f"resources/{name}.fmu")
    return notes


def _is_constant(model: Any, unit: str) -> bool:
    spec = model.units.get(unit)
    return spec is not None and spec.type == "constant"


def _fmu_path(plan: Any, name: str) -> Path:
    return (plan.source.path.parent / plan.model.units[name].fmu).resolve()


def _structure(plan: Any, fmus: list[str], connections: list, sets: dict) -> ET.Element:
    name = plan.source.path.stem
    root = ET.Element(f"{{{SSD}}}SystemStructureDescription", {"version": "1.0", "name": name})
    system = ET.SubElement(root, f"{{{SSD}}}System", {"name": name})
    elements = ET.SubElement(system, f"{{{SSD}}}Elements")
    for unit in fmus:
        _component(elements, unit, plan.units[unit].ports, sets)
    links = ET.SubElement(system, f"{{{SSD}}}Connections")
    for c in connections:
        attrs = {
            "startElement": c.source_unit,
            "startConnector": c.source_port,
            "endElement": c.target_unit,
            "endConnector": c.target_port,
        }
        node = ET.SubElement(links, f"{{{SSD}}}Connection", attrs)
        if (c.gain, c.offset) != (1.0, 0.0):
            ET.SubElement(
                node, f"{{{SSC}}}LinearTransformation", {"factor": repr(c.gain), "offset": repr(c.offset)}
            )
    _experiment(root, plan)
    return root


def _component(elements: ET.Element, unit: str, ports: Mapping[str, Any], sets: dict) -> None:
    node = ET.SubElement(
        elements, f"{{{SSD}}}Component", {"name": unit, "type": FMU_TYPE, "source": f"resources/{unit}.fmu"}
    )
    connectors = ET.SubElement(node, f"{{{SSD}}}Connectors")
    for port in ports.values():
        connector = ET.SubElement(
            connectors, f"{{{SSD}}}Connector", {"name": port.name, "kind": KINDS[port.causality]}
        )
        kind = port.type if port.type in ("Real", "Integer", "Boolean", "String") else "Real"
        attrs = {"unit": port.unit} if kind == "Real" and port.unit not in ("", "1") else {}
        ET.SubElement(connector, f"{{{SSC}}}{kind}", attrs)
    bindings = [(set_name, values[unit]) for set_name, values in sets.items() if values.get(unit)]
    if not bindings:
        return
    holder = ET.SubElement(node, f"{{{SSD}}}ParameterBindings")
    for set_name, values in bindings:
        binding = ET.SubElement(holder, f"{{{SSD}}}ParameterBinding")
        parameter_values = ET.SubElement(binding, f"{{{SSD}}}ParameterValues")
        parameter_set = ET.SubElement(
            parameter_values, f"{{{SSV}}}ParameterSet", {"version": "1.0", "name": set_name}
        )
        parameters = ET.SubElement(parameter_set, f"{{{SSV}}}Parameters")
        for pname, value in values.items():
            p = ET.SubElement(parameters, f"{{{SSV}}}Parameter", {"name": pname})
            ET.SubElement(p, f"{{{SSV}}}{_ssv_type(value)}", {"value": _text(value)})


def _ssv_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, str):
        return "String"
    return "Real"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


def _experiment(root: ET.Element, plan: Any) -> None:
    attrs = {"startTime": repr(float(plan.start)), "stopTime": repr(float(plan.start + plan.duration))}
    node = ET.SubElement(root, f"{{{SSD}}}DefaultExperiment", attrs)
    annotations = ET.SubElement(node, f"{{{SSD}}}Annotations")
    annotation = ET.SubElement(annotations, f"{{{SSC}}}Annotation", {"type": ANNOTATION})
    ET.SubElement(
        annotation, f"{{{EVTWIN}}}Algorithm", {"method": plan.settings.method, "step": repr(float(plan.step))}
    )
