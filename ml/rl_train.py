"""Training the RL charging policy (PPO, Stable-Baselines3, torch on CPU), its ONNX export and metadata.

``evtwin ml train-charger`` runs :func:`train` then :func:`export`: the policy's deterministic action
(the argmax of its two logits) as an ONNX graph ``observation -> logits``, which the ``rl_charger`` unit
runs through onnxruntime, and a JSON file beside it with how it was trained (steps, seed, wall time,
the environment's settings, the versions) and its evaluation against the two fixed rules on the same
episodes (:func:`evaluate`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ml.rl_env import ChargingEnv, Usage, make_env


def train(timesteps: int, days: int = 7, seed: int = 0, usage: Usage | None = None, n_steps: int = 512):
    """A PPO policy (MLP 32x32) trained for ``timesteps`` environment steps; ``(model, seconds)``."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = make_env(days, usage)
    env.reset(seed=seed)
    # gamma 0.98 (a horizon of about 12 h of 15-min steps): what a decision changes lies within the night's
    # session (a charge now instead of the shield's at the last moment); 0.995 left the cheap hours unlearnt.
    model = PPO("MlpPolicy", env, n_steps=min(n_steps, max(timesteps, 64)), batch_size=64, gamma=0.98,
                learning_rate=1e-3, ent_coef=0.01, policy_kwargs={"net_arch": [32, 32]}, seed=seed, verbose=0,
                device="cpu")
    start = time.perf_counter()
    model.learn(total_timesteps=int(timesteps))
    return model, time.perf_counter() - start


def policy_logits(model):
    """The policy's deterministic part as a torch module: observation batch -> the two action logits."""
    import torch

    policy = model.policy

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.extractor, self.head = policy.mlp_extractor.policy_net, policy.action_net

        def forward(self, obs):
            return self.head(self.extractor(obs))

    return Logits().eval()


def export(model, path: Path, metadata: dict) -> Path:
    """Write the policy to ``path`` (ONNX, one file) and its metadata to ``path`` with ``.json``."""
    import torch

    from control.rl_charger import OBSERVATIONS

    path.parent.mkdir(parents=True, exist_ok=True)
    net = policy_logits(model)
    dummy = torch.zeros(1, OBSERVATIONS)
    torch.onnx.export(net, dummy, str(path), input_names=["observation"], output_names=["logits"],
                      dynamic_axes={"observation": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    path.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return path


def evaluate(act, episodes: int = 4, days: int = 14, seed: int = 1000, usage: Usage | None = None) -> dict:
    """Mean over ``episodes`` of the return, the fade [1], the grid energy [kWh], the cost and the times a
    car came home under its reserve, for ``act(observation) -> 0 or 1``."""
    totals = {"return": 0.0, "fade": 0.0, "grid_kWh": 0.0, "misses": 0.0}
    env = ChargingEnv(days, usage)
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            obs, reward, done, _, info = env.step(act(obs))
            totals["return"] += reward
            totals["grid_kWh"] += info["grid_kWh"]
        totals["fade"] += env.observer.q_cal + env.observer.q_cyc
    return {k: v / episodes for k, v in totals.items()}


def train_and_export(path: Path, timesteps: int, days: int, seed: int, eval_episodes: int = 4) -> dict:
    """Train, evaluate against the fixed rules (charge at the last moment; charge at once), export."""
    import onnxruntime
    import stable_baselines3
    import torch

    from control.rl_charger import OnnxPolicy

    usage = Usage()
    model, seconds = train(timesteps, days, seed, usage)
    meta = {
        "algorithm": "PPO (Stable-Baselines3), MLP 32x32, gamma 0.98, discrete action: wait / charge at full power",
        "timesteps": int(timesteps),
        "episode_days": int(days),
        "seed": int(seed),
        "training_seconds": round(seconds, 1),
        "environment": "ml.rl_env.ChargingEnv",
        "usage": {k: v for k, v in asdict(usage).items()},
        "versions": {"torch": torch.__version__, "stable_baselines3": stable_baselines3.__version__,
                     "onnxruntime": onnxruntime.__version__},
        "command": f"evtwin ml train-charger --timesteps {timesteps} --days {days} --seed {seed} -o {path}",
    }
    export(model, path, meta)
    if eval_episodes > 0:
        onnx_policy = OnnxPolicy(path)
        meta["evaluation"] = {
            "episodes": eval_episodes,
            "days": 14,
            "rl": evaluate(lambda o: int(onnx_policy.on(np.asarray(o, np.float32))), eval_episodes, usage=usage),
            "last_moment": evaluate(lambda o: 0, eval_episodes, usage=usage),
            "at_once": evaluate(lambda o: 1, eval_episodes, usage=usage),
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta
