"""``GET /vehicles/{id}/forecast``: the SOH forecaster's trajectory for a vehicle.

The forecaster is an ONNX file written by ``evtwin ml export`` (it carries its features, history
length and horizons). Without one the route answers 503 naming what is missing. With one it answers
503 too, naming the features it needs: the models read per-period usage features of a fleet run
(:data:`ml.dataset.FEATURES`, ambient temperatures among them), which the service does not derive
from telemetry yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.db import Database


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
        if self._model is None:
            raise ForecastUnavailable(
                "no SOH forecaster is configured: start the service with `evtwin serve --forecast-model "
                "MODEL.onnx` (a file written by `evtwin ml export`)"
            )
        info = self._model.info
        raise ForecastUnavailable(
            f"the forecaster {self.path.name} needs {info.history} periods of the features "
            f"{', '.join(info.features)}; the service does not derive them from telemetry yet"
        )
