"""Fleet throughput: fleet mode against full resolution on one core, and a fleet on 1 and 2 Dask workers.

1. One vehicle, one core: the Miami commuter (fleet/usage.py: the commute mix, Miami, 16,350 km a year,
   overnight charging to 90 %: the usage of scenarios/commute_10y_miami.yaml) for ``--days`` at full
   resolution (1 s driving steps, the battery every 10 s), in fleet mode through the battery FMU and in
   fleet mode packed (the in-process battery inside the vehicle unit, fleet/vehicle_pack.py), side by
   side: CPU seconds per vehicle-year and per vehicle-decade (projected), and the differences in energy,
   EFC and SOH.
2. A whole vehicle-decade of that vehicle in fleet mode (packed): CPU seconds against the target of 15 s
   on one core, with the battery's driving steps in C (battery_fmu/series_native.py, the default) and
   in Python (``EVTWIN_ENGINE=python``) side by side. With ``--decade`` also at full resolution
   (minutes), for the SOH and energy after 10 years side by side; ``--quick`` measures one year and
   projects it.
3. A fleet of ``--vehicles`` commuters for ``--fleet-days`` each on a real LocalCluster of 1 and of 2
   workers, started and warmed first (each worker's imports and first vehicle are a start-up cost, which
   section 4 measures): vehicle-years per wall-minute and the ratio (target >= 1.7x on 2 free cores),
   with the load average before and after: on a loaded machine the ratio says little.
4. The overhead per task: one-day vehicles on 2 workers, N and 2N of them: the workers' time beyond the
   vehicles' own, and what each added task adds to it.

CPU time is ``time.process_time`` of the process that runs the vehicle. Bounded: the default run takes a
few minutes on a quiet 2-core machine, ``--quick`` a minute or two, ``--decade`` adds a few minutes.

    python benchmarks/bench_fleet.py [--quick] [--decade] [--days 60] [--vehicles 8] [--fleet-days 60]
                                     [--battery in_process|fmu]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import tempfile
import time
from pathlib import Path

DECADE_D = 3650.0
YEAR_D = 365.0
TARGET_DECADE_CPU_S = 15.0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def _commuter(battery: str, fmu: Path, resolution: str) -> dict:
    from fleet.spec import FleetModel, draw

    vehicle = draw(FleetModel(vehicles=1, years=10, seed=3, annual_km=16350.0), 0)
    return {"vehicle": dataclasses.asdict(vehicle), "battery": battery, "fmu": str(fmu), "resolution": resolution}


def _totals(table: dict) -> tuple[float, float, float]:
    """(energy [kWh], EFC, SOH at the end) of a daily table."""
    return table["energy_kWh"].sum(), table["efc"].sum(), table["soh_capacity"][-1]


def one_core(days: float, fmu: Path) -> None:
    from fleet.task import run_vehicle

    ways = (("full resolution", "in_process", "full"), ("fleet mode, FMU", "fmu", "fleet"),
            ("fleet mode", "in_process", "fleet"))
    print(f"1. The Miami commuter for {days:g} days, one core ({_load()}):")
    print(f"   {'':17s} {'CPU s':>7s} {'macro steps':>11s} {'CPU s/vehicle-year':>18s} {'/decade':>8s} "
          f"{'energy kWh':>10s} {'EFC':>7s} {'SOH':>9s}")
    totals = {}
    for name, battery, resolution in ways:
        result = run_vehicle(_commuter(battery, fmu, resolution), days * 86400.0)
        cpu = result["cpu_s"]
        totals[name] = energy, efc, soh = _totals(result["table"])
        print(f"   {name:17s} {cpu:7.2f} {result['steps']:11d} {cpu * YEAR_D / days:18.2f} "
              f"{cpu * DECADE_D / days:8.1f} {energy:10.2f} {efc:7.3f} {soh:9.6f}")
    (e_full, efc_full, soh_full), (e_fleet, efc_fleet, soh_fleet) = totals["full resolution"], totals["fleet mode"]
    print(f"   fleet mode minus full resolution: energy {(e_fleet / e_full - 1) * 100:+.4f} %, EFC "
          f"{(efc_fleet / efc_full - 1) * 100:+.4f} %, SOH {soh_fleet - soh_full:+.2e} (a decade pro rata: "
          f"{abs(soh_fleet - soh_full) * DECADE_D / days:.1e}; targets: energy within 1 %, SOH within 0.002)")


class _Engine:
    """``$EVTWIN_ENGINE`` set to ``name`` inside the block (None: as it was)."""

    def __init__(self, name: str | None):
        self.name = name

    def __enter__(self):
        self.before = os.environ.get("EVTWIN_ENGINE")
        if self.name is not None:
            os.environ["EVTWIN_ENGINE"] = self.name

    def __exit__(self, *exc):
        if self.before is None:
            os.environ.pop("EVTWIN_ENGINE", None)
        else:
            os.environ["EVTWIN_ENGINE"] = self.before


def decade(fmu: Path, quick: bool, full: bool) -> None:
    from fleet.task import run_vehicle

    days = YEAR_D if quick else DECADE_D
    # the battery's 10 s driving steps in C (the default where gcc is at hand) and in Python, side by side
    ways = [("fleet mode", "fleet", None), ("fleet mode, Python", "fleet", "python")]
    ways += [("full resolution", "full", None)] if full else []
    print(f"\n2. {'One year' if quick else 'A whole vehicle-decade'} of the Miami commuter, one core ({_load()}):")
    rows, cpus = {}, {}
    for name, resolution, engine in ways:
        with _Engine(engine):
            result = run_vehicle(_commuter("in_process", fmu, resolution), days * 86400.0)
        t = result["table"]
        rows[name] = _totals(t)
        cpu, scale = result["cpu_s"], DECADE_D / days
        cpus[name] = cpu
        print(f"   {name:18s} CPU {cpu:7.1f} s ({result['wall_s']:6.1f} s wall), {result['steps']:9d} macro steps, "
              f"{t['distance_km'].sum():8.0f} km, {rows[name][0]:8.1f} kWh, EFC {rows[name][1]:7.2f}, "
              f"SOH {rows[name][2]:.5f}" + (f"; a decade projected: {cpu * scale:.1f} s" if quick else ""))
        if resolution == "fleet" and engine is None:
            print(f"   fleet mode: {cpu * scale:.1f} CPU s per vehicle-decade against the target of "
                  f"{TARGET_DECADE_CPU_S:g} s ({cpu * scale / TARGET_DECADE_CPU_S:.2f}x it)")
    same = rows["fleet mode"] == rows["fleet mode, Python"]
    print(f"   the battery's driving steps in C: {cpus['fleet mode, Python'] / cpus['fleet mode']:.2f}x faster than in "
          f"Python ({'the same' if same else 'DIFFERENT'} energy, EFC and SOH)")
    if full:
        (e_fleet, efc_fleet, soh_fleet), (e_full, efc_full, soh_full) = rows["fleet mode"], rows["full resolution"]
        print(f"   fleet mode minus full resolution after {days / YEAR_D:g} years: SOH {soh_fleet - soh_full:+.6f} "
              f"(target within 0.002), energy {(e_fleet / e_full - 1) * 100:+.4f} % (target within 1 %), EFC "
              f"{(efc_fleet / efc_full - 1) * 100:+.4f} %; full resolution / fleet mode CPU "
              f"{cpus['full resolution'] / cpus['fleet mode']:.1f}x")


def fleet_jobs(vehicles: int, days: float, battery: str, fmu: Path, prefix: str = "v"):
    from cosim.batch import Job
    from fleet.spec import FleetModel, draw

    model = FleetModel(vehicles=vehicles, years=1, seed=3, annual_km=16350.0, battery=battery)
    return [
        Job(f"{prefix}{i:05d}", {"vehicle": dataclasses.asdict(draw(model, i)), "battery": battery,
                                 "resolution": "fleet", "fmu": str(fmu), "duration": days * 86400.0}, days / YEAR_D)
        for i in range(vehicles)
    ]


class MemoryStore:
    """A batch store that keeps the results in memory (the benchmark writes nothing)."""

    def __init__(self):
        self.results, self.failed = {}, {}

    def done(self):
        return set()

    def save(self, key, result):
        self.results[key] = result

    def fail(self, key, message):
        self.failed[key] = message


def _batch(jobs, workers: int) -> tuple[MemoryStore, float, float]:
    """Run ``jobs`` on a LocalCluster of ``workers``; (store, wall [s] once the cluster was up, wall with its start)."""
    from cosim.batch import run_batch
    from fleet.task import run_job

    store, up = MemoryStore(), []
    outcome = run_batch(jobs, run_job, store, workers=workers, on_start=lambda n: up.append(time.perf_counter()))
    end = time.perf_counter()
    if store.failed:
        raise SystemExit(f"vehicles failed: {store.failed}")
    return store, end - up[0], outcome.wall_s


def _warm_up(payload: dict) -> None:
    """On a worker: import what a vehicle needs and run an hour of one (the first task's start-up)."""
    from fleet.task import run_job

    run_job(payload)


def _warm_batch(jobs, workers: int, fmu: Path, battery: str) -> tuple[MemoryStore, float, float]:
    """Run ``jobs`` on a LocalCluster of ``workers`` whose workers have already run an hour of a vehicle;
    (store, wall [s] of the batch, seconds the cluster took to start and warm up)."""
    from dask.distributed import Client, LocalCluster

    from cosim.batch import run_batch
    from fleet.task import run_job

    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        client.run(_warm_up, fleet_jobs(1, 1.0 / 24.0, battery, fmu, prefix="warm")[0].payload)
        t1 = time.perf_counter()
        store = MemoryStore()
        run_batch(jobs, run_job, store, scheduler=cluster.scheduler_address)
        t2 = time.perf_counter()
    if store.failed:
        raise SystemExit(f"vehicles failed: {store.failed}")
    return store, t2 - t1, t1 - t0


def scaling(vehicles: int, days: float, fmu: Path, battery: str) -> None:
    print(f"\n3. A fleet of {vehicles} commuters x {days:g} days (battery {battery}) on a LocalCluster whose "
          f"workers have started and run an hour of a vehicle; before: {_load()}")
    rates = {}
    for workers in (1, 2):
        jobs = fleet_jobs(vehicles, days, battery, fmu)
        store, wall, start = _warm_batch(jobs, workers, fmu, battery)
        years = sum(j.weight for j in jobs)
        cpu = sum(r["cpu_s"] for r in store.results.values())
        rates[workers] = years / (wall / 60.0)
        print(f"   {workers} worker(s): {wall:7.2f} s wall ({start:.2f} s before it to start and warm the cluster), "
              f"{rates[workers]:7.3f} vehicle-years per wall-minute; {cpu / years:.2f} CPU s per vehicle-year "
              "in the vehicles")
    print(f"   2 workers / 1 worker: {rates[2] / rates[1]:.2f}x (target >= 1.7x on 2 free cores); after: {_load()}")


def overhead(fmu: Path, battery: str, tasks: int) -> None:
    """Workers' time beyond the vehicles' own, for ``tasks`` and for twice as many one-day vehicles: the
    difference per added task is the overhead a task costs; the rest is the workers' start (imports)."""
    _batch(fleet_jobs(2, 1.0, battery, fmu, prefix="w"), 2)  # the imports' files into the disk cache
    spent = {}
    print("\n4. Overhead per task, one-day vehicles on 2 workers:")
    for n in (tasks, 2 * tasks):
        store, wall, with_start = _batch(fleet_jobs(n, 1.0, battery, fmu, prefix="o"), 2)
        inside = sum(r["wall_s"] for r in store.results.values())
        spent[n] = wall * 2 - inside
        print(f"   {n:3d} vehicles: {wall:6.2f} s wall once the cluster was up ({with_start:.2f} s with its start), "
              f"{inside:6.2f} s of the workers' time in the vehicles, {spent[n]:6.2f} s beyond them")
    per_task = (spent[2 * tasks] - spent[tasks]) / tasks
    print(f"   {per_task * 1000:.0f} ms of a worker's time per task (scheduling, transfer, the vehicle's scenario); "
          f"{max(spent[tasks] - tasks * per_task, 0.0):.1f} s once per cluster (the workers' first imports); "
          f"{_load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="14 days compared, one year for the decade, 4 vehicles x 14 days, 6 and 12 tasks (a few minutes)")
    parser.add_argument("--days", type=float, help="days compared in section 1 (default 60; --quick 14)")
    parser.add_argument("--decade", action="store_true", help="also a whole decade at full resolution (minutes)")
    parser.add_argument("--only-decade", action="store_true", help="section 2 alone (one core, no cluster)")
    parser.add_argument("--vehicles", type=int, help="vehicles of the fleet in section 3 (default 8; --quick 4)")
    parser.add_argument("--fleet-days", type=float, help="days each in section 3 (default 60; --quick 14)")
    parser.add_argument("--battery", choices=("in_process", "fmu"), default="in_process",
                        help="the fleets' battery in sections 3 and 4 (default in_process: fleet mode packed)")
    args = parser.parse_args()
    quick = args.quick
    days = args.days or (14.0 if quick else 60.0)
    vehicles = args.vehicles or (4 if quick else 8)
    fleet_days = args.fleet_days or (14.0 if quick else 60.0)
    from battery_fmu.build import build_fmu

    with tempfile.TemporaryDirectory() as tmp:
        fmu = build_fmu(Path(tmp))
        if not args.only_decade:
            one_core(days, fmu)
        decade(fmu, quick and not args.decade, args.decade)
        if args.only_decade:
            return
        scaling(vehicles, fleet_days, fmu, args.battery)
        overhead(fmu, args.battery, 6 if quick else 16)


if __name__ == "__main__":
    main()
