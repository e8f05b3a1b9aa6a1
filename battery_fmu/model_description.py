"""Units and ranges in the FMU's model description: pythonfmu's ``Real`` has no unit, min or max field.

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


def add_ranges(root: Element, ranges: dict[str, tuple[float | None, float | None]]) -> None:
    """Declare ``min``/``max`` (variable name -> bounds, None: unbounded) in a model description, in place."""
    for sv in root.iter("ScalarVariable"):
        lo, hi = ranges.get(sv.get("name"), (None, None))
        typed = sv.find("Real")
        if typed is None:
            typed = sv.find("Integer")
        if typed is None:
            continue
        as_text = repr if typed.tag == "Real" else (lambda v: str(int(v)))
        if lo is not None:
            typed.set("min", as_text(float(lo)))
        if hi is not None:
            typed.set("max", as_text(float(hi)))
