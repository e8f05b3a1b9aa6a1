"""What the torch forecasters share: the training loop, pickling as numpy weights, the ONNX export.

A forecaster subclasses :class:`TorchForecaster` and gives ``_build(weights_or_None, s)`` (its
network, with the training set's normalisation kept inside so the ONNX file takes raw values),
``_inputs(s)`` (the tensor the network reads from :class:`ml.task.Samples`) and, where its loss has
more than the squared error of SOH, ``_loss``. torch is imported only when a model trains or loads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ml.task import Samples, denoised_targets, recent_mean

#: The anchored law's terms a window network reads beside the window, as the forest reads them: the
#: SOH at the origin, the reports' slope against sqrt(time), the age, then the fade ahead to each horizon.
LAW_TERMS = ("soh_level", "soh_sqrt_slope", "t_origin_years")


def law_names(outputs: list[str]) -> list[str]:
    """The names of the law's columns appended to a window network's input, for ``outputs`` (``soh_k``)."""
    return [*LAW_TERMS, *(f"law_fade_to_{h}" for h in outputs)]


def window_with_law(s: Samples) -> np.ndarray:
    """float32 [n, history, features + 1 + 3 + horizons]: the window, each period with its window's
    law (:func:`law_names`; the same on every period), so one tensor carries both."""
    from ml.forest import forest_inputs

    law = forest_inputs(s)[0][:, s.x.shape[2] - 1 :]  # after the means of the features
    return np.concatenate([s.x, np.repeat(law[:, None, :], s.x.shape[1], axis=1)], axis=2).astype(np.float32)


def anchored(x, horizons: int):
    """The anchored law's forecast [n, horizons] from an input of :func:`window_with_law` (torch): the
    level less the fade ahead, read from the last period."""
    return x[:, -1, -horizons - len(LAW_TERMS) : -horizons - len(LAW_TERMS) + 1] - x[:, -1, -horizons:]


def normaliser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, spread) of the last axis over all others; a constant column gets spread 1, and so does
    one whose spread is under a millionth of its mean: a constant but for rounding (0.6 summed in
    float64 spreads by 1e-14), whose rounding a network would otherwise read magnified 1e14 times."""
    flat = x.reshape(-1, x.shape[-1])
    mean, scale = flat.mean(axis=0), flat.std(axis=0)
    return mean, np.where(scale > 1e-6 * np.abs(mean), scale, 1.0)


def pooled(x, pool: int, history: int):
    """The window ``x`` [n, history, f] (torch) as means of ``pool`` consecutive periods
    [n, history // pool, f], the oldest ``history % pool`` periods left out. A network that reads
    the pooled window runs ``pool`` times fewer steps (what an in-loop call costs) and each step reads
    a report ``pool`` times less noisy. One product with a constant matrix: one operation of an
    exported graph, whose shapes but the batch are then all constants."""
    if pool == 1:
        return x
    return _pooling(pool, history) @ x


