"""Cost of one battery step: the model called directly, the in-process unit, and the FMU through fmpy.

Prints microseconds per step and ratios, all measured in this one run (the machine is shared:
compare the ratios, not the absolute figures across runs). ``--against COMMIT`` also times the
model step as it was at that commit (its ``battery_fmu`` imported under another name), alternating
the two so both see the same load: d501cdf is the model before the shared step (battery_fmu/step.py).

    python benchmarks/bench_battery_step.py [--steps N] [--against d501cdf]
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeats=5, clock=time.perf_counter):
    """Smallest time of several runs [s]: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def driving_loads(n: int) -> list[float]:
    """Pack power requests [W] of a lively drive, one per second (discharge and regeneration)."""
    rng = np.random.default_rng(0)
    return np.clip(15e3 + 20e3 * rng.standard_normal(n), -40e3, 90e3).tolist()


def compare_with_commit(commit: str, n: int) -> None:
    """Print the model step's cost at ``commit`` and now, measured alternately in this process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from past_version import import_past

    from battery_fmu.model import BatteryPack

    loads = driving_loads(n)
    with tempfile.TemporaryDirectory(prefix="bench_past_") as tmp:
        past = importlib.import_module(import_past("battery_fmu", commit, Path(tmp)).__name__ + ".model")

        def runner(cls):
            pack = cls(n_series=106, soc=0.9, warn=lambda message: None)

            def run():
                step = pack.step
                for p in loads:
                    step(1.0, p, 0.0, 298.15, 298.15)
            return run

        run_past, run_now = runner(past.BatteryPack), runner(BatteryPack)
        t_past, t_now = [], []
        for _ in range(4):  # CPU time of this process: on a shared machine wall time is mostly waiting
            t_past.append(best_of(run_past, 3, time.process_time))
            t_now.append(best_of(run_now, 3, time.process_time))
    past_us, now_us = min(t_past) / n * 1e6, min(t_now) / n * 1e6
    print(f"model step (CPU time) at {commit}: {past_us:.2f} us, now: {now_us:.2f} us, "
          f"ratio now/{commit}: {now_us / past_us:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--against", metavar="COMMIT", help="also time the model step at this git commit")
    args = parser.parse_args()
    n = args.steps
    if args.against:
        compare_with_commit(args.against, n)

    from fmpy import extract, read_model_description
    from fmpy.fmi2 import FMU2Slave

    from battery_fmu.build import build_fmu
    from battery_fmu.model import BatteryPack
    from battery_fmu.unit import BatteryUnit

    loads = driving_loads(n)

    pack = BatteryPack(n_series=106, soc=0.9)

    def direct():
        step = pack.step
        for p in loads:
            step(1.0, p, 0.0, 298.15, 298.15)

    unit = BatteryUnit(SOC_init=0.9)
    unit.bind(["P_load", "I_charge", "T_ambient", "T_coolant"], ["SOC", "V_terminal", "T_cell", "P_charge_max"])
    unit.setup(0.0)

    def in_process():
        for k, p in enumerate(loads):
            unit.set_inputs((p, 0.0, 298.15, 298.15))
            unit.do_step(k * 1.0, 1.0)
            unit.get_outputs()

    tmp = Path(tempfile.mkdtemp(prefix="bench_fmu_"))
    try:
        fmu_path = build_fmu(tmp)
        md = read_model_description(str(fmu_path))
        vr = {v.name: v.valueReference for v in md.modelVariables}
        unzipped = extract(str(fmu_path), unzipdir=str(tmp / "x"))
        fmu = FMU2Slave(guid=md.guid, unzipDirectory=unzipped, modelIdentifier="BatteryTwin", instanceName="b")
        fmu.instantiate()
        fmu.setupExperiment(startTime=0.0)
        fmu.enterInitializationMode()
        fmu.setReal([vr["SOC_init"]], [0.9])
        fmu.exitInitializationMode()
        ins = [vr[k] for k in ("P_load", "I_charge", "T_ambient", "T_coolant")]
        outs = [vr[k] for k in ("SOC", "V_terminal", "T_cell", "P_charge_max")]

        def through_fmpy():
            for k, p in enumerate(loads):
                fmu.setReal(ins, [p, 0.0, 298.15, 298.15])
                fmu.doStep(k * 1.0, 1.0)
                fmu.getReal(outs)

        # The same calls with preallocated ctypes arrays, as a master's hot loop would make them.
        lib, comp = fmu.dll, fmu.component
        vr_in = (ctypes.c_uint * 4)(*ins)
        vr_out = (ctypes.c_uint * 4)(*outs)
        val_in = (ctypes.c_double * 4)(0.0, 0.0, 298.15, 298.15)
        val_out = (ctypes.c_double * 4)()
        set_real, do_step, get_real = lib.fmi2SetReal, lib.fmi2DoStep, lib.fmi2GetReal

        def raw_ctypes():
            for k, p in enumerate(loads):
                val_in[0] = p
                set_real(comp, vr_in, 4, val_in)
                do_step(comp, ctypes.c_double(k * 1.0), ctypes.c_double(1.0), 1)
                get_real(comp, vr_out, 4, val_out)

        rest_pack = BatteryPack(n_series=106, soc=0.9, temperature=308.15)

        def rest_days():
            for _ in range(50):
                rest_pack.step(86400.0, 0.0, 0.0, 293.15, 293.15)
                rest_pack.t_cell = rest_pack.t_housing = 308.15  # every day starts warm again

        results = {
            "model step (BatteryPack.step)": best_of(direct) / n,
            "in-process unit (set/step/get)": best_of(in_process) / n,
            "FMU via fmpy FMU2Slave": best_of(through_fmpy, 3) / n,
            "FMU via raw ctypes calls": best_of(raw_ctypes, 3) / n,
        }
        rest = best_of(rest_days, 3) / 50
        fmu.terminate()
        fmu.freeInstance()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = results["model step (BatteryPack.step)"]
    print(f"battery step cost, {n} driving steps of 1 s (best of several runs)")
    for name, seconds in results.items():
        print(f"  {name:34s} {seconds * 1e6:8.2f} us   {seconds / base:5.2f}x model")
    print(f"  {'one 24 h rest step (warm start)':34s} {rest * 1e6:8.2f} us   {rest / base:5.2f}x model")
    print("target: model step <= about 15 us (a vehicle-year of ~1.6 million steps in a minute)")


if __name__ == "__main__":
    main()
