"""The twin service's API on a real server (``evtwin serve`` on loopback, SQLite): keys, fleet scope,
telemetry idempotence and checks, limits, the stateless step, and what the logs keep."""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys

import pytest

pytest.importorskip("fastapi")
from service_server import PACK, T0, samples  # noqa: E402

from battery_fmu.model import BatteryPack  # noqa: E402
from battery_fmu.parameters import load_cell  # noqa: E402
from service.api_models import MAX_BATCH  # noqa: E402
from service.store import LATE_WINDOW_S  # noqa: E402

needs_twin = pytest.mark.skipif(
    importlib.util.find_spec("service.twin") is None,
    reason="the live twin (service.twin) is not in this tree",
)


def _key(db_url: str, fleet: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "cosim.cli", "service", "key", "create", fleet, "--db", db_url],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(twin_service):
    # One key from the command line as a user makes it, the other through the library.
    twin_service.keys = {"alpha": _key(twin_service.db_url, "alpha"), "beta": twin_service.new_key("beta")}
    return twin_service


@pytest.fixture(scope="module")
def alpha(server):
    with server.client(server.keys["alpha"]) as c:
        yield c


@pytest.fixture(scope="module")
def beta(server):
    with server.client(server.keys["beta"]) as c:
        yield c


def test_keys_are_stored_hashed(server):
    con = sqlite3.connect(server.db_path)
    stored = " ".join(str(v) for row in con.execute("SELECT * FROM api_keys") for v in row)
    con.close()
    for key in server.keys.values():
        secret = key.rsplit("_", 1)[1]
        assert key.startswith("evt_") and secret not in stored


def test_open_routes_and_keyed_routes(server, alpha):
    with server.client() as anonymous:
        for path in ("/health", "/openapi.json", "/docs", "/"):
            assert anonymous.get(path).status_code == 200, path
        assert anonymous.get("/fleet").status_code == 401
        assert anonymous.post("/step", json={"dt_s": 1, "current_A": 1}).status_code == 401
    with server.client("evt_000000000000_" + "A" * 43) as wrong:
        assert wrong.get("/fleet").status_code == 401
    assert alpha.get("/fleet").status_code == 200


@needs_twin
def test_a_key_sees_only_its_fleet(alpha, beta):
    assert alpha.put("/vehicles/scoped", json={"pack": PACK}).status_code == 201
    theirs, absent = beta.get("/vehicles/scoped/state"), beta.get("/vehicles/nowhere/state")
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["detail"].replace("scoped", "X") == absent.json()["detail"].replace("nowhere", "X")
    assert beta.post("/vehicles/scoped/telemetry", json={"samples": samples(3)}).status_code == 404
    assert beta.get("/vehicles/scoped/alerts").status_code == 404
    assert "scoped" not in beta.get("/fleet").text
    assert [v["vehicle_id"] for v in alpha.get("/fleet").json()["vehicles"]].count("scoped") == 1
    # The same id in another fleet is another vehicle.
    assert beta.put("/vehicles/scoped", json={"preset": "model3_rwd_lfp"}).status_code == 201
    assert alpha.put("/vehicles/scoped", json={"pack": PACK}).status_code == 200
    assert alpha.put("/vehicles/scoped", json={"pack": {**PACK, "n_series": 96}}).status_code == 409


@needs_twin
def test_telemetry_is_idempotent_and_checked_per_sample(alpha):
    assert alpha.put("/vehicles/car1", json={"pack": PACK, "soc_init": 0.8}).status_code == 201
    batch = samples(200)
    first = alpha.post("/vehicles/car1/telemetry", json={"samples": batch})
    assert first.status_code == 200 and first.json() == {"accepted": 200, "duplicates": 0}
    again = alpha.post("/vehicles/car1/telemetry", json={"samples": batch})
    assert again.json() == {"accepted": 0, "duplicates": 200}

    bad = samples(10, t0=T0 + 200)
    bad[3]["voltage_V"] = 9000.0
    bad[6]["t"] = bad[5]["t"] - 0.5  # out of order within the batch
    r = alpha.post("/vehicles/car1/telemetry", json={"samples": bad})
    assert r.status_code == 422
    body = r.json()
    assert [p["loc"] for p in body["detail"]] == [
        ["body", "samples", 3, "voltage_V"],
        ["body", "samples", 6, "t"],
    ]
    assert body["accepted"] == 8 and "9000" in body["detail"][0]["msg"]

    state = alpha.get("/vehicles/car1/state").json()
    assert state["samples_stored"] == 208 and state["last_sample_t"] == bad[-1]["t"]
    for name in ("soc", "soc_std", "soh_capacity", "soh_resistance", "temperature_degC", "efc"):
        assert isinstance(state[name], float), name


