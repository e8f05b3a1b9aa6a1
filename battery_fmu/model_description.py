"""Units in the FMU's model description: pythonfmu's ``Real`` has no unit field.

Called by the slave's ``to_xml`` when the FMU is built (the import of the project's unit
registry happens then, in the building environment, never inside a running FMU).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement


def add_units(root: Element, units: dict[str, str]) -> None:
    """Declare ``units`` (variable name -> unit symbol) in a model description tree, in place."""
    from cosim import si

    used: dict[str, si.Unit] = {}
    for sv in root.iter("ScalarVariable"):
        symbol = units.get(sv.get("name"))
        real = sv.find("Real")
        if real is None or symbol in (None, "1"):
            continue
        real.set("unit", symbol)
        used[symbol] = si.parse(symbol)
    if not used:
        return
    definitions = Element("UnitDefinitions")
    for symbol, unit in sorted(used.items()):
        node = SubElement(definitions, "Unit", name=symbol)
        attrs = {n: str(e) for n, e in zip(si.BASE_NAMES, unit.exponents) if e}
        if unit.factor != 1.0:
            attrs["factor"] = repr(unit.factor)
        if unit.offset != 0.0:
            attrs["offset"] = repr(unit.offset)
        SubElement(node, "BaseUnit", attrs)
    # Schema order: ModelExchange?, CoSimulation?, UnitDefinitions?, TypeDefinitions?, LogCategories?, ...
    children = list(root)
    position = next(i for i, c in enumerate(children) if c.tag not in ("ModelExchange", "CoSimulation"))
    root.insert(position, definitions)
