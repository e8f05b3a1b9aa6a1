"""Master benchmarks, each a ratio measured side by side in this one run.

1. Master overhead: the same units stepped by the master vs a bare loop of the same calls
   (a C FMU through fmpy when the FMU adapter and the C FMUs are available; Python units always).
   Target: <= 1.25x.
2. Results at full rate: the share of the run time spent recording every signal at every
   communication point, and of it the share spent writing blocks to the file and flushing it
   (which keeps a killed run's rows). Target: <= 20 %.
3. A year of daily use (1 h driving at 1 s, a 2 h charge at 10 s, the rest parked at 1 h
   steps; the battery every 10 s while driving with the drive power handed over as its mean),
   with a profile of where the time goes. Target: <= 60 s wall on one core.

Usage: python benchmarks/bench_master.py [--quick] [--battery fmu|unit|standin]
The best of several repeats is reported for the short measurements.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the stand-in units, by "bench_master:Class"

from cosim import registry, scenario  # noqa: E402
from cosim.connection import Connection  # noqa: E402
from cosim.master import Master  # noqa: E402
from cosim.results import OutputGroup, ResultWriter  # noqa: E402
from cosim.results.writer import FLUSH_SECONDS  # noqa: E402
from cosim.sources import TableSource  # noqa: E402
from cosim.timeline import fixed  # noqa: E402
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit  # noqa: E402


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


# ---------------------------------------------------------------------- year
YEAR = """\
version: 1
description: a year of daily use for the benchmark
experiment: {{duration: {days} d}}
units:
  drive:
    type: table
    settings:
      file: {root}/scenarios/data/quickstart_drive.csv
      time: {{column: time_s}}
      outputs: {{P: {{column: P_W, unit: W}}, v: {{column: v_mps, unit: m/s}}}}
      interpolation: step
      repeat: true
  battery:
{battery}
    every: {{drive: 10}}
  charger: {{type: "{charger}"}}
connections:
  - {{from: drive.P, to: battery.P_load, transfer: mean}}
  - {{from: schedule.T_ambient, to: battery.T_ambient}}
  - {{from: battery.SOC, to: charger.SOC}}
  - {{from: schedule.charge, to: charger.plugged}}
  - {{from: charger.I_charge, to: battery.I_charge, delay: 1}}
schedule:
  phases: {{drive: {{step: 1 s}}, charge: {{step: 10 s}}, park: {{step: 1 h}}}}
  default: park
  daily:
    - {{at: "07:30", phase: drive, for: 30 min}}
    - {{at: "17:30", phase: drive, for: 30 min}}
    - {{at: "22:00", phase: charge, for: 2 h}}
  ambient: {{profile: miami}}
outputs:
  groups:
    - {{name: daily, signals: ["battery.SOC", "battery.T_cell"], interval: 10 min}}
summary:
  - {{label: distance, signal: drive.v, reduce: integral, unit: km}}
  - {{label: drive energy, signal: drive.P, reduce: integral, unit: kWh}}
