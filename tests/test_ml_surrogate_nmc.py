"""The NMC cell's aging surrogate: its laws against the twin's NMC aging model, its ONNX export, and the
warranty question for a fleet of LFP and NMC cars."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fleet.spec import draw, load
from ml import surrogate as sg
from ml.usage_draw import UsageYear, aging_path, daily_stressors, usage_year

ROOT = Path(__file__).resolve().parents[1]
NMC = "nmc_75ah"
HOUR = 3600.0


def _factors(v):
    return {name: v.variation.get(name, 1.0) for name in sg.VARIATION}


def _cycling_year(capacity_Ah=150.0, voltage=350.0) -> UsageYear:
    """A year of days at one temperature each (a seasonal swing, 5-35 degC): 22 h parked at SOC 0.6,
    an hour's discharge to 0.3 and an hour's charge back (0.3 equivalent full cycles a day)."""
    energy = capacity_Ah * HOUR * voltage  # J
    days = np.arange(365)
    start = (days[:, None] * 24.0 + np.array([0.0, 22.0, 23.0])).ravel() * HOUR
    dt = np.tile([22.0 * HOUR, HOUR, HOUR], 365)
    power = np.tile([0.0, 0.3 * energy / HOUR, -0.3 * energy / HOUR], 365)
    soc = np.concatenate([[0.6], np.tile([0.6, 0.3, 0.6], 365)])
    t_cell = np.repeat(293.15 + 15.0 * np.sin(2 * np.pi * days / 365.0), 3)
    return UsageYear(start, dt, power, np.abs(power), np.zeros_like(dt), soc, t_cell, t_cell, capacity_Ah,
                     voltage)


def _twin_soh(year: UsageYear, variation) -> np.ndarray:
    """SOH at the end of each of ten repetitions of ``year`` by the twin's NMC aging model itself."""
    from battery_fmu.aging_laws import aging_model
    from battery_fmu.parameters import load_cell

    model = aging_model(load_cell(NMC, capacity_Ah=year.capacity_Ah), variation=variation,
                        warn=lambda message: None)
    model.reset_soc(float(year.soc[0]))
    out = []
    for _ in range(sg.YEARS):
        for i in range(len(year.dt)):
            model.advance(year.dt[i], year.soc[i], year.soc[i + 1], year.t_cell[i], year.current[i])
        model.close_chunk(float(year.soc[-1]))
        out.append(model.soh_capacity)
    return np.array(out)


def test_the_surrogate_without_its_correction_is_the_nmc_aging_model():
    pytest.importorskip("torch")
    from battery_fmu.variation import Variation

    year = _cycling_year()
    variation = Variation(capacity=1.02, calendar=0.9, cycle=1.15)
    factors = {"capacity_factor": 1.02, "calendar_fade_factor": 0.9, "cycle_fade_factor": 1.15}
    x = sg.inputs([daily_stressors(year)], [factors])
    laws = sg.AgingSurrogate(x, NMC).predict(x)[0]  # the correction starts at zero
    truth = _twin_soh(year, variation)
    assert 100 * (1.02 - truth[-1]) > 5, "ten years of this use fade the pack by points"
    # left between them: the calendar rate at the day's mean SOC against its mean over the day
    assert 100 * np.abs(laws - truth) == pytest.approx(np.zeros(sg.YEARS), abs=0.02)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """An NMC surrogate from 12 drawn vehicles and a few epochs, and its ONNX file."""
    pytest.importorskip("torch")
    from ml.surrogate_train import drawn_pairs, vehicles_of

    vehicles = vehicles_of(sg.training_fleet(NMC), NMC, 12)
    x, soh = drawn_pairs(vehicles, NMC, say=lambda s: None)
    model = sg.AgingSurrogate(x, NMC, hidden=8).fit(x, soh, epochs=20)
    path = tmp_path_factory.mktemp("nmc") / "nmc.onnx"
    from ml.onnx_model import save_model

    save_model(model.to_onnx(x[:1]), sg.model_info("0" * 64, {}, NMC), path)
    return model, x, soh, path


def test_the_onnx_file_is_the_torch_network(tiny):
    from ml.onnx_model import OnnxModel

    model, x, _, path = tiny
    onnx_model = OnnxModel(path, features=[*sg.DAILY, *sg.VARIATION])
    assert sg.model_parameter_set(onnx_model.info) == NMC
    torch_soh = model.predict(x)
    assert np.ptp(torch_soh[:, -1]) > 0.01, "the vehicles age differently"
    assert onnx_model.run(x) == pytest.approx(torch_soh, abs=1e-5)


def test_a_model_file_takes_the_place_of_the_shipped_one_for_its_cells(tiny):
    from cosim.errors import EvtwinError
    from ml.surrogate_warranty import load_surrogates

    model, x, _, path = tiny
    chosen = load_surrogates([path])
    assert set(chosen) == {"lfp_220ah", NMC}
    assert chosen[NMC].run(x) == pytest.approx(model.predict(x), abs=1e-5)
    forecaster = ROOT / "scenarios" / "data" / "soh_forecaster.onnx"
    with pytest.raises(EvtwinError, match="soh_forecaster.onnx"):
        load_surrogates([forecaster])


