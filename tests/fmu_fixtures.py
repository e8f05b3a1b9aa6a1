"""FMUs for the tests, built once per session: the C FMUs of fmus/src and a pythonfmu test slave.

Imported by the FMU test modules (``from fmu_fixtures import ...``); the builds are cached here so
that several modules share one build.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_built: dict[str, Path] = {}

SLAVES = Path(__file__).parent / "slaves"


@pytest.fixture(scope="session")
def c_fmus(tmp_path_factory) -> dict[str, Path]:
    """``{name: path}`` of the C FMUs, built with ``cosim.fmu_build.build`` into a temp folder."""
    if "CoolingPlate" not in _built:
        from cosim.fmu_build import build

        for path in build(out_dir=tmp_path_factory.mktemp("c_fmus")):
            _built[path.stem] = path
    return dict(_built)


@pytest.fixture(scope="session")
def plate_fmu(c_fmus) -> Path:
    return c_fmus["CoolingPlate"]


@pytest.fixture(scope="session")
def sensor_fmu(c_fmus) -> Path:
    return c_fmus["TempSensor3"]


@pytest.fixture(scope="session")
def integrator_fmu(tmp_path_factory) -> Path:
    """The pythonfmu integrator of tests/slaves, with state get/set."""
    if "IntegratorSlave" not in _built:
        from pythonfmu.builder import FmuBuilder

        _built["IntegratorSlave"] = FmuBuilder.build_FMU(
            SLAVES / "integrator_slave.py", dest=tmp_path_factory.mktemp("py_fmus"), canGetAndSetFMUstate=True)
    return _built["IntegratorSlave"]
