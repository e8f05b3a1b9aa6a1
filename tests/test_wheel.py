"""The built wheel, installed into a fresh virtual environment, runs the quickstart from an empty folder.

What a user without a clone has: no scenarios/ or fmus/src/ beside them, only the package. The wheel is
built once from a copy of the work tree (without the venv, built FMUs or results) and pip installs it,
offline, into a new venv. Its dependencies are not downloaded again: the new venv sees exactly the
distributions the wheel's own metadata requires (their closure, taken from this environment), so a
module the package imports but does not declare is missing there as it would be for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[1]
_NOT_SOURCES = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__",
                                      "*.fmu", ".pytest_cache", ".hypothesis", ".ruff_cache", "*.h5")


def NOT_SOURCES(folder, names):
    """Build outputs and run results (the top-level results/, not the cosim.results package)."""
    skipped = set(_NOT_SOURCES(folder, names))
    if Path(folder) == ROOT and "results" in names:
        skipped.add("results")
    return skipped


def _run(cmd, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}: exit {done.returncode}\n{done.stdout[-2000:]}\n" \
                                 f"{done.stderr[-4000:]}"
    return done


def required_distributions(wheel: Path) -> set[str]:
    """The distributions the wheel needs at run time: its ``Requires-Dist`` without extras, and theirs."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        pending = Parser().parsestr(z.read(name).decode()).get_all("Requires-Dist") or []
    needed: set[str] = set()
    while pending:
        req = Requirement(pending.pop())
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = canonicalize_name(req.name)
        if key not in needed:
            needed.add(key)
            pending += metadata.distribution(req.name).requires or []
    return needed


def link_distributions(names: set[str], folder: Path) -> None:
    """Symbolic links in ``folder`` to the top-level files and folders of the installed distributions
    ``names`` (packages, compiled extensions, their metadata), as they lie in this environment."""
    from packaging.utils import canonicalize_name

    folder.mkdir()
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) not in names:
            continue
        for top in {f.parts[0] for f in dist.files or () if f.parts[0] != ".."}:
            source = Path(dist.locate_file(top))
            if source.exists() and not (folder / top).exists() and not top.endswith(".pth"):
                (folder / top).symlink_to(source)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh venv with the wheel of this tree installed (and its dependencies)."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=NOT_SOURCES)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist",
          tmp / "src"], cwd=tmp)
    wheel, = (tmp / "dist").glob("evtwin-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], cwd=tmp)
    link_distributions(required_distributions(wheel), tmp / "dependencies")
    python = tmp / "venv" / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).stdout
    Path(site.strip(), "dependencies.pth").write_text(f"{tmp / 'dependencies'}\n")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile", "--no-deps",
          "--no-index", wheel], cwd=tmp, env=env)
    return tmp / "venv" / "bin"


def _user_env(bin_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.slow
def test_the_quickstart_runs_from_an_empty_folder(installed, tmp_path):
    env = _user_env(installed)
    where = _run([installed / "python", "-c", "import cosim, fmus, scenarios; print(cosim.__file__)"],
                 cwd=tmp_path, env=env).stdout
    assert str(installed.parent) in where and str(ROOT) not in where, "the package must come from the wheel"

    listed = _run(["evtwin", "scenarios"], cwd=tmp_path, env=env).stdout
    assert "quickstart" in listed and "charging_experiment" in listed
    _run(["evtwin", "scenarios", "copy", "quickstart", "."], cwd=tmp_path, env=env)
    summary = _run(["evtwin", "run", "quickstart.yaml"], cwd=tmp_path, env=env).stdout
    assert "distance" in summary
    assert (tmp_path / "fmus" / "BatteryTwin.fmu").is_file()
    with h5py.File(tmp_path / "results" / "quickstart.h5", "r") as f:
        assert f.attrs["status"] == b"complete"  # a fixed-size string (SWMR files gain no attributes later)
        assert f.attrs["end_time"] == 86400.0


@pytest.mark.slow
def test_the_c_fmus_and_the_shipped_profiles_come_with_the_package(installed, tmp_path):
    env = _user_env(installed)
    _run(["evtwin", "fmus", "build-c"], cwd=tmp_path, env=env)
    sources = sorted(f"{p.name}.fmu" for p in (ROOT / "fmus" / "src").iterdir() if p.is_dir())
    assert sources and sorted(p.name for p in (tmp_path / "fmus").glob("*.fmu")) == sources
    _run(["evtwin", "scenarios", "copy", "quickstart_liquid_cooling", "."], cwd=tmp_path, env=env)
    _run(["evtwin", "validate", "quickstart_liquid_cooling.yaml"], cwd=tmp_path, env=env)
    life = _run(["evtwin", "life", "personal_ev_smallbatt_week", "--years", "1", "--json"], cwd=tmp_path, env=env)
    assert '"q_final"' in life.stdout
