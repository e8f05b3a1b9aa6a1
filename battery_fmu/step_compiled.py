"""The shared step (:mod:`battery_fmu.step`) compiled for one parameter set (:mod:`battery_fmu.trace`).

The twin steps a cell millions of times a simulated year; as nested Python functions
:func:`~battery_fmu.step.lookups`, :func:`~battery_fmu.step.limits` and
:func:`~battery_fmu.step.advance` cost more in calls and tuple building than in arithmetic. Their
recorded form does the same operations without the calls, with the results identical bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from battery_fmu import step as shared
from battery_fmu.step import CellState, Lookups, StepConstants
from battery_fmu.trace import compile_traced


class CompiledStep(NamedTuple):
    """The step's parts for one parameter set, as generated functions (Python floats).

    ``prepare(state, resistance_factor, capacity, k)`` -> ``(look, limits, e, r_rc)``: the
    look-ups, :func:`~battery_fmu.step.limits` and :func:`~battery_fmu.step.electromotive` at a
    state; ``advance(state, look, k, current, t_boundary, capacity)`` -> ``(state, means)``:
    :func:`~battery_fmu.step.advance`. ``k``: :func:`~battery_fmu.step.constants`.
    """

    prepare: Callable
    advance: Callable


def compile_step(p) -> CompiledStep:
    """The generated step functions for the parameter set ``p`` (cell, SI units; see the module doc)."""

    def prepare(ops, state, resistance_factor, capacity, k):
        look = shared.lookups(p, state.soc, state.t_cell, resistance_factor, ops)
        emf = shared.electromotive(state, look, k)
        return look, shared.limits(p, state, look, k, capacity, ops, emf), emf[0], emf[1]

    def advance(ops, state, look, k, current, t_boundary, capacity):
        return shared.advance(p, state, look, k, current, t_boundary, capacity, ops)

    k = ("k", StepConstants, {"thermal": 4})  # the thermal transition is a tuple of four numbers
    return CompiledStep(
        compile_traced("prepare", prepare, [("state", CellState), "resistance_factor", "capacity", k]),
        compile_traced("advance", advance, [("state", CellState), ("look", Lookups), k, "current",
                                            "t_boundary", "capacity"]))
