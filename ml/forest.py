"""A random forest (scikit-learn) on a summary of the window, exported to ONNX with skl2onnx.

The summary of a window: the mean of each usage feature, the mean of the last ``RECENT`` reported SOH,
the slope of the reported SOH against sqrt(time) and the time at the origin. The forest predicts the
change from that recent reported SOH to each horizon; adding it back gives the SOH.
"""

from __future__ import annotations

import numpy as np

from ml.task import RECENT, Samples


def summary_names(columns: list[str]) -> list[str]:
    return [f"mean_{c}" for c in columns[:-1]] + ["soh_recent", "soh_sqrt_slope", "t_origin_years"]


def summarise(s: Samples, recent_periods: int = RECENT) -> np.ndarray:
    """[n, features + 3] summary of each window (see the module docstring), its recent SOH the mean of
    the last ``recent_periods`` reports."""
    soh = s.column("soh_reported")
    recent = soh[:, -recent_periods:].mean(axis=1)
    r = np.sqrt(s.t) - np.sqrt(s.t).mean(axis=1, keepdims=True)
    slope = (r * (soh - soh.mean(axis=1, keepdims=True))).sum(axis=1) / (r * r).sum(axis=1)
    return np.column_stack([s.x[:, :, :-1].mean(axis=1), recent, slope, s.t[:, -1]]).astype(np.float32)


class Forest:
    """``RandomForestRegressor`` of the change in SOH to each horizon."""

    name = "forest"

    def __init__(self, n_estimators: int = 200, max_depth: int | None = 12, seed: int = 0):
        from sklearn.ensemble import RandomForestRegressor

        self.model = RandomForestRegressor(
            n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1, min_samples_leaf=2
        )
        self.recent = RECENT

    def fit(self, s: Samples) -> Forest:
        z = summarise(s, self.recent)
        self.model.fit(z, s.y - z[:, [-3]])
        return self

    def predict(self, s: Samples) -> np.ndarray:
        z = summarise(s, getattr(self, "recent", 4))  # pickled before the mean was longer: 4
        delta = self.model.predict(z).reshape(len(s), -1)
        return delta + z[:, [-3]]

    def to_onnx(self, n_inputs: int):
        """The forest as an ONNX graph: ``x`` float32 [n, summary] -> change in SOH [n, horizons]."""
        from skl2onnx import to_onnx

        return to_onnx(
            self.model, np.zeros((1, n_inputs), dtype=np.float32), target_opset={"": 17, "ai.onnx.ml": 3}
        )
