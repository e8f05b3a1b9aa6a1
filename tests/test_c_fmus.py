"""The C FMUs of fmus/src: build, FMI validity, and their physics against analytic solutions.

CoolingPlate (FMI 2.0): one coolant node, M c_p dT/dt = Q + m_dot c_p (T_in - T), inputs held over
a step, so T follows the exact first-order response towards T_in + Q / (m_dot c_p).
TempSensor3 (FMI 3.0): tau dy/dt = u - y, exact likewise.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import pytest

from cosim.errors import FMUCallError
from cosim.fmu import FMUUnit
from fmus.build_c import BuildError, build, find_sources

pytest_plugins = ["fmu_fixtures"]  # the FMUs under test, built once per session

LITRE_PER_MIN = 1e-3 / 60.0  # m3/s


# ---- build and validity ----------------------------------------------------------------------


def test_every_source_fmu_is_built(c_fmus):
    assert sorted(c_fmus) == sorted(s.name for s in find_sources())
    for path in c_fmus.values():
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
        assert "modelDescription.xml" in names
        assert any(n.startswith("binaries/") and n.endswith(".so") for n in names)


def test_model_descriptions_pass_fmpy_validation(c_fmus):
    from fmpy.validation import validate_fmu

    for name, path in c_fmus.items():
        assert validate_fmu(str(path)) == [], name


def test_the_plate_declares_what_a_fixed_step_export_declares(plate_fmu):
    from fmpy import read_model_description

    md = read_model_description(str(plate_fmu))
    assert md.fmiVersion == "2.0"
    assert md.coSimulation.canGetAndSetFMUstate is False
    assert md.coSimulation.canHandleVariableCommunicationStepSize is False
    declared = {u.name for u in md.unitDefinitions}
    assert {"W", "degC", "l/min", "J/(kg.K)", "W/K"} <= declared


def test_the_sensor_is_fmi3_with_state(sensor_fmu):
    from fmpy import read_model_description

    md = read_model_description(str(sensor_fmu))
    assert md.fmiVersion == "3.0"
    assert md.coSimulation.canGetAndSetFMUstate is True
    assert md.coSimulation.canHandleVariableCommunicationStepSize is True


def test_build_reports_compiler_errors(tmp_path):
    src = tmp_path / "src" / "Broken"
    (src / "sources").mkdir(parents=True)
    (src / "sources" / "broken.c").write_text("int f(void) { return undeclared_name; }\n")
    (src / "modelDescription.xml").write_text(
        '<fmiModelDescription fmiVersion="2.0" modelName="Broken" guid="{0}">'
        '<CoSimulation modelIdentifier="Broken"/></fmiModelDescription>'
    )
    with pytest.raises(BuildError, match=r"(?s)Broken: gcc exited with status \d+:\n.*undeclared_name"):
        build(tmp_path / "src", tmp_path / "out")
    assert not list((tmp_path / "out").glob(".build-*")), "the staging folder must be removed"


def test_build_names_a_missing_source_folder(tmp_path):
    with pytest.raises(BuildError, match=r"nowhere: no such folder; expected the FMU sources"):
        build(tmp_path / "nowhere", tmp_path / "out")


def test_build_rejects_a_description_without_cosimulation(tmp_path):
    src = tmp_path / "src" / "NoCS"
    (src / "sources").mkdir(parents=True)
    (src / "modelDescription.xml").write_text('<fmiModelDescription fmiVersion="2.0" guid="{0}"/>')
    with pytest.raises(
        BuildError, match=r"expected a co-simulation model description with a modelIdentifier"
    ):
        build(tmp_path / "src", tmp_path / "out")



def test_build_c_without_out_writes_into_the_current_folder_not_the_package(tmp_path):
    import subprocess
    import sys

    import fmus

    package = Path(fmus.__file__).parent
    before = sorted(package.glob("*.fmu"))
    done = subprocess.run(
        [sys.executable, "-m", "cosim.cli", "fmus", "build-c"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "fmus").glob("*.fmu")) == [
        "CoolantLoop.fmu",
        "CoolingPlate.fmu",
        "TempSensor3.fmu",
    ]
    assert sorted(package.glob("*.fmu")) == before

# ---- CoolingPlate physics ------------------------------------------------------------------------


def _plate(path, **parameters) -> FMUUnit:
    unit = FMUUnit(path, "plate")
    unit.configure(parameters)
    return unit


def test_plate_follows_the_exact_first_order_response(plate_fmu):
    Q, T_in, V_lpm, M, cp, rho, UA, T0 = 2500.0, 20.0, 6.0, 2.5, 3400.0, 1050.0, 300.0, 35.0
    unit = _plate(plate_fmu, M_coolant=M, cp_coolant=cp, rho_coolant=rho, UA_plate=UA, T_coolant_start=T0)
    unit.bind(["thermal_port.Q_flow", "coolant_in.T", "coolant_in.V_flow"], ["coolant_out.T", "plate.T"])
    unit.setup(0.0)
    unit.set_inputs([Q, T_in, V_lpm])
    m_dot = rho * V_lpm * LITRE_PER_MIN
    T_ss = T_in + Q / (m_dot * cp)
    h = 2.0
    worst = 0.0
    for k in range(300):
        unit.do_step(k * h, h)
        T, T_plate = unit.get_outputs()
        t = (k + 1) * h
        exact = T_ss + (T0 - T_ss) * math.exp(-t * m_dot / M)
        worst = max(worst, abs(T - exact))
        assert T_plate == pytest.approx(T + Q / UA, rel=1e-12)
    unit.terminate()
    assert worst < 1e-9
    # After 600 s (~34 time constants) the heat the coolant carries away equals the heat put in.
    assert m_dot * cp * (T - T_in) == pytest.approx(Q, rel=1e-9)


def test_plate_without_flow_stores_all_heat_in_the_coolant(plate_fmu):
    Q, M, cp = 1000.0, 2.0, 3500.0
    unit = _plate(plate_fmu, M_coolant=M, cp_coolant=cp, T_coolant_start=25.0, pump_on=False)
    unit.bind(["thermal_port.Q_flow"], ["coolant_out.T"])
    unit.setup(0.0)
    unit.set_inputs([Q])
    for k in range(100):
        unit.do_step(k * 1.0, 1.0)
    (T,) = unit.get_outputs()
    unit.terminate()
    assert M * cp * (T - 25.0) == pytest.approx(Q * 100.0, rel=1e-12)  # energy balance


def test_plate_runs_at_one_fixed_step(plate_fmu):
    unit = _plate(plate_fmu)
    unit.setup(0.0)
    unit.do_step(0.0, 1.0)
    with pytest.raises(
        FMUCallError,
        match=r"communication step changed from 1 s to 0\.5 s; this FMU runs at one "
        r"fixed step",
    ):
        unit.do_step(1.0, 0.5)
    unit.terminate()


def test_plate_failure_names_unit_time_and_logged_message(plate_fmu):
    unit = _plate(plate_fmu, fail_at_time=5.0)
    unit.setup(0.0)
    for k in range(5):
        unit.do_step(k * 1.0, 1.0)
    with pytest.raises(
        FMUCallError,
        match=r"^unit 'plate', t = 5 s: fmi2DoStep returned status 3 \(error\); "
        r"FMU log:\n.*coolant solver diverged at t = 5 s",
    ) as info:
        unit.do_step(5.0, 1.0)
    assert (info.value.unit, info.value.t, info.value.function, info.value.status) == (
        "plate",
        5.0,
        "fmi2DoStep",
        3,
    )
    unit.terminate()


def test_plate_rejects_negative_flow_with_a_message(plate_fmu):
    unit = _plate(plate_fmu)
    unit.bind(["coolant_in.V_flow"], [])
    unit.setup(0.0)
    unit.set_inputs([-1.0])
    with pytest.raises(FMUCallError, match=r"coolant_in\.V_flow = -1 l/min, expected >= 0"):
        unit.do_step(0.0, 1.0)
    unit.terminate()


# ---- TempSensor3 (FMI 3.0) -------------------------------------------------------------------


def test_sensor_follows_the_exact_lag_at_varying_steps(sensor_fmu):
    tau, y0, u = 4.0, 290.0, 310.0
    unit = FMUUnit(sensor_fmu, "sensor")
    unit.configure({"tau": tau, "y_start": y0})
    unit.bind(["In1"], ["Out1", "step_count"])
    unit.setup(0.0)
    assert unit.get_outputs() == [y0, 0.0]
    unit.set_inputs([u])
    t, steps = 0.0, [0.1, 0.7, 0.25, 2.0, 1.3] * 4
    for h in steps:
        unit.do_step(t, h)
        t += h
        y, count = unit.get_outputs()
        assert y == pytest.approx(u + (y0 - u) * math.exp(-t / tau), rel=1e-12)
    assert count == len(steps)
    unit.terminate()


def test_sensor_bypass_is_a_boolean_parameter(sensor_fmu):
    unit = FMUUnit(sensor_fmu, "sensor")
    unit.configure({"bypass": True})
    unit.bind(["In1"], ["Out1"])
    unit.setup(0.0)
    unit.set_inputs([321.5])
    unit.do_step(0.0, 0.01)
    assert unit.get_outputs() == [321.5]
    unit.terminate()


def test_sensor_failure_goes_through_the_fmi3_logger(sensor_fmu):
    unit = FMUUnit(sensor_fmu, "sensor")
    unit.configure({"fail_at_time": 1.0})
    unit.setup(0.0)
    unit.do_step(0.0, 1.0)
    with pytest.raises(
        FMUCallError,
        match=r"^unit 'sensor', t = 1 s: fmi3DoStep returned status 3 \(error\); "
        r"FMU log:\n.*sensor model failed at t = 1 s",
    ):
        unit.do_step(1.0, 1.0)
    unit.terminate()


def test_sensor_rounds_its_reading_as_an_integer_parameter_asks(sensor_fmu):
    tau, y0, u = 2.0, 290.0, 300.0
    unit = FMUUnit(sensor_fmu, "sensor")
    unit.configure({"tau": tau, "y_start": y0, "decimals": 1})
    unit.bind(["In1"], ["Out1"])
    unit.setup(0.0)
    unit.set_inputs([u])
    for k in range(10):
        unit.do_step(k * 0.3, 0.3)
        (y,) = unit.get_outputs()
        exact = u + (y0 - u) * math.exp(-(k + 1) * 0.3 / tau)
        assert y * 10 == pytest.approx(round(y * 10), abs=1e-9)  # one decimal
        assert abs(y - exact) <= 0.05 + 1e-9  # the rounding of the exact reading, not a drifted state
    unit.terminate()


def test_sensor_refusing_its_parameters_fails_setup_with_the_reason(sensor_fmu):
    unit = FMUUnit(sensor_fmu, "sensor")
    unit.configure({"tau": 0.0})
    with pytest.raises(
        FMUCallError,
        match=r"^unit 'sensor', t = 0 s: fmi3ExitInitializationMode returned status 3 \(error\); FMU log:\n"
        r".*tau = 0 s: the time constant must be > 0",
    ):
        unit.setup(0.0)  # enters initialisation mode; the FMU checks its parameters on leaving it
        unit.end_initialization()
    unit.terminate()
