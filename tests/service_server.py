"""Real twin-service processes on loopback for the tests: ``evtwin serve`` started, waited for, killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC [unix s]
#: A pack of the shipped LFP cell (one string of 106 cells of 220 A h): ~340 V nominal.
PACK = {"parameter_set": "lfp_220ah", "n_series": 106, "n_parallel": 1, "capacity_Ah": 220.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``evtwin serve`` as a child process (its own process group, so SIGKILL reaches every worker)."""

    def __init__(self, db_url: str, workers: int = 1, log: Path | None = None, extra: tuple[str, ...] = ()):
        self.db_url, self.workers, self.port = db_url, workers, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        out = open(log, "ab") if log else subprocess.DEVNULL
        cmd = [
            sys.executable,
            "-m",
            "cosim.cli",
            "serve",
            "--db",
            db_url,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            *extra,
        ]
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if log:
            out.close()
        self._wait()

    def _wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"evtwin serve exited with {self.proc.returncode}"
                    + (f": {self.log.read_text()[-2000:]}" if self.log else "")
                )
            try:
                if httpx.get(self.url + "/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("evtwin serve did not answer /health within a minute")

    def new_key(self, fleet: str) -> str:
        """A new API key for ``fleet`` in this server's database."""
        from service.db import Database
        from service.keys import create_key

        db = Database(self.db_url)
        try:
            return create_key(db, fleet)
        finally:
            db.close()

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key} if key else {}, timeout=60.0)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def samples(n: int, t0: float = T0, dt: float = 1.0, current_A: float = 20.0) -> list[dict]:
    """``n`` samples of a steady discharge of :data:`PACK` (plausible voltage and temperature)."""
    return [
        {
            "t": t0 + i * dt,
            "current_A": current_A,
            "voltage_V": 106 * 3.3 - 0.05 * current_A,
            "temperature_degC": 25.0,
        }
        for i in range(n)
    ]
