"""Shared fixtures: product FMUs are built once per test session, into a temporary folder."""

import pytest


@pytest.fixture(scope="session")
def battery_fmu(tmp_path_factory):
    """Path of a freshly built BatteryTwin.fmu."""
    from battery_fmu.build import build_fmu

    return build_fmu(tmp_path_factory.mktemp("fmus"))
