"""An LSTM forecaster (torch, trained on CPU) exported to ONNX.

Input: the window ``[n, history, features + 1]`` of usage features and reported SOH (column
``features``), raw units, each period followed by its window's anchored law
(:func:`ml.torch_fit.window_with_law`: the level at the origin, the reports' slope against
sqrt(time), the age, the law's fade ahead to each horizon); the network averages it over ``pool``
periods at a time (four weeks by default: 26 steps for two years, a quarter of the steps a call
costs and reports half as noisy), normalises with the training set's mean and spread (kept in the
model, so the ONNX file takes raw values), runs one LSTM layer and maps its last state to a
correction of the anchored law's forecast (:class:`ml.baselines.AnchoredPhysics`: the level less
the fade ahead), as the forest does. With ``law=False``, the window-only layout of the earlier
configuration: the window alone, and the change from the mean of the last ``RECENT`` reports.
Output: SOH ``[n, horizons]``. torch is imported here only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.task import RECENT
from ml.torch_fit import TorchForecaster, anchored, normaliser, pooled


def _network(n_inputs, n_outputs, hidden, mean, scale, pool=1, history=0, recent_periods=RECENT, law=False):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
            self.lstm = torch.nn.LSTM(n_inputs, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, n_outputs)

        def forward(self, x):
            if law:
                start = anchored(x, n_outputs)
            else:
                start = x[:, -recent_periods:, -1:].mean(dim=1)
            _, (h, _) = self.lstm((pooled(x, pool, history) - self.mean) / self.scale)
            return start + 0.01 * self.head(h[0])  # the change in %-points / 100

    return Net()


def _drop_unused(graph) -> None:
    """Remove the nodes of ``graph`` (an ``onnx.GraphProto``) whose outputs nothing reads."""
    while True:
        read = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        unused = [node for node in graph.node if not any(out in read for out in node.output)]
        if not unused:
            return
        for node in unused:
            graph.node.remove(node)


class LSTMForecaster(TorchForecaster):
    """Trains :func:`_network` with Adam on the mean squared error of SOH."""

    name = "lstm"

    def __init__(
        self,
        hidden: int = 32,
        pool: int = 4,
        epochs: int = 60,
        lr: float = 3e-3,
        batch: int = 64,
        seed: int = 0,
        weight_decay: float = 0.0,
        law: bool = True,
        progress: Callable[[str], None] | None = None,
    ):
        super().__init__(epochs, lr, batch, seed, progress)
        self.hidden, self.pool, self.history, self.recent = hidden, pool, 0, RECENT
        self.weight_decay, self.law = weight_decay, law

    def to_onnx(self, example: np.ndarray):
        """The network as an ONNX graph; the LSTM starts from ONNX's default state (zeros) instead of
        zeros the export builds from the batch size on every call (five operations fewer)."""
        from onnx import numpy_helper

        model = super().to_onnx(example)
        graph = model.graph
        zeros = {
            n.output[0]
            for n in graph.node
            if n.op_type == "ConstantOfShape"
            and not any(numpy_helper.to_array(a.t).any() for a in n.attribute if a.name == "value")
        }
        for node in graph.node:
            if node.op_type == "LSTM":  # inputs 5 and 6: the initial hidden and cell state
                node.input[:] = [n if i < 5 or n not in zeros else "" for i, n in enumerate(node.input)]
                while node.input[-1] == "":
                    del node.input[-1]
        _drop_unused(graph)
        return model

    def _build(self, weights, s):
        if weights is not None:
            mean, scale, n_out = weights["mean"], weights["scale"], weights["head.bias"].shape[0]
        else:
            (mean, scale), n_out = normaliser(self._inputs(s)), s.y.shape[1]
            self.history = s.x.shape[1]
            self.pool = min(self.pool, self.history)
        # a model pickled before pooling existed reads every period and averages the last 4 reports
        pool, history = getattr(self, "pool", 1), getattr(self, "history", 0)
        recent, law = getattr(self, "recent", 4), getattr(self, "law", False)
        return _network(len(mean), n_out, self.hidden, mean, scale, pool, history, recent, law)
