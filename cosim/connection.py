"""Connections: an output of one unit feeds an input of another, converted between declared units.

The value the target receives is ``gain * convert(value) + offset``: ``convert`` maps the
source's declared unit onto the target's (W to kW, K to degC, ...), and the optional
``gain``/``offset`` then act in the target's unit (a sign flip, a calibration offset).
"""

from __future__ import annotations

from dataclasses import dataclass

from cosim import si
from cosim.unit import INPUT, OUTPUT, Port

LAST = "last"
MEAN = "mean"
TRANSFERS = (LAST, MEAN)

# Which port types may feed which: widening only, never a silent truncation.
_COMPATIBLE = {
    ("Real", "Real"),
    ("Integer", "Integer"),
    ("Boolean", "Boolean"),
    ("String", "String"),
    ("Integer", "Real"),
    ("Boolean", "Real"),
    ("Boolean", "Integer"),
}


@dataclass(frozen=True, slots=True)
class Connection:
    """``source`` (``unit.output``) feeds ``target`` (``unit.input``).

    Parameters
    ----------
    source, target : str
        ``"unit.port"`` names.
    gain, offset : float
        Applied after unit conversion, in the target's unit.
    transfer : str
        ``"last"`` hands over the latest sample; ``"mean"`` the time average of the source over
        the target's step (for a fast unit feeding a slow one, so that energy is conserved).
    delay : int
        ``1`` reads the source's value from the start of the macro step; such a connection does
        not order the units and breaks an algebraic loop.
    """

    source: str
    target: str
    gain: float = 1.0
    offset: float = 0.0
    transfer: str = LAST
    delay: int = 0

    def __post_init__(self) -> None:
        for end in (self.source, self.target):
            if end.count(".") < 1 or end.startswith(".") or end.endswith("."):
                raise ValueError(f"connection end {end!r} must be written 'unit.port'")
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer must be one of {TRANSFERS} (got {self.transfer!r})")
        if self.delay not in (0, 1):
            raise ValueError(f"delay must be 0 or 1 (got {self.delay!r})")

    @property
    def source_unit(self) -> str:
        return self.source.split(".", 1)[0]

    @property
    def source_port(self) -> str:
        return self.source.split(".", 1)[1]

    @property
    def target_unit(self) -> str:
        return self.target.split(".", 1)[0]

    @property
    def target_port(self) -> str:
        return self.target.split(".", 1)[1]


def check_ends(
    conn: Connection,
    source: Port | None,
    target: Port | None,
    source_ports: list[str],
    target_ports: list[str],
) -> list[str]:
    """Problems with the two ends of a connection (existence, causality, type); empty when sound."""
    import difflib

    problems = []
    for end, port, names, want in (
        (conn.source, source, source_ports, OUTPUT),
        (conn.target, target, target_ports, INPUT),
    ):
        if port is None:
            close = difflib.get_close_matches(end.split(".", 1)[1], names, n=3)
            hint = (
                f"; did you mean {', '.join(repr(end.split('.', 1)[0] + '.' + c) for c in close)}?"
                if close
                else ""
            )
            problems.append(f"{end!r} is not a port of unit {end.split('.', 1)[0]!r}{hint}")
        elif port.causality != want:
            role = "source" if want == OUTPUT else "target"
            problems.append(f"{end!r} is an {port.causality}, expected an {want} as the connection's {role}")
    if source is not None and target is not None and (source.type, target.type) not in _COMPATIBLE:
        problems.append(
            f"{conn.source!r} is {source.type} and {conn.target!r} is {target.type}: "
            f"types do not match (a {source.type} cannot feed a {target.type})"
        )
    return problems


def coefficients(conn: Connection, source: Port, target: Port) -> tuple[float, float]:
    """``(gain, offset)`` mapping a source value onto the target, unit conversion included.

    Raises :class:`cosim.si.UnitError` naming both ports when the units measure different quantities.
    """
    try:
        g, o = si.conversion(source.unit, target.unit)
    except si.UnitError as err:
        raise si.UnitError(
            f"{conn.source!r} [{source.unit}] cannot feed {conn.target!r} [{target.unit}]: {err}"
        ) from None
    gain, offset = conn.gain * g, conn.gain * o + conn.offset
    if source.type == target.type == "Integer" and (gain, offset) == (1.0, 0.0):
        # Whole numbers pass as they are: int * 1 + 0 stays an int (an Int64 keeps all its digits).
        return 1, 0
    return gain, offset
