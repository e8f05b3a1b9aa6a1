"""Fleet throughput: fleet mode against full resolution, and a fleet on 1 and 2 Dask workers.

1. The shipped Miami commute (scenarios/commute_10y_miami.yaml) for ``--days`` at full resolution
   and in fleet mode (10 s driving steps, 300 s charging steps), one after the other on one core:
   CPU time, the projection to a vehicle-decade, and the differences in energy, EFC and SOH.
2. A fleet of ``--vehicles`` commuters for ``--fleet-days`` each on a LocalCluster of 1 and of 2
   workers: vehicle-years per wall-minute and the ratio (the target is >= 1.7 on 2 cores).
3. The overhead per task: a batch of short vehicles on 2 workers against the same vehicles run
   in this process.

    python benchmarks/bench_fleet.py [--days 60] [--vehicles 8] [--fleet-days 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DECADE_D = 3650


def compare_modes(days: float, fmu: Path, tmp: Path) -> None:
    from ruamel.yaml import YAML

    from cosim import scenario
    from fleet.usage import fleet_mode

    yaml = YAML()
    doc = yaml.load((ROOT / "scenarios" / "commute_10y_miami.yaml").read_text())
    doc["units"]["battery"]["fmu"] = str(fmu)
    doc.pop("outputs", None)
    doc.pop("plots", None)
    rows = {}
    for mode in ("full resolution", "fleet mode"):
        if mode == "fleet mode":
            doc = fleet_mode(doc)
        path = tmp / f"{mode.split()[0]}.yaml"
        with path.open("w") as fh:
            yaml.dump(doc, fh)
        cpu0 = time.process_time()
        report = scenario.run(path, output=tmp / f"{path.stem}.h5", duration=days * 86400.0)
        cpu = time.process_time() - cpu0
        rows[mode] = (cpu, report.stats.steps, {label: value for label, value, _ in report.summary})
    print(f"The Miami commute, {days:g} days, battery FMU, one core:")
    for mode, (cpu, steps, _) in rows.items():
        print(f"  {mode:16s} CPU {cpu:6.2f} s, {steps:8d} macro steps, a vehicle-decade projected: "
              f"{cpu * DECADE_D / days:6.1f} s")
    full, fleet = rows["full resolution"][2], rows["fleet mode"][2]
    energy = "energy at the battery terminals"
    soh = "SOH capacity at the end"
    print(f"  speed-up {rows['full resolution'][0] / rows['fleet mode'][0]:.2f}x; energy {fleet[energy]:.3f} vs "
          f"{full[energy]:.3f} kWh ({(fleet[energy] / full[energy] - 1) * 100:+.3f} %), EFC "
          f"{(fleet['EFC'] / full['EFC'] - 1) * 100:+.3f} %, SOH {fleet[soh]:.6f} vs {full[soh]:.6f} "
          f"(fade {((1 - fleet[soh]) / (1 - full[soh]) - 1) * 100:+.2f} %; projected to a decade "
          f"{abs(fleet[soh] - full[soh]) * DECADE_D / days:.5f})")


def fleet_jobs(vehicles: int, days: float, battery: str, fmu: Path):
    from cosim.batch import Job
    from fleet.spec import FleetModel, draw

    model = FleetModel(vehicles=vehicles, years=1, seed=3, annual_km=16350.0, battery=battery)
    return [
        Job(f"v{i:05d}", {"vehicle": dataclasses.asdict(draw(model, i)), "battery": battery, "resolution": "fleet",
                          "fmu": str(fmu), "duration": days * 86400.0}, days / 365.0)
        for i in range(vehicles)
    ]


class MemoryStore:
    def __init__(self):
        self.results, self.failed = {}, {}

    def done(self):
        return set()

    def save(self, key, result):
        self.results[key] = result

    def fail(self, key, message):
        self.failed[key] = message


def scaling(vehicles: int, days: float, fmu: Path) -> None:
    from cosim.batch import run_batch
    from fleet.task import run_job

    print(f"\nA fleet of {vehicles} commuters x {days:g} days (battery FMU) on a LocalCluster:")
    rates = {}
    for workers in (1, 2):
        jobs = fleet_jobs(vehicles, days, "fmu", fmu)
        store = MemoryStore()
        up = []
        outcome = run_batch(jobs, run_job, store, workers=workers, on_start=lambda n: up.append(time.perf_counter()))
        end = time.perf_counter()
        assert not store.failed, store.failed
        years = sum(j.weight for j in jobs)
        cpu = sum(r["cpu_s"] for r in store.results.values())
        rates[workers] = years / ((end - up[0]) / 60.0)
        print(f"  {workers} worker(s): {end - up[0]:6.2f} s wall once the cluster is up ({outcome.wall_s:.2f} s with its "
              f"start), {rates[workers]:.3f} vehicle-years per minute; CPU in the vehicles {cpu:.1f} s")
    print(f"  2 workers / 1 worker: {rates[2] / rates[1]:.2f}x (target >= 1.7x)")


def overhead(fmu: Path) -> None:
    from cosim.batch import run_batch
    from fleet.task import run_job, run_vehicle

    jobs = fleet_jobs(16, 1.0, "fmu", fmu)
    t0 = time.perf_counter()
    for j in jobs:
        run_vehicle(j.payload, j.payload["duration"])
    alone = time.perf_counter() - t0
    store = MemoryStore()
    run_batch(jobs[:2], run_job, store, workers=2)  # warm the imports' disk cache
    store = MemoryStore()
    outcome = run_batch(jobs, run_job, store, workers=2)
    inside = sum(r["wall_s"] for r in store.results.values())
    per_task = (outcome.wall_s * 2 - inside) / len(jobs)
    print(f"\nOverhead: 16 one-day vehicles, in this process {alone:.2f} s; on 2 workers {outcome.wall_s:.2f} s wall "
          f"of which {inside:.2f} s worker-time in the vehicles: {per_task * 1000:.0f} ms per task of the 2 "
          "workers' time (cluster start, imports, FMU extraction, scheduling and transfer)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=60.0, help="days of the commute compared (default 60)")
    parser.add_argument("--vehicles", type=int, default=8)
    parser.add_argument("--fleet-days", type=float, default=60.0)
    args = parser.parse_args()
    from battery_fmu.build import build_fmu

    with tempfile.TemporaryDirectory() as tmp:
        fmu = build_fmu(Path(tmp))
        compare_modes(args.days, fmu, Path(tmp))
        scaling(args.vehicles, args.fleet_days, fmu)
        overhead(fmu)
    from cosim.cli import leave

    leave(0)  # as the command line does: skip native exit handlers of the FMU libraries loaded here


if __name__ == "__main__":
    main()
