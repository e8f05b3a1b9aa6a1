"""Claiming a result path before writing it: one writer per file, and no other file overwritten.

The lock is a ``flock`` on a hidden file beside the result (``.<name>.lock``): the kernel drops
it when its process ends, however it ends, so a killed run leaves at most that empty file
behind, which blocks nothing. The result file itself is left to HDF5 (whose own locks would
otherwise keep readers out while a run writes).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from cosim.errors import EvtwinError
from cosim.results.format import FORMAT, HDF5_SIGNATURE


class OutputBusy(EvtwinError):
    """Another process is writing the result file."""


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


class OutputClaim:
    """An exclusive claim on a result path, held until :meth:`release` (or the process ends).

    Raises
    ------
    OutputBusy
        When another run writes ``path``.
    EvtwinError
        When ``path`` is a folder, or an existing file that is not an evtwin result (unless ``force``).
    OSError
        When its folder cannot be created or written.
    """

    def __init__(self, path: str | Path, force: bool = False):
        self.path = Path(path)
        if self.path.is_dir():
            raise EvtwinError(
                f"output {str(self.path)!r} is a folder; name a file (e.g. {self.path / 'run.h5'})"
            )
        # An OSError here (a file in the way, a read-only folder) names its path: the command line
        # says it in one line.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._lock = lock_path(self.path)
        self._acquire()
        try:
            if not force:
                refuse_other_file(self.path)
        except BaseException:
            self.release()
            raise

    def _acquire(self) -> None:
        tries = 10  # a reader checking whether the file is being written holds the lock for an instant
        while True:
            fd = os.open(self._lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                busy = err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
                tries -= 1
                if busy and tries > 0:
                    time.sleep(0.05)
                    continue
                if busy:
                    raise OutputBusy(
                        f"{self.path} is being written by another run (lock {self._lock.name} is held); "
                        "wait for it or choose another output"
                    ) from None
                raise EvtwinError(f"cannot lock {str(self.path)!r}: {_reason(err)}") from None
            # A run that finished between our open and our lock removed the file we locked: retry.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self._lock))
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        """Give the path up (idempotent)."""
        if self._fd is None:
            return
        try:
            os.unlink(self._lock)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


def refuse_other_file(path: Path) -> None:
    """Raise unless ``path`` is missing, empty or an evtwin result (which a new run may replace)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    what = describe_existing(path)
    if what is not None:
        raise EvtwinError(
            f"{path} exists and is not an evtwin result ({what}); choose another output, or pass --force "
            "to overwrite it"
        )


def describe_existing(path: Path) -> str | None:
    """None for an evtwin result, else what the file is instead."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as err:
        return f"unreadable: {_reason(err)}"
    if head != HDF5_SIGNATURE:
        return "not an HDF5 file"
    import h5py

    try:
        with h5py.File(path, "r", swmr=True, locking=False) as f:
            fmt = f.attrs.get("format")
    except (OSError, RuntimeError) as err:
        return f"an HDF5 file that does not open: {err}"
    if isinstance(fmt, bytes):
        fmt = fmt.decode(errors="replace")
    return None if fmt == FORMAT else f"an HDF5 file with format {fmt!r}"


def being_written(path: str | Path) -> bool:
    """True while a run holds the claim on ``path``."""
    try:
        fd = os.open(lock_path(Path(path)), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _reason(err: OSError) -> str:
    return err.strerror or str(err)