@needs_twin
def test_late_samples_within_the_window_are_accepted(alpha):
    assert alpha.put("/vehicles/late", json={"pack": PACK}).status_code == 201
    batch = samples(120, dt=10.0)
    on_time, held_back = batch[::2], batch[1::2]
    assert alpha.post("/vehicles/late/telemetry", json={"samples": on_time}).json()["accepted"] == 60
    late = alpha.post("/vehicles/late/telemetry", json={"samples": held_back})
    assert late.json() == {"accepted": 60, "duplicates": 0}
    newest = batch[-1]["t"]  # the last held-back sample
    too_old = samples(1, t0=newest - LATE_WINDOW_S - 1.0)
    r = alpha.post("/vehicles/late/telemetry", json={"samples": too_old})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "too_late"
    # A retry of a batch longer than the window (a day uploaded at once): what is stored already is a
    # duplicate, however old; what is not is still too late.
    assert alpha.put("/vehicles/upload", json={"pack": PACK}).status_code == 201
    day = samples(40, dt=2 * LATE_WINDOW_S / 39)
    assert alpha.post("/vehicles/upload/telemetry", json={"samples": day}).json()["accepted"] == 40
    retry = alpha.post("/vehicles/upload/telemetry", json={"samples": day})
    assert retry.status_code == 200 and retry.json() == {"accepted": 0, "duplicates": 40}
    gap = {**day[0], "t": (day[0]["t"] + day[1]["t"]) / 2}
    r = alpha.post("/vehicles/upload/telemetry", json={"samples": [gap, *day[1:]]})
    assert r.status_code == 422 and [p["type"] for p in r.json()["detail"]] == ["too_late"]
    assert r.json()["duplicates"] == 39
    state = alpha.get("/vehicles/late/state").json()
    assert state["samples_stored"] == 120 and state["last_sample_t"] == newest


@needs_twin
def test_the_same_data_late_or_in_order_gives_the_same_twin(alpha):
    batch = samples(300, dt=5.0, current_A=60.0)
    for vid, batches in (("ordered", [batch]), ("shuffled", [batch[100:], batch[:100]])):
        assert alpha.put(f"/vehicles/{vid}", json={"pack": PACK, "soc_init": 0.7}).status_code == 201
        for b in batches:
            assert alpha.post(f"/vehicles/{vid}/telemetry", json={"samples": b}).status_code == 200
    a, b = alpha.get("/vehicles/ordered/state").json(), alpha.get("/vehicles/shuffled/state").json()
    for name in ("soc", "soc_std", "soh_capacity", "soh_resistance", "temperature_degC", "last_sample_t"):
        assert a[name] == pytest.approx(b[name], rel=1e-9, abs=1e-12), name


def test_limits(server, alpha):
    too_many = alpha.post("/vehicles/car1/telemetry", json={"samples": samples(MAX_BATCH + 1)})
    assert too_many.status_code == 422 and "samples" in too_many.text
    huge = alpha.post(
        "/vehicles/car1/telemetry",
        content=b'{"samples": [' + b" " * 3_000_000 + b"]}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_step_delivers_the_power_asked_on_the_twins_step(alpha):
    r = alpha.post("/step", json={"pack": PACK, "power_W": 30_000.0, "dt_s": 10.0, "state": {"soc": 0.6}})
    assert r.status_code == 200
    out, state = r.json()["outputs"], r.json()["state"]
    assert out["power_W"] == pytest.approx(30_000.0, rel=1e-9)
    # Charge conservation: SOC falls by the charge drawn over the cell capacity.
    assert 0.6 - state["soc"] == pytest.approx(out["current_A"] * 10.0 / (220.0 * 3600.0), rel=1e-9)
    # The battery twin's own pack model from the same state gives the same step.
    pack = BatteryPack(load_cell("lfp_220ah", 220.0), n_series=106, soc=0.6)
    pack.step(10.0, 30_000.0, 0.0, 298.15)
    assert out["voltage_V"] == pytest.approx(pack.voltage, rel=1e-9)
    assert state["t_cell_K"] == pytest.approx(pack.t_cell, rel=1e-12)
    charge = alpha.post("/step", json={"preset": "model3_rwd_lfp", "current_A": -1e5 + 1, "dt_s": 60.0})
    assert charge.json()["outputs"]["limited"] is True
    assert alpha.post("/step", json={"pack": PACK, "dt_s": 1.0}).status_code == 422
    assert (
        alpha.post(
            "/step", json={"pack": {"parameter_set": "../x"}, "dt_s": 1.0, "current_A": 1.0}
        ).status_code
        == 422
    )


@needs_twin
def test_forecast_without_a_model_says_what_is_missing(alpha):
    r = alpha.get("/vehicles/car1/forecast")
    assert r.status_code == 503 and "--forecast-model" in r.json()["detail"]
    assert alpha.get("/vehicles/none/forecast").status_code == 404


@needs_twin
def test_logs_hold_no_key_and_no_telemetry(server, alpha):
    assert alpha.put("/vehicles/logged", json={"pack": PACK}).status_code == 201
    marked = samples(5)
    for s in marked:
        s["voltage_V"] = 347.123456789
    alpha.post("/vehicles/logged/telemetry", json={"samples": marked})
    alpha.post("/vehicles/logged/telemetry", json={"samples": [{**marked[0], "voltage_V": 98765.4321}]})
    log = server.log.read_text()
    assert "POST /vehicles/logged/telemetry" in log  # the access log is there
    for secret in (
        *server.keys.values(),
        *(k.split("_", 2)[2] for k in server.keys.values()),  # evt_<id>_<secret>: the secret may hold "_"
        "347.123456789",
        "98765.4321",
    ):
        assert secret not in log


def test_command_line_errors_are_one_line(tmp_path):
    cases = {
        "serve --db mysql://somewhere/x": "sqlite:///PATH and postgresql://",
        f"service key create bad! --db sqlite:///{tmp_path}/k.db": "fleet name 'bad!'",
    }
    for args, named in cases.items():
        done = subprocess.run(
            [sys.executable, "-m", "cosim.cli", *args.split()], capture_output=True, text=True, timeout=120
        )
        last = done.stderr.strip().splitlines()[-1]
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        assert last.lower().startswith("error") and named in last, done.stderr
