"""Forecasters: baselines against analytic cases, conformal coverage, training and evaluation end to end."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from ml_fleet import write_fleet

from cosim.errors import EvtwinError
from ml import conformal
from ml.baselines import AnchoredPhysics, NominalPhysics, Persistence, SqrtTime
from ml.task import Samples, denoised_targets, recent_mean

TINY = [
    "--history",
    "26",
    "--horizons",
    "13,26",
    "--stride",
    "4",
    "--trees",
    "20",
    "--epochs",
    "10",
    "--hidden",
    "8",
    "--calibration-folds",
    "2",
]


def _samples(t, soh, t_target, y, extra=None):
    columns = ["efc", "t_cell_mean_degC", "soc_mean", "cycle_depth", "c_rate_p99", "soh_reported"]
    x = np.zeros((1, len(t), len(columns)))
    x[0, :, -1] = soh
    for k, v in (extra or {}).items():
        x[0, :, columns.index(k)] = v
    return Samples(x, np.array([t]), np.array([y]), np.array([t_target]), np.array([0]), columns)


def test_sqrt_time_extrapolates_a_sqrt_law_exactly_and_persistence_holds_the_last_report():
    t = np.arange(1, 105) / 52.0
    law = lambda tt: 0.99 - 0.02 * np.sqrt(tt)  # noqa: E731
    s = _samples(t, law(t), [3.0, 7.0], law(np.array([3.0, 7.0])))
    assert SqrtTime().predict(s)[0] == pytest.approx(law(np.array([3.0, 7.0])), abs=1e-12)
    assert Persistence().predict(s)[0] == pytest.approx([law(t[-1])] * 2)


def test_nominal_physics_matches_the_battery_twins_own_fade_laws():
    from battery_fmu import equations as eq
    from battery_fmu.parameters import load_cell

    p = load_cell("lfp_220ah")
    t = np.arange(1, 53) / 52.0
    usage = {"efc": 5.0, "t_cell_mean_degC": 25.0, "soc_mean": 0.6, "cycle_depth": 0.5, "c_rate_p99": 0.6}
    s = _samples(t, np.ones(52), [2.0], [0.0], usage)
    got = NominalPhysics().predict(s)[0, 0]
    # two years at 25 degC, mean SOC 0.6, by the laws written out:
    # q_cal = k_cal days^pcal, q_cyc = k_cyc EFC^pcyc
    k_cal = p.aging.p1 * np.exp((p.aging.p2 + p.aging.p3 * eq.graphite_potential(0.6, p)) / 298.15)
    # the mean C-rate of 5 EFC a week (7.02 days here): a charge and a discharge per EFC, 2 5 / (7.02 24)
    crate = 5.0 / (365.0 / 52.0) / 12.0
    k_cyc = (p.aging.p4 + p.aging.p5 * 0.5 + p.aging.p6 * crate) * (
        np.exp(p.aging.p7 / 298.15) + np.exp(-p.aging.p8 / 298.15)
    )
    expected = 1.0 - k_cal * 730.0**p.aging.pcal - k_cyc * (2 * 5.0 * 52) ** p.aging.pcyc
    assert got == pytest.approx(expected, rel=1e-9)
    assert 0.85 < got < 0.99  # LFP after two years of daily driving


def test_the_laws_constant_over_changing_seasons_ages_as_the_virtual_time_sum():
    """Weeks alternating between 10 and 35 degC age as ``(sum_weeks k^(1/p) days)^p`` (the laws'
    virtual-time form), more than the rate at the mean temperature would (the Arrhenius law is convex)."""
    from battery_fmu import equations as eq
    from battery_fmu.parameters import load_cell

    p = load_cell("lfp_220ah")
    a = p.aging
    t = np.arange(1, 105) / 52.0
    temps = np.where(np.arange(104) % 2 == 0, 10.0, 35.0)
    usage = {"efc": 0.0, "t_cell_mean_degC": temps, "soc_mean": 0.5}
    s = _samples(t, np.ones(104), [2.0], [0.0], usage)
    model = NominalPhysics()
    k = eq.calendar_rate(temps + 273.15, eq.graphite_potential(0.5, p), p, np)
    expected = (np.sum(k ** (1.0 / a.pcal) * 365.0 / 52.0)) ** a.pcal
    assert model.fade(model.constants(s), np.array([[2.0]]))[0, 0] == pytest.approx(expected, rel=1e-6)
    at_mean = eq.calendar_rate(22.5 + 273.15, eq.graphite_potential(0.5, p), p) * 730.0**a.pcal
    assert expected > 1.05 * at_mean


def test_anchored_physics_finds_a_packs_level_and_follows_the_law_ahead():
    """Reports on the law's own curve, shifted by a pack's capacity and noise: the level is the shift
    within the noise's mean over the window, and the forecast is the law from there."""
    t = 2.0 + np.arange(1, 105) / 52.0
    usage = {"efc": 4.0, "t_cell_mean_degC": 30.0, "soc_mean": 0.7, "cycle_depth": 0.6}
    s = _samples(t, np.ones(104), [5.0, 9.0], [0.0, 0.0], usage)
    model = AnchoredPhysics()
    fade = model.fade(model.constants(s), np.concatenate([s.t, s.t_target], axis=1))[0]
    noise = 0.01 * np.random.default_rng(4).standard_normal(104)
    s.x[0, :, -1] = 0.985 - fade[:104] + noise
    assert model.level(s)[0] == pytest.approx(0.985 - fade[103] + noise.mean(), abs=1e-12)
    assert model.predict(s)[0] == pytest.approx(0.985 - fade[104:] + noise.mean(), abs=1e-12)


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_a_silent_window_network_forecasts_the_anchored_law(name):
    """The window networks add their head's output to the anchored law's forecast, which they read
    from the window's law columns: with the head zeroed they are physics_anchored (float32)."""
    torch = pytest.importorskip("torch")
    from ml.lstm import LSTMForecaster
    from ml.transformer import TransformerForecaster

    rng = np.random.default_rng(5)
    t = 2.0 + np.arange(1, 53) / 52.0
    usage = {"efc": rng.uniform(2, 6, 52), "t_cell_mean_degC": rng.uniform(5, 35, 52), "soc_mean": 0.6}
    reports = 0.97 - 0.01 * np.sqrt(t) + 0.002 * rng.standard_normal(52)
    s = _samples(t, reports, [3.0, 7.0], [0.0, 0.0], usage)
    s.x[0, :, 3] = 0.5  # cycle depth
    small = {"epochs": 0, "pool": 4}
    network = LSTMForecaster(hidden=4, **small) if name == "lstm" else TransformerForecaster(width=8, **small)
    model = network.fit(s)
    with torch.no_grad():
        model.net.head.weight.zero_(), model.net.head.bias.zero_()
    assert model.predict(s)[0] == pytest.approx(AnchoredPhysics().predict(s)[0], abs=2e-6)
    assert model._inputs(s).shape == (1, 52, 6 + 3 + 2)


