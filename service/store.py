"""Vehicles, their telemetry and their twins in the database.

Every request that changes a vehicle runs in one write transaction that locks it: store the new
samples, advance the twin, save it, commit; only then is the request answered. So any number of
server processes serve one fleet, a restart resumes every twin from the database, and what was
acknowledged is stored.

Late samples (older than the newest stored, within :data:`LATE_WINDOW_S`) are stored like any
other; the twin is then re-run over them from its newest checkpoint before the earliest one. A
checkpoint (the whole twin, every :data:`CHECKPOINT_EVERY_S` of data) means "has seen every
sample up to its time"; those from the late sample on are dropped, since they missed it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from service import samples as sample_rows
from service.db import Database, Transaction

#: How much older than the newest stored sample a sample may be and still be accepted [s].
LATE_WINDOW_S = 3600.0
#: Data time between checkpoints of a twin [s]: a late sample re-runs at most the window plus this.
CHECKPOINT_EVERY_S = 600.0
#: Data time between the twin's states kept for plots (GET /vehicles/{id}/history) [s].
HISTORY_EVERY_S = 60.0
#: The time of the checkpoint a twin starts with: before any sample the service accepts [s].
FIRST_CHECKPOINT_T = 0.0
_INSERT_SAMPLE = (
    f"INSERT INTO samples (fleet, vehicle_id, {', '.join(sample_rows.COLUMNS)}) "
    f"VALUES ({', '.join('?' * (2 + len(sample_rows.COLUMNS)))}) ON CONFLICT DO NOTHING"
)


class VehicleNotFound(LookupError):
    """No vehicle of that id in the key's fleet (whether another fleet has one is not said)."""


class RegistrationConflict(ValueError):
    """The vehicle exists with another pack or initial SOC."""


@dataclass
class IngestResult:
    accepted: int  # samples stored now
    duplicates: int  # samples whose timestamp was already stored (or repeated within the batch)
    problems: list[dict[str, Any]]  # one per rejected sample: loc (index, field), msg, type


def _twin_api():
    from service.alerts import evaluate_alerts
    from service.twin import LiveTwin

    return LiveTwin, evaluate_alerts


def register(db: Database, fleet: str, vehicle_id: str, registration: dict[str, Any]) -> bool:
    """Create the vehicle's twin; True when created, False when it already exists as asked."""
    try:
        return _register(db, fleet, vehicle_id, registration)
    except db.integrity_errors:
        # Another process created it between our look and our insert (PostgreSQL locks no missing
        # row): it is there now, and is compared as any existing one.
        return _register(db, fleet, vehicle_id, registration)


def _register(db: Database, fleet: str, vehicle_id: str, registration: dict[str, Any]) -> bool:
    live_twin, _ = _twin_api()
    text = json.dumps(registration, sort_keys=True)
    with db.transaction(write=True) as tx:
        row = tx.lock_vehicle(fleet, vehicle_id)
        if row is not None:
            if row[0] != text:
                raise RegistrationConflict(
                    f"vehicle {vehicle_id!r} is registered with {row[0]}; a twin's pack cannot change"
                )
            return False
        twin = live_twin.new(registration["pack"], registration["soc_init"])
        twin_json = twin.to_json()
        tx.execute(
            "INSERT INTO vehicles (fleet, vehicle_id, registration, twin, state, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (fleet, vehicle_id, text, twin_json, json.dumps(twin.state()), time.time()),
        )
        tx.execute(
            "INSERT INTO checkpoints (fleet, vehicle_id, t, twin) VALUES (?, ?, ?, ?)",
            (fleet, vehicle_id, FIRST_CHECKPOINT_T, twin_json),
        )
    return True


