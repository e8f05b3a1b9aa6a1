"""``GET /vehicles/{id}/forecast`` from a real server running a trained, exported forecaster.

The forecaster is a small forest trained on a fleet table of daily periods (so a few simulated days of
telemetry fill its window); the vehicle's telemetry is coarse (a sample every 30 s on the road, hourly
parked) to keep the twin's work small.
"""

import pytest
from ml_fleet import write_fleet
from service_server import T0, Server

HISTORY, HORIZONS = 3, (5, 10)


@pytest.fixture(scope="module")
def forecaster(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sklearn")
    from ml.dataset import build
    from ml.export import export
    from ml.task import Task
    from ml.training import load_models, train

    root = tmp_path_factory.mktemp("forecaster")
    write_fleet(root / "fleet", vehicles=9, days=60)
    ds = build(root / "fleet", period_days=1)
    task = Task(history=HISTORY, horizons=HORIZONS, stride=2)
    tiny = {"forest": {"n_estimators": 10, "max_depth": 4}}
    train(ds, root / "models", task, models=("forest",), config=tiny, say=lambda _: None)
    meta, models = load_models(root / "models")
    (path,) = export(meta, models, root / "onnx")
    return path


@pytest.fixture(scope="module")
def client(forecaster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast_service")
    server = Server(f"sqlite:///{folder / 'twin.db'}", log=folder / "server.log",
                    extra=("--forecast-model", str(forecaster)))
    with server.client(server.new_key("forecasts")) as c:
        yield c
    server.stop()


def _send(client, vehicle: str, samples: list[dict]) -> None:
    r = client.post(f"/vehicles/{vehicle}/telemetry", json={"samples": samples})
    assert r.status_code == 200, r.text


def test_a_forecast_needs_whole_periods_then_falls_within_its_interval(client):
    from service.simulated_telemetry import SimulatedVehicle

    r = client.put("/vehicles/car", json={"preset": "model3_rwd_lfp", "soc_init": 0.8})
    assert r.status_code in (200, 201)
    car = SimulatedVehicle("model3_rwd_lfp", soc=0.8, ambient_degC=15.0, seed=3, t0=T0)
    sent = 0
    for day in range(HISTORY + 1):
        car.drive("udds", dt=30.0)
        car.park(T0 + (day + 0.75) * 86400.0 - car.t, sample_every=3600.0)
        car.charge(11e3, until_soc=0.8, sample_every=600.0)
        car.park(T0 + (day + 1) * 86400.0 + 60.0 - car.t, sample_every=3600.0)
        _send(client, "car", car.samples[sent:])
        sent = len(car.samples)
        if day == 0:
            r = client.get("/vehicles/car/forecast")
            assert r.status_code == 503
            assert f"needs {HISTORY} whole periods of 1 days" in r.json()["detail"], r.text
            assert r.json()["detail"].endswith("has 1")
    r = client.get("/vehicles/car/forecast")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["features_from"] == "telemetry" and out["model"] == "forest"
    soh, lower, upper = out["soh"], out["lower"], out["upper"]
    assert len(soh) == len(HORIZONS) == len(out["t"])
    assert out["t"] == sorted(out["t"]) and out["t"][0] > car.t
    assert all(0.0 <= x <= 1.0 for x in soh + lower + upper)
    # The service passes the model's answers on as they are (clipped to [0, 1]): a forecaster that lets
    # capacity come back over its horizons fails here.
    assert all(a >= b for a, b in zip(soh, soh[1:], strict=False))
    assert all(lo <= s <= hi for lo, s, hi in zip(lower, soh, upper, strict=True))
    state = client.get("/vehicles/car/state").json()
    assert state["soh_capacity"] - 0.05 < soh[-1] <= soh[0] <= state["soh_capacity"] + 0.01