def test_the_transformers_correction_is_bounded_and_blind_to_temperature():
    """Whatever its weights, the transformer's forecast stays within its bound (0.25 %-point) of the
    anchored law's, and does not change with the temperatures the law reads itself."""
    torch = pytest.importorskip("torch")
    from ml.task import TEMPERATURES
    from ml.transformer import TransformerForecaster

    rng = np.random.default_rng(6)
    t = 2.0 + np.arange(1, 53) / 52.0
    usage = {"efc": rng.uniform(2, 6, 52), "t_cell_mean_degC": rng.uniform(5, 35, 52), "soc_mean": 0.6}
    s = _samples(t, 0.97 - 0.01 * np.sqrt(t), [3.0, 7.0], [0.0, 0.0], usage)
    model = TransformerForecaster(width=8, epochs=0, pool=4).fit(s)
    torch.manual_seed(7)
    with torch.no_grad():
        for p in model.net.parameters():
            p.normal_(0.0, 3.0)
    x = torch.tensor(model._inputs(s))
    law = AnchoredPhysics().predict(s)
    with torch.no_grad():
        soh = model.net(x).numpy()
        assert np.all(np.abs(soh - law) <= model.bound + 1e-6) and np.abs(soh - law).max() > 1e-3
        for p in model.net.parameters():
            p.normal_(0.0, 0.1)  # tamer weights, whose correction is not at its bound
        soh = model.net(x).numpy()
        colder = x.clone()
        colder[:, :, s.columns.index("t_cell_mean_degC")] -= 30.0
        assert "t_cell_mean_degC" in TEMPERATURES and np.array_equal(model.net(colder).numpy(), soh)
        busier = x.clone()
        busier[:, :, s.columns.index("efc")] += 3.0  # an input it reads: the comparison can fail
        assert not np.array_equal(model.net(busier).numpy(), soh)


