"""``GET /vehicles/{id}/forecast``: the SOH forecaster's trajectory for a vehicle.

The forecaster is an ONNX file written by ``evtwin ml export``; its metadata carries its features, its
period, the periods of history it reads and its horizons. The vehicle's usage features over its last
periods come from its telemetry and its twin (:mod:`service.usage_features`), the SOH history from the
twin's capacity estimate at each period's end (where the training data had the BMS's report). The
interval is the model's calibrated 90 % conformal half-width at each horizon. The trajectory is the
model's answer at each horizon, clipped to [0, 1] and nothing else: it is not forced to fall, so that a
forecaster whose capacity comes back shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from service import store
from service.db import Database
from service.twin import MAX_HOLD_S

DAY = 86400.0


class ForecastUnavailable(RuntimeError):
    """No forecast can be made; the message says what is missing."""


class Forecaster:
    """The configured forecaster, loaded once per worker (None: none configured)."""

    def __init__(self, path: str | None):
        self.path = None if path is None else Path(path)
        self._model = None
        if self.path is not None:
            from ml.onnx_model import OnnxModel

            self._model = OnnxModel(self.path)

    def forecast(self, db: Database, fleet: str, vehicle_id: str) -> dict[str, Any]:
        """``t`` [unix s] of each horizon, ``soh`` with its ``lower`` and ``upper`` bounds [1], ``model``,
        ``features_from``; :class:`ForecastUnavailable` where the vehicle's history is too short."""
        if self._model is None:
            raise ForecastUnavailable(
                "no SOH forecaster is configured: start the service with `evtwin serve --forecast-model "
                "MODEL.onnx` (a file written by `evtwin ml export`)"
            )
        info = self._model.info
        window, period = info.window_periods, info.period_days
        if window < 1:
            raise ForecastUnavailable(
                f"the forecaster {self.path.name} does not say how many periods it reads: export it again "
                "with `evtwin ml export`"
            )
        periods, days_end = self._periods(db, fleet, vehicle_id, window, period)
        have = len(periods["t_years"])
        if have < window:
            raise ForecastUnavailable(
                f"the forecaster {self.path.name} needs {window} whole periods of {period} days of "
                "telemetry; "
                f"vehicle {vehicle_id!r} has {have}"
            )
        soh = self._model.run(self._inputs(periods, window)).reshape(-1).astype(float)
        if not np.all(np.isfinite(soh)):
            raise ForecastUnavailable(
                f"the forecaster {self.path.name} gave no finite SOH for vehicle {vehicle_id!r}'s features"
            )
        soh = np.clip(soh, 0.0, 1.0)  # the model's own answer: a forecaster whose SOH rises says so
        half = np.asarray(info.metrics.get("conformal_90", [np.inf] * len(soh)), dtype=float)
        horizons = [int(name.removeprefix("soh_")) for name in info.outputs]
        return {
            "t": [days_end * DAY + h * period * DAY for h in horizons],
            "soh": soh.tolist(),
            "lower": np.clip(soh - half, 0.0, 1.0).tolist(),
            "upper": np.clip(soh + half, 0.0, 1.0).tolist(),
            "model": self.path.stem,
            "features_from": "telemetry",
        }

    def _periods(self, db: Database, fleet: str, vehicle_id: str, window: int, period: int):
        """The vehicle's last ``window`` whole periods of features (fewer where it has fewer) and the end of
        the last one [days since the epoch]."""
        from service.usage_features import period_features

        newest = store.state(db, fleet, vehicle_id).get("last_sample_t")
        _, first, _, _ = store.usage_record(db, fleet, vehicle_id, float("inf"))
        if first is None or newest is None:
            return {"t_years": np.zeros(0)}, 0
        # the day of the newest sample is still going on: periods end by the day before it
        first_day, last_day = int(first // DAY), int(newest // DAY) - 1
        whole = max(last_day - first_day + 1, 0) // period
        from_day = first_day + max(whole - window, 0) * period
        pack, _, samples, states = store.usage_record(db, fleet, vehicle_id, from_day * DAY - MAX_HOLD_S)
        capacity = pack["capacity_Ah"] * pack["n_parallel"]
        periods = period_features(samples, states, capacity, period, first_day, from_day)
        n = min(len(periods["t_years"]), whole, window)
        return {k: v[:n] for k, v in periods.items()}, from_day + n * period

    def _inputs(self, periods: dict[str, np.ndarray], window: int) -> np.ndarray:
        """The model's input for the window: the raw window, or what the forest's or the physics-informed
        network's file reads of it (:func:`ml.export.input_for`)."""
        from ml.dataset import FEATURES
        from ml.export import input_for
        from ml.task import Samples

        info = self._model.info
        columns = [*FEATURES, "soh_reported"]
        table = {**periods, "soh_reported": periods["soh_true"]}
        x = np.stack([table[c] for c in columns], axis=1)[None]
        t = periods["t_years"][None]
        ahead = np.array([int(name.removeprefix("soh_")) for name in info.outputs]) * info.period_days / 365.0
        one = Samples(x, t, np.zeros((1, len(ahead))), t[:, -1:] + ahead[None], np.zeros(1), columns)
        found = input_for(list(info.features), one)
        if found is None:
            raise ForecastUnavailable(
                f"the forecaster {self.path.name} reads {list(info.features)}; the service derives {columns} "
                "(or what the forest's or the physics-informed network's file reads of them)"
            )
        return found
