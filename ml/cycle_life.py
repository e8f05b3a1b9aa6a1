"""Cycle life of real LFP cells from their first 100 cycles (Attia et al. 2020 data, shipped).

The 45 cells of ``ml/data/aging`` (provenance there): discharge capacity per cycle and the fast-charge
protocol of each. What a model may see is the first ``EARLY`` cycles' capacity and the protocol's
four C-rates; it predicts log10 of the cycle life (to 80 % of nominal). The features are fixed
beforehand, not selected on these cells:

- ``q2`` the capacity at cycle 2 [Ah]; ``dq`` cycle 100 minus cycle 2 [Ah];
- ``log_fade`` log10 of the fall from the highest capacity of the first 100 cycles to cycle 100;
- ``slope`` the least-squares capacity slope over cycles 50-100 [Ah/cycle];
- ``log_var`` log10 of the variance of the cycle-to-cycle change over cycles 2-100;
- the protocol's C-rates and their mean (the charge time is the same for all).

A ridge regression on standardised features (its penalty chosen by leave-one-out inside the
training cells) is scored by cross-validation: leaving out one cell at a time, and leaving out one
protocol (all five replicates) at a time, the harder question of a protocol never seen. The score
is the mean absolute percentage error of the cycle life, as Severson et al. 2019 report theirs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "aging"
EARLY = 100
NOMINAL_AH = 1.1
END_OF_LIFE_AH = 0.88
SEVERSON_2019_MAPE = 9.1  # % on their primary test set, from the first 100 cycles


def load() -> dict[str, np.ndarray]:
    """``capacity`` [cells, cycles] Ah (NaN after the test ended), ``crates`` [cells, 4], ``life``
    [cells] cycles, ``protocol`` [cells] index."""
    capacity = np.loadtxt(DATA / "attia2020_validation_Qn.csv", delimiter=",")
    capacity[capacity == 0.0] = np.nan
    with open(DATA / "attia2020_validation_index.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    crates = np.array([[float(r[k]) for k in ("CC1_C", "CC2_C", "CC3_C", "CC4_C_derived")] for r in rows])
    _, protocol = np.unique(crates, axis=0, return_inverse=True)
    life = np.array([float(r["cycle_life_final_results"]) for r in rows])
    return {"capacity": capacity, "crates": crates, "life": life, "protocol": protocol.ravel()}


def features(capacity: np.ndarray, crates: np.ndarray) -> np.ndarray:
    """[cells, 9] features of the first ``EARLY`` cycles and the protocol (module docstring)."""
    q = capacity[:, :EARLY]
    cycles = np.arange(1, EARLY + 1)
    late = slice(EARLY // 2 - 1, EARLY)
    slope = np.polyfit(cycles[late], q[:, late].T, 1)[0]
    fade = q.max(axis=1) - q[:, -1]
    step_var = np.var(np.diff(q[:, 1:], axis=1), axis=1)
    early = np.column_stack(
        [q[:, 1], q[:, -1] - q[:, 1], np.log10(fade + 1e-4), slope, np.log10(step_var + 1e-12)]
    )
    return np.hstack([early, crates, crates.mean(axis=1, keepdims=True)])


def _ridge():
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 25)))


def cross_validated(x: np.ndarray, life: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Predicted cycle life of each cell by a model trained without its group."""
    y = np.log10(life)
    predicted = np.empty_like(y)
    for g in np.unique(groups):
        out = groups == g
        predicted[out] = _ridge().fit(x[~out], y[~out]).predict(x[out])
    return 10.0**predicted


def mape(predicted: np.ndarray, life: np.ndarray) -> float:
    """Mean absolute percentage error [%]."""
    return float(100.0 * np.mean(np.abs(predicted - life) / life))


def evaluate() -> dict:
    """Mean % error of the cycle life: the early-cycle model, the protocol alone, the training mean."""
    d = load()
    life, cells = d["life"], np.arange(len(d["life"]))
    x = features(d["capacity"], d["crates"])
    protocol_only = x[:, 5:]
    result: dict = {"cells": len(life), "protocols": int(d["protocol"].max() + 1), "early_cycles": EARLY}
    for split, groups in (("leave_one_cell_out", cells), ("leave_one_protocol_out", d["protocol"])):
        mean_only = np.array([life[groups != groups[i]].mean() for i in cells])
        result[split] = {
            "mape_first_100_cycles": mape(cross_validated(x, life, groups), life),
            "mape_protocol_only": mape(cross_validated(protocol_only, life, groups), life),
            "mape_training_mean": mape(mean_only, life),
        }
    result["severson_2019_mape"] = SEVERSON_2019_MAPE
    return result
