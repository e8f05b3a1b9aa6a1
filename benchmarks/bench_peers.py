"""evtwin against its peers: the cost of one macro step of two C FMUs, every engine in one run.

The system: the C cooling plate (heat in, coolant out) and the C coolant loop (return in, supply
out), FMI 2.0 co-simulation, 10 s macro steps, Jacobi (every FMU reads the values of the start of
the step), 100 000 macro steps. Each engine does the same fmi2 calls: per step and FMU one
fmi2SetReal of its inputs, one fmi2DoStep and one fmi2GetReal of its outputs; the values they
end with must agree bit for bit (checked, printed).

    python benchmarks/bench_peers.py [--steps 100000] [--repeats 3]

Rows:
  ecos                  ecospy (the ecos C++ engine), when installed (pip install 'evtwin[peers]'; on
                        Debian it needs `apt-get install libtbb12`); skipped with a note otherwise
  evtwin, C core        Master.run (the C stepping core), no recording
  evtwin, C core + HDF5 the same with 4 signals recorded at every point to an HDF5 file
  bare ctypes loop      the fmi2 functions called from a Python loop with ready-made ctypes arguments
  evtwin, Python loop   Master.run(native=False): the generated Python loop, no recording
  evtwin, Python + HDF5 the same with the 4 signals recorded
  FMPy FMU2Slave        a Python loop of fmpy's setReal/doStep/getReal

Times are CPU times (the machine is shared), the best of the repeats, per macro step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from ctypes import c_double, c_uint, c_void_p
from pathlib import Path

H = 10.0
HEAT = 2000.0  # W into the plate
PLATE_IN = ("thermal_port.Q_flow", "coolant_in.T")
PLATE_OUT = "coolant_out.T"
LOOP_IN = "coolant_return.T"
LOOP_OUT = "coolant_supply.T"
RECORDED = ["plate.coolant_out.T", "plate.plate.T", "loop.coolant_supply.T", "loop.Q_radiator"]


def build_fmus(folder: Path) -> dict[str, Path]:
    from fmus.build_c import build

    return {p.stem: p for p in build(out_dir=folder)}


def _slave(path: Path, name: str):
    from fmpy import extract, read_model_description
    from fmpy.fmi2 import FMU2Slave

    md = read_model_description(str(path))
    fmu = FMU2Slave(
        guid=md.guid,
        unzipDirectory=extract(str(path)),
        modelIdentifier=md.coSimulation.modelIdentifier,
        instanceName=name,
    )
    fmu.instantiate()
    fmu.setupExperiment(startTime=0.0)
    fmu.enterInitializationMode()
    fmu.exitInitializationMode()
    return fmu, {v.name: v.valueReference for v in md.modelVariables}


def fmpy_loop(fmus, n):
    plate, pv = _slave(fmus["CoolingPlate"], "plate")
    loop, lv = _slave(fmus["CoolantLoop"], "loop")
    p_in, p_out = [pv[v] for v in PLATE_IN], [pv[PLATE_OUT]]
    l_in, l_out = [lv[LOOP_IN]], [lv[LOOP_OUT]]
    t_plate, t_loop = plate.getReal(p_out)[0], loop.getReal(l_out)[0]
    c0 = time.process_time()
    for k in range(n):
        t = k * H
        plate.setReal(p_in, [HEAT, t_loop])
        loop.setReal(l_in, [t_plate])
        plate.doStep(t, H)
        loop.doStep(t, H)
        t_plate, t_loop = plate.getReal(p_out)[0], loop.getReal(l_out)[0]
    cpu = time.process_time() - c0
    return cpu, (t_plate, t_loop)


def ctypes_loop(fmus, n):
    plate, pv = _slave(fmus["CoolingPlate"], "plate")
    loop, lv = _slave(fmus["CoolantLoop"], "loop")
    calls = []
    for fmu in (plate, loop):
        f, c = fmu._functions, c_void_p(fmu.component)
        calls.append((c, f["fmi2SetReal"], f["fmi2DoStep"], f["fmi2GetReal"]))
    p_vi, p_vo = (c_uint * 2)(*(pv[v] for v in PLATE_IN)), (c_uint * 1)(pv[PLATE_OUT])
    l_vi, l_vo = (c_uint * 1)(lv[LOOP_IN]), (c_uint * 1)(lv[LOOP_OUT])
    p_bi, p_bo, l_bi, l_bo = (c_double * 2)(), (c_double * 1)(), (c_double * 1)(), (c_double * 1)()
    (pc, pset, pstep, pget), (lc, lset, lstep, lget) = calls
    pget(pc, p_vo, 1, p_bo)
    lget(lc, l_vo, 1, l_bo)
    p_bi[0] = HEAT
    h = c_double(H)
    c0 = time.process_time()
    for k in range(n):
        t = c_double(k * H)
        p_bi[1] = l_bo[0]
        l_bi[0] = p_bo[0]
        pset(pc, p_vi, 2, p_bi)
        lset(lc, l_vi, 1, l_bi)
        pstep(pc, t, h, 1)
        lstep(lc, t, h, 1)
        pget(pc, p_vo, 1, p_bo)
        lget(lc, l_vo, 1, l_bo)
    cpu = time.process_time() - c0
    return cpu, (p_bo[0], l_bo[0])


def evtwin(fmus, n, native: bool, record: Path | None):
    from cosim import Connection, Master, MasterSettings, Segment
    from cosim.fmu import FMUUnit
    from cosim.results import OutputGroup, ResultWriter
    from cosim.sources import Constant

    units = {
        "heat": Constant(value=HEAT, unit="W"),
        "plate": FMUUnit(fmus["CoolingPlate"], "plate"),
        "loop": FMUUnit(fmus["CoolantLoop"], "loop"),
    }
    conns = [
        Connection("heat.value", "plate.thermal_port.Q_flow"),
        Connection("loop.coolant_supply.T", "plate.coolant_in.T"),
        Connection("plate.coolant_out.T", "loop.coolant_return.T"),
    ]
    master = Master(
        units,
        conns,
        settings=MasterSettings(method="jacobi"),
        native=native,
        observe=RECORDED if record else (),
    )
    observers = [ResultWriter(record, [OutputGroup("main", RECORDED)])] if record else []
    c0 = time.process_time()
    master.run([Segment(0.0, n * H, H)], observers=observers)
    for w in observers:
        w.close("complete")
    cpu = time.process_time() - c0
    # Set-up (loading and instantiating two FMUs) is part of run(): measured alone and taken off.
    setup = _setup_cost(fmus, native)
    plate, loop = master.slots[master.order.index("plate")], master.slots[master.order.index("loop")]
    values = (
        master.outs[plate.i][plate.outputs.index(PLATE_OUT)],
        master.outs[loop.i][loop.outputs.index(LOOP_OUT)],
    )
    return cpu - setup, values


def _setup_cost(fmus, native):
    from cosim import Connection, Master, MasterSettings, Segment
    from cosim.fmu import FMUUnit
    from cosim.sources import Constant

    units = {
        "heat": Constant(value=HEAT, unit="W"),
        "plate": FMUUnit(fmus["CoolingPlate"], "plate"),
        "loop": FMUUnit(fmus["CoolantLoop"], "loop"),
    }
    conns = [
        Connection("heat.value", "plate.thermal_port.Q_flow"),
        Connection("loop.coolant_supply.T", "plate.coolant_in.T"),
        Connection("plate.coolant_out.T", "loop.coolant_return.T"),
    ]
    master = Master(units, conns, settings=MasterSettings(method="jacobi"), native=native)
    c0 = time.process_time()
    master.run([Segment(0.0, H, H)])
    return time.process_time() - c0


def ecos(fmus, n):
    try:
        from ecospy import EcosSimulation, EcosSimulationStructure
    except (ImportError, OSError) as err:
        return None, f"ecospy not usable here ({type(err).__name__}: {err}); pip install 'evtwin[peers]'"
    ss = EcosSimulationStructure()
    ss.add_model("plate", str(fmus["CoolingPlate"]))
    ss.add_model("loop", str(fmus["CoolantLoop"]))
    ss.make_real_connection("loop::coolant_supply.T", "plate::coolant_in.T")
    ss.make_real_connection("plate::coolant_out.T", "loop::coolant_return.T")
    ss.add_parameter_set("heat", {"plate::thermal_port.Q_flow": HEAT})
    sim = EcosSimulation(structure=ss, step_size=H)
    sim.init(parameter_set="heat")
    c0 = time.process_time()
    sim.step(n)
    cpu = time.process_time() - c0
    values = (sim.get_real("plate::coolant_out.T"), sim.get_real("loop::coolant_supply.T"))
    sim.terminate()
    return (cpu, values), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.steps
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fmus = build_fmus(folder / "fmus")
        from cosim.master import native

        if native.core_library() is None:
            print(f"note: {native.unavailable}; the C core rows show the Python loop")
        runs = {
            "evtwin, C core": lambda i: evtwin(fmus, n, True, None),
            "evtwin, C core + 4 signals to HDF5": lambda i: evtwin(fmus, n, True, folder / f"c{i}.h5"),
            "bare ctypes loop": lambda i: ctypes_loop(fmus, n),
            "evtwin, Python loop": lambda i: evtwin(fmus, n, False, None),
            "evtwin, Python loop + 4 signals to HDF5": lambda i: evtwin(fmus, n, False, folder / f"p{i}.h5"),
            "FMPy FMU2Slave loop": lambda i: fmpy_loop(fmus, n),
        }
        best: dict[str, float] = {}
        values: dict[str, tuple] = {}
        first, note = ecos(fmus, n)
        if first is not None:
            runs = {"ecos (ecospy)": lambda i: ecos(fmus, n)[0], **runs}
        for i in range(args.repeats):  # interleaved: load changes affect every engine alike
            for name, fn in runs.items():
                cpu, vals = fn(i)
                best[name] = min(best.get(name, float("inf")), cpu)
                values[name] = vals
        ref = values["bare ctypes loop"]
        print(f"{n:,} macro steps of {H:g} s, two C FMUs (FMI 2.0), Jacobi; CPU time, best of {args.repeats}")
        print(f"{'engine':42s} {'us/step':>8s} {'vs ctypes':>9s}  final values (coolant out, supply) [degC]")
        for name in sorted(best, key=best.get):
            us = best[name] / n * 1e6
            same = "identical" if values[name] == ref else f"DIFFER: {values[name]}"
            print(f"{name:42s} {us:8.3f} {best[name] / best['bare ctypes loop']:9.3f}  {same}")
        if note:
            print(f"ecos: skipped, {note}")


if __name__ == "__main__":
    main()
