"""Build ``BatteryTwin.fmu``: pythonfmu packaging plus the units pythonfmu does not write.

The FMU carries this package in its ``resources/`` so it runs wherever numpy is installed;
pythonfmu's ``Real`` has no unit field, so :func:`add_units` writes ``unit=`` on every Real
and the ``<UnitDefinitions>`` (base-unit exponents from the project's unit registry).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement

PACKAGE_DIR = Path(__file__).parent
FMU_NAME = "BatteryTwin.fmu"
# Files of this package the FMU does not need at run time.
_NOT_IN_FMU = {"cli.py", "build.py", "life.py", "unit.py", "demo.py", "fmu_shim.c", "data", "__pycache__"}


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
        built = Path(FmuBuilder.build_FMU(
            script, dest=out_dir / FMU_NAME, project_files=[package],
            canGetAndSetFMUstate=True, canSerializeFMUstate=True,
        ))
        shim = _compile_shim(stage)
        if shim is not None:
            _insert_shim(built, shim)
    return built


def _compile_shim(stage: Path) -> Path | None:
    """Compile fmu_shim.c for this platform (Linux), or None with a warning when gcc is missing."""
    import sys
    import warnings

    import fmpy

    gcc = shutil.which("gcc")
    if not sys.platform.startswith("linux") or gcc is None:
        warnings.warn("gcc not found: BatteryTwin.fmu keeps the bare pythonfmu binary, which reports a failing "
                      "initialisation as fmi2Discard at the first step instead of fmi2Error", stacklevel=3)
        return None
    out = stage / "shim.so"
    headers = Path(fmpy.__file__).parent / "c-code"
    subprocess.run([gcc, "-shared", "-fPIC", "-O2", f"-I{headers}", "-o", str(out), str(PACKAGE_DIR / "fmu_shim.c"),
                    "-ldl"], check=True, capture_output=True, text=True)
    return out


def _insert_shim(fmu: Path, shim: Path) -> None:
    """Put the shim at binaries/linux64/BatteryTwin.so and the pythonfmu binary beside it."""
    binary = "binaries/linux64/BatteryTwin.so"
    rebuilt = fmu.with_suffix(".tmp")
    with zipfile.ZipFile(fmu) as src, zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == binary:
                dst.writestr("binaries/linux64/BatteryTwin_pythonfmu.so", data)
                dst.write(shim, binary)
            else:
                dst.writestr(item, data)
    rebuilt.replace(fmu)


def build(out_dir: str | Path = "fmus") -> Path:
    """Entry point for the engine's ``evtwin.fmu_builders`` group."""
    return build_fmu(out_dir)
