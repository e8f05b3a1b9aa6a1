"""The Reference FMUs (``tests/reference_fmus/``, BSD-2), built from source with gcc once per session.

Test modules load this as a plugin (``pytest_plugins = ["reference_fmus"]``). The fixture
``reference_fmu(name, fmi_version)`` returns the path of ``<name>.fmu`` for FMI 2 or 3, built on
first use. The compile mirrors the project's CMakeLists: the model, the FMI function layer and
the co-simulation solver in one shared library, ``FMI_VERSION`` and ``DISABLE_PREFIX`` defined.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

SOURCE = Path(__file__).parent / "reference_fmus"
MODELS = ("BouncingBall", "Dahlquist", "Feedthrough", "Stair", "VanDerPol")
#: Models with an FMI 3.0 description only.
FMI3_ONLY = ("StateSpace",)


def build_reference_fmu(name: str, version: int, out_dir: Path) -> Path:
    """Compile ``name`` for FMI ``version`` (2 or 3) and zip it into ``out_dir/<name>-fmi<v>/<name>.fmu``."""
    import fmpy

    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the Reference FMUs (Debian: apt install gcc)")
    platform = fmpy.platform_tuple if version == 3 else fmpy.platform
    folder = out_dir / f"{name}-fmi{version}"
    library = folder / "binaries" / platform / f"{name}{fmpy.sharedLibraryExtension}"
    library.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "gcc", "-shared", "-fPIC", "-O2", "-fvisibility=hidden",
        f"-DFMI_VERSION={version}", "-DDISABLE_PREFIX",
        f"-I{SOURCE / 'include'}", f"-I{SOURCE / name}",
        str(SOURCE / name / "model.c"),
        str(SOURCE / "src" / f"fmi{version}Functions.c"),
        str(SOURCE / "src" / "cosimulation.c"),
        "-o", str(library), "-lm",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"building Reference FMU {name} (FMI {version}) failed:\n{done.stderr}")
    fmu = folder / f"{name}.fmu"
    with zipfile.ZipFile(fmu, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(SOURCE / name / f"FMI{version}.xml", "modelDescription.xml")
        zf.write(library, library.relative_to(folder).as_posix())
    return fmu


def reference_results(name: str) -> dict[str, list]:
    """The model's published reference results (``<name>_out.csv``) as columns of text."""
    with open(SOURCE / name / f"{name}_out.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return {column: [row[i] for row in body] for i, column in enumerate(header)}


@pytest.fixture(scope="session")
def reference_fmu(tmp_path_factory):
    """``reference_fmu(name, version=2)``: path of the built Reference FMU (cached per session)."""
    out = tmp_path_factory.mktemp("reference_fmus")
    built: dict[tuple[str, int], Path] = {}

    def get(name: str, version: int = 2) -> Path:
        if (name, version) not in built:
            built[name, version] = build_reference_fmu(name, version, out)
        return built[name, version]

    return get
