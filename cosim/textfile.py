"""Reading a text file a user named (a CSV profile, a drive cycle): one sentence when it cannot be read."""

from __future__ import annotations

from pathlib import Path


class TextFileError(ValueError):
    """A file that is missing, a folder, unreadable, or not text; the message names it."""


def read_text(path: str | Path, what: str = "CSV file") -> str:
    """The text of ``path`` (UTF-8, a byte-order mark dropped).

    Raises
    ------
    TextFileError
        Naming the file and what is wrong: missing, a folder, not readable, or binary.
    """
    path = Path(path)
    if path.is_dir():
        raise TextFileError(f"{path}: is a folder; expected a {what}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TextFileError(f"{path}: no such file; expected a {what}") from None
    except OSError as err:
        raise TextFileError(f"{path}: cannot read it ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TextFileError(
            f"{path}: not a text file (byte {err.start} is not UTF-8 text); expected a {what}"
        ) from None
    if "\x00" in text:
        raise TextFileError(f"{path}: not a text file (it holds NUL bytes); expected a {what}")
    return text
