"""An FMU in a child process (``isolate: true``) behaves as in-process: rollback through saved states,
exact values of every numeric type, the same range checks."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from cosim import scenario
from cosim.errors import SimulationError
from cosim.fmu import FMUUnit, IsolatedFMU
from cosim.results import read_result

pytest_plugins = ["fmu_fixtures", "reference_fmus"]


def started(cls, path, name, outputs, inputs=()):
    unit = cls(path, name)
    unit.bind(list(inputs), list(outputs))
    unit.setup(0.0)
    unit.end_initialization()
    return unit


def rollback_trace(unit) -> list:
    """Outputs along: 5 steps, save, 3 steps, restore, the same 3 steps again."""
    for k in range(5):
        unit.do_step(0.1 * k, 0.1)
    saved_at = list(unit.get_outputs())
    state = unit.save_state()
    first = []
    for k in range(5, 8):
        unit.do_step(0.1 * k, 0.1)
        first.append(list(unit.get_outputs()))
    unit.restore_state(state)
    restored = list(unit.get_outputs())
    again = []
    for k in range(5, 8):
        unit.do_step(0.1 * k, 0.1)
        again.append(list(unit.get_outputs()))
    return [saved_at, restored, first, again]


@pytest.mark.parametrize("version", [2, 3])
def test_an_isolated_fmu_rolls_back_exactly_as_in_process(reference_fmu, version):
    path = reference_fmu("VanDerPol", version)
    runs = {}
    for cls in (FMUUnit, IsolatedFMU):
        unit = started(cls, path, "vdp", ["x0", "x1"])
        assert unit.can_save_state
        try:
            runs[cls] = rollback_trace(unit)
        finally:
            unit.terminate()
    saved_at, restored, first, again = runs[IsolatedFMU]
    assert restored == saved_at and again == first  # the rollback returned exactly to the saved point
    assert runs[IsolatedFMU] == runs[FMUUnit]  # bit for bit what the FMU gives in-process


def test_states_nothing_holds_are_freed_in_the_child(reference_fmu):
    unit = started(IsolatedFMU, reference_fmu("Dahlquist", 2), "d", ["x"])
    try:
        for k in range(50):  # a loop solver saves a state per macro step and drops the one before
            unit.save_state()
            unit.do_step(0.1 * k, 0.1)
        assert unit._freed == [49]  # the last dropped key waits for the next save; the others went
        kept = unit.save_state()
        assert unit._freed == [] and unit._request("state_count") == 1  # only the state still held
        unit.restore_state(kept)
    finally:
        unit.terminate()


def test_a_unit_that_cannot_save_state_says_so_isolated_too(plate_fmu):
    unit = IsolatedFMU(plate_fmu, "plate")  # a C FMU without canGetAndSetFMUstate
    try:
        assert not unit.can_save_state
        with pytest.raises(NotImplementedError, match=r"cannot save its state .*no rollback with this unit"):
            unit.save_state()
    finally:
        unit.terminate()


INTS = ["Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"]
#: Values at the edges of each type; the 64-bit ones are beyond what a float64 holds exactly.
EDGES = [-128, 255, -32768, 65535, -(2**31), 2**32 - 1, 2**63 - 1 - 2, 2**64 - 1]


def test_integers_of_every_width_cross_the_process_boundary_exactly(reference_fmu):
    path = reference_fmu("Feedthrough", 3)
    inputs = [f"{k}_input" for k in INTS] + ["Float64_continuous_input"]
    outputs = [f"{k}_output" for k in INTS] + ["Float64_continuous_output"]
    got = {}
    for cls in (FMUUnit, IsolatedFMU):
        unit = started(cls, path, "f", outputs, inputs)
        try:
            unit.set_inputs([*EDGES, math.pi])
            unit.do_step(0.0, 0.1)
            got[cls] = list(unit.get_outputs())
            wraps = r"input 'Int8_input' \(Int8\) cannot take 300: it takes whole numbers in \[-128, 127\]"
            with pytest.raises(SimulationError, match=wraps):
                unit.set_inputs([300, *EDGES[1:], 0.0])
        finally:
            unit.terminate()
    assert got[IsolatedFMU] == [*EDGES, math.pi]
    assert [type(v) for v in got[IsolatedFMU]] == [type(v) for v in got[FMUUnit]]
    assert got[IsolatedFMU] == got[FMUUnit]


def test_an_event_on_an_isolated_fmu_is_located_by_rollback_as_in_process(tmp_path, reference_fmu):
    # Dahlquist: x' = -k x from x = 1; the event x < 0.5 lies near t = ln 2 (its Euler steps move it a bit)
    fmu = reference_fmu("Dahlquist", 2)
    text = textwrap.dedent(f"""\
        experiment: {{duration: 2 s}}
        units:
          d: {{fmu: {fmu}, isolate: ISOLATE}}
        algorithm: {{step: 0.2 s, event_tolerance: 1.0e-4 s}}
        events:
          - {{name: half, signal: d.x, below: 0.5, stop: true}}
        outputs:
          groups: [{{name: main, signals: [d.x]}}]
        """)  # fmt: skip
    times = {}
    for isolate in ("true", "false"):
        path = tmp_path / f"iso_{isolate}.yaml"
        path.write_text(text.replace("ISOLATE", isolate))
        plan = scenario.check(path)
        assert not any("not located exactly" in n for n in plan.notes)
        report = scenario.run(path, output=tmp_path / f"{isolate}.h5")
        ((t_event, name),) = read_result(tmp_path / f"{isolate}.h5").events
        assert name == "half" and report.stats.rejected > 0 and t_event % 0.2 != 0.0
        times[isolate] = t_event
    assert times["true"] == times["false"]
    assert times["true"] == pytest.approx(np.log(2.0), abs=0.05)
