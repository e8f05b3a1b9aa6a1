"""An LSTM forecaster (torch, trained on CPU) exported to ONNX.

Input: the window ``[n, history, features + 1]`` of usage features and reported SOH (last column), raw
units; the network normalises with the training set's mean and spread (kept in the model, so the
ONNX file takes raw values), runs one LSTM layer and maps its last state to the change from the mean
of the last four reports to each horizon. Output: SOH ``[n, horizons]``. torch is imported here only.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np

from ml.task import Samples

RECENT = 4


def _network(n_inputs: int, n_outputs: int, hidden: int, mean: np.ndarray, scale: np.ndarray):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
            self.lstm = torch.nn.LSTM(n_inputs, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, n_outputs)

        def forward(self, x):
            recent = x[:, -RECENT:, -1].mean(dim=1, keepdim=True)
            h, _ = self.lstm((x - self.mean) / self.scale)
            return recent + 0.01 * self.head(h[:, -1])  # the change in %-points / 100

    return Net()


class LSTMForecaster:
    """Trains :func:`_network` with Adam on the mean squared error of SOH."""

    name = "lstm"

    def __init__(self, hidden: int = 32, epochs: int = 60, lr: float = 3e-3, batch: int = 64, seed: int = 0,
                 progress: Callable[[str], None] | None = None):
        self.hidden, self.epochs, self.lr, self.batch, self.seed = hidden, epochs, lr, batch, seed
        self.progress = progress
        self.net = None

    def __getstate__(self):  # pickled as the network's shape and weights (numpy), not the torch module
        state = dict(self.__dict__, progress=None)
        state["net"] = {k: v.numpy().copy() for k, v in self.net.state_dict().items()}
        return state

    def __setstate__(self, state):
        import torch

        weights = state.pop("net")
        self.__dict__.update(state)
        n_inputs, n_outputs = weights["mean"].shape[0], weights["head.bias"].shape[0]
        self.net = _network(n_inputs, n_outputs, self.hidden, weights["mean"], weights["scale"])
        self.net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        self.net.eval()

    def fit(self, s: Samples) -> LSTMForecaster:
        import torch

        torch.manual_seed(self.seed)
        x = s.x.reshape(-1, s.x.shape[2])
        scale = x.std(axis=0)
        self.net = _network(s.x.shape[2], s.y.shape[1], self.hidden, x.mean(axis=0),
                            np.where(scale > 0, scale, 1.0))
        xt = torch.tensor(s.x, dtype=torch.float32)
        yt = torch.tensor(s.y, dtype=torch.float32)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        gen = torch.Generator().manual_seed(self.seed)
        for epoch in range(self.epochs):
            total = 0.0
            for idx in torch.randperm(len(xt), generator=gen).split(self.batch):
                opt.zero_grad()
                loss = torch.mean((self.net(xt[idx]) - yt[idx]) ** 2)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            if self.progress and (epoch + 1) % max(self.epochs // 5, 1) == 0:
                self.progress(f"  lstm epoch {epoch + 1}/{self.epochs}: RMSE {100 * math.sqrt(total / len(xt)):.3f} %-points")
        return self

    def predict(self, s: Samples) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.net(torch.tensor(s.x, dtype=torch.float32)).numpy().astype(float)

    def to_onnx(self, history: int, n_inputs: int):
        """The network as an ONNX graph: ``x`` float32 [n, history, inputs] -> ``soh`` [n, horizons]."""
        import onnx
        import torch

        buf = io.BytesIO()
        self.net.eval()
        torch.onnx.export(self.net, (torch.zeros(1, history, n_inputs),), buf, dynamo=False, input_names=["x"],
                          output_names=["soh"], dynamic_axes={"x": {0: "n"}, "soh": {0: "n"}})
        return onnx.load_from_string(buf.getvalue())
