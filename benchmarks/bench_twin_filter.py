"""How fast the live twin takes telemetry: samples per second of ``LiveTwin.ingest``, side by side with the
battery step it is built on (one scalar step, the cost the simulator pays per sample).

    python benchmarks/bench_twin_filter.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from twin_days import PRESET, charge_day  # noqa: E402

from battery_fmu.step import CellState, StepInputs, step  # noqa: E402
from service.twin import LiveTwin  # noqa: E402
from service.twin_pack import cell, resolve  # noqa: E402


def main() -> None:
    car = charge_day(seed=1)
    samples = car.samples
    best = {}
    for batch in (1, 100, 1000):
        times = []
        for _ in range(3):
            twin = LiveTwin.new({"preset": PRESET}, soc_init=0.8)
            t0 = time.perf_counter()
            for k in range(0, len(samples), batch):
                twin.ingest(samples[k:k + batch])
            times.append(time.perf_counter() - t0)
        best[batch] = len(samples) / min(times)
    p = cell(resolve({"preset": PRESET}))
    x, u = CellState(0.5, 0.0, 0.0, 0.0, 298.15, 298.15), StepInputs(50.0, 298.15)
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n):
        step(p, x, u, 1.0)
    per_step = (time.perf_counter() - t0) / n
    print(f"{len(samples)} samples of a simulated day ({PRESET})")
    for batch, rate in best.items():
        print(f"  ingest, batches of {batch:5d}: {rate:8.0f} samples/s  ({1e6 / rate:6.0f} us per sample)")
    print(f"  one scalar battery step:     {1 / per_step:8.0f} steps/s   ({1e6 * per_step:6.1f} us)")
    print(f"  ratio ingest (batch 100) / scalar step: {(1 / best[100]) / per_step:.1f}x "
          f"(25 sigma points through the step, plus the filter's algebra)")


if __name__ == "__main__":
    main()
