"""Cost per step of an FMU run in a child process (``isolate: true``) against the in-process adapter.

Both step the C FMU CoolingPlate (FMI 2.0) with one input and one output, the way the master
does (set inputs, doStep, get outputs), side by side in one run. Prints microseconds per step and
the ratio.

    python benchmarks/bench_isolation.py [--steps 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time


def per_step(unit, steps: int) -> float:
    """Seconds per step, best of three rounds."""
    unit.bind(["thermal_port.Q_flow"], ["coolant_out.T"])
    unit.setup(0.0)
    unit.end_initialization()
    t, best = 0.0, float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(steps):
            unit.set_inputs([1000.0])
            unit.do_step(t, 1.0)
            unit.get_outputs()
            t += 1.0
        best = min(best, (time.perf_counter() - start) / steps)
    unit.terminate()
    return best


def main() -> None:
    from cosim.fmu import FMUUnit, IsolatedFMU
    from fmus.build_c import build

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fmu = next(p for p in build(out_dir=tmp) if p.stem == "CoolingPlate")
        inproc = per_step(FMUUnit(fmu, "plate"), args.steps)
        isolated = per_step(IsolatedFMU(fmu, "plate"), args.steps)
    print(f"CoolingPlate, {args.steps} steps x 3 rounds (best round):")
    print(f"  in-process adapter      {inproc * 1e6:8.2f} us/step")
    print(f"  isolated (child process) {isolated * 1e6:7.2f} us/step")
    print(f"  ratio isolated / in-process: {isolated / inproc:.1f}x")


if __name__ == "__main__":
    main()
