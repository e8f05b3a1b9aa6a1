"""Build the FMUs written in C (``fmus/src/<Name>/``) into ``.fmu`` archives: ``evtwin fmus build-c``.

Each source folder holds a ``modelDescription.xml`` and ``sources/*.c``. The sources compile with
gcc against the FMI headers that fmpy ships (``fmpy/c-code``) into the binary folder of this
platform, and the GUID (``instantiationToken``) is passed from the model description to the
compiler, so the two cannot disagree. The compilers run in parallel; a build takes well under a
second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import click

from cosim.errors import EvtwinError

#: The source FMUs that ship with evtwin (package data of :mod:`fmus`).
DEFAULT_SOURCE_DIR = Path(__file__).resolve().parent / "src"
#: Where built FMUs go: ``fmus/`` of the current folder (the project a user works in), never the package.
DEFAULT_OUT_DIR = Path("fmus")

CFLAGS = ("-shared", "-fPIC", "-O2", "-std=c99", "-Wall", "-Wextra")


class BuildError(EvtwinError):
    """A source FMU that cannot be built."""


@dataclass(frozen=True, slots=True)
class SourceFMU:
    """A C source FMU: its folder and what its model description says about the build."""

    folder: Path
    model_identifier: str
    guid: str
    fmi_version: str

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def sources(self) -> list[Path]:
        return sorted((self.folder / "sources").glob("*.c"))


def find_sources(source_dir: str | Path = DEFAULT_SOURCE_DIR) -> list[SourceFMU]:
    """The source FMUs under ``source_dir``: each subfolder with a modelDescription.xml.

    Raises
    ------
    BuildError
        When the folder does not exist or a model description lacks what the build needs.
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise BuildError(
            f"{source_dir}: no such folder; expected the FMU sources (one folder per FMU with a "
            "modelDescription.xml and sources/*.c). Pass --src to point at them."
        )
    found = []
    for md_path in sorted(source_dir.glob("*/modelDescription.xml")):
        found.append(_read_source(md_path))
    if not found:
        raise BuildError(f"{source_dir}: no <Name>/modelDescription.xml found; nothing to build")
    return found


def _read_source(md_path: Path) -> SourceFMU:
    try:
        root = ET.parse(md_path).getroot()
    except ET.ParseError as err:
        raise BuildError(f"{md_path}: not valid XML ({err})") from None
    version = root.get("fmiVersion", "")
    guid = root.get("instantiationToken") if version.startswith("3") else root.get("guid")
    cs = root.find("CoSimulation")
    if cs is None or not cs.get("modelIdentifier") or not guid:
        raise BuildError(
            f"{md_path}: expected a co-simulation model description with a modelIdentifier "
            f"and a {'instantiationToken' if version.startswith('3') else 'guid'}"
        )
    if not (md_path.parent / "sources").is_dir():
        raise BuildError(f"{md_path.parent}: expected the C files in a 'sources' folder")
    return SourceFMU(md_path.parent, cs.get("modelIdentifier"), guid, version)


def _platform_folder(fmu: SourceFMU) -> str:
    import fmpy

    return fmpy.platform_tuple if fmu.fmi_version.startswith("3") else fmpy.platform


def _include_dir() -> Path:
    import fmpy

    return Path(fmpy.__file__).parent / "c-code"


