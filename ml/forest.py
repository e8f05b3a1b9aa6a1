"""A random forest (scikit-learn) on a summary of the window, exported to ONNX with skl2onnx.

The summary of a window: the mean of each usage feature, the SOH at the origin the reports give
(:meth:`ml.baselines.AnchoredPhysics.level`: every report of the window moved to the origin along
the nominal aging law, averaged), the slope of the reported SOH against sqrt(time) and the time at
the origin. The forest reads it with the law's fade ahead to each horizon and predicts what the
anchored law misses: the change from :class:`ml.baselines.AnchoredPhysics`'s forecast. A forest
only averages what it saw, so it cannot extrapolate a fade; starting from the law's, it learns a
correction of a tenth of a %-point rather than the fade itself. Leaves of at least
``min_samples_leaf`` windows (several vehicles' worth) and a third of the inputs per split keep it
from learning the training vehicles' own BMS biases.
"""

from __future__ import annotations

import numpy as np

from ml.task import Samples, denoised_targets


def summary_names(columns: list[str]) -> list[str]:
    return [f"mean_{c}" for c in columns[:-1]] + ["soh_level", "soh_sqrt_slope", "t_origin_years"]


def summarise(s: Samples) -> np.ndarray:
    """[n, features + 3] summary of each window (see the module docstring)."""
    from ml.baselines import AnchoredPhysics

    soh = s.column("soh_reported")
    level = AnchoredPhysics().level(s)
    r = np.sqrt(s.t) - np.sqrt(s.t).mean(axis=1, keepdims=True)
    slope = (r * (soh - soh.mean(axis=1, keepdims=True))).sum(axis=1) / (r * r).sum(axis=1)
    return np.column_stack([s.x[:, :, :-1].mean(axis=1), level, slope, s.t[:, -1]]).astype(np.float32)


def forest_inputs(s: Samples) -> tuple[np.ndarray, np.ndarray]:
    """(the forest's inputs [n, features + 3 + horizons]: the summary and the law's fade ahead to each
    horizon, the anchored law's forecast [n, horizons])."""
    from ml.baselines import AnchoredPhysics

    z = summarise(s)
    base = AnchoredPhysics().predict(s)
    return np.column_stack([z, z[:, [-3]] - base]).astype(np.float32), base


class Forest:
    """``RandomForestRegressor`` of the correction to the anchored law's forecast at each horizon."""

    name = "forest"

    def __init__(
        self,
        n_estimators: int = 200,
        max_depth: int | None = 8,
        min_samples_leaf: int = 20,
        max_features: float = 0.33,
        seed: int = 0,
    ):
        from sklearn.ensemble import RandomForestRegressor

        self.model = RandomForestRegressor(
            n_estimators=n_estimators,
            max_depth=max_depth,
            random_state=seed,
            n_jobs=1,
            min_samples_leaf=min_samples_leaf,
            max_features=max_features,
        )

    def fit(self, s: Samples) -> Forest:
        from ml.baselines import AnchoredPhysics

        z, base = forest_inputs(s)
        self.model.fit(z, denoised_targets(s, AnchoredPhysics().level) - base)
        return self

    def predict(self, s: Samples) -> np.ndarray:
        z, base = forest_inputs(s)
        return base + self.model.predict(z).reshape(len(s), -1)

    def to_onnx(self, n_inputs: int):
        """The forest as an ONNX graph: ``x`` float32 [n, inputs] -> correction of SOH [n, horizons]."""
        from skl2onnx import to_onnx

        return to_onnx(
            self.model, np.zeros((1, n_inputs), dtype=np.float32), target_opset={"": 17, "ai.onnx.ml": 3}
        )
