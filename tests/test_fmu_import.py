"""FMUs as vendors ship them: the Reference FMUs, ports evtwin cannot carry, FMU-initiated ends,
integer ranges, default steps, initialisation with inputs, unitless ports and fixed-step grids.

The Reference FMUs (modelica/Reference-FMUs, BSD-2) are built from their pinned source with gcc
(``tests/reference_fmus.py``); evtwin's results are compared with fmpy's own simulation of the
same FMU and with the results the project publishes next to each model.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from cosim import scenario
from cosim.connection import Connection
from cosim.errors import ScenarioError, SimulationError
from cosim.fmu import FMUUnit
from cosim.master import Master
from cosim.results import read_result
from cosim.timeline import Segment

pytest_plugins = ["fmu_fixtures", "reference_fmus"]


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        scenario.check(path)
    return err.value.problems


# ---- the Reference FMUs against fmpy and their published results ------------------------------


@pytest.mark.usefixtures("engine")  # on the C core and on the Python loop
@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize(
    ("model", "signals"), [("Dahlquist", ["x"]), ("VanDerPol", ["x0", "x1"]), ("BouncingBall", ["h", "v"])]
)
def test_reference_fmus_match_fmpy_and_their_reference_results(
    tmp_path, reference_fmu, model, signals, version
):
    import fmpy
    from reference_fmus import reference_results

    fmu = reference_fmu(model, version)
    expected = reference_results(model)
    stop = float(expected["time"][-1])
    step = float(expected["time"][1]) - float(expected["time"][0])
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: {stop}}}
        units:
          m: {{fmu: {fmu}}}
        algorithm: {{step: {step}}}
        """,
    )
    scenario.run(path, output=tmp_path / "r.h5")
    result = read_result(tmp_path / "r.h5")
    ours = {s: result[f"m.{s}"].values for s in signals}
    theirs = fmpy.simulate_fmu(str(fmu), stop_time=stop, output_interval=step, output=signals)
    for s in signals:
        np.testing.assert_array_equal(ours[s], theirs[s])  # the same FMU stepped the same way: bit for bit
        np.testing.assert_allclose(ours[s], np.array(expected[s], dtype=float), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("version", [2, 3])
def test_an_fmu_ending_the_simulation_is_a_clean_end_with_its_last_point(tmp_path, reference_fmu, version):
    # Stair counts 1..10 in whole seconds and asks to end at t = 9 s (fmi2Discard + fmi2Terminated,
    # or FMI 3's terminateSimulation); the published result ends there too.
    from reference_fmus import reference_results

    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 20 s}}
        units:
          stair: {{fmu: {reference_fmu("Stair", version)}}}
        algorithm: {{step: 0.2}}
        """,
    )
    report = scenario.run(path, output=tmp_path / "r.h5")
    result = read_result(tmp_path / "r.h5")
    assert result.status == "complete"
    assert report.stats.end == pytest.approx(9.0)
    counter = result["stair.counter"]
    expected = reference_results("Stair")
    assert counter.time[-1] == pytest.approx(float(expected["time"][-1]))
    assert counter.values[-1] == float(expected["counter"][-1]) == 10
    assert "stair" in report.stats.stopped_by


# ---- what evtwin cannot carry: String, Binary, arrays -------------------------------------------


def test_string_and_binary_ports_are_refused_where_named_and_skipped_in_globs(tmp_path, reference_fmu):
    fmu = reference_fmu("Feedthrough", 3)
    base = f"""\
    experiment: {{duration: 1 s}}
    units:
      a: {{fmu: {fmu}}}
      b: {{fmu: {fmu}}}
    """
    ok = scenario.check(write(tmp_path, base.rstrip(" ") + "    outputs: {groups: [{signals: ['a.*']}]}\n"))
    recorded = ok.groups[0].signals
    assert "a.Float64_continuous_output" in recorded
    assert not any("String" in s or "Binary" in s for s in recorded)
    assert any("skipped" in n and "a.String_output" in n and "a.Binary_output" in n for n in ok.notes)

    extra = """\
    connections:
      - {from: a.String_output, to: b.String_input}
    outputs: {groups: [{signals: [a.Binary_output]}]}
    """
    found = problems(write(tmp_path, base.rstrip(" ") + extra))
    assert any("'a.String_output' is a String output; evtwin connects and records" in p for p in found), found
    assert any("'b.String_input' is a String input" in p for p in found)
    assert any("'a.Binary_output' is Binary (output)" in p for p in found)


def test_an_array_is_named_as_an_array(tmp_path, reference_fmu):
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          s: {{fmu: {reference_fmu("StateSpace", 3)}}}
        outputs: {{groups: [{{signals: [s.y]}}]}}
        """,
    )
    assert any(
        "'s.y' is an array of Float64; evtwin connects and records scalar" in p for p in problems(path)
    )