def test_denoised_targets_leave_the_reports_noise_out_of_what_is_learnt():
    t = 2.0 + np.arange(1, 53) / 52.0
    s = _samples(t, 0.95 + 0.01 * np.sin(np.arange(52)), [3.0], [0.94])
    s.soh_true = np.full((1, 52), 0.95)
    # the model adds its change to the mean of the last reports: it learns 0.94 - 0.95 from the truth
    assert denoised_targets(s, recent_mean)[0, 0] == pytest.approx(recent_mean(s)[0] - 0.01)
    s.soh_true = None
    assert denoised_targets(s, recent_mean)[0, 0] == 0.94


def test_split_conformal_covers_at_least_its_level_and_not_much_more():
    rng = np.random.default_rng(0)
    n_cal, alpha, trials = 49, 0.1, 4000
    hits = []
    for _ in range(
        trials
    ):  # exchangeable residuals (heavy-tailed on purpose: the guarantee is distribution-free)
        r = rng.standard_t(3, size=n_cal + 1)
        q = conformal.conformal_quantile(r[:n_cal], alpha)
        hits.append(abs(r[-1]) <= q)
    cover = np.mean(hits)
    se = np.sqrt(0.9 * 0.1 / trials)
    assert 1 - alpha - 3 * se <= cover <= 1 - alpha + 1 / (n_cal + 1) + 3 * se
    assert conformal.conformal_quantile(np.ones(5), 0.1) == np.inf  # too few points for 90 %
    low, high = conformal.wilson_interval(0.9, 400)
    assert low < 0.9 < high and high - low == pytest.approx(2 * 1.96 * np.sqrt(0.09 / 400), rel=0.05)


def test_pooled_window_averages_the_newest_periods():
    torch = pytest.importorskip("torch")
    from ml.torch_fit import pooled

    x = torch.arange(2 * 10 * 3, dtype=torch.float32).reshape(2, 10, 3)
    got = pooled(x, 4, 10).numpy()  # periods 2-5 and 6-9; the oldest two left out
    want = x.numpy()[:, 2:].reshape(2, 2, 4, 3).mean(axis=2)
    assert got.shape == (2, 2, 3) and np.array_equal(got, want)
    assert pooled(x, 1, 10) is x


def test_a_column_constant_but_for_rounding_is_not_magnified():
    from ml.torch_fit import normaliser

    rng = np.random.default_rng(0)
    x = np.column_stack([np.full(200, 0.6), np.full(200, 1000.0) + rng.normal(0, 0.01, 200)])
    x[::3, 0] = np.nextafter(0.6, 1.0)  # 0.6 one rounding step up: a spread of 5e-17
    mean, scale = normaliser(x)
    assert scale[0] == 1.0 and np.abs((x[:, 0] - mean[0]) / scale[0]).max() < 1e-12  # not ~1
    assert scale[1] == pytest.approx(0.01, rel=0.15)  # a real spread of a millionth and more is kept


