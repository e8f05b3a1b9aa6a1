"""Build ``BatteryTwin.fmu``: pythonfmu packaging plus the units pythonfmu does not write.

The FMU carries this package in its ``resources/`` so it runs wherever numpy is installed;
pythonfmu's ``Real`` has no unit field, so :func:`add_units` writes ``unit=`` on every Real
and the ``<UnitDefinitions>`` (base-unit exponents from the project's unit registry).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement

PACKAGE_DIR = Path(__file__).parent
FMU_NAME = "BatteryTwin.fmu"
# Files of this package the FMU does not need at run time.
_NOT_IN_FMU = {"cli.py", "build.py", "life.py", "unit.py", "data", "__pycache__"}


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


def build_fmu(out_dir: str | Path = "fmus") -> Path:
    """Build the battery FMU into ``out_dir`` and return its path."""
    from pythonfmu.builder import FmuBuilder

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evtwin_fmu_") as tmp:
        stage = Path(tmp)
        package = stage / "battery_fmu"
        shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns(*_NOT_IN_FMU))
        # The slave module goes to resources/ top level (pythonfmu finds the class by parsing it);
        # the rest of the package beside it, without the slave file.
        script = package / "fmu_slave.py"
        built = FmuBuilder.build_FMU(
            script, dest=out_dir / FMU_NAME, project_files=[package],
            canGetAndSetFMUstate=True, canSerializeFMUstate=True,
        )
    return Path(built)


def build(out_dir: str | Path = "fmus") -> Path:
    """Entry point for the engine's ``evtwin.fmu_builders`` group."""
    return build_fmu(out_dir)
