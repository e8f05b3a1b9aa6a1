"""The built wheel, installed into a fresh virtual environment, runs the quickstart from an empty folder.

What a user without a clone has: no scenarios/ or fmus/src/ beside them, only the package. The wheel is
built from a copy of the work tree (without the venv, built FMUs or results); pip installs it and its
dependencies from the package index into a new venv (pip's cache makes repeated runs quick).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh venv with the wheel of this tree installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=NOT_SOURCES)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist",
          tmp / "src"], cwd=tmp)
    wheel, = (tmp / "dist").glob("evtwin-*.whl")
    _run([sys.executable, "-m", "venv", tmp / "venv"], cwd=tmp)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    _run([tmp / "venv" / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile", wheel], cwd=tmp, env=env)
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
    assert sorted(p.name for p in (tmp_path / "fmus").glob("*.fmu")) == [
        "CoolantLoop.fmu",
        "CoolingPlate.fmu",
        "TempSensor3.fmu",
    ]
    _run(["evtwin", "scenarios", "copy", "quickstart_liquid_cooling", "."], cwd=tmp_path, env=env)
    _run(["evtwin", "validate", "quickstart_liquid_cooling.yaml"], cwd=tmp_path, env=env)
    life = _run(["evtwin", "life", "personal_ev_smallbatt_week", "--years", "1", "--json"], cwd=tmp_path, env=env)
    assert '"q_final"' in life.stdout