def test_setting_an_output_as_a_parameter_says_so(tmp_path, reference_fmu):
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          a: {{fmu: {reference_fmu("Feedthrough", 2)}, parameters: {{Float64_continuous_output: 3}}}}
        """,
    )
    assert any(
        "'Float64_continuous_output' is an output of 'a', not a parameter" in p for p in problems(path)
    )


def test_inspect_flags_arrays_binary_and_strings(reference_fmu):
    from cosim.fmu import read_description
    from cosim.fmu.inspect import cosim_hints

    hints = " ".join(cosim_hints(read_description(reference_fmu("Feedthrough", 3))))
    assert "Binary_input" in hints and "String_output" in hints
    assert "can be set as parameters, not connected" not in hints


def test_inspect_lists_unitless_ports_with_the_line_to_add(reference_fmu, plate_fmu):
    from cosim.fmu import read_description
    from cosim.fmu.inspect import as_dict, cosim_hints

    d = read_description(reference_fmu("Feedthrough", 2))  # declares no units at all
    line = next(h for h in cosim_hints(d) if h.startswith("Real ports without a unit"))
    assert "Float64_continuous_input" in line and "Float64_continuous_output" in line
    assert "port_units: {" in line and ": <unit>" in line
    assert "Float64_continuous_input" in as_dict(d)["unitless"]
    # an FMU whose Real ports all declare units gets no such line
    assert not any("without a unit" in h for h in cosim_hints(read_description(plate_fmu)))


# ---- integers -------------------------------------------------------------------------------


def test_int64_above_2_to_the_53_crosses_a_connection_with_every_digit(reference_fmu):
    fmu = reference_fmu("Feedthrough", 3)
    big = 2**62 + 1  # float64 would round it to 2**62
    a, b = FMUUnit(fmu, "a"), FMUUnit(fmu, "b")
    a.configure({"Int64_input": big})
    m = Master({"a": a, "b": b}, [Connection("a.Int64_output", "b.Int64_input")], observe=["b.Int64_output"])
    m.run([Segment(0.0, 0.2, 0.1)])
    i, _, pos = m.locate("b.Int64_output")
    assert m.outs[i][pos] == big


def test_couplings_of_every_numeric_type_pass_exactly(reference_fmu):
    # a's inputs (start values at the types' extremes) come out of a's outputs, through the
    # connections into b's inputs and out of b's outputs, unchanged.
    values = {
        "Float32_continuous": 1.5,
        "Float64_continuous": 0.1,
        "Int8": -128,
        "UInt8": 255,
        "Int16": -32768,
        "UInt16": 65535,
        "Int32": -(2**31),
        "UInt32": 2**32 - 1,
        "Int64": -(2**63),
        "UInt64": 2**64 - 1,
        "Boolean": True,
        "Enumeration": 2,
    }
    fmu = reference_fmu("Feedthrough", 3)
    a, b = FMUUnit(fmu, "a"), FMUUnit(fmu, "b")
    a.configure({f"{k}_input": v for k, v in values.items()})
    conns = [Connection(f"a.{k}_output", f"b.{k}_input") for k in values]
    observed = [f"b.{k}_output" for k in values]
    m = Master({"a": a, "b": b}, conns, observe=observed)
    m.run([Segment(0.0, 0.3, 0.1)])
    got = {}
    for k, sig in zip(values, observed, strict=True):
        i, _, pos = m.locate(sig)
        got[k] = m.outs[i][pos]
    assert got == values


def test_integer_ranges_are_checked_in_validate_and_at_run_time(tmp_path, reference_fmu):
    fmu = reference_fmu("Feedthrough", 3)
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          a: {{fmu: {fmu}}}
          b: {{fmu: {fmu}}}
        connections:
          - {{from: a.Int16_output, to: b.Int8_input}}
          - {{from: a.Int8_output, to: b.Int16_input}}
        """,
    )
    found = problems(path)
    assert len(found) == 1
    assert "'a.Int16_output' takes values in [-32768, 32767]" in found[0] and "[-128, 127]" in found[0]

    unit = FMUUnit(fmu, "b")
    unit.bind(["Int8_input"], ["Int8_output"])
    unit.setup(0.0)
    unit.set_inputs([127])
    assert unit.get_outputs() == [127]
    with pytest.raises(
        SimulationError, match=r"input 'Int8_input' \(Int8\) cannot take 300: .*\[-128, 127\]"
    ):
        unit.set_inputs([300])  # C would store 44
    unit.terminate()