@lru_cache(maxsize=8)
def _pooling(pool: int, history: int):
    """[history // pool, history]: row k averages the k-th group of ``pool`` of the newest periods."""
    import torch

    keep = history - history % pool
    rows = np.arange(keep // pool)
    matrix = np.zeros((keep // pool, history), dtype=np.float32)
    for offset in range(pool):
        matrix[rows, history - keep + rows * pool + offset] = 1.0 / pool
    return torch.from_numpy(matrix)  # made outside any trace: a constant of an exported graph


class TorchForecaster:
    """Adam on minibatches of windows; ``epochs``, ``lr``, ``batch``, ``seed`` as attributes."""

    name = "torch"

    def __init__(self, epochs: int, lr: float, batch: int, seed: int, progress: Callable[[str], None] | None):
        self.epochs, self.lr, self.batch, self.seed = epochs, lr, batch, seed
        self.progress = progress
        self.net = None

    # -- what a subclass gives
    def _build(self, weights: dict | None, s: Samples | None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _inputs(self, s: Samples) -> np.ndarray:
        """The window with the law's terms (:func:`window_with_law`), or the window alone for a network
        of the window-only layout (pickled before ``law`` existed, or built with ``law=False``)."""
        return window_with_law(s) if getattr(self, "law", False) else s.x

    def _targets(self, s: Samples) -> np.ndarray:
        """What the network is trained to output for ``s`` [n, horizons]: the true SOH shifted so that
        the change it learns is from the level the anchored law's (or, window only, the mean of the last
        reports') estimate gives on the true SOH (:func:`ml.task.denoised_targets`)."""
        if getattr(self, "law", False):
            from ml.baselines import AnchoredPhysics

            return denoised_targets(s, AnchoredPhysics().level)
        return denoised_targets(s, recent_mean)

    def _loss(self, net, x, y):
        """(loss to minimise, squared error of SOH summed over the batch) for a batch."""
        import torch

        err = torch.sum((net(x) - y) ** 2, dim=1)
        return err.mean(), float(err.detach().sum())

    # -- shared
    def __getstate__(self):  # pickled as numpy weights, not the torch module
        state = dict(self.__dict__, progress=None)
        state["net"] = {k: v.numpy().copy() for k, v in self.net.state_dict().items()}
        return state

    def __setstate__(self, state):
        import torch

        weights = state.pop("net")
        self.__dict__.update(state)
        self.net = self._build(weights, None)
        self.net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        self.net.eval()

    def fit(self, s: Samples):
        import torch

        threads = torch.get_num_threads()
        # These networks are small: spreading each operation over threads costs more than it gains
        # (20x slower per step on a busy 2-core machine than one thread).
        torch.set_num_threads(1)
        try:
            return self._fit(s)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, s: Samples):
        import torch

        torch.manual_seed(self.seed)
        self.net = self._build(None, s)
        xt = torch.tensor(self._inputs(s), dtype=torch.float32)
        yt = torch.tensor(self._targets(s), dtype=torch.float32)
        # decoupled weight decay (AdamW): a pull of every weight to zero, as strong for rare inputs
        opt = torch.optim.AdamW(
            self.net.parameters(), lr=self.lr, weight_decay=getattr(self, "weight_decay", 0.0)
        )
        gen = torch.Generator().manual_seed(self.seed)
        self.net.train()
        for epoch in range(self.epochs):
            total = 0.0
            for idx in torch.randperm(len(xt), generator=gen).split(self.batch):
                opt.zero_grad()
                loss, squared = self._loss(self.net, xt[idx], yt[idx])
                loss.backward()
                opt.step()
                total += squared
            if self.progress and (epoch + 1) % max(self.epochs // 5, 1) == 0:
                rmse = 100 * math.sqrt(total / yt.numel())
                self.progress(f"  {self.name} epoch {epoch + 1}/{self.epochs}: RMSE {rmse:.3f} %-points")
        self.net.eval()
        return self

    def predict(self, s: Samples) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.net(torch.tensor(self._inputs(s), dtype=torch.float32)).numpy().astype(float)

    def to_onnx(self, example: np.ndarray):
        """The network as an ONNX graph: ``x`` float32 shaped like ``example`` (batch first) -> ``soh``."""
        import warnings

        import onnx
        import torch

        buf = io.BytesIO()
        self.net.eval()
        with warnings.catch_warnings():
            # the pooling matrix (built outside the network): a constant indeed
            warnings.filterwarnings("ignore", message="torch.from_numpy results are registered as constants")
            torch.onnx.export(
                self.net,
                (torch.tensor(example[:1], dtype=torch.float32),),
                buf,
                dynamo=False,
                input_names=["x"],
                output_names=["soh"],
                dynamic_axes={"x": {0: "n"}, "soh": {0: "n"}},
            )
        return onnx.load_from_string(buf.getvalue())
