"""Cost of one step of the built-in EV unit, to budget long runs (a 10-year commute).

Measured side by side in this one run: the unit's ``do_step`` alone while driving (1 s steps, the
co-simulation's driving rate), the full protocol call the master makes (set_inputs + do_step +
get_outputs), a parked step, steps that are not aligned to the 1 Hz cycle (0.5 s), and, as the yardstick,
a trivial Python unit through the same protocol. Prints microseconds per step, ratios to the yardstick,
and the vehicle's share of a 10-year commute at 1 s steps while driving.

    python benchmarks/bench_vehicle.py [--steps N] [--trip-minutes M]
"""

from __future__ import annotations

import argparse
import time

from cosim.unit import INPUT, OUTPUT, Port, PythonUnit

INPUTS = ["P_charge_max", "drive", "T_ambient"]
OUTPUTS = ["P_battery", "speed", "distance", "motor_torque", "motor_speed", "P_regen", "P_aux"]


def best_of(fn, repeats: int = 5) -> float:
    """Smallest wall time of several runs [s]: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


class Trivial(PythonUnit):
    """The yardstick: one input copied to one output."""

    PORTS = (Port("u", INPUT, "W"), Port("y", OUTPUT, "W"))

    def setup(self, start_time: float) -> None:
        pass

    def do_step(self, t: float, h: float) -> None:
        self.y = self.u


def ev_unit(drive: float = 1.0):
    """A bound EV unit that has started its first trip (cycle tables built outside the timing)."""
    from bridges.vehicle_unit import EVUnit

    unit = EVUnit(preset="model3_rwd_lfp", cycle="city")
    unit.bind(INPUTS, OUTPUTS)
    unit.setup(0.0)
    unit.set_inputs((90e3, 1.0, 300.0))
    for k in range(5):
        unit.do_step(float(k), 1.0)
    unit.set_inputs((90e3, drive, 300.0))
    return unit


def cases(n: int) -> dict[str, float]:
    """Seconds per step of every case."""
    driving, parked, unaligned = ev_unit(), ev_unit(drive=0.0), ev_unit()
    triv = Trivial()
    triv.bind(["u"], ["y"])
    triv.setup(0.0)
    m = max(1, n // 10)

    def trivial():
        for k in range(n):
            triv.set_inputs((1.0,))
            triv.do_step(float(k), 1.0)
            triv.get_outputs()

    def step_only():
        do_step = driving.do_step
        for k in range(n):
            do_step(float(k), 1.0)

    def protocol():
        set_inputs, do_step, get_outputs = driving.set_inputs, driving.do_step, driving.get_outputs
        values = (90e3, 1.0, 300.0)
        for k in range(n):
            set_inputs(values)
            do_step(float(k), 1.0)
            get_outputs()

    def parked_steps():
        for k in range(n):
            parked.do_step(float(k) * 3600.0, 3600.0)

    def half_steps():
        for k in range(m):
            unaligned.do_step(0.5 * k, 0.5)

    return {
        "trivial unit, protocol call": best_of(trivial) / n,
        "EV do_step, driving, 1 s": best_of(step_only) / n,
        "EV protocol call, driving, 1 s": best_of(protocol) / n,
        "EV do_step, parked, 1 h": best_of(parked_steps) / n,
        "EV do_step, driving, 0.5 s (unaligned)": best_of(half_steps) / m,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--trip-minutes", type=float, default=30.0, help="one-way commute duration")
    args = parser.parse_args()
    results = cases(args.steps)
    base = results["trivial unit, protocol call"]
    print(f"{'case':42s} {'us/step':>9s} {'x trivial':>10s}")
    for name, seconds in results.items():
        print(f"{name:42s} {1e6 * seconds:9.2f} {seconds / base:10.1f}")
    driving_s = 2 * args.trip_minutes * 60 * 365 * 10  # two trips a day, every day, ten years
    parked_h = 24 * 365 * 10
    share = driving_s * results["EV protocol call, driving, 1 s"] + parked_h * (
        results["EV do_step, parked, 1 h"] + base
    )
    print(
        f"\n10-year commute ({2 * args.trip_minutes:g} min driving a day at 1 s steps, parked hourly): "
        f"{driving_s / 1e6:.1f} M driving steps; the vehicle unit's share is about {share:.0f} s "
        "of the 600 s budget"
    )


if __name__ == "__main__":
    main()
