"""Shared fixtures: product FMUs are built once per test session, into a temporary folder."""

import pytest


@pytest.fixture(scope="session")
def battery_fmu(tmp_path_factory):
    """Path of a freshly built BatteryTwin.fmu."""
    from battery_fmu.build import build_fmu

    return build_fmu(tmp_path_factory.mktemp("fmus"))


@pytest.fixture(scope="session")
def twin_service(tmp_path_factory):
    """One ``evtwin serve`` on a fresh SQLite database for the service's tests; each test module uses
    fleets of its own (:meth:`service_server.Server.new_key`). Its log is ``twin_service.log``."""
    pytest.importorskip("fastapi")
    from service_server import Server

    folder = tmp_path_factory.mktemp("twin_service")
    server = Server(f"sqlite:///{folder / 'twin.db'}", log=folder / "server.log")
    server.db_path = folder / "twin.db"
    yield server
    server.stop()
