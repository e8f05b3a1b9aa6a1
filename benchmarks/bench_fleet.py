"""Fleet throughput: fleet mode against full resolution, and a fleet on 1 and 2 Dask workers.

1. The shipped Miami commute (scenarios/commute_10y_miami.yaml, battery FMU) for ``--days`` at full
   resolution and in fleet mode (10 s driving steps, 300 s charging steps); then the same usage as a
   fleet vehicle (fleet/usage.py: the commute, Miami, 16,350 km a year, overnight charging) at full
   resolution, in fleet mode through the FMU and packed (fleet mode with the in-process battery: the
   vehicle and its pack as one unit, fleet/vehicle_pack.py). CPU time on one core, the projection to a
   vehicle-decade, and the differences in energy, EFC and SOH.
2. With ``--decade``: a whole vehicle-decade of that fleet vehicle, packed and at full resolution:
   CPU time and the differences after 10 years.
3. A fleet of ``--vehicles`` commuters for ``--fleet-days`` each on a LocalCluster of 1 and of 2
   workers: vehicle-years per wall-minute and the ratio (the target is >= 1.7 on 2 cores), with the
   load average before and after (the figures mean little when other work loads the machine).
4. The overhead per task: a batch of short vehicles on 2 workers against the same vehicles run
   in this process.

    python benchmarks/bench_fleet.py [--days 60] [--decade] [--vehicles 8] [--fleet-days 60]
                                     [--battery in_process|fmu]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
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


def _commuter(battery: str, fmu: Path) -> dict:
    from fleet.spec import FleetModel, draw

    vehicle = draw(FleetModel(vehicles=1, years=10, seed=3, annual_km=16350.0), 0)
    return {"vehicle": dataclasses.asdict(vehicle), "battery": battery, "fmu": str(fmu)}


def compare_fleet_vehicle(days: float, fmu: Path) -> None:
    from fleet.task import run_vehicle

    ways = (("full resolution", "in_process", "full"), ("fleet mode, FMU", "fmu", "fleet"),
            ("packed", "in_process", "fleet"))
    print(f"\nThe same usage as a fleet vehicle (commute, Miami, 16,350 km a year), {days:g} days, one core:")
    tables = {}
    for name, battery, resolution in ways:
        job = {**_commuter(battery, fmu), "resolution": resolution}
        result = run_vehicle(job, days * 86400.0)
        tables[name] = result["table"]
        cpu, steps = result["cpu_s"], result["steps"]
        print(f"  {name:16s} CPU {cpu:6.2f} s, {steps:8d} macro steps, a vehicle-decade projected: "
              f"{cpu * DECADE_D / days:6.1f} s")
    full, packed = tables["full resolution"], tables["packed"]
    e_full, e_packed = full["energy_kWh"].sum(), packed["energy_kWh"].sum()
    soh_full, soh_packed = full["soh_capacity"][-1], packed["soh_capacity"][-1]
    efc = (packed["efc"].sum() / full["efc"].sum() - 1) * 100
    print(f"  packed against full resolution: energy {(e_packed / e_full - 1) * 100:+.3f} %, EFC "
          f"{efc:+.3f} %, SOH {soh_packed:.6f} vs {soh_full:.6f} "
          f"(fade {((1 - soh_packed) / (1 - soh_full) - 1) * 100:+.2f} %; projected to a decade "
          f"{abs(soh_packed - soh_full) * DECADE_D / days:.5f})")


def decade(fmu: Path) -> None:
    from fleet.task import run_vehicle

    print(f"\nA whole vehicle-decade of that fleet vehicle, one core (load average {_load()}):")
    tables = {}
    for name, resolution in (("packed", "fleet"), ("full resolution", "full")):
        result = run_vehicle({**_commuter("in_process", fmu), "resolution": resolution}, DECADE_D * 86400.0)
        t = tables[name] = result["table"]
        cpu, wall, steps = result["cpu_s"], result["wall_s"], result["steps"]
        print(f"  {name:16s} CPU {cpu:6.1f} s ({wall:6.1f} s wall), {steps:9d} macro steps, "
              f"{t['distance_km'].sum():.0f} km, {t['energy_kWh'].sum():.1f} kWh, EFC {t['efc'].sum():.2f}, "
              f"SOH {t['soh_capacity'][-1]:.5f}")
    packed, full = tables["packed"], tables["full resolution"]
    d_soh = packed["soh_capacity"][-1] - full["soh_capacity"][-1]
    d_energy = (packed["energy_kWh"].sum() / full["energy_kWh"].sum() - 1) * 100
    d_efc = (packed["efc"].sum() / full["efc"].sum() - 1) * 100
    print(f"  packed minus full resolution after 10 years: SOH {d_soh:+.5f} (target within 0.002), energy "
          f"{d_energy:+.3f} % (target within 1 %), EFC {d_efc:+.3f} %; packed CPU target <= 15 s")


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


def scaling(vehicles: int, days: float, fmu: Path, battery: str) -> None:
    from cosim.batch import run_batch
    from fleet.task import run_job

    print(f"\nA fleet of {vehicles} commuters x {days:g} days (battery: {battery}) on a LocalCluster; "
          f"load average before: {_load()}")
    rates = {}
    for workers in (1, 2):
        jobs = fleet_jobs(vehicles, days, battery, fmu)
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
    print(f"  2 workers / 1 worker: {rates[2] / rates[1]:.2f}x (target >= 1.7x); load average after: {_load()}")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def overhead(fmu: Path, battery: str) -> None:
    from cosim.batch import run_batch
    from fleet.task import run_job, run_vehicle

    jobs = fleet_jobs(16, 1.0, battery, fmu)
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
    parser.add_argument("--decade", action="store_true",
                        help="also run a whole vehicle-decade, packed and at full resolution (minutes)")
    parser.add_argument("--battery", choices=("in_process", "fmu"), default="in_process",
                        help="the fleets' battery in sections 3 and 4 (default in_process: packed)")
    args = parser.parse_args()
    from battery_fmu.build import build_fmu

    with tempfile.TemporaryDirectory() as tmp:
        fmu = build_fmu(Path(tmp))
        compare_modes(args.days, fmu, Path(tmp))
        compare_fleet_vehicle(args.days, fmu)
        if args.decade:
            decade(fmu)
        scaling(args.vehicles, args.fleet_days, fmu, args.battery)
        overhead(fmu, args.battery)


if __name__ == "__main__":
    main()
