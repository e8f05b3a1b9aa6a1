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


def test_before_a_whole_window_the_outputs_are_the_weeks_soh_with_the_files_interval(run):
    _, r = run
    half = OnnxModel(MODEL).info.metrics["conformal_90"]
    for k in (1, 2):
        day = 7 * k  # the health group is daily
        soh = r["usage.soh"].values[day]
        assert r["forecaster.SOH_1y"].values[day] == pytest.approx(soh, abs=1e-6)
        assert r["forecaster.SOH_5y"].values[day] == pytest.approx(soh, abs=1e-6)
        assert r["forecaster.SOH_1y_upper"].values[day] - soh == pytest.approx(half[0], abs=1e-6)
        assert soh - r["forecaster.SOH_5y_lower"].values[day] == pytest.approx(half[1], abs=1e-6)


def test_the_shipped_forecaster_is_the_default_trainings_forest(run):
    """The file is the default training's forest (its window, its calibrated interval) and on a whole
    window the unit's forecast is the file's own forecast of that window."""
    from ml.export import input_for
    from ml.onnx_unit import OnnxUnit
    from ml.task import Samples

    model = OnnxModel(MODEL)
    info = model.info
    assert info.kind == "forest" and len(info.metrics["conformal_90"]) == 2
    assert info.window_periods == 104 and len(info.training_data_sha256) == 64
    _, r = run
    week = [r[f"usage.{f}"].values[1] for f in FEATURES] + [r["usage.soh"].values[7]]
    columns = [*FEATURES, "soh_reported"]
    unit = OnnxUnit(MODEL, inputs={c: {} for c in columns}, outputs={"y1": {"index": 0}, "y5": {"index": 1}},
                    sample_period="7 d")
    unit.setup(0.0)
    soh = 1.0 - 0.02 * np.sqrt(np.arange(1, 105) / 52.0)  # a pack fading along sqrt(time)
    for k in range(104):
        for c, v in zip(columns, [*week[:-1], soh[k]], strict=True):
            setattr(unit, c, float(v))
        unit.do_step(k * WEEK, WEEK)
    x = np.array([[*week[:-1], s] for s in soh])[None]
    t = np.arange(1, 105)[None] * 7 / 365.0
    ahead = t[:, -1:] + np.array([52, 260]) * 7 / 365.0
    window = input_for(info.features, Samples(x, t, np.zeros((1, 2)), ahead, np.zeros(1, int), columns))
    forecast = model.run(window)
    assert [unit.y1, unit.y5] == pytest.approx(list(forecast[0]), abs=1e-6)
    # it fades on, not by years at once; a year on it may sit a little above the last report (the law's
    # level is read from the whole window), not by more than the reports' noise
    assert soh[-1] - 0.1 < unit.y5 < unit.y1 < soh[-1] + 0.005


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
