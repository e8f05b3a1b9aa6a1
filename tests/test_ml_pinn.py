"""The physics-informed network: monotone and bounded whatever its weights, and its residual is the
battery twin's aging law (checked against the law's closed form)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.task import Samples

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add synchronisation
    yield
    torch.set_num_threads(threads)


COLUMNS = ["efc", "t_cell_mean_degC", "soc_mean", "cycle_depth", "c_rate_p99", "soh_reported"]


def _samples(n: int, seed: int = 0) -> Samples:
    """Weekly windows of one year at an origin two years in, horizons one and five years ahead."""
    rng = np.random.default_rng(seed)
    history = 52
    t = 1.0 + np.arange(1, history + 1) / 52.0
    x = np.zeros((n, history, len(COLUMNS)))
    x[:, :, 0] = rng.uniform(2.0, 8.0, (n, 1))  # EFC a week
    x[:, :, 1] = rng.uniform(15.0, 40.0, (n, 1))  # cell temperature, degC
    x[:, :, 2] = rng.uniform(0.4, 0.8, (n, 1))
    x[:, :, 3] = rng.uniform(0.2, 0.8, (n, 1))
    x[:, :, 4] = rng.uniform(0.3, 1.5, (n, 1))
    x[:, :, 5] = 0.97 - 0.01 * rng.standard_normal((n, history))
    ts = np.repeat(t[None], n, axis=0)
    tt = np.repeat(np.array([[t[-1] + 1.0, t[-1] + 5.0]]), n, axis=0)
    return Samples(x, ts, np.full((n, 2), 0.9), tt, np.arange(n), COLUMNS)


def _model(s: Samples, **kw):
    from ml.pinn import PhysicsInformedForecaster

    m = PhysicsInformedForecaster(hidden=16, steps=20, **kw)
    m.net = m._build(None, s)
    return m


def test_forecasts_never_rise_and_stay_within_0_and_1_whatever_the_weights():
    s = _samples(64)
    s.x[:8, :, -1] = 1.2  # reports above 1 and below 0 (a broken BMS) are clipped, not extrapolated
    s.x[8:16, :, -1] = -0.1
    m = _model(s)
    torch.manual_seed(3)
    with torch.no_grad():
        for p in m.net.parameters():
            p.normal_(0.0, 3.0)  # wild weights: the bounds hold by construction, not by training
    soh = m.predict(s)
    assert np.all((soh >= 0.0) & (soh <= 1.0))
    assert np.all(np.diff(soh, axis=1) <= 0.0)  # one year ahead >= five years ahead
    # never above the level the reports give at the origin (ml.baselines.AnchoredPhysics.level)
    assert np.all(soh <= np.clip(_level(s), 0, 1)[:, None] + 1e-7)


def _level(s: Samples) -> np.ndarray:
    from ml.pinn import pinn_inputs

    return pinn_inputs(s)[:, -6]


def test_the_residual_is_the_twins_aging_law_in_rate_form():
    """Trained on the residual alone, the network's fade over the horizon is the closed form of the
    Gasper et al. laws, ``f k ((t0 + T)^p - t0^p)``, at the vehicle's own rate factors."""
    from battery_fmu import equations as eq
    from battery_fmu.parameters import load_cell

    s = _samples(6, seed=1)
    m = _model(s)
    from ml.pinn import pinn_inputs

    z = torch.tensor(pinn_inputs(s), dtype=torch.float32)
    opt = torch.optim.Adam(m.net.parameters(), lr=2e-2)
    for _ in range(400):
        opt.zero_grad()
        loss = torch.mean(m.residual(m.net, z) ** 2)
        loss.backward()
        opt.step()
    with torch.no_grad():
        factors, cal, cyc = (v.numpy().astype(float) for v in m.net.parts(z))
    p, a = load_cell("lfp_220ah"), load_cell("lfp_220ah").aging
    t0_days, span_days = s.t[:, -1] * 365.0, 5.0 * 365.0
    temp = s.x[:, 0, 1] + 273.15
    k_cal = factors[:, 0] * eq.calendar_rate(temp, eq.graphite_potential(s.x[:, 0, 2], p, np), p, np)
    expected_cal = k_cal * ((t0_days + span_days) ** a.pcal - t0_days**a.pcal)
    efc_day = s.x[:, 0, 0] / 7.0
    # the mean C-rate of the EFC (a charge and a discharge of the capacity per EFC: EFC a day / 12 per hour)
    k_cyc = factors[:, 1] * eq.cycle_rate(
        s.x[:, 0, 3], efc_day / 12.0, eq.cycle_temperature_factor(temp, p, np), p
    )
    efc0 = efc_day * t0_days
    expected_cyc = k_cyc * ((efc0 + efc_day * span_days) ** a.pcyc - efc0**a.pcyc)
    assert cal.sum(axis=1) == pytest.approx(expected_cal, rel=0.03)
    assert cyc.sum(axis=1) == pytest.approx(expected_cyc, rel=0.03)


