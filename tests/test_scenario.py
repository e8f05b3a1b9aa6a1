"""Scenario files: every validation rule has a test asserting file, line, key and message."""

from __future__ import annotations

import csv
import json
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np

import pytest

from cosim import scenario
from cosim.errors import ScenarioError
from cosim.results import read_result

HERE = Path(__file__).parent

BASE = """\
version: 1
experiment:
  duration: 100 s
units:
  source:
    type: table
    settings:
      data: {t: [0, 100], P: [0, 100]}
      outputs:
        P: {unit: W}
  store:
    type: cosim_units:Integrator
    every: 10
connections:
  - {from: source.P, to: store.u, transfer: mean}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario.check(write(tmp_path, text))
    return info.value.problems


def test_base_scenario_is_valid_and_conserves_energy(tmp_path):
    report = scenario.run(write(tmp_path, BASE), output=tmp_path / "r.h5")
    result = read_result(tmp_path / "r.h5")
    assert result.status == "complete"
    assert result["store.x"].values[-1] == pytest.approx(5000.0, rel=1e-12)  # area under the ramp [J]
    assert report.stats.steps == 100


def test_malformed_yaml_names_the_line(tmp_path):
    with pytest.raises(ScenarioError, match=r"^s.yaml:3 malformed YAML: expected ',' or ']', but got ':'"):
        scenario.check(write(tmp_path, "version: 1\nunits: [a, b\nexperiment: 3\n"))


def test_duplicate_key_names_the_line(tmp_path):
    with pytest.raises(ScenarioError, match=r"^s.yaml:3 malformed YAML: found duplicate key \"version\""):
        scenario.check(write(tmp_path, "version: 1\nexperiment: {duration: 1}\nversion: 1\n"))


def test_empty_and_non_mapping_files(tmp_path):
    with pytest.raises(ScenarioError, match=r"s.yaml:1 the scenario file is empty"):
        scenario.check(write(tmp_path, ""))
    with pytest.raises(ScenarioError, match=r"s.yaml:1 found a list, expected a mapping"):
        scenario.check(write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ScenarioError, match=r"nope.yaml: scenario file does not exist"):
        scenario.check(tmp_path / "nope.yaml")


def test_unknown_key_suggests_the_right_one(tmp_path):
    text = BASE.replace("    every: 10\n", "    evry: 10\n")
    assert problems(tmp_path, text) == [
        "s.yaml:13 units.store.evry: unknown key 'evry'; did you mean 'every'? (known keys: debug_logging, "
        "description, every, fmu, isolate, parameters, port_units, settings, shared, type, validate)"
    ]


def test_missing_key_and_wrong_type_name_line_key_found_and_expected(tmp_path):
    text = BASE.replace("  duration: 100 s\n", "  start: soon\n")
    got = problems(tmp_path, text)
    assert got[0].startswith(
        "s.yaml:3 experiment.start: found 'soon', expected a duration (expected a number, "
        "a text such as '30 min', or {value: 30, unit: min})"
    )
    assert got[1] == "s.yaml:2 experiment.duration: missing required key 'duration'"


def test_every_must_be_a_positive_integer(tmp_path):
    got = problems(tmp_path, BASE.replace("every: 10", "every: 0"))
    assert got[0].startswith("s.yaml:13 units.store.every: found 0, expected greater than or equal to 1")


def test_duration_of_the_wrong_kind(tmp_path):
    got = problems(tmp_path, BASE.replace("duration: 100 s", "duration: 100 kW"))
    assert got == [
        "s.yaml:3 experiment.duration: found '100 kW', expected a duration ('kW' is not a unit of the "
        "expected kind [s]: cannot convert 'kW' (kg.m2.s-3) to 's' (s): different quantities)"
    ]


def test_unknown_unit_type_suggests(tmp_path):
    got = problems(tmp_path, BASE.replace("type: table", "type: tabel"))
    assert got == [
        "s.yaml:6 units.source.type: unknown unit type 'tabel'; did you mean 'table'? known types: "
        + got[0].split("known types: ")[1]
    ]


def test_bad_settings_name_the_setting(tmp_path):
    got = problems(tmp_path, BASE.replace("      data:", "      dta:"))
    assert got[0].startswith(
        "s.yaml:8 units.source.settings.dta: unknown setting 'dta' of unit type 'table'; did you mean 'data'?"
    )


def test_connection_to_a_missing_port_suggests(tmp_path):
    got = problems(tmp_path, BASE.replace("to: store.u,", "to: store.uu,"))
    assert got == [
        "s.yaml:15 connections[0].to: 'store.uu' is not a port of unit 'store'; did you mean 'store.u'?"
    ]


def test_non_convertible_connection_is_an_error_before_the_run(tmp_path):
    text = BASE.replace("P: {unit: W}", "P: {unit: K}")
    assert problems(tmp_path, text) == [
        "s.yaml:15 connections[0]: 'source.P' [K] cannot feed 'store.u' [W]: cannot convert 'K' (K) to 'W' "
        "(kg.m2.s-3): different quantities"
    ]


def test_connection_into_an_output(tmp_path):
    got = problems(tmp_path, BASE.replace("to: store.u,", "to: store.x,"))
    assert got == [
        "s.yaml:15 connections[0].to: 'store.x' is an output, expected an input as the connection's target"
    ]


def test_input_fed_twice(tmp_path):
    text = BASE + "  - {from: source.P, to: store.u}\n"
    assert problems(tmp_path, text) == [
        "s.yaml:16 connections[1].to: 'store.u' is already fed by 'source.P' (connections[0]); "
        "an input takes one connection"
    ]


def test_algebraic_loop_is_named_with_its_line(tmp_path):
    text = """\
    experiment: {duration: 10}
    units:
      a: {type: "cosim_units:Gain", settings: {k: 0.5}}
      b: {type: "cosim_units:Gain", settings: {c: 1.0}}
    connections:
      - {from: a.y, to: b.u}
      - {from: b.y, to: a.u}
    """
    assert problems(tmp_path, text) == [
        "s.yaml:6 connections[0]: algebraic loop a -> b -> a: each unit's outputs depend on its inputs "
        "within the same macro step; add 'delay: 1' to one of its connections, or set "
        "algorithm.loop: {solver: fixedpoint} "
        "to iterate (needs units that can save their state)"
    ]



def test_algebraic_loop_points_at_a_connection_without_delay(tmp_path):
    # The example of docs/scenarios.md: the quickstart with battery.T_cell on charger.SOC (delay 1, listed
    # first) and the delay taken off the charger's voltage input, which is what closes the loop.
    text = (HERE.parent / "scenarios" / "quickstart.yaml").read_text(encoding="utf-8")
    text = text.replace("    fmu: ../fmus/BatteryTwin.fmu", "    type: battery")
    text = text.replace("{from: battery.SOC, to: charger.SOC, delay: 1}",
                        "{from: battery.T_cell, to: charger.SOC, delay: 1}")
    text = text.replace("{from: battery.V_terminal, to: charger.V_terminal, delay: 1}",
                        "{from: battery.V_terminal, to: charger.V_terminal}")
    path = tmp_path / "quickstart.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        scenario.check(path)
    lines = text.splitlines()
    soc, voltage = (next(n for n, line in enumerate(lines, 1) if key in line)
                    for key in ("to: charger.SOC", "to: charger.V_terminal"))
    first = next(n for n, line in enumerate(lines, 1) if line.startswith("connections:")) + 1
    entries = [n for n, line in enumerate(lines, 1) if n >= first and line.lstrip().startswith("- {from:")]
    expected = [f"quickstart.yaml:{n} connections[{entries.index(n)}]" for n in (soc, voltage)]
    assert [p.split(": ")[0] for p in info.value.problems] == expected
    assert "algebraic loop battery -> charger -> battery" in info.value.problems[1]


def test_loop_solver_from_the_scenario(tmp_path):
    text = """\
    experiment: {duration: 3}
    units:
      a: {type: "cosim_units:Gain", settings: {k: 0.5}}
      b: {type: "cosim_units:Gain", settings: {c: 1.0}}
    connections:
      - {from: a.y, to: b.u}
      - {from: b.y, to: a.u}
    algorithm:
      loop: {solver: fixedpoint, max_iterations: 80, tolerance: 1.0e-12}
    """
    scenario.run(write(tmp_path, text), output=tmp_path / "r.h5")
    assert read_result(tmp_path / "r.h5")["b.y"].values[-1] == pytest.approx(2.0, abs=1e-10)


def test_missing_fmu_says_how_to_build_it(tmp_path):
    text = """\
    experiment: {duration: 10}
    units:
      thermal: {fmu: fmus/Radiator.fmu}
    """
    got = problems(tmp_path, text)
    assert len(got) == 1
    assert got[0].startswith(
        "s.yaml:3 units.thermal.fmu: FMU file 'fmus/Radiator.fmu' does not exist (looked for "
    )
    builders = sorted(ep.name for ep in entry_points(group="evtwin.fmu_builders"))
    assert {"BatteryTwin.fmu", "CoolingPlate.fmu", "TempSensor3.fmu"} <= set(builders)
    assert f"evtwin builds these when missing: {', '.join(builders)};" in got[0]
    assert "`evtwin fmus build-c`" in got[0]


def test_a_missing_product_fmu_is_built(tmp_path):
    from cosim import scenario

    path = tmp_path / "s.yaml"
    path.write_text("experiment: {duration: 10}\nunits:\n  thermal: {fmu: fmus/CoolingPlate.fmu}\n")
    scenario.check(path)
    assert (tmp_path / "fmus" / "CoolingPlate.fmu").is_file()


def test_events_and_outputs_reference_real_signals(tmp_path):
    text = (
        BASE
        + """\
    events:
      - {name: full, signal: store.xx, above: 1}
    outputs:
      groups:
        - {name: main, signals: ["stor.*"]}
    """
    )
    text = BASE + textwrap.dedent(text[len(BASE) :])
    assert problems(tmp_path, text) == [
        "s.yaml:17 events[0].signal: 'store.xx' is not an output of a unit; "
        "did you mean 'store.x' or 'source.P'?",
        "s.yaml:20 outputs.groups[0].signals[0]: 'stor.*' matches no output or connected input; "
        "did you mean 'store.x' or 'store.u'?",
    ]


def test_event_threshold_with_units_is_converted(tmp_path):
    text = BASE + "events:\n  - {name: full, signal: store.x, above: {value: 1, unit: Wh}, stop: true}\n"
    report = scenario.run(write(tmp_path, text), output=tmp_path / "r.h5")
    assert report.stats.stopped_by == "full"
    x = read_result(tmp_path / "r.h5")["store.x"].values
    assert x[-1] == pytest.approx(3600.0, rel=1e-9) or x[-1] >= 3600.0


def test_parameters_are_converted_to_the_port_unit(tmp_path):
    from cosim_units import Integrator

    from cosim.unit import PARAMETER, Port

    class WithParam(Integrator):
        PORTS = (*Integrator.PORTS, Port("x0", PARAMETER, "J"))

    import cosim_units

    cosim_units.WithParam = WithParam
    text = BASE.replace(
        "type: cosim_units:Integrator", "type: cosim_units:WithParam\n    parameters: {x0: 2 kJ}"
    )
    plan = scenario.check(write(tmp_path, text))
    assert plan.units["store"].parameters == {"x0": 2000.0}
    bad = BASE.replace(
        "type: cosim_units:Integrator", "type: cosim_units:WithParam\n    parameters: {x1: 2, x0: 3 K}"
    )
    got = problems(tmp_path, bad)
    assert got[0] == "s.yaml:13 units.store.parameters.x1: 'store' has no parameter 'x1'; did you mean 'x0'?"
    assert got[1].startswith("s.yaml:13 units.store.parameters.x0: found '3 K', expected a number in [J]")


SCHEDULED = """\
experiment: {duration: 2 d}
units:
  load:
    type: constant
    settings: {outputs: {P: {value: 2, unit: kW}}}
  meter:
    type: cosim_units:Integrator
    every: {drive: 60}
