"""The aging surrogate: a vehicle's year of daily usage -> its capacity SOH after 1..10 years, in ONNX.

Input ``x`` float32 ``[n, 365, 12]``: per day the :data:`DAILY` columns of the fleet's daily table
(:mod:`fleet.daily`), then the pack's manufacturing factors :data:`VARIATION` (the same every day: they
are the physics model's parameters, drawn per pack as a fleet draws them). Output ``soh`` ``[n, 10]``.

One surrogate per cell parameter set (:data:`SURROGATES`: the LFP and the NMC cell), each the twin's
capacity-fade laws of its chemistry (:mod:`ml.surrogate_laws`: ``battery_fmu/equations.py`` for LFP,
``battery_fmu/nmc_laws.py`` for NMC, Gasper et al. 2023 both) with a learnt correction, in float64
inside:

- per day, the calendar rate ``k_cal`` at the day's mean cell temperature and SOC, and the cycle rate
  ``k_cyc`` at the day's SOC swing, its mean C-rate (``efc / 12`` per hour: the aging model's C-rate is
  the mean of |I| over its one-day chunk) and temperature, each times a factor ``exp(c)``, ``c`` in
  ``[-1/2, 1/2]`` from a small network of the day's columns (what the day's averages hide: the hours
  above the mean temperature weigh more in an Arrhenius law);
- the year repeated: the aging model's power laws ``q = k x^p`` in their "virtual time" form give, for
  rates that change, ``q(N years) = (N sum_days k^(1/p) dx)^p`` (``dx`` the day, the day's EFC, each in
  its law's unit), so the fade after any number of years is one sum over the year;
- ``SOH = capacity_factor (1 - calendar_factor q_cal - cycle_factor q_cyc)``, as the twin applies
  its factors.

It learns from (drawn year -> aging model) pairs of :mod:`ml.usage_draw` and never sees a fleet run, so
every fleet vehicle is held out. Trained models carry their metadata (:class:`ml.onnx_model.ModelInfo`),
with the held-out scores under ``metrics``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError

DAILY = ("efc", "soc_mean", "soc_min", "soc_max", "cycle_depth", "t_cell_mean_degC", "t_cell_min_degC",
         "t_cell_max_degC", "high_soc_h")
UNITS = {"efc": "1", "soc_mean": "1", "soc_min": "1", "soc_max": "1", "cycle_depth": "1",
         "t_cell_mean_degC": "degC", "t_cell_min_degC": "degC", "t_cell_max_degC": "degC", "high_soc_h": "h"}
VARIATION = ("capacity_factor", "calendar_fade_factor", "cycle_fade_factor")
YEARS = 10
DAYS = 365
K0 = 273.15
DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Registered:
    """A cell parameter set's trained surrogate and the fleet file it draws its training vehicles from
    (both under ``ml/data``)."""

    model: str
    fleet: str


#: Cell parameter set (``battery_fmu/params``) -> its surrogate: a chemistry more is one entry here (and
#: its daily rates in :mod:`ml.surrogate_laws`); a vehicle whose set has none is refused, never dropped.
SURROGATES = {
    "lfp_220ah": Registered("aging_surrogate.onnx", "surrogate_fleet.yaml"),
    "nmc_75ah": Registered("aging_surrogate_nmc_75ah.onnx", "surrogate_fleet_nmc_75ah.yaml"),
}


def registered(parameter_set: str, where: str = "") -> Registered:
    """The registry's entry for ``parameter_set``, refused in one line when it has none."""
    if parameter_set not in SURROGATES:
        known = ", ".join(SURROGATES)
        raise EvtwinError(f"{where}no aging surrogate for the cell parameter set {parameter_set!r} "
                          f"(surrogates: {known})")
    return SURROGATES[parameter_set]


def inputs(daily: list[dict[str, np.ndarray]], variation: list[dict[str, float]]) -> np.ndarray:
    """``x`` for the model from each vehicle's daily table (its first 365 days) and its factors (missing
    ones nominal)."""
    x = np.zeros((len(daily), DAYS, len(DAILY) + len(VARIATION)), dtype=np.float32)
    for i, (d, v) in enumerate(zip(daily, variation, strict=True)):
        if len(d["efc"]) < DAYS:
            raise ValueError(f"vehicle {i}: {len(d['efc'])} days of usage; the surrogate reads a whole year")
        x[i, :, : len(DAILY)] = np.stack([np.asarray(d[c], dtype=float)[:DAYS] for c in DAILY], axis=1)
        x[i, :, len(DAILY):] = [v.get(name, 1.0) for name in VARIATION]
    return x


