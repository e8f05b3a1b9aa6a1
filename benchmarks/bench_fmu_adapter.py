"""Cost per co-simulation step of the FMU adapter, against bare fmpy loops of the same calls.

One step is: set one input, doStep, get one output, on the C cooling plate (FMI 2.0) and on the
C temperature sensor (FMI 3.0), built fresh from fmus/src. The loops run interleaved, several
times; the best time of each counts (the machine is shared, so the minimum is the least noisy).

    python benchmarks/bench_fmu_adapter.py [--steps 20000] [--repeats 5]

Rows, per FMU:
  fmpy Slave methods   fmu.setReal([vr], [u]); fmu.doStep(t, h); fmu.getReal([vr])  (the bare fmpy loop)
  ctypes, fmpy's types the library functions as fmpy declares them, with preallocated buffers
  ctypes, no arg types the same functions called with ready-made ctypes arguments
  FMUUnit              unit.set_inputs([u]); unit.do_step(t, h); unit.get_outputs()
"""

from __future__ import annotations

import argparse
import tempfile
import time
from ctypes import byref, c_bool, c_double, c_size_t, c_uint, c_void_p
from pathlib import Path

from cosim.fmu import FMUUnit
from fmus.build_c import build

PLATE = ("CoolingPlate", "thermal_port.Q_flow", "coolant_out.T", 1000.0)
SENSOR = ("TempSensor3", "In1", "Out1", 300.0)


def _slave(path: Path, fmi3: bool):
    from fmpy import extract, read_model_description
    from fmpy.fmi2 import FMU2Slave
    from fmpy.fmi3 import FMU3Slave

    md = read_model_description(str(path))
    cls = FMU3Slave if fmi3 else FMU2Slave
    fmu = cls(
        guid=md.guid,
        unzipDirectory=extract(str(path)),
        modelIdentifier=md.coSimulation.modelIdentifier,
        instanceName="bench",
    )
    if fmi3:
        fmu.instantiate(logMessage=lambda *args: None)
        fmu.enterInitializationMode(startTime=0.0)
    else:
        fmu.instantiate()
        fmu.setupExperiment(startTime=0.0)
        fmu.enterInitializationMode()
    fmu.exitInitializationMode()
    vrs = {v.name: v.valueReference for v in md.modelVariables}
    return fmu, vrs


def fmpy_methods(path, fmi3, u_name, y_name, u):
    fmu, vrs = _slave(path, fmi3)
    vi, vo = [vrs[u_name]], [vrs[y_name]]
    set_, get_ = (fmu.setFloat64, fmu.getFloat64) if fmi3 else (fmu.setReal, fmu.getReal)
    do_step = fmu.doStep

    def run(k0, n, h):
        for k in range(k0, k0 + n):
            set_(vi, [u])
            do_step(k * h, h)
            get_(vo)

    return run


def ctypes_fmpy_types(path, fmi3, u_name, y_name, u):
    fmu, vrs = _slave(path, fmi3)
    f, c = fmu._functions, fmu.component
    vi, vo = (c_uint * 1)(vrs[u_name]), (c_uint * 1)(vrs[y_name])
    bi, bo = (c_double * 1)(), (c_double * 1)()
    if fmi3:
        set_, step, get_ = f["fmi3SetFloat64"], f["fmi3DoStep"], f["fmi3GetFloat64"]
        flags = byref(c_bool()), byref(c_bool()), byref(c_bool()), byref(c_double())

        def run(k0, n, h):
            for k in range(k0, k0 + n):
                bi[0] = u
                set_(c, vi, 1, bi, 1)
                step(c, k * h, h, True, *flags)
                get_(c, vo, 1, bo, 1)
                bo[:]
    else:
        set_, step, get_ = f["fmi2SetReal"], f["fmi2DoStep"], f["fmi2GetReal"]

        def run(k0, n, h):
            for k in range(k0, k0 + n):
                bi[0] = u
                set_(c, vi, 1, bi)
                step(c, k * h, h, 1)
                get_(c, vo, 1, bo)
                bo[:]

    return run


def ctypes_plain(path, fmi3, u_name, y_name, u):
    fmu, vrs = _slave(path, fmi3)
    lib, c, one = fmu.dll, c_void_p(fmu.component), c_size_t(1)
    vi, vo = (c_uint * 1)(vrs[u_name]), (c_uint * 1)(vrs[y_name])
    bi, bo = (c_double * 1)(), (c_double * 1)()
    if fmi3:
        set_, step, get_ = lib["fmi3SetFloat64"], lib["fmi3DoStep"], lib["fmi3GetFloat64"]
        flags = byref(c_bool()), byref(c_bool()), byref(c_bool()), byref(c_double())
        yes = c_bool(True)

        def run(k0, n, h):
            for k in range(k0, k0 + n):
                bi[0] = u
                set_(c, vi, one, bi, one)
                step(c, c_double(k * h), c_double(h), yes, *flags)
                get_(c, vo, one, bo, one)
                bo[:]
    else:
        set_, step, get_ = lib["fmi2SetReal"], lib["fmi2DoStep"], lib["fmi2GetReal"]

        def run(k0, n, h):
            for k in range(k0, k0 + n):
                bi[0] = u
                set_(c, vi, one, bi)
                step(c, c_double(k * h), c_double(h), 1)
                get_(c, vo, one, bo)
                bo[:]

    return run


def fmu_unit(path, fmi3, u_name, y_name, u):
    unit = FMUUnit(path, "bench")
    unit.bind([u_name], [y_name])
    unit.setup(0.0)
    values = [u]

    def run(k0, n, h):
        for k in range(k0, k0 + n):
            unit.set_inputs(values)
            unit.do_step(k * h, h)
            unit.get_outputs()

    return run


VARIANTS = (
    ("fmpy Slave methods (bare loop)", fmpy_methods),
    ("ctypes, fmpy's argument types", ctypes_fmpy_types),
    ("ctypes, no argument types", ctypes_plain),
    ("FMUUnit", fmu_unit),
)


def measure(path: Path, fmi3: bool, spec, steps: int, repeats: int) -> dict[str, float]:
    _, u_name, y_name, u = spec
    runs = {label: make(path, fmi3, u_name, y_name, u) for label, make in VARIANTS}
    best = {label: float("inf") for label in runs}
    h = 0.5
    for r in range(repeats):
        for label, run in runs.items():
            started = time.perf_counter()
            run(r * steps, steps, h)
            best[label] = min(best[label], (time.perf_counter() - started) / steps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant (best counts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fmus = {p.stem: p for p in build(out_dir=tmp)}
        for spec, fmi3 in ((PLATE, False), (SENSOR, True)):
            best = measure(fmus[spec[0]], fmi3, spec, args.steps, args.repeats)
            base = best[VARIANTS[0][0]]
            print(
                f"\n{spec[0]} (FMI {'3.0' if fmi3 else '2.0'}): best of {args.repeats} x {args.steps} steps"
            )
            print(f"  {'loop':34s} {'us/step':>8s} {'vs bare fmpy loop':>18s}")
            for label, seconds in best.items():
                print(f"  {label:34s} {seconds * 1e6:8.2f} {seconds / base:17.2f}x")


if __name__ == "__main__":
    main()
