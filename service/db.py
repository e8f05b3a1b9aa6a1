"""The service's database: SQLite (WAL) or PostgreSQL through one thin DB-API layer.

The SQL is written once with ``?`` placeholders and ``ON CONFLICT`` upserts, which both engines
speak; only the placeholder style, the write lock and the connection set-up differ. A write
transaction is serialised per vehicle: SQLite takes the database's write lock at ``BEGIN
IMMEDIATE`` (one writer at a time across processes), PostgreSQL locks the vehicle's row
(``SELECT ... FOR UPDATE``, :meth:`Transaction.lock_vehicle`). A transaction commits before the
request is answered, so what was acknowledged is on disk.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cosim.errors import EvtwinError

#: The default database, relative to the current folder.
DEFAULT_URL = "sqlite:///evtwin-service.db"
#: How long a writer waits for another process's write lock [s] before the request fails.
LOCK_TIMEOUT_S = 30.0

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY, fleet TEXT NOT NULL, secret_sha256 TEXT NOT NULL, created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS vehicles (
        fleet TEXT NOT NULL, vehicle_id TEXT NOT NULL, registration TEXT NOT NULL, twin TEXT NOT NULL,
        state TEXT NOT NULL, newest_t REAL, accepted BIGINT NOT NULL DEFAULT 0,
        duplicates BIGINT NOT NULL DEFAULT 0, created REAL NOT NULL, PRIMARY KEY (fleet, vehicle_id))""",
    """CREATE TABLE IF NOT EXISTS samples (
        fleet TEXT NOT NULL, vehicle_id TEXT NOT NULL, t DOUBLE PRECISION NOT NULL,
        current_A DOUBLE PRECISION NOT NULL, voltage_V DOUBLE PRECISION NOT NULL,
        temperature_degC DOUBLE PRECISION NOT NULL, speed_mps DOUBLE PRECISION,
        motor_torque_Nm DOUBLE PRECISION, motor_speed_radps DOUBLE PRECISION, soc_bms DOUBLE PRECISION,
        PRIMARY KEY (fleet, vehicle_id, t))""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        fleet TEXT NOT NULL, vehicle_id TEXT NOT NULL, t DOUBLE PRECISION NOT NULL, twin TEXT NOT NULL,
        PRIMARY KEY (fleet, vehicle_id, t))""",
    """CREATE TABLE IF NOT EXISTS alerts (
        fleet TEXT NOT NULL, vehicle_id TEXT NOT NULL, kind TEXT NOT NULL, t DOUBLE PRECISION NOT NULL,
        severity TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY (fleet, vehicle_id, kind, t))""",
    """CREATE TABLE IF NOT EXISTS history (
        fleet TEXT NOT NULL, vehicle_id TEXT NOT NULL, t DOUBLE PRECISION NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (fleet, vehicle_id, t))""",
]


class DatabaseError(EvtwinError):
    """A database URL the service cannot use, or a database it cannot reach."""


class Transaction:
    """One transaction's statements, written with ``?`` placeholders for either engine."""

    def __init__(self, conn: Any, postgres: bool):
        self._conn, self.postgres = conn, postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self._conn.cursor()
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.cursor().executemany(self._sql(sql), [tuple(r) for r in rows])

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def lock_vehicle(self, fleet: str, vehicle_id: str) -> tuple | None:
        """The vehicle's row ``(registration, twin, newest_t, accepted, duplicates)``, locked until commit."""
        sql = ("SELECT registration, twin, newest_t, accepted, duplicates FROM vehicles "
               "WHERE fleet = ? AND vehicle_id = ?")
        return self.one(sql + (" FOR UPDATE" if self.postgres else ""), (fleet, vehicle_id))


class Database:
    """A pool of connections to the database at ``url`` (``sqlite:///path`` or ``postgresql://...``)."""

    def __init__(self, url: str = DEFAULT_URL, pool_size: int = 8):
        self.url = url
        scheme = urlsplit(url).scheme
        if scheme == "sqlite":
            path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
            if not path:
                raise DatabaseError(f"database URL {url!r}: write sqlite:///path/to/file.db")
            self.postgres, self._path = False, path
        elif scheme in ("postgresql", "postgres"):
            self.postgres, self._path = True, None
        else:
            raise DatabaseError(
                f"database URL {url!r}: the service speaks sqlite:///PATH and postgresql://..."
            )
        #: What a broken uniqueness constraint raises (a row another process inserted first).
        self.integrity_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
        if self.postgres:
            try:
                import psycopg
            except ImportError:
                raise DatabaseError("PostgreSQL needs psycopg: pip install 'evtwin[service]'") from None
            self.integrity_errors = (psycopg.IntegrityError,)
        self._pool: queue.LifoQueue = queue.LifoQueue(maxsize=pool_size)
        with self.transaction(write=True) as tx:
            if self.postgres:  # server processes starting together must not create the tables twice
                tx.execute("SELECT pg_advisory_xact_lock(7231)")
            for statement in SCHEMA:
                tx.execute(statement)

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            try:
                return psycopg.connect(self.url, autocommit=False)
            except psycopg.Error as err:
                raise DatabaseError(f"cannot connect to {_safe(self.url)}: {str(err).strip()}") from None
        if self._path != ":memory:":
            parent = Path(self._path).parent
            if not parent.is_dir():
                raise DatabaseError(f"database {self._path}: folder {parent} does not exist")
        conn = sqlite3.connect(
            self._path, timeout=LOCK_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk (not only in the OS's cache) before the request is acknowledged.
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _take(self) -> Any:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._connect()

    def _give(self, conn: Any) -> None:
        try:
            self._pool.put_nowait(conn)
        except queue.Full:
            conn.close()

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Transaction]:
        """A transaction, committed when the block ends and rolled back when it raises.

        ``write``: SQLite takes the write lock at the start (PostgreSQL writers lock rows instead),
        so a read-modify-write of a vehicle never interleaves with another process's.
        """
        conn = self._take()
        try:
            if not self.postgres:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            tx = Transaction(conn, self.postgres)
            yield tx
            conn.commit() if self.postgres else conn.execute("COMMIT")
        except BaseException:
            try:
                conn.rollback()
            except Exception:  # noqa: BLE001 - a broken connection is dropped below
                conn.close()
                raise
            self._give(conn)
            raise
        self._give(conn)

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return


def _safe(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