def test_the_shipped_nmc_surrogate_follows_the_aging_model_on_years_it_never_saw():
    from ml.onnx_model import OnnxModel

    model = OnnxModel(sg.default_model(NMC), features=[*sg.DAILY, *sg.VARIATION])
    assert sg.model_parameter_set(model.info) == NMC
    fleet = load(sg.training_fleet(NMC))
    held_out = [draw(fleet.model, 10_000 + i) for i in range(3)]  # past the training draws
    years = [usage_year(v) for v in held_out]
    x = sg.inputs([daily_stressors(y) for y in years], [_factors(v) for v in held_out])
    for v, y, soh in zip(held_out, years, model.run(x), strict=True):
        truth = sg.soh_of(aging_path(y, sg.YEARS, NMC), v.variation)
        assert truth[-1] < 0.99, "ten years fade by more than a point"
        assert 100 * np.abs(soh - truth) == pytest.approx(np.zeros(sg.YEARS), abs=0.3)


def _warranty(fleet: Path, vehicles: int, warranty: str):
    from click.testing import CliRunner

    from ml.cli import ml

    return CliRunner().invoke(ml, ["surrogate", str(fleet), "--vehicles", str(vehicles), "--warranty",
                                   warranty, "--json"])


def test_the_warranty_question_covers_the_nmc_cars_of_a_mixed_fleet():
    large = ROOT / "fleets" / "large.yaml"
    done = _warranty(large, 20, "2 yr, 160000 km, 0.97")
    assert done.exit_code == 0, done.output
    a = json.loads(done.output)
    assert a["vehicles"] == 20
    by_set = a["by_parameter_set"]
    assert set(by_set) == {"lfp_220ah", NMC} and sum(r["vehicles"] for r in by_set.values()) == 20
    # the NMC cars' SOH after two years (or their km) by the twin's aging model on the same drawn years
    fleet = load(large)
    nmc = [v for v in (draw(fleet.model, i) for i in range(20)) if _parameter_set(v) == NMC]
    truth = []
    for v in nmc:
        year = usage_year(v)
        t = min(2.0, 160000.0 / year.distance.sum() * 1000.0)
        truth.append(np.interp(t, [0.0, 1.0, 2.0], [v.variation["capacity_factor"],
                                                    *sg.soh_of(aging_path(year, 2, NMC), v.variation)]))
    assert len(nmc) == by_set[NMC]["vehicles"] > 0
    assert by_set[NMC]["median_soh"] == pytest.approx(np.median(truth), abs=0.003)
    assert by_set[NMC]["under_warranty"] == pytest.approx(np.mean(np.array(truth) < 0.97), abs=1 / len(nmc))
    for row in by_set.values():
        assert row["ci95"][0] <= row["under_warranty"] <= row["ci95"][1]


def test_the_answer_in_words_names_each_cell_and_leaves_no_car_out():
    from click.testing import CliRunner

    from ml.cli import ml

    done = CliRunner().invoke(ml, ["surrogate", str(ROOT / "fleets" / "large.yaml"), "--vehicles", "12"])
    assert done.exit_code == 0, done.output
    assert "left out" not in done.output and "12 vehicles drawn" in done.output
    assert "the nmc_75ah surrogate's RMSE" in done.output and "the lfp_220ah surrogate's RMSE" in done.output


def test_a_cell_without_a_surrogate_is_refused_in_one_line(monkeypatch):
    from cosim.errors import EvtwinError

    monkeypatch.setattr(sg, "SURROGATES", {"lfp_220ah": sg.SURROGATES["lfp_220ah"]})
    done = _warranty(ROOT / "fleets" / "large.yaml", 20, "8 yr, 160000 km, 0.7")
    assert isinstance(done.exception, EvtwinError)
    message = str(done.exception)
    assert "have nmc_75ah cells, for which there is no aging surrogate (surrogates: lfp_220ah)" in message
    assert "\n" not in message

    done = subprocess.run([sys.executable, "-m", "cosim.cli", "ml", "train-surrogate", "--parameter-set",
                           "lmo_42ah", "--vehicles", "10"], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "no aging surrogate for the cell parameter set 'lmo_42ah'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _parameter_set(v) -> str:
    from ml.surrogate_train import parameter_set_of

    return parameter_set_of(v)


@pytest.mark.slow
def test_the_nmc_surrogate_matches_a_physics_fleet_run_after_a_year():
    from fleet.task import run_vehicle
    from ml.onnx_model import OnnxModel

    vehicle = load(ROOT / "fleets" / "nmc.yaml").vehicles[4]  # a Phoenix commuter
    run = run_vehicle({"vehicle": vehicle.__dict__, "battery": "in_process", "resolution": "fleet"},
                      duration=sg.DAYS * 86400.0)
    table = run["table"]
    physics = table["soh_capacity"][sg.DAYS - 1]
    model = OnnxModel(sg.default_model(NMC), features=[*sg.DAILY, *sg.VARIATION])
    soh = model.run(sg.inputs([table], [_factors(vehicle)]))[0]
    assert 100 * (1 - physics / vehicle.variation["capacity_factor"]) > 1.0, "a year fades the pack"
    assert 100 * abs(soh[0] - physics) < 0.1
