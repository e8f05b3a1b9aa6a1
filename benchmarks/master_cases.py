"""Shared parts of benchmarks/bench_master.py: its stand-in units, the side-by-side timer, and its
sections 1 (master overhead) and 2's worst case (results on units that cost next to nothing).

Imported by bench_master.py, which puts the repository root and this folder on ``sys.path``; the
stand-in units are also named in its scenario as "master_cases:StandInBattery" and "...:StandInCharger".
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from cosim.connection import Connection
from cosim.master import Master
from cosim.results import OutputGroup, ResultWriter
from cosim.sources import TableSource
from cosim.timeline import fixed
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit


class StandInBattery(PythonUnit):
    """A bucket of charge with a resistance and a lumped thermal mass: the battery's ports, cheap physics."""

    PORTS = (
        Port("P_load", INPUT, "W"),
        Port("I_charge", INPUT, "A"),
        Port("T_ambient", INPUT, "K"),
        Port("SOC", OUTPUT, "1", min=0.0, max=1.0),
        Port("V_terminal", OUTPUT, "V"),
        Port("T_cell", OUTPUT, "K"),
    )
    can_save_state = True

    def setup(self, start_time):
        self.SOC, self.V_terminal, self.T_cell = 0.8, 340.0, 298.15
        self.T_ambient = 298.15

    def do_step(self, t, h):
        current = self.P_load / self.V_terminal - self.I_charge
        self.SOC -= current * h / (220.0 * 3600.0)
        self.V_terminal = 300.0 + 60.0 * self.SOC - 0.05 * current
        self.T_cell += h * (0.05 * 0.05 * current * current - (self.T_cell - self.T_ambient) * 2.0) / 2.0e5

    def save_state(self):
        return (self.SOC, self.V_terminal, self.T_cell)

    def restore_state(self, state):
        self.SOC, self.V_terminal, self.T_cell = state


class StandInCharger(PythonUnit):
    """Constant current while plugged in, until a target SOC."""

    PORTS = (Port("SOC", INPUT, "1"), Port("plugged", INPUT, "1"), Port("I_charge", OUTPUT, "A"))
    can_save_state = True

    def setup(self, start_time):
        self.I_charge = 0.0

    def do_step(self, t, h):
        self.I_charge = 40.0 if self.plugged and self.SOC < 0.9 else 0.0

    def save_state(self):
        return self.I_charge

    def restore_state(self, state):
        self.I_charge = state