"""


def year(
    days: int, battery: str, profile: bool, record: str = "decimated", compression: str = "gzip"
) -> tuple[object, str, pstats.Stats | None]:
    """Run the daily-use scenario.

    ``record``: "decimated" (10 min), "all" (every signal at every point) or "none".
    """
    fmu_path = ROOT / "fmus" / "BatteryTwin.fmu"
    if battery == "fmu":
        spec = f"    fmu: {fmu_path}\n    parameters: {{SOC_init: 0.8}}"
        label = "battery: BatteryTwin.fmu through the FMU adapter"
    elif battery == "unit":
        spec = "    type: battery\n    parameters: {SOC_init: 0.8}"
        label = "battery: the in-process battery unit (same model as the FMU, no FMI layer)"
    else:
        spec = '    type: "bench_master:StandInBattery"'
        label = "battery: a Python stand-in (the battery model is not installed)"
    charger = (
        "cccv_charger" if "cccv_charger" in registry.unit_type_names() else "bench_master:StandInCharger"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "year.yaml"
        text = YEAR.format(days=days, root=ROOT, battery=spec, charger=charger)
        groups = {
            "all": '    - {name: main, signals: ["*"]}\n',
            # Every signal read from the units at every point, but written only at the start and end.
            "bound": '    - {name: main, signals: ["*"], interval: 100000 d}\n',
            "none": "",
        }.get(record)
        if groups is not None:
            head, _, tail = text.partition("outputs:\n  groups:\n")
            tail = tail.split("\n", 1)[1]
            text = head + "outputs:\n  groups:" + (f"\n{groups}" if groups else " []\n") + tail
        text = text.replace("outputs:\n", f"outputs:\n  compression: {compression}\n")
        path.write_text(text, encoding="utf-8")
        if charger == "cccv_charger":
            # The real charger wants the terminal voltage too.
            text = path.read_text().replace(
                "  - {from: battery.SOC, to: charger.SOC}\n",
                "  - {from: battery.SOC, to: charger.SOC}\n"
                "  - {from: battery.V_terminal, to: charger.V_terminal}\n",
            )
            path.write_text(text)
        plan = scenario.check(path, say=print)
        prof = cProfile.Profile() if profile else None
        if prof:
            prof.enable()
        cpu0 = time.process_time()
        report = scenario.run_plan(plan, output=Path(tmp) / "year.h5")
        report.cpu_total = time.process_time() - cpu0  # set-up, run and closing the file
        if prof:
            prof.disable()
    label += f"; charger: {'cccv_charger' if charger == 'cccv_charger' else 'a Python stand-in'}"
    return report, label, pstats.Stats(prof) if prof else None


def where_time_goes(stats: pstats.Stats, total: float) -> list[tuple[str, float]]:
    """Own time per area, from the profile."""
    areas = {
        # Inside the FMU the model runs as evtwin_battery_<hash>, the slave as battery_twin_<hash>.
        "pythonfmu layer (the FMU's Python side)": ("fmu_slave", "battery_twin_", "pythonfmu"),
        "battery model": ("battery_fmu", "evtwin_battery_"),
        "FMU calls (fmpy/ctypes)": ("fmpy", "cosim/fmu"),
        "master loop (generated code)": ("<cosim segment runner>",),
        "master set-up and bookkeeping": ("cosim/master", "cosim/compiled", "cosim/timeline"),
        "schedule and sources": ("cosim/schedule", "cosim/sources"),
        "results and summary": ("cosim/results", "cosim/summary", "h5py"),
        "numpy": ("numpy",),
        "charger (control/)": ("control/",),
        "built-in functions (math, list, ...)": ("~",),
    }
    own: dict[str, float] = {k: 0.0 for k in areas}
    own["other"] = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        for area, keys in areas.items():
            if any(k in filename for k in keys):
                own[area] += tottime
                break
        else:
            own["other"] += tottime
    scale = total / max(sum(own.values()), 1e-12)
    return sorted(((a, v * scale) for a, v in own.items() if v > 0), key=lambda x: -x[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--battery", choices=["fmu", "unit", "standin"], default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n, repeats, days = (20_000, 2, 7) if args.quick else (200_000, 5, 365)

    print("1. master overhead (best of %d, %d macro steps)" % (repeats, n))
    bare, mastered = overhead_python(n, repeats)
    print(
        f"   Python units (table source -> battery stand-in <-> charger stand-in): bare loop {bare:.3f} s, "
        f"master {mastered:.3f} s, ratio {mastered / bare:.3f} (target <= 1.25)"
    )
    fmu = overhead_fmu(n, repeats)
    if isinstance(fmu, str):
        print(f"   C FMU: {fmu}")
    else:
        bare, mastered, name, adapter = fmu
        print(
            f"   C FMU {name} through fmpy: bare FMU2Slave loop (setReal, doStep, getReal) {bare:.3f} s, "
            f"master with FMUUnit {mastered:.3f} s, ratio {mastered / bare:.3f} (target <= 1.25)"
        )
        print(
            f"   the same FMU, bare loop of FMUUnit's own calls {adapter:.3f} s: the master adds "
            f"{(mastered / adapter - 1) * 100:.0f} % (output checks, time grid, unit conversion)"
        )

    battery = args.battery
    if battery is None:
        fmu_ok = (ROOT / "fmus" / "BatteryTwin.fmu").is_file() or "BatteryTwin.fmu" in registry.fmu_builders()
        try:
            import cosim.fmu  # noqa: F401
        except ImportError:
            fmu_ok = False
        battery = "fmu" if fmu_ok else "unit" if "battery" in registry.unit_type_names() else "standin"

    share_days = 2 if args.quick else 14
    print(f"2. results at full rate ({share_days} days of daily use, {battery}; CPU time, best of {repeats})")
    timed: dict[str, list[float]] = {"none": [], "bound": [], "all": []}
    flushing: list[tuple[float, int]] = []
    for _ in range(repeats):  # alternately, so that drifts in machine load hit all three alike
        for record, out in timed.items():
            with FlushTimer() as flushes:
                out.append(year(share_days, battery, profile=False, record=record)[0].cpu_total)
            if record == "all":
                flushing.append((flushes.cpu, flushes.count))
    best = min(range(repeats), key=lambda r: timed["all"][r])
    timed = {k: min(v) for k, v in timed.items()}
    none, bound, full = timed["none"], timed["bound"], timed["all"]
    print(
        f"   every signal written at every communication point {full:.2f} s, the same signals read from the "
        f"units but not written {bound:.2f} s: writing is {(full - bound) / full * 100:.1f} % of the run "
        "time (target <= 20 %)"
    )
    flush_cpu, flush_count = flushing[best]
    print(
        f"   of which writing blocks to the file and flushing it ({flush_count} flushes, by size or every "
        f"{FLUSH_SECONDS:g} s): {flush_cpu / full * 100:.1f} % of the run time"
    )
    print(
        f"   with no outputs at all {none:.2f} s: reading every output of every unit as well costs "
        f"{(full - none) / full * 100:.1f} % (the battery FMU then returns all its outputs at each step)"
    )
    plain, recorded, k = results_share(n, repeats)
    print(
        f"   worst case, units that cost next to nothing ({n} steps of a table and a stand-in battery, "
        f"{k} signals): "
        f"{(recorded - plain) / recorded * 100:.1f} %"
    )

    print(f"3. {days} days of daily use ({battery})")
    report, label, _ = year(days, battery, profile=False)
    s = report.stats
    print(f"   {label}")
    print(
        f"   {s.steps:,} macro steps, wall {s.wall_time:.2f} s, real-time factor {s.real_time_factor:,.0f}x "
        f"(target: 365 d <= 60 s, > 500 000x)"
    )
    for label_, value, unit in report.summary:
        print(f"   {label_}: {value:.4g} {unit}")
    report, _, stats = year(min(days, 30), battery, profile=True)
    print(
        f"   where the time goes ({min(days, 30)} days under cProfile, scaled to its wall time "
        f"{report.stats.wall_time:.2f} s; the profiler itself inflates Python calls):"
    )
    for area, seconds in where_time_goes(stats, report.stats.wall_time):
        print(f"     {area:32s} {seconds:7.2f} s  {seconds / report.stats.wall_time * 100:5.1f} %")


if __name__ == "__main__":
    main()