def build(
    source_dir: str | Path = DEFAULT_SOURCE_DIR, out_dir: str | Path = DEFAULT_OUT_DIR, *, cc: str = "gcc"
) -> list[Path]:
    """Compile and package every source FMU under ``source_dir`` into ``out_dir/<Name>.fmu``.

    Parameters
    ----------
    source_dir : str or Path
        Folder of source FMUs (default: the sources shipped with evtwin, ``fmus/src``).
    out_dir : str or Path
        Where the .fmu files go (created if missing; default ``fmus/`` of the current folder).
    cc : str
        The C compiler.

    Returns
    -------
    list of Path
        The .fmu files, in the order of the source folders.

    Raises
    ------
    BuildError
        When the compiler is missing or a source fails to compile (with the compiler's messages).
    """
    sources = find_sources(source_dir)
    if shutil.which(cc) is None:
        raise BuildError(f"C compiler {cc!r} not found on PATH; install it (Debian/Ubuntu: apt install gcc)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".build-{os.getpid()}"
    include = _include_dir()
    jobs = []
    try:
        for fmu in sources:
            binary = (
                staging / fmu.name / "binaries" / _platform_folder(fmu) / (fmu.model_identifier + _suffix())
            )
            binary.parent.mkdir(parents=True, exist_ok=True)
            cmd = [
                cc,
                *CFLAGS,
                f"-I{include}",
                f'-DMODEL_GUID="{fmu.guid}"',
                *map(str, fmu.sources),
                "-o",
                str(binary),
                "-lm",
            ]
            jobs.append(
                (
                    fmu,
                    binary,
                    subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
                )
            )
        failures = []
        for fmu, _, proc in jobs:
            output, _ = proc.communicate()
            if proc.returncode != 0:
                failures.append(f"{fmu.name}: {cc} exited with status {proc.returncode}:\n{output.strip()}")
        if failures:
            raise BuildError("building the C FMUs failed\n" + "\n".join(failures))
        return [_package(fmu, binary, out_dir) for fmu, binary, _ in jobs]
    finally:
        for _, _, proc in jobs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(staging, ignore_errors=True)


def _build_named(name: str, out_dir: str | Path) -> Path:
    """Build the source FMU ``name`` (a folder of fmus/src) alone into ``out_dir``."""
    matches = [src for src in find_sources() if src.name == name]
    if not matches:
        raise BuildError(f"no source FMU {name!r} under {DEFAULT_SOURCE_DIR}")
    with_one = Path(out_dir) / f".src-{os.getpid()}"
    try:
        shutil.copytree(matches[0].folder, with_one / name)
        return build(with_one, out_dir)[0]
    finally:
        shutil.rmtree(with_one, ignore_errors=True)


def build_cooling_plate(out_dir: str | Path) -> Path:
    """``evtwin.fmu_builders`` entry for CoolingPlate.fmu: scenarios that name it build it when missing."""
    return _build_named("CoolingPlate", out_dir)


def build_coolant_loop(out_dir: str | Path) -> Path:
    """``evtwin.fmu_builders`` entry for CoolantLoop.fmu."""
    return _build_named("CoolantLoop", out_dir)


def build_temp_sensor(out_dir: str | Path) -> Path:
    """``evtwin.fmu_builders`` entry for TempSensor3.fmu."""
    return _build_named("TempSensor3", out_dir)


def _suffix() -> str:
    import fmpy

    return fmpy.sharedLibraryExtension


def _package(fmu: SourceFMU, binary: Path, out_dir: Path) -> Path:
    """Zip modelDescription.xml and the binary, written aside and renamed: readers never see half a file."""
    target = out_dir / f"{fmu.name}.fmu"
    partial = out_dir / f".{fmu.name}.fmu.{os.getpid()}.part"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(fmu.folder / "modelDescription.xml", "modelDescription.xml")
        zf.write(binary, binary.relative_to(binary.parents[2]).as_posix())
    os.replace(partial, target)
    return target


@click.group("fmus")
def fmus() -> None:
    """FMUs written in C that stand in for third-party exports."""


@fmus.command("build-c")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the .fmu files (default: fmus/ of the current folder).",
)
@click.option(
    "--src",
    "source_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of source FMUs (default: the C sources shipped with evtwin).",
)
def build_c(out_dir: Path | None, source_dir: Path | None) -> None:
    """Compile the C source FMUs with gcc and package them as .fmu files."""
    from rich.console import Console
    from rich.table import Table

    from cosim.fmu.description import read_description

    started = time.perf_counter()
    built = build(source_dir or DEFAULT_SOURCE_DIR, out_dir or DEFAULT_OUT_DIR)
    elapsed = time.perf_counter() - started
    table = Table(title=f"built {len(built)} FMUs in {elapsed:.2f} s")
    for column in ("FMU", "FMI", "variable step", "state save"):
        table.add_column(column, no_wrap=True)
    table.add_column("file", overflow="fold")
    for path in built:
        d = read_description(path)
        table.add_row(
            d.model_name, d.fmi_version, _yes(d.can_vary_step), _yes(d.can_save_state), _short(path)
        )
    Console().print(table)


def _short(path: Path) -> str:
    """The path relative to the current folder when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
