"""API keys: one fleet each, stored as a SHA-256 digest, checked in constant time.

A key reads ``evt_<key id>_<secret>``. The key id (public, 12 hex digits) finds the row; the
secret's digest is compared with :func:`hmac.compare_digest`, so the time a wrong key takes says
nothing about the right one. The secret holds 256 random bits, so a plain digest (no slow hash)
is enough: it cannot be guessed, only stolen, and the database holds no secret to steal.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from service.db import Database

PREFIX = "evt_"
_KEY = re.compile(r"^evt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
#: What a fleet name may be (it appears in URLs of the dashboard and in logs).
FLEET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(db: Database, fleet: str) -> str:
    """A new key for ``fleet``; only its digest is stored, so this is the one time it is seen."""
    if not FLEET_NAME.match(fleet):
        raise ValueError(
            f"fleet name {fleet!r}: 1-64 letters, digits, '_', '.', '-', starting with a letter or digit"
        )
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with db.transaction(write=True) as tx:
        tx.execute(
            "INSERT INTO api_keys (key_id, fleet, secret_sha256, created) VALUES (?, ?, ?, ?)",
            (key_id, fleet, _digest(secret), time.time()),
        )
    return f"{PREFIX}{key_id}_{secret}"


def fleet_of(db: Database, key: str | None) -> str | None:
    """The fleet ``key`` belongs to, or None for a missing, malformed or unknown key."""
    m = _KEY.match(key or "")
    if m is None:
        return None
    key_id, secret = m.groups()
    with db.transaction() as tx:
        row = tx.one("SELECT fleet, secret_sha256 FROM api_keys WHERE key_id = ?", (key_id,))
    # A digest is compared even for an unknown id, so both cases take the same time.
    stored = row[1] if row else "0" * 64
    ok = hmac.compare_digest(_digest(secret), stored)
    return row[0] if row and ok else None
