"""Warnings about runs that go ahead but not as a user may expect: written once, printed by
``evtwin validate`` before the run and by the master and the runner during it."""

from __future__ import annotations

from collections.abc import Iterable


def fixed_step(unit: str, steps: Iterable[float]) -> str:
    """A unit that cannot vary its communication step, stepped with several."""
    shown = " and ".join(f"{h:g} s" for h in sorted(steps))
    return (
        f"unit {unit!r} cannot vary its communication step (it says so), but the schedule steps it "
        f"with {shown}; it may fail or compute wrongly at other steps than its own"
    )


def events_not_located(events: Iterable[str], cannot_roll_back: Iterable[str]) -> str:
    """Events on a run with units that cannot save and restore state."""
    return (
        f"events ({', '.join(events)}) are detected at the next communication point, "
        f"not located exactly: {', '.join(cannot_roll_back)} cannot save and restore state"
    )


def loop_not_iterated(cycle: str, cannot_save: Iterable[str]) -> str:
    """An algebraic loop to iterate that holds units which cannot save and restore state."""
    return (
        f"algebraic loop {cycle}: {', '.join(cannot_save)} cannot save and restore state, so the "
        "loop is not iterated; it runs once per macro step, reading the values from the "
        "start of the step"
    )
