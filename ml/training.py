"""Training and evaluating the forecasters on a dataset; a trained set is a folder.

``MODELS/models.json`` holds the task, the dataset's features, units and hash, the trained models and
each one's conformal half-widths (from the calibration vehicles); ``MODELS/forest.pkl`` the forest.
Evaluation scores every model and baseline on the held-out vehicles (``test``) and on the held-out
climates (``climate_test``) against the true SOH.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from ml import conformal, noise_floor
from ml.baselines import BASELINES
from ml.bms import BmsModel
from ml.dataset import Dataset
from ml.task import Samples, Task, samples

ALPHA = 0.1  # 90 % intervals
TRAINABLE = ("forest", "lstm", "transformer", "pinn")
#: What a trained folder's pickles hold changes with the models' inputs (the forest and the PINN read
#: the anchored law since format 2): a folder of another format is refused, not misread.
MODELS_FORMAT = 2
CALIBRATION_FOLDS = 5  # refits whose out-of-fold residuals widen the calibration set (see train)
#: Model name -> (module, class): each trains on Samples and predicts SOH at the horizons.
CLASSES = {
    "forest": ("ml.forest", "Forest"),
    "lstm": ("ml.lstm", "LSTMForecaster"),
    "transformer": ("ml.transformer", "TransformerForecaster"),
    "pinn": ("ml.pinn", "PhysicsInformedForecaster"),
}


def _split(ds: Dataset, name: str, task: Task) -> Samples | None:
    vehicles = ds.vehicle_indices(name)
    if not len(vehicles):
        return None
    try:
        return samples(ds, vehicles, task)
    except EvtwinError:
        return None


def horizon_keys(task: Task, period_days: int) -> list[str]:
    """``1y``, ``5y``, ...: each horizon in years to the quarter where it is that within 2 % (52 weeks
    is 0.997 years: ``1y``), else in days (``3d``)."""
    keys = []
    for h in task.horizons:
        days = h * period_days
        quarters = round(days / 365.0 * 4) / 4
        close = quarters > 0 and abs(days / 365.0 - quarters) <= 0.02 * quarters
        keys.append(f"{quarters:g}y" if close else f"{days:g}d")
    return keys


def _make(name: str, config: dict, say: Callable[[str], None]):
    import importlib

    if name not in CLASSES:
        raise EvtwinError(f"unknown model {name!r}; known: {list(CLASSES)}")
    module, cls = CLASSES[name]
    settings = dict(config.get(name, {}))
    if name != "forest":
        settings["progress"] = say
    return getattr(importlib.import_module(module), cls)(**settings)


def train(
    ds: Dataset,
    out: Path,
    task: Task,
    models: tuple[str, ...] = TRAINABLE,
    config: dict | None = None,
    say: Callable[[str], None] = print,
) -> dict:
    """Fit ``models`` on the train vehicles, calibrate their intervals, save.

    The 90 % half-width of each model is the conformal quantile of the residuals of vehicles it did
    not train on: the calibration vehicles, and (``config["calibration_folds"]`` = K, 5 by default, 0
    for none) each training vehicle forecast by the same model trained without its fold of K. A few
    calibration vehicles alone set the width by their own luck; the folds' models trained on fewer
    vehicles err a little more, so the width errs on the wide side.
    """
    config = config or {}
    train_s, cal_s = _split(ds, "train", task), _split(ds, "calibration", task)
    if train_s is None or cal_s is None:
        raise EvtwinError(
            "the dataset needs vehicles in both the train and the calibration split with "
            f"{task.history} periods of history and {max(task.horizons)} ahead"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folds = min(int(config.get("calibration_folds", CALIBRATION_FOLDS)), len(np.unique(train_s.vehicle)))
    truth = _truth(cal_s, train_s, folds)
    widths, cal_preds = {}, []
    for name in models:
        say(f"training {name} on {len(train_s)} windows of {len(np.unique(train_s.vehicle))} vehicles")
        model = _make(name, config, say).fit(train_s)
        with open(out / f"{name}.pkl", "wb") as f:
            pickle.dump(model, f)
        others = _out_of_fold(name, config, train_s, folds, say)
        cal_preds.append(np.concatenate([model.predict(cal_s), others]))
        widths[name] = conformal.conformal_quantile(truth - cal_preds[-1], ALPHA).tolist()
    residuals = truth - np.mean(cal_preds, axis=0)
    ensemble = conformal.conformal_quantile(residuals, ALPHA).tolist()
    meta = {
        "format": MODELS_FORMAT,
        "task": task.as_dict(),
        "features": ds.features,
        "units": ds.units,
        "period_days": ds.period_days,
        "dataset_sha256": ds.sha256,
        "models": list(models),
        "config": config,
        "alpha": ALPHA,
        "conformal": widths,
        "conformal_ensemble": ensemble,
        "calibration_windows": len(residuals),
    }
    (out / "models.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def _fold_of(s: Samples, folds: int) -> np.ndarray:
    """Fold [n] of each window: its vehicle's, the vehicles dealt round in their order."""
    vehicles = np.unique(s.vehicle)
    return np.searchsorted(vehicles, s.vehicle) % folds


def _truth(cal_s: Samples, train_s: Samples, folds: int) -> np.ndarray:
    """True SOH of the calibration windows, then of the training windows in fold order (none if 0 folds)."""
    if folds < 2:
        return cal_s.y
    fold = _fold_of(train_s, folds)
    return np.concatenate([cal_s.y, *(train_s.y[fold == k] for k in range(folds))])


