"""Wall and CPU time of the ten-year Miami commute (scenarios/commute_10y_miami.yaml), on one core.

Runs the shipped scenario for ``--days`` (default: all ten years) and prints the CPU time, the steps
taken and the projection to ten years, so the target (ten years in at most ten minutes on one core of
this machine) is checked by measurement, not by a timed test. Parts not installed yet are swapped for
stand-ins and the output says so (the CC-CV charger: a constant-current charger to 95 % SOC).

    python benchmarks/bench_commute.py [--days N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from cosim.unit import INPUT, OUTPUT, Port, PythonUnit

ROOT = Path(__file__).resolve().parents[1]
TEN_YEARS_D = 3650


class StandInCharger(PythonUnit):
    """Constant current until a target SOC: stands in for the CC-CV charger when control/ is missing."""

    PORTS = (
        Port("V_terminal", INPUT, "V", "pack voltage"),
        Port("SOC", INPUT, "1", "state of charge"),
        Port("plugged", INPUT, "1", "1 while plugged in", type="Boolean"),
        Port("I_charge", OUTPUT, "A", "charging current", min=0.0),
    )
    can_save_state = True

    def __init__(self, current: float = 40.0, target_soc: float = 0.95):
        super().__init__()
        self.current, self.target_soc = current, target_soc

    def setup(self, start_time: float) -> None:
        self.I_charge = 0.0

    def do_step(self, t: float, h: float) -> None:
        self.I_charge = self.current if self.plugged and self.SOC < self.target_soc else 0.0

    def save_state(self):
        return self.I_charge

    def restore_state(self, state) -> None:
        self.I_charge = state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=TEN_YEARS_D, help="simulated days (default: ten years)")
    args = parser.parse_args()
    try:
        from cosim import registry, scenario
    except ImportError:
        sys.exit("this benchmark needs the scenario engine (cosim.scenario)")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    source = ROOT / "scenarios" / "commute_10y_miami.yaml"
    text = source.read_text(encoding="utf-8")
    notes = []
    if "cccv_charger" not in registry.unit_type_names():
        text = text.replace("    type: cccv_charger", "    type: bench_commute:StandInCharger")
        notes.append("charger: stand-in constant-current charger (cccv_charger not installed)")
    # The variant lives outside scenarios/ (package data, listed by `evtwin scenarios`); its FMU path is
    # made absolute so that it still names the clone's fmus/ folder.
    text = text.replace("fmu: ../fmus/", f"fmu: {ROOT / 'fmus'}/")
    with tempfile.TemporaryDirectory() as tmp:
        variant = Path(tmp) / "_bench_commute.yaml"
        variant.write_text(text, encoding="utf-8")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        report = scenario.run(variant, output=Path(tmp) / "commute.h5", duration=args.days * 86400.0)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    for note in notes:
        print(note)
    print(
        f"simulated {args.days:g} d in {report.stats.steps} macro steps: CPU {cpu:.1f} s, wall {wall:.1f} s "
        f"({1e6 * cpu / report.stats.steps:.1f} us CPU per macro step)"
    )
    projected = cpu * TEN_YEARS_D / args.days
    print(f"ten years projected: {projected:.0f} s CPU = {projected / 600:.2f} x the 600 s target")
    for label, value, unit in report.summary:
        print(f"  {label}: {value:.6g} {unit}")


if __name__ == "__main__":
    main()
