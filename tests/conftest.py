"""Shared fixtures: product FMUs are built once per test session, into a temporary folder."""

import os

# One BLAS thread, as the command line runs (cosim.cli.main): the engine's linear algebra is tiny,
# and OpenBLAS's worker threads have aborted the interpreter at exit ("free(): corrupted unsorted
# chunks" while joining them) after many FMU libraries were loaded into the process.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def battery_fmu(tmp_path_factory):
    """Path of a freshly built BatteryTwin.fmu."""
    from battery_fmu.build import build_fmu

    return build_fmu(tmp_path_factory.mktemp("fmus"))


_exit_status = {"code": 0}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # The report is printed by now. End the process as the command line does (cosim.cli.leave):
    # the test process loads dozens of FMU binaries next to numpy, CasADi and torch, and the C
    # libraries' exit handlers sometimes abort it afterwards, turning a green run into status 134.
    from cosim.cli import leave

    leave(_exit_status["code"])