def _nominal_fade(s: Samples, years: np.ndarray) -> np.ndarray:
    """Closed-form fade of the Gasper et al. laws at nominal parameters from the origin to ``years``
    ahead, ``k ((t0 + T)^p - t0^p)`` in time and EFC [n, horizons] (not through ``fade_rates``)."""
    from battery_fmu import equations as eq
    from battery_fmu.parameters import load_cell

    p = load_cell("lfp_220ah")
    a = p.aging
    temp = s.x[:, 0, 1] + 273.15
    k_cal = eq.calendar_rate(temp, eq.graphite_potential(s.x[:, 0, 2], p, np), p, np)[:, None]
    cycle_temperature = eq.cycle_temperature_factor(temp, p, np)
    efc_day = s.x[:, 0, 0][:, None] / 7.0
    k_cyc = eq.cycle_rate(s.x[:, 0, 3], efc_day[:, 0] / 12.0, cycle_temperature, p)[:, None]
    t0_days, days = s.t[:, -1:] * 365.0, years * 365.0
    q_cal = k_cal * ((t0_days + days) ** a.pcal - t0_days**a.pcal)
    q_cyc = k_cyc * ((efc_day * (t0_days + days)) ** a.pcyc - (efc_day * t0_days) ** a.pcyc)
    return q_cal + q_cyc


def test_in_a_cold_climate_it_never_saw_the_forecast_stays_near_the_aging_law():
    """Trained on warm climates only, the forecast for a cold one is the law's fade scaled by the
    bounded factors (1/2..2) and correction (1/2..2): within a factor 4 of the nominal law's fade."""
    from ml.pinn import PhysicsInformedForecaster

    warm = _samples(48, seed=2)
    warm.x[:, :, 1] = np.random.default_rng(5).uniform(25.0, 40.0, (48, 1))
    y = 0.97 - _nominal_fade(warm, warm.t_target - warm.t[:, -1:]) * 1.3
    warm = Samples(warm.x, warm.t, y, warm.t_target, warm.vehicle, warm.columns)
    m = PhysicsInformedForecaster(hidden=16, steps=10, epochs=40, batch=16).fit(warm)
    cold = _samples(32, seed=3)
    cold.x[:, :, 1] = -15.0  # cell temperature far below anything in training,
    cold.x[:, :, 0] = 0.5  # and a car that is hardly driven: the law's fade is a fraction of the warm one
    fade = _level(cold)[:, None] - m.predict(cold)
    nominal = _nominal_fade(cold, cold.t_target - cold.t[:, -1:])
    assert np.all(fade >= 0.25 * 0.97 * nominal)
    assert np.all(fade <= 4.0 * 1.03 * nominal)


def test_the_network_does_not_read_the_temperatures_the_law_reads():
    """Its factors and corrections are the same for windows that differ only in their mean cell
    temperature (the law's rate constants, which it reads, are held): whatever its weights, a climate
    colder than any it trained on is not a new input to it."""
    from ml.pinn import pinn_inputs

    s = _samples(16, seed=4)
    m = _model(s)
    torch.manual_seed(5)
    with torch.no_grad():
        for p in m.net.parameters():
            p.normal_(0.0, 3.0)
    z = torch.tensor(pinn_inputs(s))
    colder = z.clone()
    colder[:, COLUMNS.index("t_cell_mean_degC")] -= 30.0  # the window mean of the cell temperature
    with torch.no_grad():
        for a, b in zip(m.net.parts(z), m.net.parts(colder), strict=True):
            assert torch.equal(a, b)
        seeing = z.clone()
        seeing[:, -4] += 1.0  # the age, which it does read: a check that the comparison can fail
        assert not torch.equal(m.net.parts(z)[0], m.net.parts(seeing)[0])