# ---- the default step -----------------------------------------------------------------------


def test_without_algorithm_step_the_fmus_default_step_is_used(tmp_path, reference_fmu):
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          s: {{fmu: {reference_fmu("Stair", 2)}}}
        """,
    )
    plan = scenario.check(path)
    assert plan.step == 0.2  # Stair's DefaultExperiment stepSize
    assert any("DefaultExperiment step of s" in n for n in plan.notes)


def test_inspect_does_not_call_an_internal_solver_step_the_default_step(reference_fmu):
    from cosim.fmu import read_description

    d = read_description(reference_fmu("Feedthrough", 3))
    assert (d.default_step, d.internal_step) == (None, 0.1)


# ---- initialisation -------------------------------------------------------------------------


@pytest.mark.usefixtures("engine")  # on the C core and on the Python loop
def test_connected_inputs_reach_the_fmu_in_initialisation_mode(tmp_path, plate_fmu):
    # The coolant starts at the inlet temperature (a loop at rest sits at ambient): 19 degC, not
    # its start value of 25 degC. Without flow or heat it stays there, so every point reads 19.
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 10 s}}
        units:
          inlet: {{type: constant, settings: {{outputs: {{T: {{value: 19, unit: degC}}}}}}}}
          plate: {{fmu: {plate_fmu}, parameters: {{start_at_inlet: true}}}}
        connections:
          - {{from: inlet.T, to: plate.coolant_in.T}}
        algorithm: {{step: 1 s}}
        """,
    )
    scenario.run(path, output=tmp_path / "r.h5")
    t_out = read_result(tmp_path / "r.h5")["plate.coolant_out.T"]
    assert t_out.values[0] == pytest.approx(19.0, abs=1e-12)
    np.testing.assert_allclose(t_out.values, 19.0, atol=1e-9)


