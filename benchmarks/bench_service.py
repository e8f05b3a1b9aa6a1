"""The twin service under load, on loopback: ingestion with 1 and 2 server workers, GET /state latency.

For each worker count, a fresh SQLite database and ``evtwin serve --workers N``; ``--clients``
threads each post consecutive batches of ``--batch`` samples of their own vehicle for ``--seconds``,
while one more thread reads ``GET /vehicles/{id}/state`` in a loop. Printed: samples/s acknowledged,
the p50 and p99 latency of the reads, and samples acknowledged against samples stored (counted in
the database afterwards: they must be equal), then the ratio of 2 workers to 1.

    python benchmarks/bench_service.py [--seconds 10] [--clients 4] [--batch 100] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from service_server import PACK, T0, Server, samples  # noqa: E402

from service.db import Database  # noqa: E402
from service.keys import create_key  # noqa: E402


def _feed(url: str, key: str, vehicle: str, batch: int, stop: threading.Event, acked: list[int]) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120.0) as c:
        k = 0
        while not stop.is_set():
            r = c.post(f"/vehicles/{vehicle}/telemetry", json={"samples": samples(batch, t0=T0 + k * batch)})
            r.raise_for_status()
            acked.append(r.json()["accepted"])
            k += 1


def _read(url: str, key: str, vehicle: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120.0) as c:
        while not stop.is_set():
            t = time.perf_counter()
            c.get(f"/vehicles/{vehicle}/state").raise_for_status()
            latencies.append(time.perf_counter() - t)


def run(workers: int, args, folder: Path) -> dict:
    db_url = args.db or f"sqlite:///{folder / f'bench-{workers}.db'}"
    db = Database(db_url)
    key = create_key(db, f"bench{workers}")
    server = Server(db_url, workers=workers, log=folder / "server.log")
    try:
        vehicles = [f"v{i}" for i in range(args.clients)]
        with server.client(key) as c:
            for vid in vehicles:
                c.put(f"/vehicles/{vid}", json={"pack": PACK}).raise_for_status()
        stop = threading.Event()
        acked: list[list[int]] = [[] for _ in vehicles]
        latencies: list[float] = []
        threads = [
            threading.Thread(target=_feed, args=(server.url, key, vid, args.batch, stop, a))
            for vid, a in zip(vehicles, acked, strict=True)
        ]
        threads.append(threading.Thread(target=_read, args=(server.url, key, vehicles[0], stop, latencies)))
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        server.stop()
    fleet = f"bench{workers}"
    with db.transaction() as tx:
        stored = tx.one("SELECT COUNT(*) FROM samples WHERE fleet = ?", (fleet,))[0]
    db.close()
    total = sum(sum(a) for a in acked)
    return {
        "rate": total / wall,
        "acked": total,
        "stored": stored,
        "p50": 1e3 * float(np.percentile(latencies, 50)),
        "p99": 1e3 * float(np.percentile(latencies, 99)),
        "reads": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per worker count [s]")
    parser.add_argument("--clients", type=int, default=4, help="feeding threads, one vehicle each")
    parser.add_argument("--batch", type=int, default=100, help="samples per request")
    parser.add_argument(
        "--db", help="a PostgreSQL URL to use instead of a fresh SQLite file (emptied by hand)"
    )
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            r = results[workers] = run(workers, args, Path(tmp))
            print(
                f"{workers} worker(s): {r['rate']:8.0f} samples/s acknowledged; "
                f"GET /state p50 {r['p50']:6.1f} ms, p99 {r['p99']:6.1f} ms over {r['reads']} reads; "
                f"acknowledged {r['acked']}, stored {r['stored']}"
                f" ({'equal' if r['acked'] == r['stored'] else 'DIFFERENT'})"
            )
    print(
        f"2 workers / 1 worker: ingestion x{results[2]['rate'] / results[1]['rate']:.2f}, "
        f"p99 of GET /state x{results[2]['p99'] / results[1]['p99']:.2f}"
    )


if __name__ == "__main__":
    main()
