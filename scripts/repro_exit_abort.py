"""Reproducer for pythonfmu 0.7.0's use-after-free at process exit.

One child process steps ``BatteryTwin.fmu`` through fmpy (instantiate, 300 steps, terminate,
free, unload), then solves a small CasADi/IPOPT problem, then exits normally. Before the fix in
``battery_fmu/fmu_shim.c`` such a child aborted at exit ("corrupted double-linked list") in about
a quarter to half of the runs; the order (FMU first, IPOPT second) is the one that shows it.

    python scripts/repro_exit_abort.py [--runs 40] [--fmu fmus/BatteryTwin.fmu]

prints how many children exited with status 0 and how many aborted, and exits 1 on any abort.
Run one child under valgrind with ``--child --fmu PATH`` as the command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def child(fmu: str) -> None:
    """Step the FMU, free it, then run IPOPT: the order that exposed the fault."""
    from fmpy import extract, read_model_description
    from fmpy.fmi2 import FMU2Slave

    description = read_model_description(fmu)
    unzipped = extract(fmu)
    slave = FMU2Slave(guid=description.guid, unzipDirectory=unzipped,
                      modelIdentifier=description.coSimulation.modelIdentifier, instanceName="battery")
    slave.instantiate()
    slave.setupExperiment(startTime=0.0)
    slave.enterInitializationMode()
    slave.exitInitializationMode()
    refs = {v.name: v.valueReference for v in description.modelVariables}
    for k in range(300):
        slave.setReal([refs["P_load"]], [20000.0])
        slave.doStep(currentCommunicationPoint=k * 1.0, communicationStepSize=1.0)
    slave.terminate()
    slave.freeInstance()

    import casadi

    x = casadi.SX.sym("x", 2)
    solver = casadi.nlpsol("s", "ipopt", {"x": x, "f": (x[0] - 1) ** 2 + (x[1] - 2) ** 2},
                           {"print_time": False, "ipopt": {"print_level": 0}})
    solver(x0=[0, 0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--fmu", default="fmus/BatteryTwin.fmu")
    parser.add_argument("--child", action="store_true", help="run one child in this process")
    args = parser.parse_args()
    if not Path(args.fmu).is_file():
        print(f"error: {args.fmu} not found (build it with `evtwin fmu build`)", file=sys.stderr)
        return 2
    if args.child:
        child(args.fmu)
        return 0
    codes = []
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, __file__, "--child", "--fmu", args.fmu],
                              capture_output=True, text=True)
        codes.append(done.returncode)
    aborted = sum(code != 0 for code in codes)
    print(f"{args.runs} runs: {args.runs - aborted} exited 0, {aborted} aborted "
          f"(exit codes {sorted(set(codes))})")
    return 1 if aborted else 0


if __name__ == "__main__":
    sys.exit(main())