def test_coverage_interval_counts_vehicles_not_forecasts():
    rng = np.random.default_rng(1)
    # one forecast per vehicle: the plain Wilson interval of all of them
    hits = rng.random(400) < 0.9
    assert conformal.clustered_interval(hits, np.arange(400)) == pytest.approx(
        conformal.wilson_interval(hits.mean(), 400)
    )
    # 20 vehicles whose 20 forecasts are all covered or all missed: the interval of 20 points, not 400
    whole = np.repeat(rng.random(20) < 0.8, 20)
    vehicles = np.repeat(np.arange(20), 20)
    assert conformal.clustered_interval(whole, vehicles) == pytest.approx(
        conformal.wilson_interval(whole.mean(), 20)
    )
    # independent forecasts grouped by vehicle: about the plain interval of 400 again
    low, high = conformal.clustered_interval(hits, vehicles)
    plain = conformal.wilson_interval(hits.mean(), 400)
    assert high - low == pytest.approx(plain[1] - plain[0], rel=0.3)
    # all covered: nothing says how alike a vehicle's forecasts are, so the vehicles are counted
    assert conformal.clustered_interval(np.ones(400, bool), vehicles) == pytest.approx(
        conformal.wilson_interval(1.0, 20)
    )


def test_a_trained_folder_of_another_format_is_refused_in_one_line(tmp_path):
    from ml.training import MODELS_FORMAT, load_models

    (tmp_path / "models.json").write_text(json.dumps({"features": [], "models": ["forest"]}))
    with pytest.raises(EvtwinError, match=f"another version of evtwin \\(format 1, this one reads {MODELS_FORMAT}\\)"):
        load_models(tmp_path)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlfleet")
    write_fleet(root / "fleet", vehicles=16)
    out = root / "data.h5"
    done = _evtwin("ml", "dataset", str(root / "fleet"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_train_and_evaluate_on_held_out_vehicles_and_climates(data_file, tmp_path):
    models = tmp_path / "models"
    done = _evtwin("ml", "train", str(data_file), "-o", str(models), *TINY)
    assert done.returncode == 0, done.stderr
    done = _evtwin("ml", "evaluate", str(data_file), "-m", str(models), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["baselines"]) == {"persistence", "sqrt_time", "physics_nominal", "physics_anchored"}
    for scores in [
        result,
        result["held_out_climates"],
        *result["models"].values(),
        *result["baselines"].values(),
    ]:
        assert {"rmse_0.25y", "rmse_0.5y", "within_5pct"} <= set(scores)
    assert 0.0 <= result["coverage_90"] <= 1.0 and result["coverage_90_ci95"][0] <= result["coverage_90"]
    # the data's noise is 1 %-point a report: a forecaster that learnt nothing would be off by about that;
    # the forest sees the trend and the usage and must beat persistence half a year ahead
    forest, persistence = result["models"]["forest"], result["baselines"]["persistence"]
    assert forest["rmse_0.5y"] < persistence["rmse_0.5y"]
    assert result["models"]["ensemble"]["coverage_90"] == result["coverage_90"]
    # cross-validated: every vehicle outside the held-out climate is a test vehicle once
    done = _evtwin("ml", "evaluate", str(data_file), "-m", str(models), "--folds", "3", "--json")
    assert done.returncode == 0, done.stderr
    folded = json.loads(done.stdout)
    assert folded["folds"] == 3 and folded["vehicles"] == 12 > result["vehicles"]
    assert folded["held_out_climates"]["vehicles"] == result["held_out_climates"]["vehicles"]
    assert set(folded["models"]) == set(result["models"]) and "fold 3/3" in done.stderr
    assert folded["single_split"]["rmse_0.5y"] == result["rmse_0.5y"]  # the trained models' own split beside
    refused = _evtwin("ml", "evaluate", str(data_file), "-m", str(models), "--folds", "2")
    assert refused.returncode == 2 and "give 0 (no cross-validation) or at least 3" in refused.stderr
    plot = tmp_path / "forecasts.png"
    table = _evtwin("ml", "evaluate", str(data_file), "-m", str(models), "--plot", str(plot))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    beside = tmp_path / "forecasts_held_out_climate.png"  # the held-out climate's vehicles
    assert beside.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {beside}" in table.stdout
    assert "held-out climates" in table.stdout
    assert all(name in table.stdout for name in ("forest", "lstm", "transformer", "pinn", "ensemble"))
    _exported_models_answer_as_trained(data_file, models)


def _exported_models_answer_as_trained(data_file, models):
    """The ONNX files (through onnxruntime) give the trained models' forecasts within 1e-5."""
    from ml import dataset
    from ml.export import input_for, onnx_input
    from ml.onnx_model import OnnxModel
    from ml.task import Task, samples
    from ml.torch_fit import law_names
    from ml.training import ensemble, load_models

    done = _evtwin("ml", "export", "-m", str(models), "--ensemble", str(models / "ensemble.onnx"))
    assert done.returncode == 0, done.stderr
    ds = dataset.load(data_file)
    meta, trained = load_models(models, ds)
    s = samples(ds, ds.vehicle_indices("test"), Task(26, (13, 26), 4))
    assert set(trained) == {"forest", "lstm", "transformer", "pinn"}
    # the ensemble's one file: the Python ensemble's forecasts, in the loop too (a pack aged at the start)
    mean, half = ensemble({name: m.predict(s) for name, m in trained.items()}, meta)
    both = OnnxModel(models / "ensemble.onnx")
    assert np.abs(both.run(input_for(list(both.info.features), s)) - mean).max() < 1e-5
    assert both.info.metrics["conformal_90"] == list(half) and both.info.training_data_sha256 == ds.sha256
    averaged = SimpleNamespace(
        predict=lambda w: ensemble({n: m.predict(w) for n, m in trained.items()}, meta)[0]
    )
    _runs_in_the_loop(models / "ensemble.onnx", averaged, s, ds)
    for name, model in trained.items():
        onnx = OnnxModel(models / f"{name}.onnx")
        assert onnx.info.training_data_sha256 == ds.sha256 and onnx.info.kind == name
        window = onnx.info.history > 1
        assert onnx.info.history == (26 if window else 1)
        assert np.abs(onnx.run(onnx_input(name, model, s)) - model.predict(s)).max() < 1e-5, name
        # a file's inputs are found from their names alone (what the service does)
        assert np.array_equal(input_for(list(onnx.info.features), s), onnx_input(name, model, s)), name
        if window:  # the window networks read the anchored law by name, as the forest does
            assert onnx.info.features == [*s.columns, *law_names(onnx.info.outputs)], name
        _runs_in_the_loop(models / f"{name}.onnx", model, s, ds)
    with pytest.raises(EvtwinError, match="trained on features"):
        OnnxModel(models / "lstm.onnx", features=ds.features)


def _runs_in_the_loop(path, model, s, ds):
    """`type: onnx` fed the window's columns week by week forecasts as the trained model does, the law's
    columns or the summary made by the unit; before a whole window, the last reported SOH."""
    from ml.onnx_unit import OnnxUnit

    series, week, history = ds.series(int(s.vehicle[0])), 7 * 86400.0, s.x.shape[1]
    # the vehicle's first window from the run's start, and its second from a run that starts with
    # the pack as old as the week before that window (the task's stride on)
    for j, first in ((0, 0), (1, int(np.searchsorted(series["t_years"], s.t[1, 0])))):
        assert s.vehicle[j] == s.vehicle[0] and s.t[j, 0] == series["t_years"][first]
        unit = OnnxUnit(path, inputs={c: {} for c in s.columns}, sample_period="7 d",
                        outputs={"near": {"index": 0}, "far": {"index": 1}}, age_at_start=first * week)
        unit.setup(0.0)
        for k in range(history):
            for c in s.columns:
                setattr(unit, c, float(series[c][first + k]))
            unit.do_step(k * week, week)
            if k == history - 2:
                assert unit.near == unit.far == pytest.approx(series["soh_reported"][first + k], abs=1e-6)
        expected = model.predict(s.subset([j]))[0]
        assert [unit.near, unit.far] == pytest.approx(list(expected), abs=1e-5), (path.name, j)


def _evtwin(*args):
    """The CLI in this process (torch is imported once for the whole module)."""
    from click.testing import CliRunner

    from cosim.cli import cli

    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return SimpleNamespace(returncode=r.exit_code, stdout=r.stdout, stderr=r.stderr)