def test_initial_values_follow_the_fmus_initial_unknowns_through_a_chain(tmp_path, plate_fmu, monkeypatch):
    # Three plates in series, each starting at its inlet temperature (InitialUnknowns: coolant_out.T
    # depends on coolant_in.T), the links delayed and listed against the flow. At rest the whole loop
    # sits at the inlet's 19 degC from t = 0. In dependency order one sweep gets there (the passes after
    # it only confirm); in execution order alone it takes one pass per link.
    from cosim.master import initial
    from cosim.scenario.runner import build_master

    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          p3: {{fmu: {plate_fmu}, parameters: {{start_at_inlet: true}}}}
          p2: {{fmu: {plate_fmu}, parameters: {{start_at_inlet: true}}}}
          p1: {{fmu: {plate_fmu}, parameters: {{start_at_inlet: true}}}}
          inlet: {{type: constant, settings: {{outputs: {{T: {{value: 19, unit: degC}}}}}}}}
        connections:
          - {{from: inlet.T, to: p1.coolant_in.T}}
          - {{from: p1.coolant_out.T, to: p2.coolant_in.T, delay: 1}}
          - {{from: p2.coolant_out.T, to: p3.coolant_in.T, delay: 1}}
        algorithm: {{step: 1 s}}
        """,
    )
    from cosim.fmu import read_description

    declared_deps = read_description(plate_fmu).initial_dependencies
    assert declared_deps["coolant_out.T"] == ("coolant_in.T",)  # inputs only; parameters are not ports
    passes = {}
    for declared in (True, False):
        if not declared:
            monkeypatch.setattr(initial, "dependency_order", lambda slots: None)
        master = build_master(scenario.check(path))
        try:
            master._setup(0.0)
            i, _, pos = master.locate("p3.coolant_out.T")
            assert master.outs[i][pos] == pytest.approx(19.0, abs=1e-12)
            passes[declared] = master.initial_passes
        finally:
            master._terminate()
    assert passes == {True: 1, False: 4}


def test_an_initial_loop_is_iterated_to_its_fixed_point(reference_fmu):
    # a.y = a.u (Feedthrough), b.y = b.u; a feeds b with gain 0.5, b feeds a with offset 1:
    # u_a = 0.5 u_a + 1 at the fixed point -> u_a = 2, in initialisation mode already.
    from cosim.master import LoopSolver, MasterSettings

    fmu = reference_fmu("Feedthrough", 2)
    a, b = FMUUnit(fmu, "a"), FMUUnit(fmu, "b")
    conns = [
        Connection("a.Float64_continuous_output", "b.Float64_continuous_input", gain=0.5),
        Connection("b.Float64_continuous_output", "a.Float64_continuous_input", offset=1.0),
    ]
    m = Master(
        {"a": a, "b": b}, conns, settings=MasterSettings(loop=LoopSolver(max_iterations=60, tolerance=1e-12))
    )
    m._setup(0.0)
    i, _, pos = m.locate("a.Float64_continuous_output")
    assert m.outs[i][pos] == pytest.approx(2.0, rel=1e-9)
    m._terminate()


def test_an_initial_loop_without_a_reachable_fixed_point_is_reported_naming_its_units(reference_fmu):
    # u_a = 2 u_a + 1: the fixed point (-1) repels the iteration, which doubles away from it
    from cosim.master import LoopSolver, MasterSettings

    fmu = reference_fmu("Feedthrough", 2)
    a, b = FMUUnit(fmu, "a"), FMUUnit(fmu, "b")
    conns = [
        Connection("a.Float64_continuous_output", "b.Float64_continuous_input", gain=2.0),
        Connection("b.Float64_continuous_output", "a.Float64_continuous_input", offset=1.0),
    ]
    m = Master({"a": a, "b": b}, conns, settings=MasterSettings(loop=LoopSolver(max_iterations=60)))
    try:
        with pytest.raises(SimulationError, match=r"the initial values did not settle after 100 passes .*the "
                           r"inputs of a, b kept changing \(an initial algebraic loop"):  # fmt: skip
            m._setup(0.0)
    finally:
        m._terminate()


# ---- ports without units ----------------------------------------------------------------------


def test_port_units_give_unitless_ports_a_unit_and_connections_convert(tmp_path, reference_fmu):
    fmu = reference_fmu("Feedthrough", 2)  # declares no units at all
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          heat: {{type: constant, settings: {{outputs: {{P: {{value: 2500, unit: W}}}}}}}}
          f:
            fmu: {fmu}
            port_units: {{Float64_continuous_input: kW, Float64_continuous_output: kW}}
        connections:
          - {{from: heat.P, to: f.Float64_continuous_input}}
        algorithm: {{step: 0.5 s}}
        """,
    )
    scenario.run(path, output=tmp_path / "r.h5")
    out = read_result(tmp_path / "r.h5")["f.Float64_continuous_output"]
    assert out.unit == "kW"
    np.testing.assert_allclose(out.values, 2.5, rtol=1e-12)  # 2500 W arrive as 2.5 kW


