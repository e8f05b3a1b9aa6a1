"""Cross-validated scores: every vehicle outside the held-out climates is a test vehicle once.

One split of a small fleet leaves few test vehicles (four of the default training fleet's 24), too
few for a coverage figure to say much. Here the vehicles of ``train``, ``calibration`` and ``test``
are dealt (from the seed) into ``folds`` groups; for fold ``k`` the models train on all groups but
``k`` and ``k + 1``, calibrate their intervals on group ``k + 1`` and forecast group ``k``, with
the configuration the trained folder was made with. The scores are those of
:func:`ml.training.evaluate`, of the forecasts of all folds pooled; the held-out climates' are every
fold's forecasts of them pooled (their interval counts the vehicles, so repeating a vehicle's
windows in every fold narrows nothing).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from ml.dataset import Dataset
from ml.task import Task


def fold_splits(splits: np.ndarray, folds: int, seed: int = 0) -> list[np.ndarray]:
    """The split of each vehicle in each fold (``climate_test`` kept as it is)."""
    pool = np.flatnonzero(splits != "climate_test")
    if folds < 3 or folds > len(pool):
        raise EvtwinError(f"{folds} folds of {len(pool)} vehicles: give 3 to {len(pool)} folds")
    group = np.empty(len(splits), dtype=int)
    group[np.random.default_rng([seed, 11]).permutation(pool)] = np.arange(len(pool)) % folds
    out = []
    for k in range(folds):
        split = np.array(splits, dtype=object)
        split[pool] = "train"
        split[pool[group[pool] == k]] = "test"
        split[pool[group[pool] == (k + 1) % folds]] = "calibration"
        out.append(split.astype(str))
    return out


def cross_validate(ds: Dataset, meta: dict, folds: int, say: Callable[[str], None] = print) -> dict:
    """Scores of the pooled forecasts of ``folds`` folds (module docstring), for the models, task and
    configuration of a trained folder's ``meta``; ``folds`` in the result."""
    from ml import training

    task = Task(**{k: tuple(v) if k == "horizons" else v for k, v in meta["task"].items()})
    keys = training.horizon_keys(task, ds.period_days)
    original = ds.vehicles["split"]
    pooled: dict[str, list] = {"test": [], "climate_test": []}
    try:
        for k, split in enumerate(fold_splits(original, folds)):
            ds.vehicles["split"] = split
            tested = ", ".join(ds.vehicles["vehicle_id"][split == "test"])
            say(f"fold {k + 1}/{folds}: training; test vehicles {tested}")
            with tempfile.TemporaryDirectory() as tmp:
                fold_meta = training.train(
                    ds, Path(tmp), task, tuple(meta["models"]), meta.get("config"), lambda _: None
                )
                _, models = training.load_models(Path(tmp), ds)
            for name in pooled:
                s = training.split_task(ds, fold_meta, name)
                if s is not None:
                    preds = {m: model.predict(s) for m, model in models.items()}
                    pooled[name].append((s, preds, fold_meta))
    finally:
        ds.vehicles["split"] = original
    if not pooled["test"]:
        raise EvtwinError("no fold has a test vehicle with a whole window and horizon")
    bms = getattr(ds, "bms", None)
    result = training.score_pooled(pooled["test"], keys, bms)
    held = training.score_pooled(pooled["climate_test"], keys, bms) if pooled["climate_test"] else None
    result["held_out_climates"] = held
    result["folds"] = folds
    result["dataset_sha256"] = ds.sha256
    return result
