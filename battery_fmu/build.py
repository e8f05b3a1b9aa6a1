"""Build ``BatteryTwin.fmu``: pythonfmu packaging plus the units pythonfmu does not write.

The FMU carries this package in its ``resources/`` so it runs wherever numpy is installed;
pythonfmu's ``Real`` has no unit field, so :func:`add_units` writes ``unit=`` on every Real
and the ``<UnitDefinitions>`` (base-unit exponents from the project's unit registry).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
FMU_NAME = "BatteryTwin.fmu"
# Files of this package the FMU does not need at run time.
_NOT_IN_FMU = {
    "cli.py", "build.py", "build_fmi3.py", "life.py", "unit.py", "demo.py", "fmu_shim.c", "data", "native",
    "__pycache__",
}


def build_fmu(out_dir: str | Path = "fmus") -> Path:
    """Build the battery FMU into ``out_dir`` and return its path."""
    from pythonfmu.builder import FmuBuilder

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evtwin_fmu_") as tmp:
        stage = Path(tmp)
        package, script = _stage_model(stage)
        forget_staged(package)  # cached by an FMU of the same content run here before, its folder gone
        try:
            built = Path(FmuBuilder.build_FMU(
                script, dest=out_dir / FMU_NAME, project_files=[package],
                canGetAndSetFMUstate=True, canSerializeFMUstate=True,
            ))
        finally:
            forget_staged(package)
        shim = _compile_shim(stage)
        if shim is not None:
            _insert_shim(built, shim)
    return built


def _stage_model(
    stage: Path, slave_module: str = "fmu_slave.py", script_name: str = "battery_twin"
) -> tuple[Path, Path]:
    """Copy the model package under a name unique to its content, and the slave module beside it.

    In a Python host (fmpy, evtwin itself) an FMU's modules share the interpreter's module cache
    with the host and with other FMUs: under the plain name ``battery_fmu`` an FMU built from an
    older version would run whatever ``battery_fmu`` the host had imported, against its own model
    description. A content-hashed package name (``evtwin_battery_<hash>``) keeps each build's code
    with its description. The slave module goes to ``resources/`` top level, where pythonfmu
    finds the class by parsing the file.
    """
    files = sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file() and not _excluded(p))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0" + path.read_bytes())
    tag = digest.hexdigest()[:12]
    name = f"evtwin_battery_{tag}"
    package = stage / name
    for path in files:
        target = package / path.relative_to(PACKAGE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            target.write_text(_renamed(path.read_text(encoding="utf-8"), name), encoding="utf-8")
        else:
            shutil.copy2(path, target)
    slave = package / slave_module
    script = stage / f"{script_name}_{tag}.py"
    slave.rename(script)
    return package, script


def forget_staged(package: Path) -> None:
    """Drop the staged package's modules from this interpreter's module cache.

    The builder imports the slave (and so the staged package) to read its model description; the
    stage is deleted afterwards, and a later build of the same content (the FMI 3.0 FMU after the FMI 2.0
    one) would find the package cached with its folder gone and fail on its first submodule import. An
    FMU of the same content run in this interpreter (fmpy in-process) caches it too, from its extraction
    folder, which is gone once the FMU is freed: so builds forget it before as well as after.
    """
    import sys

    for name in [m for m in sys.modules if m == package.name or m.startswith(package.name + ".")]:
        del sys.modules[name]


def _excluded(path: Path) -> bool:
    rel = path.relative_to(PACKAGE_DIR).parts
    return rel[0] in _NOT_IN_FMU or "__pycache__" in rel


def _renamed(source: str, package: str) -> str:
    return re.sub(r"\bbattery_fmu\b", package, source)


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
    subprocess.run([gcc, "-shared", "-fPIC", "-O2", f"-I{headers}", *_libpython_defines(), "-o", str(out),
                    str(PACKAGE_DIR / "fmu_shim.c"), "-ldl"], check=True, capture_output=True, text=True)
    return out


def _libpython_defines() -> list[str]:
    """The building Python's shared library, which the shim loads where a C host has no Python."""
    import sysconfig

    soname = sysconfig.get_config_var("INSTSONAME") or ""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    library = Path(libdir) / soname
    defines = [f'-DEVTWIN_LIBPYTHON_SONAME="{soname}"'] if soname.startswith("libpython") else []
    if defines and library.is_file():
        defines.append(f'-DEVTWIN_LIBPYTHON="{library}"')
    return defines


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
