"""The master with real FMUs (the C FMUs, FMI 2.0 and 3.0, and the battery FMU) through scenario files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from cosim import scenario
from cosim.cli import cli
from cosim.errors import EvtwinWarning
from cosim.results import read_result

pytest_plugins = ["fmu_fixtures"]

LITRE_PER_MIN = 1e-3 / 60.0  # m3/s


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def plate_and_sensor(plate: Path, sensor: Path, extra: str = "") -> str:
    return f"""\
    experiment: {{duration: 600 s}}
    units:
      heat: {{type: constant, settings: {{outputs: {{Q: {{value: 2, unit: kW}}}}}}}}
      inlet: {{type: constant, settings: {{outputs: {{T: {{value: 298.15, unit: K}}}}}}}}
      plate:
        fmu: {plate}
        parameters: {{T_coolant_start: {{value: 25, unit: degC}}}}{extra}
      sensor: {{fmu: {sensor}, parameters: {{tau: 5 s}}}}
    connections:
      - {{from: heat.Q, to: plate.thermal_port.Q_flow}}
      - {{from: inlet.T, to: plate.coolant_in.T}}
      - {{from: plate.plate.T, to: sensor.In1}}
    algorithm: {{step: 1 s}}
    """


def test_fmi2_and_fmi3_fmus_with_unit_conversion_reach_the_analytic_steady_state(
    tmp_path, plate_fmu, sensor_fmu
):
    path = write(tmp_path, plate_and_sensor(plate_fmu, sensor_fmu))
    report = scenario.run(path, output=tmp_path / "r.h5")
    result = read_result(tmp_path / "r.h5")
    # Lumped coolant node: M cp dT/dt = Q + m_dot cp (T_in - T) -> T = T_in + Q / (m_dot cp);
    # the plate surface is warmer by Q / UA (time constant M / m_dot = 14 s, so 600 s is steady).
    m_dot = 1060.0 * 8.0 * LITRE_PER_MIN
    t_out = 25.0 + 2000.0 / (m_dot * 3500.0)
    t_plate = t_out + 2000.0 / 250.0
    assert result["plate.coolant_out.T"].values[-1] == pytest.approx(t_out, rel=1e-6)
    assert result["plate.plate.T"].values[-1] == pytest.approx(t_plate, rel=1e-6)
    assert result["plate.plate.T"].unit == "degC"
    # degC (FMI 2.0 plate) -> K (FMI 3.0 sensor) on the connection.
    assert result["sensor.Out1"].unit == "K"
    assert result["sensor.Out1"].values[-1] == pytest.approx(t_plate + 273.15, rel=1e-7)
    assert result["sensor.In1"].values[-1] == pytest.approx(t_plate + 273.15, rel=1e-12)
    guids = result.json_attr("fmu_guids")
    assert guids["plate"] == "{5b0f8a3e-2d71-4c9b-9e44-7a1c3f60b2d8}"
    assert guids["sensor"] == "{c3a9e1f4-6b52-4d0e-8f17-93d2a5b7c401}"
    assert report.stats.steps == 600


def test_fmu_failing_in_do_step_mid_run_is_reported_and_leaves_a_readable_file(
    tmp_path, plate_fmu, sensor_fmu
):
    text = plate_and_sensor(plate_fmu, sensor_fmu).replace(
        "parameters: {T_coolant_start: {value: 25, unit: degC}}",
        "parameters: {T_coolant_start: {value: 25, unit: degC}, fail_at_time: 300.0}",
    )
    out = tmp_path / "r.h5"
    res = CliRunner().invoke(cli, ["run", str(write(tmp_path, text)), "-o", str(out)], catch_exceptions=False)
    assert res.exit_code == 2
    assert "error: unit 'plate', t = 300 s: fmi2DoStep returned status 3" in res.output
    assert "coolant solver diverged at t = 300 s" in res.output  # the FMU's own log message
    assert f"partial results (readable) in {out}" in res.output
    result = read_result(out)
    assert result.status.startswith("failed: unit 'plate', t = 300 s")
    assert result["plate.coolant_out.T"].time[-1] == 300.0  # the step from 300 s is the one that failed


def test_wrong_fmu_variable_and_parameter_names_are_caught_before_the_run(tmp_path, plate_fmu, sensor_fmu):
    text = plate_and_sensor(plate_fmu, sensor_fmu)
    text = text.replace("to: plate.thermal_port.Q_flow", "to: plate.thermal_port.Q")
    text = text.replace("parameters: {tau: 5 s}", "parameters: {tau: 5 K}")
    with pytest.raises(Exception) as info:
        scenario.check(write(tmp_path, text))
    problems = info.value.problems
    assert problems == [
        "s.yaml:8 units.sensor.parameters.tau: found '5 K', expected a number in [s] or {value, unit} "
        "('K' is not a unit of the expected kind [s]: cannot convert 'K' (K) to 's' (s): different quantities)",
        "s.yaml:10 connections[0].to: 'plate.thermal_port.Q' is not a port of unit 'plate'; "
        "did you mean 'plate.thermal_port.Q_flow'?",
    ]


def test_fixed_step_fmu_under_a_varying_macro_step_is_warned_about(tmp_path, plate_fmu):
    text = f"""\
    experiment: {{duration: 1 d}}
    units:
      plate: {{fmu: {plate_fmu}}}
    schedule:
      phases: {{drive: {{step: 1 s}}, park: {{step: 1 h}}}}
      default: park
      daily: [{{at: "07:00", phase: drive, for: 10 min}}]
    """
    from cosim.scenario import RunFailed

    with pytest.warns(
        EvtwinWarning, match=r"unit 'plate' cannot vary its communication step .* 1 s and 3600 s"
    ):
        # This FMU enforces its fixed step, so the run then fails where the step changes.
        with pytest.raises(RunFailed, match=r"(?s)t = 25200 s: fmi2DoStep .* communication step changed"):
            scenario.run(write(tmp_path, text), output=tmp_path / "r.h5", duration=8 * 3600.0)


@pytest.mark.usefixtures("engine")  # on the C core and on the Python loop
def test_missing_product_fmu_is_built_saying_so(tmp_path, monkeypatch):
    pytest.importorskip("battery_fmu")
    text = """\
    experiment: {duration: 1 h}
    units:
      load: {type: constant, settings: {outputs: {P: {value: 20, unit: kW}}}}
      battery: {fmu: fmus/BatteryTwin.fmu, parameters: {SOC_init: 0.9}}
    connections:
      - {from: load.P, to: battery.P_load}
    algorithm: {step: 60 s}
    summary:
      - {label: energy, signal: load.P, reduce: integral, unit: kWh}
      - {label: SOC drop, signal: battery.SOC, reduce: delta}
    """
    said = []
    report = scenario.run(write(tmp_path, text), output=tmp_path / "r.h5", say=said.append)
    assert (tmp_path / "fmus" / "BatteryTwin.fmu").is_file()
    assert said and said[0].startswith("building BatteryTwin.fmu (named by units.battery.fmu, not found at")
    rows = {label: value for label, value, _ in report.summary}
    assert rows["energy"] == pytest.approx(20.0, rel=1e-12)
    assert rows["SOC drop"] < 0


@pytest.mark.parametrize("fmi", [2, 3])
def test_event_lands_on_the_threshold_by_rolling_back_the_battery_fmu(tmp_path, battery_fmu, fmi):
    if fmi == 3:
        from battery_fmu.build_fmi3 import build_fmu3

        battery_fmu = build_fmu3(tmp_path)
    text = f"""\
    experiment: {{duration: 2 h}}
    units:
      charger: {{type: constant, settings: {{value: 100, unit: A}}}}
      battery: {{fmu: {battery_fmu}, parameters: {{SOC_init: 0.5}}}}
    connections:
      - {{from: charger.value, to: battery.I_charge}}
    algorithm: {{step: 60 s, event_tolerance: 1.0e-3 s}}
    events:
      - {{name: charged, signal: battery.SOC, above: 0.6, stop: true}}
    outputs:
      groups: [{{name: main, signals: [battery.SOC]}}]
    """
    report = scenario.run(write(tmp_path, text), output=tmp_path / "r.h5")
    result = read_result(tmp_path / "r.h5")
    ((t_event, name),) = result.events
    assert name == "charged" and report.stats.stopped_by == "charged" and report.stats.rejected > 0
    soc = result["battery.SOC"]
    assert soc.time[-1] == t_event and t_event % 60.0 != 0.0  # landed between grid points
    assert soc.values[-2] < 0.6 <= soc.values[-1]
    # The SOC rises at about I / Q = 100 A / (220 A h): within 1 ms of the crossing it moves < 1e-6.
    assert soc.values[-1] - 0.6 < 100.0 / (220.0 * 3600.0) * 1e-3 * 2
