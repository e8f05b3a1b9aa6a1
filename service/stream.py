"""Output kind ``service``: a run's signals streamed to a running twin service as telemetry.

In a scenario::

    outputs:
      streams:
        - kind: service
          settings:
            url: http://127.0.0.1:8000
            vehicle: demo-car                    # the vehicle id in the key's fleet
            register: {preset: model3_rwd_lfp, soc_init: 0.8}   # optional: PUT before the first batch
            key_env: EVTWIN_API_KEY              # the environment variable that holds the key (default)
            interval_s: 10                       # data time between samples (default: every point)
            signals: {current_A: battery.I_terminal, voltage_V: battery.V_terminal,
                      temperature_degC: battery.T_cell, speed_mps: vehicle.speed}

Telemetry time is ``start_unix`` plus the run's time; by default the Monday 00:00 UTC a week before
this week's (:func:`default_start_unix`), so time 0 is a Monday as for the run's schedule. Samples
go in batches of ``batch`` (default 500) and at the run's end; a batch the service does not acknowledge
is retried, then the run fails with the reason (its result file is kept).
Only the standard library speaks HTTP here, so a run needs nothing of the service's extra.
"""

from __future__ import annotations

import json
import math
import os
import time
import urllib.error
import urllib.request
from typing import Any

from cosim.errors import EvtwinError
from cosim.master.observer import Observer
from cosim.unit import OUTPUT

#: Telemetry fields -> the battery unit's ports they come from by default.
DEFAULT_SIGNALS = {
    "current_A": "battery.I_terminal",
    "voltage_V": "battery.V_terminal",
    "temperature_degC": "battery.T_cell",
}
FIELDS = (
    "current_A",
    "voltage_V",
    "temperature_degC",
    "speed_mps",
    "motor_torque_Nm",
    "motor_speed_radps",
    "soc_bms",
)
SETTINGS = ("url", "vehicle", "register", "key", "key_env", "interval_s", "signals", "batch", "start_unix")
RETRIES = (0.5, 1.0, 2.0)  # waits [s] before each retry of a batch


class StreamError(EvtwinError):
    """The service did not take the run's telemetry; the message says why."""


class ServiceStream(Observer):
    """Posts the mapped signals to ``POST /vehicles/{vehicle}/telemetry`` of a running service."""

    @staticmethod
    def signals(settings: dict[str, Any], available: list[str]) -> list[str]:
        """The ``unit.port`` signals the stream reads; ValueError naming a bad setting."""
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}; settings: {', '.join(SETTINGS)}")
        for name in ("url", "vehicle"):
            if not isinstance(settings.get(name), str) or not settings[name]:
                raise ValueError(f"'{name}' is required (a string)")
        if not settings["url"].startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {settings['url']!r}")
        mapping = {**DEFAULT_SIGNALS, **settings.get("signals", {})}
        bad = sorted(set(mapping) - set(FIELDS))
        if bad:
            raise ValueError(f"signals: {bad[0]!r} is not a telemetry field; fields: {', '.join(FIELDS)}")
        for field, sig in mapping.items():
            if sig not in available:
                raise ValueError(
                    f"signals.{field}: {sig!r} is not an output or a connected input of the scenario"
                )
        return list(mapping.values())

    def __init__(self, settings: dict[str, Any]):
        self.url = settings["url"].rstrip("/")
        self.vehicle = settings["vehicle"]
        self.register = settings.get("register")
        self.key_env = settings.get("key_env", "EVTWIN_API_KEY")
        self.key = settings.get("key") or os.environ.get(self.key_env, "")
        self.interval = float(settings.get("interval_s", 0.0))
        self.batch = int(settings.get("batch", 500))
        self.start_unix = settings.get("start_unix")
        self.mapping = {**DEFAULT_SIGNALS, **settings.get("signals", {})}
        self._pending: list[dict[str, float]] = []
        self._next_t = -math.inf
        self.sent = 0  # samples the service acknowledged (accepted or already stored)

    def start(self, master, t0: float) -> None:
        if not self.key:
            raise StreamError(f"service stream: no API key (set the environment variable {self.key_env})")
        if self.start_unix is None:
            self.start_unix = default_start_unix()
        self._read = []
        for field, sig in self.mapping.items():
            i, causality, pos = master.locate(sig)
            offset = -273.15 if field == "temperature_degC" and master.port(sig).unit == "K" else 0.0
            self._read.append((field, causality == OUTPUT, i, pos, offset))
        if self.register is not None:
            self._request("PUT", f"/vehicles/{self.vehicle}", self.register, ok=(200, 201))

    def sample(self, t: float, outs: list, ins: list) -> None:
        if t < self._next_t:
            return
        self._next_t = t + self.interval if self.interval > 0 else -math.inf
        row = {"t": self.start_unix + t}
        for field, is_out, i, pos, offset in self._read:
            row[field] = float((outs if is_out else ins)[i][pos]) + offset
        self._pending.append(row)
        if len(self._pending) >= self.batch:
            self._flush()

    def close(self) -> None:
        if self._pending:
            self._flush()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        body = self._request("POST", f"/vehicles/{self.vehicle}/telemetry", {"samples": batch}, ok=(200,))
        self.sent += body["accepted"] + body["duplicates"]

    def _request(self, method: str, path: str, payload: dict, ok: tuple[int, ...]) -> dict:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-API-Key": self.key}
        where = f"service stream to {self.url}{path}"
        for wait in (*RETRIES, None):
            req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return json.loads(r.read() or b"{}")
            except urllib.error.HTTPError as err:
                if err.code < 500 and err.code not in ok:
                    raise StreamError(f"{where}: {err.code} {_detail(err)}") from None
                problem = f"{err.code} {_detail(err)}"
            except (urllib.error.URLError, OSError) as err:
                problem = str(getattr(err, "reason", err))
            if wait is None:
                raise StreamError(f"{where}: not acknowledged after {len(RETRIES) + 1} tries: {problem}")
            time.sleep(wait)
        raise AssertionError("unreachable")


def default_start_unix(now: float | None = None) -> float:
    """Monday 00:00 UTC of the week before this one [unix s]: a run's time 0 is a Monday 00:00 for its
    schedule, up to a week of data lies in the past, and a run repeated within the week sends the same
    timestamps (duplicates to the service, not new data)."""
    now = time.time() if now is None else now
    week = 7 * 86400.0
    monday = (now - 4 * 86400.0) // week * week + 4 * 86400.0  # the unix epoch fell on a Thursday
    return monday - week


def _detail(err: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(err.read()).get("detail")
    except (ValueError, AttributeError):
        return err.reason
    if isinstance(detail, list) and detail:
        first = detail[0]
        return f"{first.get('msg')} at {'.'.join(str(x) for x in first.get('loc', []))}"
    return str(detail)
