"""The ensemble's one ONNX file and the pack's age in the loop, on small models trained in a few seconds.

Truths: the Python ensemble (the mean of the trained models' forecasts, ``ml.training.ensemble``) and
the anchored law (``ml.baselines.AnchoredPhysics``) on the same windows at the pack's age."""

from __future__ import annotations

import numpy as np
import pytest

from ml.baselines import AnchoredPhysics
from ml.onnx_model import OnnxModel, save_model
from ml.task import Samples

torch = pytest.importorskip("torch")

WEEK, YEAR = 7 * 86400.0, 365.0 * 86400.0
COLUMNS = ["efc", "t_cell_mean_degC", "soc_mean", "cycle_depth", "c_rate_p99", "soh_reported"]
UNITS = {"efc": "1", "t_cell_mean_degC": "degC", "soc_mean": "1", "cycle_depth": "1", "c_rate_p99": "1/h"}
HORIZONS = (13, 26)
HISTORY = 26


def windows(n: int, age_years: float, seed: int = 3) -> Samples:
    """``n`` windows of ``HISTORY`` weeks of varied usage ending at a pack age of ``age_years`` + half a
    year, their reports on a sqrt-time fade; truths a little below the reports' trend."""
    rng = np.random.default_rng(seed)
    t = age_years + np.arange(1, HISTORY + 1) * 7 / 365.0
    x = np.zeros((n, HISTORY, len(COLUMNS)))
    x[:, :, 0] = rng.uniform(1, 6, (n, 1)) * rng.uniform(0.7, 1.3, (n, HISTORY))
    x[:, :, 1] = rng.uniform(5, 35, (n, 1)) + 8 * np.sin(2 * np.pi * t)
    x[:, :, 2], x[:, :, 3] = rng.uniform(0.4, 0.8, (n, 1)), rng.uniform(0.2, 0.7, (n, 1))
    x[:, :, 4] = x[:, :, 0] / 7 / 12
    rate = rng.uniform(0.01, 0.03, (n, 1))
    x[:, :, 5] = 1.0 - rate * np.sqrt(t) + 0.003 * rng.standard_normal((n, HISTORY))
    t_target = t[-1] + np.array(HORIZONS) * 7 / 365.0
    y = 1.0 - 1.1 * rate * np.sqrt(t_target)
    return Samples(x, np.tile(t, (n, 1)), y, np.tile(t_target, (n, 1)), np.arange(n), COLUMNS)


@pytest.fixture(scope="module")
def trained():
    """(the trained set's metadata, its four models): each the default kind, tiny and briefly fit."""
    from ml.forest import Forest
    from ml.lstm import LSTMForecaster
    from ml.pinn import PhysicsInformedForecaster
    from ml.transformer import TransformerForecaster

    s = windows(24, 1.0)
    models = {
        "forest": Forest(n_estimators=5, min_samples_leaf=3).fit(s),
        "lstm": LSTMForecaster(hidden=4, epochs=2, pool=4).fit(s),
        "transformer": TransformerForecaster(width=8, heads=2, layers=1, pool=13, epochs=2).fit(s),
        "pinn": PhysicsInformedForecaster(hidden=4, steps=4, epochs=2).fit(s),
    }
    meta = {
        "task": {"history": HISTORY, "horizons": list(HORIZONS), "stride": 4},
        "features": COLUMNS[:-1], "units": UNITS, "period_days": 7, "dataset_sha256": "cd" * 32,
        "conformal": {name: [0.01, 0.02] for name in models},
        "conformal_ensemble": [0.004, 0.007],
    }
    return meta, models


def _unit(path, age=None):
    from ml.onnx_unit import OnnxUnit

    outputs = {"near": {"index": 0}, "far": {"index": 1}, "far_low": {"index": 1, "interval": "lower"}}
    unit = OnnxUnit(path, inputs={c: {"unit": UNITS.get(c, "1")} for c in COLUMNS}, outputs=outputs,
                    sample_period="7 d", age_at_start=age)
    unit.setup(0.0)
    return unit