def ingest(db: Database, fleet: str, vehicle_id: str, batch: list[dict[str, Any]]) -> IngestResult:
    """Store a batch's valid new samples and advance the twin over them, in one transaction."""
    live_twin, evaluate_alerts = _twin_api()
    key = (fleet, vehicle_id)
    with db.transaction(write=True) as tx:
        row = tx.lock_vehicle(fleet, vehicle_id)
        if row is None:
            raise VehicleNotFound(vehicle_id)
        _, twin_json, newest, accepted, duplicates = row
        oldest = None if newest is None else newest - LATE_WINDOW_S
        valid, problems, repeats = sample_rows.check_batch(batch, oldest, LATE_WINDOW_S)
        problems, stored_late = _retried(tx, key, batch, problems)
        repeats += stored_late
        new = _new_samples(tx, key, valid)
        repeats += len(valid) - len(new)
        if not new:
            tx.execute(
                "UPDATE vehicles SET duplicates = ? WHERE fleet = ? AND vehicle_id = ?",
                (duplicates + repeats, *key),
            )
            return IngestResult(0, repeats, problems)
        tx.executemany(_INSERT_SAMPLE, [sample_rows.as_row(fleet, vehicle_id, s) for s in new])
        twin, failure = _updated_twin(tx, key, twin_json, new, live_twin)
        newest = new[-1]["t"] if newest is None else max(newest, new[-1]["t"])
        twin_json, state = twin.to_json(), twin.state()
        tx.execute(
            "UPDATE vehicles SET twin = ?, state = ?, newest_t = ?, accepted = ?, duplicates = ? "
            "WHERE fleet = ? AND vehicle_id = ?",
            (twin_json, json.dumps(state), newest, accepted + len(new), duplicates + repeats, *key),
        )
        _checkpoint(tx, key, state.get("last_sample_t"), twin_json, newest)
        _record_alerts(tx, key, evaluate_alerts(twin) + ([failure] if failure else []))
    return IngestResult(len(new), repeats, problems)