def test_port_units_are_refused_where_the_fmu_declares_another_unit(tmp_path, plate_fmu):
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          plate: {{fmu: {plate_fmu}, port_units: {{thermal_port.Q_flow: kW, nothere: W}}}}
        """,
    )
    found = problems(path)
    assert any("the FMU declares it in 'W'" in p for p in found)
    assert any("has no Real port 'nothere'" in p for p in found)


# ---- fixed-step FMUs and the schedule's grid ------------------------------------------------------


def test_validate_finds_steps_and_boundaries_off_a_fixed_step_fmus_grid(tmp_path, plate_fmu):
    # CoolingPlate takes only its default step (1 s): a 1.5 s step, or a session at 00:00:30 with
    # a 60 s step, would hand it other steps.
    base = f"""\
    experiment: {{duration: 10 s}}
    units:
      plate: {{fmu: {plate_fmu}}}
    """
    found = problems(write(tmp_path, base + "algorithm: {step: 1.5 s}\n"))
    assert any("only takes steps of 1 s" in p and "every 1.5 s" in p for p in found)
    found = problems(write(tmp_path, base.replace("10 s", "10.5 s") + "algorithm: {step: 1 s}\n"))
    assert any("ends at t = 10.5 s, off its grid by 0.5 s" in p for p in found)
    plan = scenario.check(
        write(tmp_path, base.replace("10 s", "10.5 s") + "algorithm: {step: 1 s, snap_to_grid: true}\n")
    )
    assert any("snap_to_grid" in n for n in plan.notes)
    from cosim.scenario.runner import segments

    assert [s.stop for s in segments(plan)][-1] in (10.0, 11.0)


# ---- crash isolation ------------------------------------------------------------------------


def isolated_plate(plate_fmu: Path, crash: bool) -> str:
    return f"""\
    experiment: {{duration: 100 s}}
    units:
      heat: {{type: constant, settings: {{outputs: {{Q: {{value: 2, unit: kW}}}}}}}}
      plate:
        fmu: {plate_fmu}
        isolate: true
        parameters: {{fail_at_time: {50 if crash else -1} s, fail_by_crash: {str(crash).lower()}}}
    connections:
      - {{from: heat.Q, to: plate.thermal_port.Q_flow}}
    algorithm: {{step: 1 s}}
    """


@pytest.mark.usefixtures("engine")  # on the C core and on the Python loop
def test_an_isolated_fmu_gives_the_same_results_as_in_process(tmp_path, plate_fmu):
    text = isolated_plate(plate_fmu, crash=False)
    scenario.run(write(tmp_path, text), output=tmp_path / "iso.h5")
    scenario.run(write(tmp_path, text.replace("isolate: true", "isolate: false")), output=tmp_path / "in.h5")
    iso, inproc = read_result(tmp_path / "iso.h5"), read_result(tmp_path / "in.h5")
    np.testing.assert_array_equal(iso["plate.coolant_out.T"].values, inproc["plate.coolant_out.T"].values)
    assert iso.json_attr("units")["plate"]["isolated"] == "child process"


def test_a_segfaulting_fmu_in_isolation_ends_the_run_with_one_line_and_keeps_the_results(tmp_path, plate_fmu):
    # A real SIGSEGV in the FMU's C code (fail_by_crash), in a real child process, through the CLI.
    import subprocess
    import sys

    path = write(tmp_path, isolated_plate(plate_fmu, crash=True))
    done = subprocess.run(
        [sys.executable, "-m", "cosim.cli", "run", str(path), "-o", str(tmp_path / "r.h5")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode != 0 and done.returncode > 0  # evtwin itself did not die from the signal
    assert "Traceback" not in done.stderr
    assert (
        "unit 'plate', t = 50 s: the FMU's process (isolate: true) was killed by signal SIGSEGV"
        in done.stderr
    )
    assert "crashing on purpose at t = 50 s" in done.stderr  # the FMU's own last words, relayed
    result = read_result(tmp_path / "r.h5")
    assert result.status.startswith("failed: unit 'plate', t = 50 s")
    t = result["plate.coolant_out.T"].time
    assert t[0] == 0.0 and t[-1] == 50.0  # every point before the crash is kept


def test_a_connection_into_a_unitless_port_points_to_port_units(tmp_path, reference_fmu):
    path = write(
        tmp_path,
        f"""\
        experiment: {{duration: 1 s}}
        units:
          heat: {{type: constant, settings: {{outputs: {{P: {{value: 2500, unit: W}}}}}}}}
          f: {{fmu: {reference_fmu("Feedthrough", 2)}}}
        connections:
          - {{from: heat.P, to: f.Float64_continuous_input, gain: 0.001}}
        """,
    )
    found = problems(path)
    assert any(
        "f.Float64_continuous_input declares no unit: state it with units.f.port_units" in p for p in found
    ), found
