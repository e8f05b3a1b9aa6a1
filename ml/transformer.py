"""A transformer forecaster: self-attention over the window of usage and reported SOH (torch, ONNX).

Input as the LSTM's: the raw window ``[n, history, features + 1]`` with its anchored law on each
period (:func:`ml.torch_fit.window_with_law`), averaged over ``pool`` periods at
a time (half a year by default: 4 tokens for two years; what a call costs grows with the tokens, and
over 21 seeds of five-fold cross-validation 4 tokens forecast as well as 13 of eight weeks did) and
normalised inside the network. Each token is embedded (a linear map plus a learnt position),
passes ``layers`` pre-norm encoder blocks (multi-head self-attention, then a two-layer feed-forward,
each with a residual), and the mean over the tokens maps to a correction of the anchored law's
forecast to each horizon (with ``law=False``, the window-only layout of the earlier configuration:
the change from the mean of the last ``RECENT`` reports). It does not read the temperatures the law
reads itself (:data:`ml.task.TEMPERATURES`), and its correction is at most ``bound`` either way
(0.25 %-point by default, the bound whose forecasts carried best into a training climate left out).
The attention is written out with matrix products so the ONNX export needs no fused kernel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.task import RECENT, TEMPERATURES, seen
from ml.torch_fit import TorchForecaster, anchored, normaliser, pooled


def _network(
    n_inputs, n_outputs, tokens, width, heads, layers, mean, scale, pool=1, history=0, recent_periods=RECENT,
    law=False, mask=None, bound=None,
):  # fmt: skip
    import torch
    from torch import nn

    head_width = width // heads
    own = (torch.arange(width) // head_width == torch.arange(heads)[:, None]).float()  # [heads, width]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.mix = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

        def forward(self, h):  # h [n * tokens, width]: each linear map one Gemm of an exported graph
            # Every head at once: a token's query is a row per head that keeps only that head's
            # columns, so one product gives all heads' scores and one their outputs, of which the mix
            # reads each head's columns from its own row. The same attention as a product per head,
            # without the transposes and per-head products that were most of a call's time.
            w_q, w_kv = self.qkv.weight.split([width, 2 * width])
            b_q, b_kv = self.qkv.bias.split([width, 2 * width])
            w = torch.cat([(own[:, :, None] * w_q).reshape(heads * width, width), w_kv])
            b = torch.cat([(own * b_q).reshape(-1), b_kv])
            q, k, v = nn.functional.linear(self.norm1(h), w, b).split([heads * width, width, width], dim=1)
            q = q.reshape(-1, tokens * heads, width)  # a row per (token, head)
            k, v = k.reshape(-1, tokens, width), v.reshape(-1, tokens, width)
            att = torch.softmax(q @ k.transpose(1, 2) / head_width**0.5, dim=-1)
            mix = (self.mix.weight[:, None, :] * own).reshape(width, heads * width)
            h = h + nn.functional.linear((att @ v).reshape(-1, heads * width), mix, self.mix.bias)
            return h + self.ff(self.norm2(h))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
            # the inputs it reads (a constant of the forward pass, rebuilt from ``blind`` on loading)
            seen = torch.tensor(np.ones(n_inputs, dtype=np.float32) if mask is None else mask)
            self.register_buffer("mask", seen, persistent=False)
            self.embed = nn.Linear(n_inputs, width)
            self.position = nn.Parameter(0.02 * torch.randn(tokens, width))
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, n_outputs)

        def forward(self, x):
            start = anchored(x, n_outputs) if law else x[:, -recent_periods:, -1:].mean(dim=1)
            # normalised before pooling (the same, pooling being a mean): an input that varies little
            # about a large mean would otherwise be read with the float32 rounding of its pooled sum
            z = pooled((x - self.mean) / self.scale, pool, history)  # [n, tokens, features]
            # the embedding's bias and the position, the head's scale in its weights and the embedding's
            # columns of the inputs it does not read, zero, are constants of the exported graph
            w = self.embed.weight * self.mask
            h = (z @ w.T + (self.embed.bias + self.position)).reshape(-1, width)
            for block in self.blocks:
                h = block(h)
            h = self.norm(h).reshape(-1, tokens, width).mean(dim=1)
            change = nn.functional.linear(h, 0.01 * self.head.weight, 0.01 * self.head.bias)  # SOH
            return start + _bounded(change, bound)

    return Net()


def _bounded(change, bound: float | None):
    """The correction ``change`` (torch, SOH) kept within ``bound`` either way (``bound tanh(change /
    bound)``: the same where it is small), however far outside its training inputs it is asked; in
    float64, so that onnxruntime computes the same."""
    import torch

    return change if bound is None else (bound * torch.tanh(change.double() / bound)).float()


class TransformerForecaster(TorchForecaster):
    """Trains :func:`_network` with Adam on the mean squared error of SOH.

    ``width`` must be a multiple of ``heads``. The network does not read the features ``blind`` (by
    default :data:`ml.task.TEMPERATURES`, which the anchored law reads itself).
    """

    name = "transformer"

    def __init__(
        self,
        width: int = 32,
        heads: int = 4,
        layers: int = 2,
        pool: int = 26,
        epochs: int = 40,
        lr: float = 2e-3,
        batch: int = 64,
        seed: int = 0,
        law: bool = True,
        blind: tuple[str, ...] = TEMPERATURES,
        bound: float | None = 0.0025,
        progress: Callable[[str], None] | None = None,
    ):
        if width % heads:
            raise ValueError(f"transformer width {width} is not a multiple of its {heads} heads")
        super().__init__(epochs, lr, batch, seed, progress)
        self.width, self.heads, self.layers = width, heads, layers
        self.pool, self.history, self.recent, self.law = pool, 0, RECENT, law
        self.blind, self.columns, self.bound = tuple(blind), [], bound

    def _build(self, weights, s):
        if weights is not None:
            mean, scale = weights["mean"], weights["scale"]
            tokens, n_out = weights["position"].shape[0], weights["head.bias"].shape[0]
        else:
            (mean, scale), n_out = normaliser(self._inputs(s)), s.y.shape[1]
            self.columns = list(s.columns)
            self.history = s.x.shape[1]
            self.pool = min(self.pool, self.history)
            tokens = self.history // self.pool
        # a model pickled before pooling existed reads every period and averages the last 4 reports
        pool, history = getattr(self, "pool", 1), getattr(self, "history", 0)
        recent, law = getattr(self, "recent", 4), getattr(self, "law", False)
        # the window's columns, then the law's (never blind)
        columns = getattr(self, "columns", [])
        mask = seen(columns + [""] * (len(mean) - len(columns)), getattr(self, "blind", ()))
        args = (self.width, self.heads, self.layers, mean, scale, pool, history, recent, law, mask)
        return _network(len(mean), n_out, tokens, *args, getattr(self, "bound", None))
