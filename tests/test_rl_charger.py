"""The RL charging policy: the environment on the twin, a tiny PPO training, the ONNX export, the unit."""

import json

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from control.rl_charger import OBSERVATIONS, OnnxPolicy, RLCharger  # noqa: E402
from ml.rl_env import MISS_PENALTY, ChargingEnv  # noqa: E402


def test_the_shield_alone_never_comes_home_under_the_reserve():
    env = ChargingEnv(days=7)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (OBSERVATIONS,)
    done, worst = False, 0.0
    homes = []
    while not done:
        obs, reward, done, _, info = env.step(0)  # the policy never asks: the shield charges at the last moment
        worst = min(worst, reward)
        homes.append(env.battery.soc)  # after a departure's step: the SOC on coming home
    # A miss costs MISS_PENALTY per 1 % under the reserve: no step came near it.
    assert worst > -MISS_PENALTY * 0.05 * 0.5
    assert min(homes) >= env.reserve_soc - 1e-3
    assert env.observer.q_cal > 0.0


def test_a_tiny_policy_trains_exports_and_runs_as_a_unit(tmp_path):
    import torch

    from ml.rl_train import export, policy_logits, train

    model, seconds = train(timesteps=128, days=1, seed=0, n_steps=64)
    path = export(model, tmp_path / "tiny.onnx", {"timesteps": 128, "training_seconds": seconds})
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["timesteps"] == 128
    # The ONNX graph computes the torch policy's logits.
    obs = np.random.default_rng(0).uniform(0.0, 1.0, (16, OBSERVATIONS)).astype(np.float32)
    with torch.no_grad():
        expected = policy_logits(model)(torch.from_numpy(obs)).numpy()
    policy = OnnxPolicy(path)
    got = policy.session.run(None, {policy.input: obs})[0]
    assert np.allclose(got, expected, atol=1e-5)
    # SB3's own deterministic action is the argmax of those logits.
    actions, _ = model.predict(obs, deterministic=True)
    assert np.array_equal(actions, np.argmax(expected, axis=1))
    unit = RLCharger(model=str(path), departure="07:30")
    unit.name = "charger"
    unit.setup(0.0)
    assert unit.policy is not None


def test_the_shipped_policy_has_its_training_metadata():
    from control.rl_charger import DEFAULT_MODEL

    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert meta["timesteps"] > 0 and meta["training_seconds"] > 0
    assert "evtwin ml train-charger" in meta["command"]
    OnnxPolicy(DEFAULT_MODEL).on(np.zeros(OBSERVATIONS, np.float32))


def test_the_price_outlook_reads_the_tariff_ahead():
    from control.charge_need import Tariff
    from control.rl_charger import PriceOutlook, observation

    tariff = Tariff({"00:00": 0.08, "06:00": 0.15, "16:00": 0.35, "21:00": 0.15})
    day, hour = 86400.0, 3600.0
    departure = day + 7.5 * hour  # Tuesday 07:30
    # Monday 23:00: 0.15 until midnight, then 0.08; a 1 h charge the shield starts at 06:00 pays 0.15.
    late = PriceOutlook.of(tariff, 23 * hour, departure, hour)
    assert (late.now, late.lowest_ahead, late.dearest, late.lasts) == (0.15, 0.08, 0.35, hour)
    assert late.at_last_moment == pytest.approx(0.15)
    # Tuesday 02:00: 0.08 for 4 h more; a 3 h charge at the last moment (04:00-07:00, ending 30 min
    # before the departure) pays 2 h at 0.08 and 1 h at 0.15.
    night = PriceOutlook.of(tariff, day + 2 * hour, departure, 3 * hour)
    assert night.lasts == 4 * hour
    assert night.at_last_moment == pytest.approx((2 * 0.08 + 0.15) / 3)
    obs = observation(0.3, 0.5, departure - (day + 2 * hour), night, 3 * hour)
    assert obs[7] == pytest.approx((0.08 - night.at_last_moment) / 0.35)  # cheaper now than the shield's
    assert obs[8] == pytest.approx(1.0)  # the cheap price lasts 1 h beyond a full charge
    # Tuesday 06:30: the price lasts to the departure; a flat tariff or none lasts to the departure too.
    assert PriceOutlook.of(tariff, day + 6.5 * hour, departure, 0.0).lasts == hour
    assert PriceOutlook.of(Tariff(0.2), 0.0, departure, hour).lasts == departure
    assert PriceOutlook.of(None, 0.0, departure, hour).lasts == departure