def _updated_twin(
    tx: Transaction, key: tuple[str, str], twin_json: str, new: list[dict[str, Any]], live_twin
) -> tuple[Any, dict[str, Any] | None]:
    """The twin advanced over ``new`` (re-run from a checkpoint when one is late), and None; or, when the
    estimate fails on them, the twin as it was and the alert that says so (the samples stay stored)."""
    tx.execute("SAVEPOINT twin_update")
    try:
        twin = live_twin.from_json(twin_json)
        last = twin.state().get("last_sample_t")
        if last is not None and new[0]["t"] <= last:
            twin = _rerun(tx, key, new[0]["t"], live_twin)
        else:
            _advance(tx, key, twin, new)
        bad = [k for k, v in twin.state().items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise FloatingPointError(f"the estimate of {', '.join(bad)} is not a finite number")
    except (ArithmeticError, ValueError) as err:
        tx.execute("ROLLBACK TO SAVEPOINT twin_update")
        return live_twin.from_json(twin_json), {
            "kind": "estimate_failed",
            "severity": "critical",
            "t": new[-1]["t"],
            "message": f"the twin could not take the samples from t = {new[0]['t']:.0f} s to "
            f"{new[-1]['t']:.0f} s ({type(err).__name__}: {err}); they are stored, and the estimate stays "
            "at its last good sample",
        }
    tx.execute("RELEASE SAVEPOINT twin_update")
    return twin, None


def _retried(
    tx: Transaction, key: tuple[str, str], batch: list[dict[str, Any]], problems: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """``problems`` less the samples too late to accept that are stored already (a retried batch longer
    than the late-sample window is a duplicate, not an error), and how many those were."""
    late = {p["loc"][2]: batch[p["loc"][2]]["t"] for p in problems if p["type"] == "too_late"}
    if not late:
        return problems, 0
    stored = {
        r[0]
        for r in tx.all(
            "SELECT t FROM samples WHERE fleet = ? AND vehicle_id = ? AND t >= ? AND t <= ?",
            (*key, min(late.values()), max(late.values())),
        )
    }
    repeated = {i for i, t in late.items() if t in stored}
    return [p for p in problems if p["loc"][2] not in repeated], len(repeated)


def _new_samples(tx: Transaction, key: tuple[str, str], valid: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples of ``valid`` (in time order) whose timestamps are not stored yet."""
    if not valid:
        return []
    stored = {
        r[0]
        for r in tx.all(
            "SELECT t FROM samples WHERE fleet = ? AND vehicle_id = ? AND t >= ? AND t <= ?",
            (*key, valid[0]["t"], valid[-1]["t"]),
        )
    }
    return [s for s in valid if s["t"] not in stored]


def _rerun(tx: Transaction, key: tuple[str, str], t_late: float, live_twin) -> Any:
    """The twin re-run from its newest checkpoint before ``t_late`` over every stored sample since."""
    t0, twin_json = tx.one(
        "SELECT t, twin FROM checkpoints WHERE fleet = ? AND vehicle_id = ? AND t < ? "
        "ORDER BY t DESC LIMIT 1",
        (*key, t_late),
    )
    tx.execute("DELETE FROM checkpoints WHERE fleet = ? AND vehicle_id = ? AND t >= ?", (*key, t_late))
    twin = live_twin.from_json(twin_json)
    rows = tx.all(
        f"SELECT {', '.join(sample_rows.COLUMNS)} FROM samples WHERE fleet = ? AND vehicle_id = ? "
        "AND t > ? ORDER BY t",
        (*key, t0),
    )
    tx.execute("DELETE FROM history WHERE fleet = ? AND vehicle_id = ? AND t >= ?", (*key, t_late))
    _advance(tx, key, twin, [sample_rows.from_row(r) for r in rows])
    return twin


def _advance(tx: Transaction, key: tuple[str, str], twin: Any, new: list[dict[str, Any]]) -> None:
    """Ingest ``new`` (in time order), keeping the twin's state in the history every HISTORY_EVERY_S
    of data and at the end."""
    start = 0
    mark = new[0]["t"] + HISTORY_EVERY_S
    for i, sample in enumerate(new):
        if sample["t"] >= mark or i == len(new) - 1:
            twin.ingest(new[start : i + 1])
            start, mark = i + 1, sample["t"] + HISTORY_EVERY_S
            state = twin.state()
            if state.get("last_sample_t") is not None:
                tx.execute(
                    "INSERT INTO history (fleet, vehicle_id, t, state) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (fleet, vehicle_id, t) DO UPDATE SET state = excluded.state",
                    (*key, state["last_sample_t"], json.dumps(state)),
                )


def _checkpoint(
    tx: Transaction, key: tuple[str, str], t_twin: float | None, twin_json: str, newest: float
) -> None:
    """Keep a checkpoint every CHECKPOINT_EVERY_S of data; drop those no late sample can need."""
    if t_twin is None:
        return
    (t_last,) = tx.one("SELECT MAX(t) FROM checkpoints WHERE fleet = ? AND vehicle_id = ?", key)
    if t_last is None or t_twin - t_last >= CHECKPOINT_EVERY_S:
        tx.execute(
            "INSERT INTO checkpoints (fleet, vehicle_id, t, twin) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (*key, t_twin, twin_json),
        )
    # The newest checkpoint before the window's start serves any sample still accepted; older ones none.
    tx.execute(
        "DELETE FROM checkpoints WHERE fleet = ? AND vehicle_id = ? AND t < (SELECT MAX(t) FROM checkpoints "
        "WHERE fleet = ? AND vehicle_id = ? AND t < ?)",
        (*key, *key, newest - LATE_WINDOW_S),
    )


def _record_alerts(tx: Transaction, key: tuple[str, str], alerts: list[dict[str, Any]]) -> None:
    tx.executemany(
        "INSERT INTO alerts (fleet, vehicle_id, kind, t, severity, message) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(*key, a["kind"], float(a["t"]), a["severity"], a["message"]) for a in alerts],
    )


def state(db: Database, fleet: str, vehicle_id: str) -> dict[str, Any]:
    """The twin's state and the vehicle's telemetry counts."""
    with db.transaction() as tx:
        row = tx.one(
            "SELECT state, accepted, duplicates FROM vehicles WHERE fleet = ? AND vehicle_id = ?",
            (fleet, vehicle_id),
        )
    if row is None:
        raise VehicleNotFound(vehicle_id)
    return {"vehicle_id": vehicle_id, **json.loads(row[0]), "samples_stored": row[1], "duplicates": row[2]}


def history(db: Database, fleet: str, vehicle_id: str, since: float, limit: int) -> list[dict[str, Any]]:
    """The twin's states kept since ``since`` [unix s], oldest first (the newest ``limit`` of them)."""
    with db.transaction() as tx:
        if tx.one("SELECT 1 FROM vehicles WHERE fleet = ? AND vehicle_id = ?", (fleet, vehicle_id)) is None:
            raise VehicleNotFound(vehicle_id)
        rows = tx.all(
            "SELECT state FROM history WHERE fleet = ? AND vehicle_id = ? AND t > ? ORDER BY t DESC LIMIT ?",
            (fleet, vehicle_id, since, limit),
        )
    return [json.loads(r[0]) for r in reversed(rows)]


def usage_record(
    db: Database, fleet: str, vehicle_id: str, since: float
) -> tuple[dict[str, Any], float | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """(the twin's pack, the time of the vehicle's first sample [unix s] or None, its samples and the twin's
    kept states from ``since`` [unix s] on, in time order): what its usage features are made of."""
    key = (fleet, vehicle_id)
    with db.transaction() as tx:
        row = tx.one("SELECT twin FROM vehicles WHERE fleet = ? AND vehicle_id = ?", key)
        if row is None:
            raise VehicleNotFound(vehicle_id)
        (first,) = tx.one("SELECT MIN(t) FROM samples WHERE fleet = ? AND vehicle_id = ?", key)
        rows = tx.all(
            f"SELECT {', '.join(sample_rows.COLUMNS)} FROM samples WHERE fleet = ? AND vehicle_id = ? "
            "AND t >= ? ORDER BY t",
            (*key, since),
        )
        states = tx.all(
            "SELECT state FROM history WHERE fleet = ? AND vehicle_id = ? AND t >= ? ORDER BY t",
            (*key, since),
        )
    pack = json.loads(row[0])["pack"]
    return pack, first, [sample_rows.from_row(r) for r in rows], [json.loads(s[0]) for s in states]


def alerts(db: Database, fleet: str, vehicle_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The vehicle's alerts, newest first."""
    with db.transaction() as tx:
        if tx.one("SELECT 1 FROM vehicles WHERE fleet = ? AND vehicle_id = ?", (fleet, vehicle_id)) is None:
            raise VehicleNotFound(vehicle_id)
        rows = tx.all(
            "SELECT kind, severity, message, t FROM alerts WHERE fleet = ? AND vehicle_id = ? "
            "ORDER BY t DESC, kind LIMIT ?",
            (fleet, vehicle_id, limit),
        )
    return [{"kind": k, "severity": s, "message": m, "t": t} for k, s, m, t in rows]


def fleet(db: Database, fleet_name: str, alerts_each: int = 5) -> list[dict[str, Any]]:
    """Every vehicle of the fleet: its state, alert count and latest alerts."""
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT vehicle_id, state, accepted FROM vehicles WHERE fleet = ? ORDER BY vehicle_id",
            (fleet_name,),
        )
        found = tx.all(
            "SELECT vehicle_id, kind, severity, message, t FROM alerts WHERE fleet = ? "
            "ORDER BY vehicle_id, t DESC",
            (fleet_name,),
        )
    by_vehicle: dict[str, list] = {}
    for vid, k, s, m, t in found:
        by_vehicle.setdefault(vid, []).append({"kind": k, "severity": s, "message": m, "t": t})
    return [
        {
            "vehicle_id": vid,
            "state": json.loads(st),
            "samples_stored": n,
            "alert_count": len(by_vehicle.get(vid, [])),
            "alerts": by_vehicle.get(vid, [])[:alerts_each],
        }
        for vid, st, n in rows
    ]


def stored_samples(db: Database, fleet: str, vehicle_id: str) -> int:
    """How many samples of the vehicle are stored (counted, not the running total)."""
    with db.transaction() as tx:
        return tx.one("SELECT COUNT(*) FROM samples WHERE fleet = ? AND vehicle_id = ?", (fleet, vehicle_id))[
            0
        ]
