"""The ``evtwin`` command line.

The engine's own commands live here; packages around it (the battery twin, the vehicle
side, control, ML, the service) contribute theirs through the ``evtwin.commands`` entry
point group, so the engine imports none of them. Command modules import their heavy
dependencies inside the command, which keeps ``evtwin --help`` instant.
"""

from __future__ import annotations

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
    cli(prog_name="evtwin")


if __name__ == "__main__":
    main()