def _network(mean: np.ndarray, scale: np.ndarray, hidden: int, parameter_set: str):
    import torch
    from torch import nn

    from battery_fmu.ops import torch_ops
    from battery_fmu.parameters import load_cell
    from ml.surrogate_laws import daily_rates

    p = load_cell(parameter_set)
    a = p.aging
    rates = daily_rates(p.chemistry)
    col = {name: i for i, name in enumerate(DAILY)}

    class Surrogate(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
            self.register_buffer("years", torch.arange(1, YEARS + 1, dtype=torch.float64))
            self.day = nn.Sequential(nn.Linear(len(DAILY), hidden), nn.Tanh(), nn.Linear(hidden, 2))
            nn.init.zeros_(self.day[2].weight)
            nn.init.zeros_(self.day[2].bias)

        def forward(self, x):
            ops = torch_ops()
            d = x[..., : len(DAILY)]
            c = (0.5 * torch.tanh(self.day((d - self.mean) / self.scale))).double()
            d = d.double()
            efc = torch.clamp(d[..., col["efc"]], min=0.0)
            soc = torch.clamp(d[..., col["soc_mean"]], 0.0, 1.0)
            swing = torch.clamp(d[..., col["soc_max"]] - d[..., col["soc_min"]], 0.0, 1.0)
            temp = torch.clamp(d[..., col["t_cell_mean_degC"]], -60.0, 100.0) + K0
            k_cal, dx_cal, k_cyc, dx_cyc = rates(efc, soc, swing, temp, p, ops)
            k_cal, k_cyc = k_cal * torch.exp(c[..., 0]), k_cyc * torch.exp(c[..., 1])
            s_cal = torch.sum(torch.pow(k_cal, 1.0 / a.pcal) * dx_cal, dim=1, keepdim=True)
            s_cyc = torch.sum(torch.pow(k_cyc, 1.0 / a.pcyc) * dx_cyc, dim=1, keepdim=True)
            q_cal = torch.pow(self.years * s_cal, a.pcal)
            q_cyc = torch.pow(self.years * s_cyc + 1e-30, a.pcyc)
            v = x[:, 0, len(DAILY):].double()
            soh = v[:, :1] * (1.0 - v[:, 1:2] * q_cal - v[:, 2:3] * q_cyc)
            return soh.float()

    return Surrogate()


class AgingSurrogate:
    """The surrogate's network (torch) while it trains; :meth:`to_onnx` for everything after."""

    def __init__(self, x: np.ndarray, parameter_set: str = "lfp_220ah", hidden: int = 16, seed: int = 0):
        import torch

        torch.manual_seed(seed)
        days = x[..., : len(DAILY)].reshape(-1, len(DAILY))
        self.parameter_set = parameter_set
        self.net = _network(days.mean(axis=0), days.std(axis=0) + 1e-6, hidden, parameter_set)

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.net(torch.tensor(x, dtype=torch.float32)).numpy().astype(float)

    def fit(self, x: np.ndarray, soh: np.ndarray, epochs: int = 300, lr: float = 0.01,
            say: Callable[[str], None] = lambda s: None) -> AgingSurrogate:
        """Least squares on the SOH at every year [%-points], full batch with Adam (one thread)."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(soh, dtype=torch.float32)
            opt = torch.optim.Adam(self.net.parameters(), lr=lr)
            for epoch in range(epochs):
                opt.zero_grad()
                loss = torch.mean((100.0 * (self.net(xt) - yt)) ** 2)
                loss.backward()
                opt.step()
                if epoch % 50 == 0 or epoch == epochs - 1:
                    say(f"  epoch {epoch + 1}/{epochs}: RMSE {float(loss.detach()) ** 0.5:.3f} %-points")
        finally:
            torch.set_num_threads(threads)
        return self

    def to_onnx(self, example: np.ndarray):
        import io

        import onnx
        import torch

        buf = io.BytesIO()
        self.net.eval()
        torch.onnx.export(self.net, (torch.tensor(example[:1], dtype=torch.float32),), buf, dynamo=False,
                          input_names=["x"], output_names=["soh"],
                          dynamic_axes={"x": {0: "n"}, "soh": {0: "n"}})
        return onnx.load_from_string(buf.getvalue())


def model_info(data_sha256: str, metrics: dict, parameter_set: str) -> object:
    """The metadata the surrogate's ONNX file carries (the cell parameter set it learnt under ``metrics``)."""
    from ml.onnx_model import ModelInfo

    return ModelInfo(
        features=[*DAILY, *VARIATION],
        units={**UNITS, **{name: "1" for name in VARIATION}},
        outputs=[f"soh_{y}y" for y in range(1, YEARS + 1)],
        output_units={f"soh_{y}y": "1" for y in range(1, YEARS + 1)},
        history=DAYS,
        period_days=1,
        kind="aging_surrogate",
        training_data_sha256=data_sha256,
        metrics={"parameter_set": parameter_set, **metrics},
    )


def soh_of(q: np.ndarray, factors: dict[str, float]) -> np.ndarray:
    """Capacity SOH from the nominal calendar and cycle fade ``q`` ``[..., 2]``
    (:func:`ml.usage_draw.aging_path`) and a pack's :data:`VARIATION` factors, as the twin applies them."""
    f = [factors.get(name, 1.0) for name in VARIATION]
    return f[0] * (1.0 - f[1] * q[..., 0] - f[2] * q[..., 1])


def rmse(pred: np.ndarray, truth: np.ndarray) -> list[float]:
    """RMSE per year [%-points] over the vehicles (NaN truths left out)."""
    err = 100.0 * (np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float))
    return [float(np.sqrt(np.nanmean(err[:, k] ** 2))) for k in range(err.shape[1])]


def default_model(parameter_set: str = "lfp_220ah") -> Path:
    """The surrogate of ``parameter_set`` that ships with evtwin (``evtwin ml train-surrogate`` writes it)."""
    return DATA / registered(parameter_set).model


def training_fleet(parameter_set: str) -> Path:
    """The fleet file ``parameter_set``'s surrogate draws its training vehicles from."""
    return DATA / registered(parameter_set).fleet


def model_parameter_set(info) -> str:
    """The cell parameter set a surrogate file learnt (its metadata), refused when it names none."""
    name = info.metrics.get("parameter_set") if info.kind == "aging_surrogate" else None
    if not name:
        raise EvtwinError("the model file is not an aging surrogate that names its cell parameter set")
    return name
