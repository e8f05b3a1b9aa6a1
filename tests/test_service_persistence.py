"""Nothing acknowledged is lost: two server processes share one fleet under load, the server is
killed with SIGKILL, and a new one resumes every twin from the database. SQLite always, PostgreSQL
on a real server where the Debian package is installed."""

from __future__ import annotations

import importlib.util
import json
import threading

import httpx
import pytest

pytest.importorskip("fastapi")
import pg_server  # noqa: E402
from service_server import PACK, T0, Server, samples  # noqa: E402

from service.db import Database  # noqa: E402
from service.keys import create_key  # noqa: E402

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("service.twin") is None,
    reason="the live twin (service.twin) is not in this tree",
)
VEHICLES = ("v0", "v1")
BATCH = 40


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('persist') / 'twin.db'}"
        return
    why = pg_server.missing()
    if why:
        pytest.skip(why)
    pg = pg_server.PostgresServer()
    yield pg.url
    pg.stop()


class Feeder(threading.Thread):
    """Posts consecutive batches to one vehicle until the server dies; keeps what was acknowledged."""

    def __init__(self, url: str, key: str, vehicle: str, enough: threading.Event):
        super().__init__(daemon=True)
        self.url, self.key, self.vehicle, self.enough = url, key, vehicle, enough
        self.acked: set[float] = set()
        self.in_flight: set[float] = set()
        self.batches = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=60.0) as c:
            k = 0
            while True:
                batch = samples(BATCH, t0=T0 + k * BATCH)
                self.in_flight = {s["t"] for s in batch}
                try:
                    r = c.post(f"/vehicles/{self.vehicle}/telemetry", json={"samples": batch})
                except httpx.HTTPError:
                    return
                assert r.status_code == 200, r.text
                assert r.json()["accepted"] == BATCH
                self.acked |= self.in_flight
                self.in_flight = set()
                self.batches += 1
                k += 1
                if self.batches >= 3:
                    self.enough.set()


def _worker_pids(url: str) -> set[int]:
    pids = set()
    for _ in range(60):
        pids.add(httpx.get(url + "/health", headers={"Connection": "close"}).json()["worker_pid"])
        if len(pids) > 1:
            break
    return pids


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_sample_and_a_restart_resumes(db_url, tmp_path):
    db = Database(db_url)
    key = create_key(db, "fleet")
    server = Server(db_url, workers=2, log=tmp_path / "server.log")
    try:
        assert len(_worker_pids(server.url)) == 2
        with server.client(key) as c:
            for vid in VEHICLES:
                assert c.put(f"/vehicles/{vid}", json={"pack": PACK}).status_code == 201
        enough = [threading.Event() for _ in VEHICLES]
        feeders = [Feeder(server.url, key, vid, ev) for vid, ev in zip(VEHICLES, enough, strict=True)]
        for f in feeders:
            f.start()
        for ev in enough:
            assert ev.wait(120), "the server acknowledged too few batches"
    finally:
        server.kill()  # SIGKILL to the whole process group, while the feeders are sending
    for f in feeders:
        f.join(60)

    with db.transaction() as tx:
        for f in feeders:
            stored = {
                r[0]
                for r in tx.all(
                    "SELECT t FROM samples WHERE fleet = 'fleet' AND vehicle_id = ?", (f.vehicle,)
                )
            }
            assert f.acked <= stored, f"{len(f.acked - stored)} acknowledged samples of {f.vehicle} are lost"
            # Anything more was in the request the kill interrupted (stored, never answered).
            assert stored - f.acked <= f.in_flight
            twin_state, accepted = tx.one(
                "SELECT state, accepted FROM vehicles WHERE fleet = 'fleet' AND vehicle_id = ?", (f.vehicle,)
            )
            # The twin and the counters moved in the same transactions as the samples.
            assert accepted == len(stored)
            assert json.loads(twin_state)["last_sample_t"] == max(stored)
    before = {f.vehicle: len(f.acked) for f in feeders}

    restarted = Server(db_url, workers=1, log=tmp_path / "server.log")
    try:
        with restarted.client(key) as c:
            for f in feeders:
                state = c.get(f"/vehicles/{f.vehicle}/state").json()
                assert state["samples_stored"] >= before[f.vehicle]
                t_next = state["last_sample_t"] + 1.0
                r = c.post(f"/vehicles/{f.vehicle}/telemetry", json={"samples": samples(5, t0=t_next)})
                assert r.json() == {"accepted": 5, "duplicates": 0}
                assert c.get(f"/vehicles/{f.vehicle}/state").json()["last_sample_t"] == t_next + 4.0
    finally:
        restarted.stop()
        db.close()
