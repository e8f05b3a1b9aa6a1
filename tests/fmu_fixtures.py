"""FMUs for the tests, built once per session: the C FMUs of fmus/src and a pythonfmu test slave.

Test modules load this as a plugin (``pytest_plugins = ["fmu_fixtures"]``), so the session
fixtures are shared by all of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SLAVES = Path(__file__).parent / "slaves"


@pytest.fixture(scope="session")
def c_fmus(tmp_path_factory) -> dict[str, Path]:
    """``{name: path}`` of the C FMUs, built with ``fmus.build_c.build`` into a temp folder."""
    from fmus.build_c import build

    return {path.stem: path for path in build(out_dir=tmp_path_factory.mktemp("c_fmus"))}


@pytest.fixture(scope="session")
def plate_fmu(c_fmus) -> Path:
    return c_fmus["CoolingPlate"]


@pytest.fixture(scope="session")
def sensor_fmu(c_fmus) -> Path:
    return c_fmus["TempSensor3"]


@pytest.fixture(scope="session")
def integrator_fmu(tmp_path_factory) -> Path:
    """The pythonfmu integrator of tests/slaves, with state get/set."""
    from pythonfmu.builder import FmuBuilder

    return FmuBuilder.build_FMU(
        SLAVES / "integrator_slave.py", dest=tmp_path_factory.mktemp("py_fmus"), canGetAndSetFMUstate=True
    )