def compare(first, second, repeats: int) -> tuple[float, float]:
    """Best CPU times of two functions, run alternately so that drifts in machine load hit both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((first, times[0]), (second, times[1])):
            t0 = time.process_time()
            fn()
            out.append(time.process_time() - t0)
    return min(times[0]), min(times[1])


# ------------------------------------------------------------------ overhead
def overhead_python(n: int, repeats: int) -> tuple[float, float]:
    table = {"t": [0.0, 600.0, 1200.0], "P": [10000.0, -10000.0, 10000.0]}

    def bare():
        src = TableSource(outputs={"P": {"unit": "W"}}, data=table, repeat=True)
        bat, chg = StandInBattery(), StandInCharger()
        src.bind([], ["P"])
        bat.bind(["P_load", "I_charge"], ["SOC", "V_terminal", "T_cell"])
        chg.bind(["SOC"], ["I_charge"])
        for u in (src, bat, chg):
            u.setup(0.0)
        i_charge = 0.0
        for k in range(n):
            t = k * 1.0
            src.do_step(t, 1.0)
            p = src.get_outputs()
            bat.set_inputs([p[0], i_charge])
            bat.do_step(t, 1.0)
            o = bat.get_outputs()
            chg.set_inputs([o[0]])
            chg.do_step(t, 1.0)
            i_charge = chg.get_outputs()[0]

    def mastered():
        # Unconnected inputs (T_ambient, plugged) keep their start values, as in the bare loop.
        units = {
            "src": TableSource(outputs={"P": {"unit": "W"}}, data=table, repeat=True),
            "bat": StandInBattery(),
            "chg": StandInCharger(),
        }
        conns = [
            Connection("src.P", "bat.P_load"),
            Connection("chg.I_charge", "bat.I_charge", delay=1),
            Connection("bat.SOC", "chg.SOC"),
        ]
        Master(units, conns, observe=["bat.SOC", "bat.V_terminal", "bat.T_cell"]).run(
            fixed(0.0, float(n), 1.0)
        )

    return compare(bare, mastered, repeats)


def overhead_fmu(n: int, repeats: int) -> tuple[float, float, str] | str:
    try:
        from fmpy import extract, read_model_description
        from fmpy.fmi2 import FMU2Slave

        from cosim.fmu import FMUUnit
        from fmus.build_c import build as build_c
    except ImportError as err:
        return f"skipped: the FMU adapter or the C FMU build is not installed ({err})"
    out = Path(tempfile.mkdtemp(prefix="bench_fmus_"))
    try:
        build_c(out_dir=out)
    except Exception as err:  # a benchmark reports what it could not measure and goes on
        return f"skipped: building the C FMUs failed ({err})"
    fmus = sorted(out.glob("*.fmu"))
    fmu2 = next((f for f in fmus if read_model_description(str(f)).fmiVersion.startswith("2")), None)
    if fmu2 is None:
        return "skipped: no FMI 2.0 C FMU was built"
    md = read_model_description(str(fmu2))
    real = [v for v in md.modelVariables if v.type == "Real"]
    ins = [v for v in real if v.causality == "input"]
    outs = [v for v in real if v.causality == "output"]
    in_vr, out_vr = [v.valueReference for v in ins], [v.valueReference for v in outs]
    values = [float(v.start or 300.0) for v in ins]

    def bare():
        unzip = extract(str(fmu2))
        slave = FMU2Slave(
            guid=md.guid,
            unzipDirectory=unzip,
            modelIdentifier=md.coSimulation.modelIdentifier,
            instanceName="bare",
        )
        slave.instantiate()
        slave.setupExperiment(startTime=0.0)
        slave.enterInitializationMode()
        slave.exitInitializationMode()
        for k in range(n):
            if in_vr:
                slave.setReal(in_vr, values)
            slave.doStep(currentCommunicationPoint=k * 1.0, communicationStepSize=1.0)
            slave.getReal(out_vr)
        slave.terminate()
        slave.freeInstance()

    def mastered():
        from cosim.sources import Constant

        unit = FMUUnit(fmu2, "fmu")
        pairs = enumerate(zip(ins, values, strict=True))
        src = Constant(outputs={f"x{k}": {"value": x, "unit": _unit_of(v)} for k, (v, x) in pairs})
        conns = [Connection(f"src.x{k}", f"fmu.{v.name}") for k, v in enumerate(ins)]
        Master({"src": src, "fmu": unit}, conns, observe=[f"fmu.{v.name}" for v in outs]).run(
            fixed(0.0, float(n), 1.0)
        )

    def bare_adapter():
        # The adapter's own calls in a plain loop: what the master adds on top of the FMU adapter.
        unit = FMUUnit(fmu2, "fmu")
        unit.bind([v.name for v in ins], [v.name for v in outs])
        unit.setup(0.0)
        set_inputs, do_step, get_outputs = unit.set_inputs, unit.do_step, unit.get_outputs
        for k in range(n):
            set_inputs(values)
            do_step(k * 1.0, 1.0)
            get_outputs()
        unit.terminate()

    bare_time, mastered_time = compare(bare, mastered, repeats)
    adapter_time, mastered_again = compare(bare_adapter, mastered, repeats)
    return bare_time, min(mastered_time, mastered_again), fmu2.name, adapter_time


def _unit_of(variable) -> str:
    return (
        getattr(variable, "unit", None)
        or getattr(getattr(variable, "declaredType", None), "unit", None)
        or "1"
    )


# ------------------------------------------------------------------- results
class FlushTimer:
    """CPU time spent in :meth:`ResultWriter.flush` (writing blocks and flushing the file) while active."""

    def __enter__(self) -> FlushTimer:
        self.cpu, self.count = 0.0, 0
        self._original = original = ResultWriter.flush

        def timed(writer):
            t0 = time.process_time()
            try:
                original(writer)
            finally:
                self.cpu += time.process_time() - t0
                self.count += 1

        ResultWriter.flush = timed
        return self

    def __exit__(self, *exc) -> None:
        ResultWriter.flush = self._original


def results_share(n: int, repeats: int) -> tuple[float, float, int]:
    table = {"t": [0.0, 600.0, 1200.0], "P": [10000.0, -10000.0, 10000.0]}
    signals = ["bat.SOC", "bat.V_terminal", "bat.T_cell", "bat.P_load", "src.P"]

    def one(record: bool):
        units = {
            "src": TableSource(outputs={"P": {"unit": "W"}}, data=table, repeat=True),
            "bat": StandInBattery(),
        }
        master = Master(units, [Connection("src.P", "bat.P_load")], observe=signals)
        with tempfile.TemporaryDirectory() as tmp:
            writer = ResultWriter(Path(tmp) / "r.h5", [OutputGroup("main", signals)]) if record else None
            master.run(fixed(0.0, float(n), 1.0), observers=[writer] if writer else [])
            if writer:
                writer.close("complete")

    return (*compare(lambda: one(False), lambda: one(True), repeats), len(signals))