connections:
  - {from: load.P, to: meter.u, transfer: mean}
schedule:
  phases:
    drive: {step: 1 s}
    charge: {step: 10 s}
    park: {step: 1 h}
  default: park
  daily:
    - {at: "07:30", phase: drive, for: 30 min}
    - {at: "17:00", phase: drive, for: 45 min}
    - {at: "22:00", phase: charge, for: 8 h}
  ambient: {profile: miami}
outputs:
  groups:
    - {name: main, signals: ["meter.x", "schedule.*"]}
"""


def test_schedule_drives_the_macro_step_and_hits_phase_boundaries(tmp_path):
    report = scenario.run(write(tmp_path, SCHEDULED), output=tmp_path / "r.h5")
    result = read_result(tmp_path / "r.h5")
    t = result["schedule.drive"].time
    for boundary in (7.5 * 3600, 8 * 3600, 17 * 3600, 17.75 * 3600, 22 * 3600, 86400 + 6 * 3600):
        assert boundary in t
    # Steps: 2 days x (75 min at 1 s + 8 h at 10 s) + parked hours at 1 h (a handful).
    driving = 2 * 75 * 60
    charging = (2 + 6 + 2) * 360  # 22:00-24:00 on day 1, 00:00-06:00 and 22:00-24:00 on day 2
    assert driving + charging < report.stats.steps <= driving + charging + 2 * 24
    assert result["meter.x"].values[-1] == pytest.approx(2000.0 * 2 * 86400, rel=1e-12)
    sessions = result["schedule.session"].values[result["schedule.drive"].values == 1]
    assert set(sessions) == {1, 2, 3, 4}


def test_overlapping_sessions_are_an_error(tmp_path):
    text = SCHEDULED.replace("for: 45 min", "for: 6 h")
    assert problems(tmp_path, text) == [
        "s.yaml:17 schedule.daily: session 'drive' at 17:00 lasting 6 h overlaps "
        "the session 'charge' at 22:00"
    ]


def test_every_by_unknown_phase(tmp_path):
    got = problems(tmp_path, SCHEDULED.replace("every: {drive: 60}", "every: {driving: 60}"))
    assert got == ["s.yaml:8 units.meter.every.driving: no phase 'driving'; phases: drive, charge, park"]


def test_json_schema_describes_the_format():
    schema = scenario.json_schema()
    assert schema["title"] == "evtwin scenario"
    assert set(schema["required"]) == {"experiment", "units"}
    unit = schema["$defs"]["UnitSpec"]
    assert "every" in unit["properties"] and unit["additionalProperties"] is False
    assert "description" in unit["properties"]["fmu"]
    json.dumps(schema)


def test_shipped_example_scenarios_validate():
    for path in sorted((HERE / "scenarios").glob("*.yaml")):
        scenario.check(path)


def test_docs_describe_every_key_of_the_format():
    """docs/scenarios.md names every key the schema accepts, so the reference cannot drift."""
    docs = (HERE.parent / "docs" / "scenarios.md").read_text(encoding="utf-8")
    schema = scenario.json_schema()
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    missing = sorted(k for k in keys if f"`{k}`" not in docs and f"{k}:" not in docs)
    assert not missing, f"keys not described in docs/scenarios.md: {missing}"


def test_weekly_pattern_and_ambient_profile(tmp_path):
    text = """\
    experiment: {duration: 7 d}
    units:
      load: {type: constant, settings: {value: 1, unit: kW}}
    schedule:
      phases: {drive: {step: 1 min}, park: {step: 1 h}}
      default: park
      weekly:
        weekdays: [{at: "08:00", phase: drive, for: 1 h}]
        sat: [{at: "10:00", phase: drive, for: 3 h}]
      ambient: {profile: miami}
    outputs:
      groups: [{name: main, signals: ["schedule.*"]}]
    """
    scenario.run(write(tmp_path, text), output=tmp_path / "r.h5")
    result = read_result(tmp_path / "r.h5")
    t, drive = result["schedule.drive"].time, result["schedule.drive"].values
    # A flag holds over the step that ends at its sample time: driving time = sum of those steps.
    driving = float(np.sum(np.diff(t)[drive[1:] == 1]))
    assert driving == 5 * 3600 + 3 * 3600  # five weekday drives and one on Saturday, none on Sunday
    sessions = result["schedule.session"].values[1:][drive[1:] == 1]
    assert sorted(set(sessions)) == [1, 2, 3, 4, 5, 6]
    # Parked steps are whole hours; the mean of the linear hourly profile over [k, k+1] h is the
    # average of the two hourly values.
    with open(HERE.parent / "bridges" / "data" / "climates" / "miami.csv", encoding="utf-8-sig") as fh:
        hourly = [float(r["T_degC"]) for r in csv.DictReader(fh)]
    amb = result["schedule.T_ambient"]
    k = int(np.flatnonzero(amb.time == 3 * 3600.0)[0])  # the step from 02:00 to 03:00 on Monday
    assert amb.values[k] == pytest.approx(273.15 + 0.5 * (hourly[2] + hourly[3]), rel=1e-12)


def test_the_complete_example_in_the_docs_validates(tmp_path):
    import shutil

    from cosim import scenario

    docs = (HERE.parent / "docs" / "scenarios.md").read_text(encoding="utf-8")
    start = docs.index("```yaml", docs.index("## A complete example")) + len("```yaml\n")
    example = docs[start:docs.index("```", start)]
    (tmp_path / "data").mkdir()
    shutil.copy(HERE.parent / "scenarios" / "data" / "quickstart_drive.csv", tmp_path / "data")
    path = tmp_path / "example.yaml"
    path.write_text(example.replace("../fmus/BatteryTwin.fmu", str(HERE.parent / "fmus" / "BatteryTwin.fmu")),
                    encoding="utf-8")
    scenario.check(path)