def _out_of_fold(name: str, config: dict, s: Samples, folds: int, say) -> np.ndarray:
    """Forecasts of the training windows, fold by fold, each by ``name`` trained without that fold."""
    if folds < 2:
        return np.empty((0, s.y.shape[1]))
    fold, out = _fold_of(s, folds), []
    say(f"  {name}: {folds} refits without a fold of the training vehicles, for its interval")
    for k in range(folds):
        model = _make(name, config, lambda _: None).fit(_subset(s, fold != k))
        out.append(model.predict(_subset(s, fold == k)))
    return np.concatenate(out)


def _subset(s: Samples, keep: np.ndarray) -> Samples:
    return s.subset(keep)


def load_models(folder: Path, ds: Dataset | None = None) -> tuple[dict, dict]:
    """(metadata, {name: model}) of a trained folder; refused for a dataset ``ds`` with other features."""
    path = Path(folder) / "models.json"
    if not path.exists():
        raise EvtwinError(f"{path} does not exist: train first with `evtwin ml train DATA -o {folder}`")
    meta = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("format", 1) != MODELS_FORMAT:
        raise EvtwinError(
            f"the models in {folder} were trained by another version of evtwin (format "
            f"{meta.get('format', 1)}, this one reads {MODELS_FORMAT}): train them again"
        )
    if ds is not None and meta["features"] != ds.features:
        raise EvtwinError(
            f"the models in {folder} were trained on features {meta['features']}, "
            f"the dataset has {ds.features}"
        )
    models = {}
    for name in meta["models"]:
        with open(Path(folder) / f"{name}.pkl", "rb") as f:
            models[name] = pickle.load(f)  # noqa: S301 - our own training output
    return meta, models


def _scores(pred: np.ndarray, s: Samples, keys: list[str]) -> dict:
    err = pred - s.y
    out = {f"rmse_{k}": float(100.0 * np.sqrt(np.mean(err[:, j] ** 2))) for j, k in enumerate(keys)}
    out["within_5pct"] = float(np.mean(np.abs(err) <= 0.05 * s.y))
    return out


def _evaluate_split(s: Samples, meta: dict, models: dict, keys: list[str], bms: BmsModel) -> dict:
    return score_pooled([(s, {name: m.predict(s) for name, m in models.items()}, meta)], keys, bms)


def score_pooled(parts: list[tuple[Samples, dict, dict]], keys: list[str], bms: BmsModel | None) -> dict:
    """Scores of forecasts pooled from ``parts``: (windows, {model: forecasts}, the metadata of the
    trained set that made them, whose calibrated widths give their intervals)."""
    s = parts[0][0] if len(parts) == 1 else _concat([p[0] for p in parts])
    result: dict = {"windows": len(s), "vehicles": int(len(np.unique(s.vehicle)))}
    floor = noise_floor.floor_rmse(s.t, s.y, bms or BmsModel())
    result["floor"] = {f"rmse_{k}": float(100.0 * f) for k, f in zip(keys, floor, strict=True)}
    result["baselines"] = {name: _scores(cls().predict(s), s, keys) for name, cls in BASELINES.items()}
    scored = {}
    # The headline: the ensemble (the mean of the trained models) with its own calibrated width.
    for name in [*parts[0][1], "ensemble"]:
        pred, half = zip(*(_forecast(name, preds, meta) for _, preds, meta in parts), strict=True)
        pred, half = np.concatenate(pred), np.concatenate(half)
        scored[name] = _scores(pred, s, keys)
        hits = np.abs(s.y - pred) <= half
        scored[name]["coverage_90"] = float(np.mean(hits))
    scored["ensemble"]["coverage_90_ci95"] = list(conformal.clustered_interval(hits, s.vehicle))
    result["models"] = scored
    result.update(scored["ensemble"])
    return result


def _forecast(name: str, preds: dict, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """(forecasts [n, horizons], their calibrated 90 % half-widths [n, horizons]) of model ``name``."""
    pred, half = ensemble(preds, meta) if name == "ensemble" else (preds[name], meta["conformal"][name])
    return pred, np.broadcast_to(np.asarray(half, dtype=float), pred.shape)


def _concat(parts: list[Samples]) -> Samples:
    fields = ("x", "t", "y", "t_target", "vehicle")
    return Samples(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in fields), parts[0].columns
    )  # no truth


def ensemble(preds: dict[str, np.ndarray], meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """(the mean of the models' forecasts [n, horizons], its calibrated 90 % half-width [horizons])."""
    return np.mean(list(preds.values()), axis=0), np.asarray(meta["conformal_ensemble"])


def split_task(ds: Dataset, meta: dict, split: str) -> Samples | None:
    """The windows of ``split`` for the task the models of ``meta`` were trained on."""
    task = Task(**{k: tuple(v) if k == "horizons" else v for k, v in meta["task"].items()})
    return _split(ds, split, task)


def evaluate(folder: Path, ds: Dataset) -> dict:
    """Scores on the ``test`` vehicles, with ``held_out_climates`` (the ``climate_test`` vehicles) alongside.

    RMSEs in %-points of SOH; coverage and ``within_5pct`` (share of forecasts within 5 % relative) as
    fractions; ``floor``: the least RMSE a forecaster that knew each vehicle's fade could reach on
    these windows (:mod:`ml.noise_floor`).
    """
    meta, models = load_models(folder, ds)
    task = Task(**{k: tuple(v) if k == "horizons" else v for k, v in meta["task"].items()})
    keys = horizon_keys(task, ds.period_days)
    test = _split(ds, "test", task)
    if test is None:
        raise EvtwinError("the dataset has no test vehicle with a whole window and horizon")
    bms = getattr(ds, "bms", BmsModel())
    result = _evaluate_split(test, meta, models, keys, bms)
    held = _split(ds, "climate_test", task)
    held_scores = _evaluate_split(held, meta, models, keys, bms) if held is not None else None
    result["held_out_climates"] = held_scores
    result["dataset_sha256"] = ds.sha256
    return result
