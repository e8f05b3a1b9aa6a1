"""The shipped scenario with the SOH forecaster in the loop, on a short span: the usage features it makes
from the running simulation, the forecaster's answer and its interval, and the plot of both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cosim import scenario
from cosim.results import read_result
from fleet.usage import mix
from ml.dataset import FEATURES
from ml.onnx_model import OnnxModel
from ml.usage_unit import UsageFeatures

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "soh_forecast_in_loop.yaml"
MODEL = ROOT / "scenarios" / "data" / "soh_forecaster.onnx"
WEEK = 7 * 86400.0


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("loop") / "loop.h5"
    scenario.run(SCENARIO, output=out, duration=2 * WEEK + 86400.0)
    return out, read_result(out)


def _at(signal, t):
    return float(np.interp(t, signal.time, signal.values))


def test_the_weekly_features_are_those_of_the_running_simulation(run):
    _, r = run
    weeks = r["usage.distance_km"]
    assert weeks.time.tolist()[:3] == [0.0, WEEK, 2 * WEEK]
    # eleven commute trips a week (weekdays twice, Saturday once), each one pass of the commute mix
    assert weeks.values[1] == pytest.approx(11 * mix("commute")[1] / 1000.0, rel=1e-6)
    efc = r["battery.EFC"]
    assert r["usage.efc"].values[1] == pytest.approx(_at(efc, WEEK) - _at(efc, 0.0), rel=1e-6)
    assert r["usage.efc"].values[2] == pytest.approx(_at(efc, 2 * WEEK) - _at(efc, WEEK), rel=1e-6)
    soh = r["battery.SOH_capacity"]
    assert r["usage.soh"].values[7] == pytest.approx(_at(soh, WEEK), abs=1e-12)
    assert 0.0 < r["usage.soc_swing"].values[1] <= 1.0 and r["usage.fast_charge_events"].values[1] == 0.0


def test_the_forecast_is_the_model_on_the_window_of_weeks_and_the_interval_its_calibrated_width(run):
    _, r = run
    model = OnnxModel(MODEL)
    weeks = np.array([[r[f"usage.{f}"].values[k] for f in FEATURES] + [r["usage.soh"].values[7 * k]]
                      for k in (1, 2)], dtype=np.float32)
    for k in (1, 2):  # the window after week k: weeks 1..k, padded with the first
        window = np.concatenate([np.repeat(weeks[:1], model.info.history - k, axis=0), weeks[:k]])
        expected = model.run(window[None]).reshape(-1)
        day = 7 * k  # the health group is daily
        assert r["forecaster.SOH_1y"].values[day] == pytest.approx(expected[0], abs=1e-6)
        assert r["forecaster.SOH_5y"].values[day] == pytest.approx(expected[1], abs=1e-6)
        half = model.info.metrics["conformal_90"]
        assert r["forecaster.SOH_1y_upper"].values[day] - expected[0] == pytest.approx(half[0], abs=1e-6)
        assert expected[1] - r["forecaster.SOH_5y_lower"].values[day] == pytest.approx(half[1], abs=1e-6)


def test_the_plot_command_draws_the_run(run, tmp_path):
    from click.testing import CliRunner

    from ml.cli import ml

    path, _ = run
    done = CliRunner().invoke(ml, ["loop-plot", str(path), "-o", str(tmp_path / "p.png")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_a_period_of_part_days_and_an_unknown_interval_are_refused(tmp_path):
    with pytest.raises(ValueError, match="whole days"):
        UsageFeatures(period="36 h")
    text = SCENARIO.read_text().replace("interval: lower}", "interval: lowest}", 1)
    bad = tmp_path / "bad.yaml"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / MODEL.name).write_bytes(MODEL.read_bytes())
    bad.write_text(text)
    with pytest.raises(Exception, match="interval 'lowest': give lower or upper"):
        scenario.check(bad)


def test_a_copy_of_the_scenario_brings_its_model(tmp_path):
    import scenarios

    written = scenarios.copy("soh_forecast_in_loop", tmp_path)
    assert (tmp_path / "data" / MODEL.name).read_bytes() == MODEL.read_bytes()
    assert written[0].name == "soh_forecast_in_loop.yaml" and len(written) == 2
    scenario.check(written[0])  # the model it names is found beside the copy