def _feed(unit, window: np.ndarray) -> None:
    """The window's weeks into ``unit``, a week a step from the run's start."""
    for k, week in enumerate(window):
        for c, v in zip(COLUMNS, week, strict=True):
            setattr(unit, c, float(v))
        unit.do_step(k * WEEK, WEEK)


def test_the_ensemble_file_is_the_mean_of_the_models_and_runs_in_the_loop(trained, tmp_path):
    from ml.export import export_ensemble, input_for
    from ml.training import ensemble

    meta, models = trained
    path = export_ensemble(meta, models, tmp_path / "ensemble.onnx")
    onnx = OnnxModel(path)
    s = windows(6, 2.5, seed=11)  # vehicles it never saw, older than those it trained on
    preds = {name: m.predict(s) for name, m in models.items()}
    expected, half = ensemble(preds, meta)
    assert np.abs(onnx.run(input_for(onnx.info.features, s)) - expected).max() < 1e-5
    assert onnx.info.kind == "ensemble" and onnx.info.metrics["conformal_90"] == list(half)
    assert onnx.info.metrics["members"] == list(models) and onnx.info.history == HISTORY
    assert onnx.info.units["t_origin_years"] == "yr" and onnx.info.units["mean_t_cell_mean_degC"] == "degC"
    # each member's forecast is an output of the file too, by its name
    outputs = onnx.session.run(None, {"x": input_for(onnx.info.features, s)})
    names = [o.name for o in onnx.session.get_outputs()]
    for name in models:
        assert np.abs(outputs[names.index(f"{name}_soh")] - preds[name]).max() < 1e-5, name
    # in the loop: a pack 2.5 years old when the run starts, fed one window's weeks
    unit = _unit(path, age="2.5 yr")
    _feed(unit, s.x[0])
    assert [unit.near, unit.far] == pytest.approx(list(expected[0]), abs=1e-5)
    assert unit.far - unit.far_low == pytest.approx(half[1], abs=1e-7)


def _silent_lstm(s: Samples, path):
    """An LSTM file whose network adds nothing to the anchored law it reads (its head zeroed)."""
    from ml.export import model_graph
    from ml.lstm import LSTMForecaster

    model = LSTMForecaster(hidden=4, epochs=0, pool=4).fit(s)
    with torch.no_grad():
        model.net.head.weight.zero_(), model.net.head.bias.zero_()
    meta = {"task": {"history": HISTORY, "horizons": list(HORIZONS)}, "features": COLUMNS[:-1],
            "units": UNITS, "conformal": {"lstm": [0.01, 0.02]}, "dataset_sha256": ""}
    return save_model(*model_graph("lstm", model, meta), path)


def test_a_pack_aged_when_the_run_starts_is_forecast_by_the_law_at_its_age(tmp_path):
    """The law a file reads ages a pack by its age: with ``age_at_start`` the unit forecasts what the
    anchored law does at the pack's age; taken for new, what the law does for a new pack, which fades
    faster (sqrt of time), so the two differ by the law's difference."""
    aged = windows(1, 3.0, seed=7)
    path = _silent_lstm(aged, tmp_path / "silent.onnx")
    law = AnchoredPhysics()
    unit = _unit(path, age="3 yr")
    _feed(unit, aged.x[0])
    assert np.array(unit.times)[-1] / YEAR + 3.0 == pytest.approx(aged.t[0, -1])
    assert [unit.near, unit.far] == pytest.approx(list(law.predict(aged)[0]), abs=3e-6)
    young = Samples(aged.x, aged.t - 3.0, aged.y, aged.t_target - 3.0, aged.vehicle, COLUMNS)
    new = _unit(path)
    _feed(new, aged.x[0])
    assert [new.near, new.far] == pytest.approx(list(law.predict(young)[0]), abs=3e-6)
    assert new.far < unit.far - 1e-3  # the new pack's law fades faster ahead
    with pytest.raises(ValueError, match="give the pack's age, zero or more"):
        _unit(path, age="-1 yr")
