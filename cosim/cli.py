"""The ``evtwin`` command line.

The engine's own commands live here; packages around it (the battery twin, the vehicle
side, control, ML, the service) contribute theirs through the ``evtwin.commands`` entry
point group, so the engine imports none of them. Command modules import their heavy
dependencies inside the command, which keeps ``evtwin --help`` instant.
"""

from __future__ import annotations

import errno
import os
import sys
from importlib.metadata import entry_points

import click

from cosim.errors import EvtwinError


class _Group(click.Group):
    """Adds contributed commands, and turns domain errors into a message and exit status 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded = False

    def _load_plugins(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group="evtwin.commands"):
            if ep.name not in self.commands:
                try:
                    command = ep.load()
                except (ImportError, AttributeError) as err:
                    # A package that is registered but broken must not take the whole CLI down.
                    command = _unavailable(ep.name, ep.value, err)
                self.add_command(command, ep.name)

    def list_commands(self, ctx):
        self._load_plugins()
        return sorted(self.commands)

    def get_command(self, ctx, name):
        self._load_plugins()
        return self.commands.get(name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EvtwinError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        except OSError as err:
            # The system refused a file or a stream (a read-only folder, a full disk, a path under a
            # file): one line naming the path and the reason, not a traceback.
            click.echo(f"error: {os_error_line(err)}", err=True)
            sys.exit(1)


_OS_HINTS = {
    errno.ENOSPC: "the device is full",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file is in the way of a folder of that name",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOENT: "no such file or folder",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "the file is too large for the file system",
    errno.ENAMETOOLONG: "the name is too long",
}


def os_error_line(err: OSError) -> str:
    """``path: reason`` for an :class:`OSError`; ``cannot write the output: reason`` when it names no path
    (a stream such as the standard output)."""
    reason = _OS_HINTS.get(err.errno or 0) or err.strerror or str(err)
    if err.filename is not None:
        return f"{err.filename}: {reason}"
    return f"cannot write the output: {reason}"


def _unavailable(name: str, target: str, err: Exception) -> click.Command:
    reason = f"{type(err).__name__}: {err}"

    def fail() -> None:
        raise EvtwinError(f"command {name!r} ({target}) cannot be loaded: {reason}")

    return click.Command(name, callback=fail, help=f"(unavailable: {reason})",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evtwin")
def cli() -> None:
    """evtwin: FMI co-simulation of EV battery digital twins."""


def _add_engine_commands() -> None:
    from cosim.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


_add_engine_commands()


def main() -> None:
    try:
        cli(prog_name="evtwin")
        code = 0
    except SystemExit as done:
        code = done.code
    try:
        sys.stdout.flush()
    except OSError as err:  # e.g. `evtwin schema > /dev/full`: say so once, not at the interpreter's exit
        click.echo(f"error: {os_error_line(err)}", err=True)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = code or 1
    sys.exit(code)


if __name__ == "__main__":
    main()
