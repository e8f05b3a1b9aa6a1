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
