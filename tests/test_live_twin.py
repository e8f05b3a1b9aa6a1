"""The live twin's interface: building it, feeding it, saving and restoring it, and refusing bad input."""

from __future__ import annotations

import json

import pytest

from service.simulated_telemetry import SimulatedVehicle
from service.twin import LiveTwin

PRESET = "model3_rwd_lfp"


@pytest.fixture(scope="module")
def car():
    car = SimulatedVehicle(PRESET, soc=0.6, ambient_degC=15.0, seed=3)
    car.drive("udds", dt=2.0)
    car.park(3 * 3600)
    car.drive("wltc_low")
    return car


@pytest.fixture(scope="module")
def telemetry(car):
    return car.samples


def test_state_has_the_agreed_keys_and_units(car):
    telemetry = car.samples
    twin = LiveTwin.new({"preset": PRESET}, soc_init=0.6)
    twin.ingest(telemetry)
    state = twin.state()
    assert set(state) == {"soc", "soc_std", "soh_capacity", "soh_capacity_std", "soh_resistance",
                          "soh_resistance_std", "temperature_degC", "t_boundary_degC", "efc", "last_sample_t"}
    assert state["last_sample_t"] == telemetry[-1]["t"]
    assert 0.0 <= state["soc"] <= 1.0 and state["soc_std"] > 0.0
    assert abs(state["temperature_degC"] - 15.0) < 2.0
    # EFC: the simulator's true charge throughput, against twice the nominal pack capacity. Counted from the
    # sensor, it is a little more: its noise adds to |I| at standstill (0.5 A against about 1 A of
    # auxiliaries), and the last current goes on into the first minutes of parking.
    truth = car.truth
    ah = sum(abs(b["current_A"]) * (b["t"] - a["t"]) for a, b in zip(truth, truth[1:], strict=False)) / 3600.0
    assert state["efc"] == pytest.approx(ah / (2 * 178.36), rel=0.12)


def test_a_restored_twin_continues_exactly_as_the_original(telemetry):
    half = len(telemetry) // 2
    original = LiveTwin.new({"preset": PRESET}, soc_init=0.4)
    original.ingest(telemetry[:half])
    text = original.to_json()
    json.loads(text)  # plain JSON
    restored = LiveTwin.from_json(text)
    original.ingest(telemetry[half:])
    restored.ingest(telemetry[half:])
    assert restored.state() == original.state()
    assert restored.to_json() == original.to_json()


def test_a_preset_and_its_stated_pack_are_the_same_twin(telemetry):
    from bridges.presets import get_preset

    by_preset = LiveTwin.new({"preset": PRESET}, soc_init=0.5)
    stated = LiveTwin.new(get_preset(PRESET).pack(), soc_init=0.5)
    for twin in (by_preset, stated):
        twin.ingest(telemetry[:200])
    assert by_preset.state() == stated.state()


def test_samples_not_newer_than_the_last_are_skipped(telemetry):
    twin = LiveTwin.new({"preset": PRESET}, soc_init=0.5)
    twin.ingest(telemetry[:100])
    before = twin.to_json()
    twin.ingest(telemetry[50:100])
    assert twin.skipped == 50
    assert json.loads(twin.to_json())["x"] == json.loads(before)["x"]


@pytest.mark.parametrize("pack, soc, message", [
    ({"preset": "no_such_car"}, 0.5, "unknown vehicle preset"),
    ({"n_series": 0}, 0.5, "pack.n_series"),
    ({"wheels": 4}, 0.5, "unknown field 'wheels'"),
    ({"preset": PRESET}, 1.5, "soc_init"),
])
def test_bad_packs_are_refused_naming_the_field(pack, soc, message):
    with pytest.raises(ValueError, match=message):
        LiveTwin.new(pack, soc_init=soc)


def test_a_bad_sample_is_refused_naming_its_index():
    twin = LiveTwin.new({"preset": PRESET}, soc_init=0.5)
    good = {"t": 1.0, "current_A": 0.0, "voltage_V": 350.0, "temperature_degC": 20.0}
    with pytest.raises(ValueError, match="sample 1"):
        twin.ingest([good, {"t": 2.0, "voltage_V": 350.0}])


def test_alerts_are_dicts_with_the_agreed_keys(telemetry):
    from service.alerts import evaluate_alerts

    twin = LiveTwin.new({"preset": PRESET}, soc_init=0.6)
    assert evaluate_alerts(twin) == []
    twin.ingest(telemetry)
    for alert in evaluate_alerts(twin, horizon_months=1200):
        assert set(alert) == {"kind", "severity", "message", "t"}


def test_telemetry_no_pack_produces_leaves_a_finite_estimate():
    """Readings inside the API's accepted ranges but impossible together (full-scale current for hours,
    0 V then 2 kV): the estimate stays a number inside the state's physical bounds."""
    import math
    import random

    rng = random.Random(7)
    twin = LiveTwin.new({"preset": PRESET}, 0.5)
    t = 1_767_225_600.0
    for _ in range(40):
        t += rng.choice([0.5, 600.0, 7200.0])
        twin.ingest([{"t": t, "current_A": rng.choice([-5000.0, 0.0, 5000.0]),
                      "voltage_V": rng.choice([0.0, 2000.0]),
                      "temperature_degC": rng.choice([-60.0, 150.0])}])
    state = twin.state()
    assert all(math.isfinite(state[k]) for k in ("soc", "soc_std", "soh_capacity", "soh_resistance",
                                                   "temperature_degC"))
    assert 0.0 <= state["soc"] <= 1.0 and -60.0 <= state["temperature_degC"] <= 150.0
    assert LiveTwin.from_json(twin.to_json()).state() == state
