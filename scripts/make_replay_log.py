"""Write the example recording in scenarios/data/battery_sensor_data/, as the BeamNG prototype saved its logs.

The prototype scripts polled BeamNG.tech's Electrics sensor and its PowertrainSensor and saved each
into a timestamped JSON file of its own in a ``battery_sensor_data/`` folder. This script writes the
same layout from the built-in EV model (no simulator needed), so that the example replays to a known
energy: the first 180 s of the EPA US06 schedule driven by the Tesla Model 3 RWD (LFP) preset,

- ``powertrain_<stamp>.json``: PowertrainSensor readings every 0.5 s (at 0.25 s, 0.75 s, ...: the trace's
  acceleration changes at whole seconds, and a reading there would smear it), devices at the top level:
  ``rearMotor`` (``outputTorque1`` [N m], the shaft torque: the model's mean over the 0.05 s before;
  ``outputAV1`` [rad/s], the shaft speed) and ``rearDiff``;
- ``electrics_<stamp>.json``: Electrics values every 1 s (``wheelspeed`` [m/s], ``throttle``, ``brake``
  and the regen fields: ``regenThrottle``, ``regenStrength``, ``regenFromBrake``, ``regenFromOnePedal``,
  ``maxRegenStrength``).

Both files count ``time`` [s] from the start of the recording (the simulator's clock).

    python scripts/make_replay_log.py [OUT_FOLDER]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bridges.vehicle_unit import EVUnit

STAMP = "20250612_143000"
SECONDS = 180.0
MODEL_STEP = 0.05  # [s]: short, so that a reading is close to the instantaneous torque and speed
POWERTRAIN_EVERY = 10  # model steps per powertrain reading (0.5 s) ...
POWERTRAIN_OFFSET = 5  # ... taken at 0.25 s, 0.75 s, ...: inside the trace's seconds, not on their edges
ELECTRICS_EVERY = 20  # model steps per electrics sample (1 s, at whole seconds)
REGEN_STRENGTH = 3.0


def record() -> tuple[list[dict], list[dict]]:
    car = EVUnit(preset="model3_rwd_lfp", cycle="us06", regen_strength=REGEN_STRENGTH)
    car.bind([], [])
    car.setup(0.0)
    regen_max = car.params.regen_max
    powertrain, electrics = [], []
    for k in range(round(SECONDS / MODEL_STEP) + 1):
        t = round(k * MODEL_STEP, 6)
        if k:
            car.do_step((k - 1) * MODEL_STEP, MODEL_STEP)
        torque = car.motor_torque if k else 0.0
        if k % POWERTRAIN_EVERY == POWERTRAIN_OFFSET:
            powertrain.append(
                {
                    "time": t,
                    "rearMotor": {"outputTorque1": round(torque, 4), "outputAV1": round(car.motor_speed, 4),
                                  "inputAV": 0.0},
                    "rearDiff": {"outputTorque1": round(torque * car.params.gear_ratio, 3),
                                 "outputAV1": round(car.motor_speed / car.params.gear_ratio, 4)},
                }
            )  # fmt: skip
        if k % ELECTRICS_EVERY == 0:
            regen = min(1.0, car.P_regen / regen_max) if k else 0.0
            electrics.append(
                {
                    "time": t,
                    "wheelspeed": round(car.speed, 4),
                    "throttle": round(max(0.0, torque) / 420.0, 3),
                    "brake": round(car.P_brake / 60e3, 3) if k else 0.0,
                    "regenThrottle": round(regen, 3),
                    "regenStrength": REGEN_STRENGTH,
                    "regenFromBrake": round(regen, 3),
                    "regenFromOnePedal": 0.0,
                    "maxRegenStrength": REGEN_STRENGTH,
                }
            )
    return powertrain, electrics


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    powertrain, electrics = record()
    for name, samples in ((f"powertrain_{STAMP}.json", powertrain), (f"electrics_{STAMP}.json", electrics)):
        text = "[\n" + ",\n".join(json.dumps(s, separators=(",", ":")) for s in samples) + "\n]\n"
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name} ({len(samples)} samples)")


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else root / "scenarios" / "data" / "battery_sensor_data")
