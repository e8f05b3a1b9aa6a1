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


@pytest.fixture(params=["c", "python"])
def engine(request, monkeypatch):
    """Runs a test twice: its masters step on the C core, then on the generated Python loop
    (``$EVTWIN_ENGINE``, which ``evtwin`` subprocesses inherit). Used by the tests whose runs reach the
    C core; everything they check must hold on both."""
    from cosim.master import native

    monkeypatch.setenv("EVTWIN_ENGINE", request.param)
    ran = []
    run_segment = native.NativeCore.run_segment

    def counted(core, *args, **kwargs):
        ran.append(core)
        return run_segment(core, *args, **kwargs)

    monkeypatch.setattr(native.NativeCore, "run_segment", counted)
    yield request.param
    if request.param == "python":
        assert not ran, "EVTWIN_ENGINE=python, yet a segment ran on the C core"
