"""The aging surrogate against the physics fleet run: speed per vehicle and accuracy, side by side.

1. Speed, CPU time on one core, in this one run: the physics (fleet mode with the in-process battery,
   ``fleet.task.run_vehicle``) for ``--days`` of each of ``--physics-vehicles`` vehicles of the fleet
   file, projected to the surrogate's ten years; and the surrogate for ``--vehicles`` vehicles of the
   same file: drawing each one's year of usage (ml/usage_draw.py) and the ONNX model of its cells (LFP
   or NMC) on all of them at once. The ratio of CPU seconds per vehicle (ten years each), with and
   without the usage draws.
2. Accuracy, with ``--validate DIR`` (repeatable; fleet run folders, finished or not): the RMSE of each
   surrogate's SOH at each whole year against the physics runs' SOH, on their finished vehicles with its
   cells, each from its first year of daily usage and its pack's factors (the surrogate never saw a
   fleet run);
   beside it the surrogate on the same vehicles' years drawn without simulation (what
   ``evtwin ml surrogate`` reads).

    python benchmarks/bench_surrogate.py [--fleet fleets/small.yaml] [--days 30] [--vehicles 1000]
                                         [--validate results/ml ...]
    python benchmarks/bench_surrogate.py --fleet fleets/nmc.yaml --validate results/nmc   # the NMC cars
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError

ROOT = Path(__file__).resolve().parents[1]


def physics_cpu_per_vehicle(fleet: Path, days: float, vehicles: int) -> float:
    """CPU seconds of the physics fleet run per vehicle over ten years, from ``days`` of each vehicle."""
    from fleet.spec import load
    from fleet.task import run_vehicle

    total = 0.0
    for v in load(fleet).vehicles[:vehicles]:
        run = run_vehicle({"vehicle": v.__dict__, "battery": "in_process", "resolution": "fleet"},
                          duration=days * 86400.0)
        total += run["cpu_s"]
    return total / vehicles * 3650.0 / days


def surrogate_cpu_per_vehicle(fleet: Path, vehicles: int) -> tuple[float, float]:
    """CPU seconds per vehicle: (usage draw and model, model alone), each vehicle through the surrogate
    of its cells."""
    from ml.surrogate_warranty import draw_inputs, load_surrogates

    models = load_surrogates()
    t0 = time.process_time()
    groups = draw_inputs(fleet, vehicles, covered=models)
    t1 = time.process_time()
    for name, (x, _, _) in groups.items():
        models[name].run(x)
    t2 = time.process_time()
    drawn = sum(len(members) for _, _, members in groups.values())
    return (t2 - t0) / drawn, (t2 - t1) / drawn


def accuracy(folders: list[Path]) -> None:
    """RMSE per year of each surrogate on the folders' vehicles with its cells."""
    from ml import surrogate as sg
    from ml.surrogate_train import fleet_validation
    from ml.surrogate_warranty import load_surrogates

    for name, model in load_surrogates().items():
        try:
            x, y, ids, drawn = fleet_validation(folders, name)
        except EvtwinError:
            continue  # no vehicle with these cells in the folders
        have = np.sum(np.isfinite(y), axis=0)
        print(f"\n{name}: accuracy against {len(ids)} held-out physics vehicles (of "
              f"{', '.join(map(str, folders))}), RMSE in %-points of SOH")
        print(f"  {'year':30}" + "".join(f"{k:>7d}" for k in range(1, sg.YEARS + 1)))
        print(f"  {'vehicles with the year':30}" + "".join(f"{n:>7d}" for n in have))
        for label, inputs in (("surrogate, their usage", x), ("surrogate, their usage drawn", drawn)):
            print(f"  {label:30}" + "".join(f"{r:>7.3f}" for r in sg.rmse(model.run(inputs), y)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=Path, default=ROOT / "fleets" / "small.yaml")
    parser.add_argument("--days", type=float, default=30.0, help="Days of each physics vehicle.")
    parser.add_argument("--physics-vehicles", type=int, default=2)
    parser.add_argument("--vehicles", type=int, default=1000, help="Vehicles through the surrogate.")
    parser.add_argument("--validate", type=Path, action="append", default=[])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} (CPU times below; wall times would mean little)")
    physics = physics_cpu_per_vehicle(args.fleet, args.days, args.physics_vehicles)
    whole, model_only = surrogate_cpu_per_vehicle(args.fleet, args.vehicles)
    print(f"physics fleet run: {physics:9.1f} CPU s per vehicle (ten years, from {args.days:g} days of "
          f"{args.physics_vehicles} vehicles)")
    print(f"surrogate:         {whole * 1e3:9.3f} CPU ms per vehicle with its usage draw "
          f"({model_only * 1e6:.1f} us the model alone; {args.vehicles} vehicles)")
    print(f"speed ratio: {physics / whole:,.0f}x with the usage draw, "
          f"{physics / model_only:,.0f}x the model alone")
    if args.validate:
        accuracy(args.validate)


if __name__ == "__main__":
    main()
