"""A throwaway PostgreSQL server for the tests, from the Debian package's initdb and pg_ctl.

It runs as the ``postgres`` system user when the tests run as root (PostgreSQL refuses root), on
a free loopback port, with its data in a fresh temporary folder that is removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from service_server import free_port


def find_bin(name: str) -> str | None:
    """``name`` (initdb, pg_ctl) from PATH or the Debian package's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def missing() -> str | None:
    """Why no server can be started here (None when one can)."""
    for name in ("initdb", "pg_ctl"):
        if find_bin(name) is None:
            return f"PostgreSQL's {name} is not installed (Debian package postgresql; .ci/run installs it)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'evtwin[service]')"
    return None


class PostgresServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="evtwin-pg-"))
        self.port = free_port()
        self._as = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run(
            find_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "evtwin", "--no-sync", "-E", "UTF8"
        )
        self._run(
            find_bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.dir} -h 127.0.0.1 -c fsync=off",
            "start",
        )
        import psycopg

        with psycopg.connect(f"postgresql://evtwin@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE twin")
        self.url = f"postgresql://evtwin@127.0.0.1:{self.port}/twin"

    def _run(self, *cmd: str, optional: bool = False) -> None:
        r = subprocess.run([*self._as, *cmd], capture_output=True, text=True)
        if r.returncode != 0 and not optional:
            raise RuntimeError(f"{' '.join(cmd[:2])} failed: {r.stderr[-1500:]}")

    def stop(self) -> None:
        self._run(find_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop", optional=True)
        shutil.rmtree(self.dir, ignore_errors=True)
