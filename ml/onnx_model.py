"""A trained model as one ONNX file that carries its metadata, run through onnxruntime.

The metadata (ONNX ``metadata_props`` key ``evtwin``, JSON) says what the model expects and what it is:
``features`` (input columns, in order) with ``units``, ``outputs`` with ``output_units``, ``history``
(samples per window, 1 for a model of one sample), ``period_days`` (the days one sample of
the window and one step of the horizons aggregate), ``window_periods`` (the periods of history a
forecaster looks back over, for one of a window's summary too; 0: not recorded),
``training_data_sha256`` (the dataset file's hash),
``metrics`` (from evaluation) and ``kind``. A model loaded against a different feature list is refused,
so a model trained on one set of columns never silently reads another.

Inputs are float32 ``[batch, features]`` (history 1) or ``[batch, history, features]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cosim.errors import EvtwinError

METADATA_KEY = "evtwin"


@dataclass
class ModelInfo:
    """What an ONNX model file says about itself."""

    features: list[str]
    units: dict[str, str]
    outputs: list[str]
    output_units: dict[str, str]
    history: int = 1
    period_days: int = 7
    window_periods: int = 0
    kind: str = ""
    training_data_sha256: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> ModelInfo:
        try:
            data = json.loads(text)
            return cls(**data)
        except (TypeError, ValueError) as e:
            raise EvtwinError(f"{where}: the evtwin metadata is not readable ({e})") from None


def save_model(onnx_model: Any, info: ModelInfo, path: str | Path) -> Path:
    """Write ``onnx_model`` (an ``onnx.ModelProto``) with ``info`` as its metadata to ``path``."""
    import onnx

    del onnx_model.metadata_props[:]
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, info.to_json()
    onnx.checker.check_model(onnx_model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(onnx_model.SerializeToString())
    tmp.replace(path)
    return path


class OnnxModel:
    """An ONNX model file with its metadata, ready to run (one onnxruntime session).

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file.
    features : list of str, optional
        The feature columns the caller will pass, in order; refused unless they are the model's own.
    threads : int
        Intra-op threads of the session (1: what a co-simulation unit or a service wants).
    """

    def __init__(self, path: str | Path, features: list[str] | None = None, threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.exists():
            raise EvtwinError(f"{self.path}: no such model file")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # What a call costs is mostly the operators' count: every fusion and constant folding there is,
        # and the operators one after the other (the graphs are chains of small tensors).
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for unreadable files
            raise EvtwinError(f"{self.path} is not an ONNX model onnxruntime can run ({e})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in meta:
            raise EvtwinError(
                f"{self.path} has no evtwin metadata (features, units): export it with "
                "`evtwin ml export` or ml.onnx_model.save_model"
            )
        self.info = ModelInfo.from_json(meta[METADATA_KEY], str(self.path))
        if features is not None and list(features) != list(self.info.features):
            raise EvtwinError(
                f"{self.path} was trained on features {self.info.features}, not {list(features)}"
            )
        self._input = self.session.get_inputs()[0].name
        self._outputs = [self.session.get_outputs()[0].name]  # named once: a call asks for it alone
        self.rank = len(self.session.get_inputs()[0].shape)

    def run(self, x: np.ndarray) -> np.ndarray:
        """The model's first output for ``x`` (``[batch, features]`` or ``[batch, history, features]``)."""
        return self.session.run(self._outputs, {self._input: np.asarray(x, dtype=np.float32)})[0]
