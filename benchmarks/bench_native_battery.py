"""The native battery FMU (C, generated) against the Python one: agreement over a month, and the cost of a step.

    python benchmarks/bench_native_battery.py [--days 30] [--steps 20000] [--repeats 3]

1. Agreement: the quickstart (Model 3 RWD LFP, two commutes, an overnight CC-CV charge, Miami) run for
   ``--days`` with BatteryTwin.fmu in the loop and BatteryTwinNative.fmu beside it on the same inputs
   (battery_fmu/native/twins.py); the largest |native - Python| of SOC, voltage, cell temperature and SOH.
2. Cost: ``--steps`` steps of 10 s under a varying drive power, through the engine's FMU adapter
   (set inputs, doStep, get outputs) for each FMU, and the Python model called in-process; CPU time,
   best of ``--repeats``, interleaved.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPACITY_AH = 178.36084905660377  # the quickstart's cell (the Model 3 RWD LFP preset's pack, 106 x 1)


def agreement(folder: Path, python_fmu: Path, native_fmu: Path, days: float) -> tuple[dict, int, float]:
    from battery_fmu.native.twins import differences, twins_spec, write_spec
    from cosim import scenario
    from cosim.results import read_result

    shutil.copytree(ROOT / "scenarios", folder / "scenarios", ignore=shutil.ignore_patterns("*.py"))
    spec = twins_spec(ROOT / "scenarios" / "quickstart.yaml", python_fmu, native_fmu)
    path = write_spec(spec, folder / "scenarios" / "twins.yaml")
    wall = time.perf_counter()
    report = scenario.run(path, output=folder / "twins.h5", duration=days * 86400.0)
    result = read_result(report.path)
    return differences(result), len(result["native.SOC"].values), time.perf_counter() - wall


def step_cost(fmu_path: Path | None, steps: int) -> float:
    """CPU seconds for ``steps`` steps of 10 s: through FMUUnit (``fmu_path``) or the model in-process (None)."""
    from battery_fmu.model import BatteryPack
    from battery_fmu.parameters import load_cell

    powers = [25e3 + 20e3 * math.sin(0.01 * k) for k in range(steps)]
    if fmu_path is None:
        pack = BatteryPack(load_cell("lfp_220ah", CAPACITY_AH), n_series=106, soc=0.9)
        c0 = time.process_time()
        for k, power in enumerate(powers):
            pack.step(10.0, power, 0.0, 298.15, 298.15)
        return time.process_time() - c0
    from cosim.fmu import FMUUnit

    unit = FMUUnit(fmu_path, "battery")
    unit.configure({"capacity_Ah": CAPACITY_AH, "SOC_init": 0.9})
    unit.bind(["P_load"], ["SOC", "V_terminal", "T_cell"])
    unit.setup(0.0)
    unit.end_initialization()
    set_inputs, do_step, get_outputs = unit.set_inputs, unit.do_step, unit.get_outputs
    c0 = time.process_time()
    for k, power in enumerate(powers):
        set_inputs([power])
        do_step(10.0 * k, 10.0)
        get_outputs()
    cpu = time.process_time() - c0
    unit.terminate()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from battery_fmu.build import build_fmu
    from battery_fmu.native.build import build_native
    from battery_fmu.native.twins import TOLERANCES

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        python_fmu = build_fmu(folder / "fmus")
        c0 = time.perf_counter()
        native_fmu = build_native(folder / "fmus", "lfp_220ah", CAPACITY_AH)
        print(f"built {native_fmu.name} in {time.perf_counter() - c0:.1f} s (CasADi code generation and gcc)")
        diffs, rows, wall = agreement(folder, python_fmu, native_fmu, args.days)
        print(f"\nagreement over {args.days:g} days of the quickstart ({rows:,} points, {wall:.0f} s wall):")
        print(f"{'output':14s} {'max |native - Python|':>22s} {'asked':>8s}")
        for name, diff in diffs.items():
            print(f"{name:14s} {diff:22.3e} {TOLERANCES[name]:8.0e}  {'ok' if diff <= TOLERANCES[name] else 'NOT MET'}")
        runs = {"BatteryTwinNative.fmu (C)": native_fmu, "BatteryTwin.fmu (pythonfmu)": python_fmu,
                "BatteryPack.step in-process (Python)": None}
        best = {name: math.inf for name in runs}
        for _ in range(args.repeats):
            for name, path in runs.items():
                best[name] = min(best[name], step_cost(path, args.steps))
        native = best["BatteryTwinNative.fmu (C)"]
        print(f"\ncost of a 10 s step ({args.steps:,} steps, CPU time, best of {args.repeats}):")
        for name, cpu in best.items():
            print(f"{name:40s} {cpu / args.steps * 1e6:8.2f} us  {cpu / native:6.1f}x the native FMU")


if __name__ == "__main__":
    main()
