"""A write that fails (disk full, file-size limit, I/O error): one sentence, and nothing more written."""

from __future__ import annotations

import errno
import os
from typing import Any

from cosim.errors import EvtwinError

_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class ResultsWriteError(EvtwinError):
    """Writing the result file failed (disk full, file too large, I/O error)."""


def detach(f: Any) -> None:
    """Point the file's descriptor at /dev/null: closing it (and the datasets) then writes nothing.

    After a failed write HDF5 would otherwise retry its pending writes at every close, fail again
    (one traceback per dataset), and has crashed the process in doing so; the file on disk holds
    the state of the last flush, which SWMR's write ordering keeps consistent.
    """
    try:
        fd = f.id.get_vfd_handle()
        null = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    except Exception:  # not the POSIX driver: close as is
        pass


def reason(err: Exception) -> str:
    """The system's words for a full disk, else the first line of HDF5's message."""
    code = getattr(err, "errno", None)
    if code in _FULL:
        return os.strerror(code)
    text = str(err)
    for code in _FULL:
        if f"errno = {code}," in text:
            return os.strerror(code)
    return text.splitlines()[0] if text else type(err).__name__
