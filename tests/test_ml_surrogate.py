"""The aging surrogate (ml/data/aging_surrogate.onnx): its inputs, its accuracy against the physics, and
`evtwin ml surrogate` on a small fleet with its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fleet.spec import draw, load
from ml import surrogate as sg
from ml.onnx_model import OnnxModel
from ml.usage_draw import aging_path, daily_stressors, daily_table, usage_year

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "fleets" / "small.yaml"


@pytest.fixture(scope="module")
def model():
    return OnnxModel(sg.default_model(), features=[*sg.DAILY, *sg.VARIATION])


def _factors(v):
    return {name: v.variation.get(name, 1.0) for name in sg.VARIATION}


def test_the_fast_daily_columns_are_those_of_the_fleet_daily_summary():
    year = usage_year(load(SMALL).vehicles[4])
    fast, reference = daily_stressors(year), daily_table(year)
    assert len(reference["day"]) == sg.DAYS
    for name in (*sg.DAILY, "distance_km"):
        assert fast[name] == pytest.approx(reference[name], abs=1e-9), name


def test_the_surrogate_follows_the_aging_model_on_years_it_never_saw(model):
    fleet = load(ROOT / "ml" / "data" / "surrogate_fleet.yaml")
    held_out = [draw(fleet.model, 10_000 + i) for i in range(3)]  # past the training draws
    years = [usage_year(v) for v in held_out]
    x = sg.inputs([daily_stressors(y) for y in years], [_factors(v) for v in held_out])
    for v, y, soh in zip(held_out, years, model.run(x), strict=True):
        truth = sg.soh_of(aging_path(y, sg.YEARS), v.variation)
        assert truth[-1] < 0.99, "ten years fade by more than a point"
        assert 100 * np.abs(soh - truth) == pytest.approx(np.zeros(sg.YEARS), abs=0.3)


@pytest.mark.slow
def test_the_surrogate_matches_a_physics_fleet_run_after_a_year(model):
    from fleet.task import run_vehicle

    vehicle = load(SMALL).vehicles[1]
    run = run_vehicle({"vehicle": vehicle.__dict__, "battery": "in_process", "resolution": "fleet"},
                      duration=sg.DAYS * 86400.0)
    table = run["table"]
    physics = table["soh_capacity"][sg.DAYS - 1]
    soh = model.run(sg.inputs([table], [_factors(vehicle)]))[0]
    assert 100 * (1 - physics / vehicle.variation["capacity_factor"]) > 0.5, "a year fades the pack"
    assert 100 * abs(soh[0] - physics) < 0.15


def test_the_warranty_question_for_a_small_fleet(tmp_path):
    from click.testing import CliRunner

    from ml.cli import ml
    args = ["surrogate", str(SMALL), "--vehicles", "24", "--warranty", "2 yr, 160000 km, 0.98", "--json"]
    done = CliRunner().invoke(ml, args)
    assert done.exit_code == 0, done.output
    a = json.loads(done.output)
    # the same vehicles' SOH after two years by the aging model itself
    vehicles = [draw(load(SMALL).model, i) for i in range(24)]
    truth = []
    for v in vehicles:
        year = usage_year(v)
        soh = np.interp(min(2.0, 160000.0 / year.distance.sum() * 1000.0), [0.0, 1.0, 2.0],
                        [v.variation["capacity_factor"], *sg.soh_of(aging_path(year, 2), v.variation)])
        truth.append(soh)
    under = a["under"]["0.98"]
    assert under["ci95"][0] <= under["share"] <= under["ci95"][1]
    assert abs(under["share"] - np.mean(np.array(truth) < 0.98)) <= 2 / 24
    assert a["soh_at_warranty"]["median"] == pytest.approx(np.median(truth), abs=0.002)
    assert a["under"]["0.70"]["share"] == 0.0 and a["vehicles"] == 24


def test_bad_input_is_refused_in_one_line(tmp_path):
    from click.testing import CliRunner

    from cosim.errors import EvtwinError
    from ml.cli import ml

    for warranty, message in (("12 yr, 160000 km, 0.7", "past the surrogate's 10 years"),
                              ("8 yr, 0.7", "give years, km and an SOH")):
        done = CliRunner().invoke(ml, ["surrogate", str(SMALL), "--vehicles", "5", "--warranty", warranty])
        assert isinstance(done.exception, EvtwinError) and message in str(done.exception)
