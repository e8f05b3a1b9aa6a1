"""FMUUnit and read_description against real FMUs: the C FMUs of fmus/src and a pythonfmu slave."""

from __future__ import annotations

import gc
import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cosim.errors import FMUCallError, FMUFileError, ScenarioError, SimulationError
from cosim.fmu import FMUUnit, read_description, unknown_units
from cosim.unit import Port

pytest_plugins = ["fmu_fixtures"]  # the FMUs under test, built once per session

LITRE_PER_MIN = 1e-3 / 60.0


# ---- read_description: ports, units, capabilities ----------------------------------------------


def test_ports_are_inputs_outputs_and_parameters_only(plate_fmu):
    d = read_description(plate_fmu)
    by_name = {p.name: p for p in d.ports}
    assert "coolant.m_flow" not in by_name  # a local
    assert {p.causality for p in d.ports} == {"input", "output", "parameter"}
    assert [v.name for v in d.variables if v.name not in by_name] == ["coolant.m_flow"]


def test_port_units_come_from_the_variable_or_its_declared_type(plate_fmu):
    ports = {p.name: p for p in read_description(plate_fmu).ports}
    assert ports["thermal_port.Q_flow"].unit == "W"
    assert ports["coolant_in.T"].unit == "degC"  # through declaredType CelsiusTemperature
    assert (ports["coolant_in.T"].min, ports["coolant_in.T"].max) == (-50.0, 150.0)
    assert (
        ports["pump_on"].unit == "1" and ports["pump_on"].type == "Boolean" and ports["pump_on"].start is True
    )
    assert ports["coolant.medium"].type == "String" and ports["coolant.medium"].start == "EGW50"
    assert ports["coolant_out.T"].start is None  # initial="calculated": no start declared


def test_fmi3_types_map_to_protocol_types(sensor_fmu):
    d = read_description(sensor_fmu)
    ports = {p.name: p for p in d.ports}
    assert "time" not in ports  # the independent variable is no port
    assert (ports["In1"].type, ports["In1"].unit) == ("Real", "K")
    assert ports["step_count"].type == "Integer"
    assert ports["bypass"].type == "Boolean"


def test_capabilities_and_identity(plate_fmu, sensor_fmu):
    plate, sensor = read_description(plate_fmu), read_description(sensor_fmu)
    assert (plate.can_save_state, plate.can_vary_step, plate.default_step) == (False, False, 1.0)
    assert (sensor.can_save_state, sensor.can_serialize_state, sensor.can_vary_step) == (True, True, True)
    assert plate.guid == "{5b0f8a3e-2d71-4c9b-9e44-7a1c3f60b2d8}"
    assert sensor.guid == "{c3a9e1f4-6b52-4d0e-8f17-93d2a5b7c401}"  # the instantiationToken
    assert plate.runs_here and sensor.runs_here


def test_unknown_units_are_kept_and_reported():
    ports = [
        Port("x", "output", unit="furlong/fortnight"),
        Port("y", "input", unit="l/min"),
        Port("z", "input", unit="J/(kg.K)"),
    ]
    assert unknown_units(ports) == {"x": "furlong/fortnight"}


def test_units_of_thermal_hydraulic_exports_are_known(plate_fmu):
    d = read_description(plate_fmu)
    assert unknown_units(d.ports) == {}
    # and the registry agrees with the FMU's own BaseUnit declarations (l/min, degC, J/(kg.K), ...)
    assert {u.name: u.registry_mismatch() for u in d.units} == {u.name: None for u in d.units}


# ---- read_description: bad files ------------------------------------------------------------


def _rezip(source: Path, target: Path, *, drop=(), rename=None, edit=None) -> Path:
    """A copy of an FMU with members dropped or renamed, or the model description edited."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            if item.filename in drop:
                continue
            data = src.read(item.filename)
            if edit and item.filename == "modelDescription.xml":
                data = edit(data.decode()).encode()
            dst.writestr((rename or {}).get(item.filename, item.filename), data)
    return target


def test_missing_file(tmp_path):
    with pytest.raises(FMUFileError, match=r"nope\.fmu: no such file; expected an FMU \(a \.fmu zip archive"):
        read_description(tmp_path / "nope.fmu")


def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.fmu"
    bad.write_bytes(b"PK\x03\x04 truncated download")
    with pytest.raises(FMUFileError, match=r"bad\.fmu: not an FMU: the file is not a zip archive"):
        read_description(bad)


def test_file_errors_are_scenario_errors(tmp_path):
    with pytest.raises(ScenarioError):
        read_description(tmp_path / "nope.fmu")


def test_zip_without_model_description(tmp_path, plate_fmu):
    fmu = _rezip(
        plate_fmu, tmp_path / "x.fmu", rename={"modelDescription.xml": "CoolingPlate/modelDescription.xml"}
    )
    with pytest.raises(
        FMUFileError,
        match=r"no modelDescription\.xml at its root\. It has CoolingPlate/"
        r"modelDescription\.xml: zip the contents of that folder",
    ):
        read_description(fmu)


def test_model_exchange_only(tmp_path, plate_fmu):
    fmu = _rezip(
        plate_fmu,
        tmp_path / "me.fmu",
        edit=lambda xml: re.sub(
            r"<CoSimulation[^>]*/>", '<ModelExchange modelIdentifier="CoolingPlate"/>', xml
        ),
    )
    with pytest.raises(FMUFileError, match=r"'CoolingPlate' is a Model Exchange FMU without Co-Simulation"):
        read_description(fmu)


def test_no_binary_for_this_platform(tmp_path, plate_fmu):
    fmu = _rezip(
        plate_fmu,
        tmp_path / "win.fmu",
        rename={"binaries/linux64/CoolingPlate.so": "binaries/win64/CoolingPlate.dll"},
    )
    with pytest.raises(
        FMUFileError,
        match=r"no binary for this platform: expected binaries/linux64/CoolingPlate\.so"
        r" in the archive; it has binaries for: win64",
    ):
        read_description(fmu)
    assert read_description(fmu, require_binary=False).runs_here is False


def test_invalid_model_description_lists_problems(tmp_path, plate_fmu):
    fmu = _rezip(
        plate_fmu,
        tmp_path / "u.fmu",
        edit=lambda xml: xml.replace('<Unit name="W/K">', '<Unit name="WperK">'),
    )
    with pytest.raises(
        FMUFileError,
        match=r"(?s)not valid FMI:\n  - The unit \"W/K\" of variable \"UA_plate\".*"
        r"validate: false",
    ):
        read_description(fmu)
    assert read_description(fmu, validate=False).model_name == "CoolingPlate"


def test_fmi1_is_refused(tmp_path, plate_fmu):
    fmu = _rezip(
        plate_fmu, tmp_path / "v1.fmu", edit=lambda xml: xml.replace('fmiVersion="2.0"', 'fmiVersion="1.0"')
    )
    with pytest.raises(FMUFileError, match=r"evtwin runs FMI 2\.0 and 3\.0 co-simulation FMUs"):
        read_description(fmu, validate=False)


# ---- configure --------------------------------------------------------------------------------


@pytest.fixture
def plate(plate_fmu):
    unit = FMUUnit(plate_fmu, "plate")
    yield unit
    unit.terminate()


def test_configure_unknown_name_suggests_close_matches(plate):
    with pytest.raises(
        KeyError,
        match=r"unit 'plate' \(FMU 'CoolingPlate'\) has no parameter or input 'UA_plat'; "
        r"did you mean 'UA_plate'\?",
    ):
        plate.configure({"UA_plat": 300.0})


def test_configure_refuses_outputs_and_locals(plate):
    with pytest.raises(KeyError, match=r"\('coolant_out\.T' is an output, which cannot be set\)"):
        plate.configure({"coolant_out.T": 30.0})
    with pytest.raises(KeyError, match=r"\('coolant\.m_flow' is a local, which cannot be set\)"):
        plate.configure({"coolant.m_flow": 1.0})


def test_configure_checks_types_and_bounds(plate):
    with pytest.raises(ValueError, match=r"'UA_plate' is Real \[W/K\]; got 'high' \(str\)"):
        plate.configure({"UA_plate": "high"})
    with pytest.raises(ValueError, match=r"'M_coolant' is Real \[kg\]; got -1, expected within \[0, inf\]"):
        plate.configure({"M_coolant": -1})
    with pytest.raises(ValueError, match=r"'pump_on' is Boolean; got 0\.5"):
        plate.configure({"pump_on": 0.5})
    with pytest.raises(ValueError, match=r"'coolant\.medium' is String; got 3"):
        plate.configure({"coolant.medium": 3})


def test_configure_leaves_earlier_values_when_a_later_one_is_bad(plate):
    plate.configure({"UA_plate": 400.0})
    with pytest.raises(KeyError):
        plate.configure({"UA_plate": 100.0, "nonsense": 1})
    plate.bind(["thermal_port.Q_flow"], ["plate.T", "coolant_out.T"])
    plate.setup(0.0)
    plate.set_inputs([800.0])
    T_plate, T = plate.get_outputs()
    assert T_plate - T == pytest.approx(800.0 / 400.0)


def test_configure_checks_integer_parameters(sensor_fmu):
    unit = FMUUnit(sensor_fmu, "sensor")
    with pytest.raises(ValueError, match=r"'decimals' is Int32; got 1\.5 \(float\)"):
        unit.configure({"decimals": 1.5})
    with pytest.raises(ValueError, match=r"'decimals' is Int32; got 7, expected within \[-1, 6\]"):
        unit.configure({"decimals": 7})
    unit.configure({"decimals": 2.0})  # an integral float is an integer
    unit.terminate()


def test_string_parameter_reaches_the_fmu(plate):
    plate.configure({"coolant.medium": "water", "fail_at_time": 0.0})
    plate.setup(0.0)
    with pytest.raises(FMUCallError, match=r"medium water"):
        plate.do_step(0.0, 1.0)


def test_configure_after_setup_is_refused(plate):
    plate.setup(0.0)
    with pytest.raises(RuntimeError, match=r"configure\(\) must come before setup\(\)"):
        plate.configure({"UA_plate": 1.0})


# ---- bind and values of several types ---------------------------------------------------------


def test_bind_unknown_and_wrong_ports(plate):
    with pytest.raises(
        KeyError, match=r"has no input 'thermal_port\.Q'; did you mean 'thermal_port\.Q_flow'\?"
    ):
        plate.bind(["thermal_port.Q"], [])
    with pytest.raises(KeyError, match=r"'plate\.T' is an output, not an input"):
        plate.bind(["plate.T"], [])
    with pytest.raises(KeyError, match=r"'coolant\.medium' is a String; only scalar numeric and Boolean"):
        plate.bind([], ["coolant.medium"])


def test_mixed_types_and_recorded_locals(plate):
    V = 9.0
    plate.bind(
        ["thermal_port.Q_flow", "pump_on", "coolant_in.V_flow"], ["coolant.m_flow", "pump_on", "plate.T"]
    )
    plate.setup(0.0)
    plate.set_inputs([0.0, 1.0, V])
    m_flow, pump, _ = plate.get_outputs()
    assert m_flow == pytest.approx(1060.0 * V * LITRE_PER_MIN, rel=1e-12)
    assert pump == 1.0
    plate.set_inputs([0.0, 0.0, V])
    assert plate.get_outputs()[:2] == [0.0, 0.0]


def test_stepping_before_setup_or_after_terminate_is_refused(plate_fmu):
    unit = FMUUnit(plate_fmu, "plate")
    with pytest.raises(RuntimeError, match=r"unit 'plate' is not set up: call bind\(\) and setup\(\) first"):
        unit.do_step(0.0, 1.0)
    unit.setup(0.0)
    unit.terminate()
    unit.terminate()  # twice is fine
    with pytest.raises(RuntimeError, match=r"unit 'plate' was terminated"):
        unit.get_outputs()


# ---- instances, files, metadata ----------------------------------------------------------------


def test_each_instance_extracts_into_its_own_folder_and_cleans_up(plate_fmu, tmp_path):
    a = FMUUnit(plate_fmu, "a", workdir=tmp_path / "work")
    b = FMUUnit(plate_fmu, "b", workdir=tmp_path / "work")
    dirs = sorted(p for p in (tmp_path / "work").iterdir())
    assert len(dirs) == 2 and all(d.name.startswith("evtwin-") for d in dirs)
    for unit, Q in ((a, 1000.0), (b, 3000.0)):
        unit.bind(["thermal_port.Q_flow"], ["plate.T"])
        unit.setup(0.0)
        unit.set_inputs([Q])
    # Each has its own copy of the library, so the two run side by side without sharing anything.
    (Ta,), (Tb,) = a.get_outputs(), b.get_outputs()
    assert (Ta, Tb) == (pytest.approx(25.0 + 1000.0 / 250.0), pytest.approx(25.0 + 3000.0 / 250.0))
    a.terminate()
    b.terminate()
    assert list((tmp_path / "work").iterdir()) == []


def test_metadata(plate_fmu):
    unit = FMUUnit(plate_fmu, "plate")
    meta = unit.metadata()
    unit.terminate()
    assert meta["sha256"] == hashlib.sha256(plate_fmu.read_bytes()).hexdigest()
    assert meta["guid"] == "{5b0f8a3e-2d71-4c9b-9e44-7a1c3f60b2d8}"
    assert (meta["fmiVersion"], meta["modelName"], meta["path"]) == ("2.0", "CoolingPlate", str(plate_fmu))
    assert meta["generationTool"].startswith("evtwin fmus build-c")


def test_capabilities_are_per_instance(plate_fmu, sensor_fmu):
    plate, sensor = FMUUnit(plate_fmu, "p"), FMUUnit(sensor_fmu, "s")
    assert (plate.can_save_state, plate.can_vary_step) == (False, False)
    assert (sensor.can_save_state, sensor.can_vary_step) == (True, True)
    with pytest.raises(
        NotImplementedError,
        match=r"'CoolingPlate' cannot save its state \(canGetAndSetFMUstate is "
        r"false\): no rollback",
    ):
        plate.save_state()
    plate.terminate()
    sensor.terminate()


def test_logs_are_routed_to_their_own_instance(plate_fmu):
    # fmpy forwards every FMI 2.0 message to one process-wide callback; each must still land in its own unit.
    a = FMUUnit(plate_fmu, "a", debug_logging=True)
    b = FMUUnit(plate_fmu, "b", debug_logging=True)
    a.setup(0.0)
    b.setup(0.0)
    for k in range(3):
        a.do_step(k * 1.0, 1.0)
    for k in range(5):
        b.do_step(k * 1.0, 1.0)
    assert a.log.count("coolant 25 degC") == 3 and b.log.count("coolant 25 degC") == 5
    a.terminate()
    b.terminate()


def test_importing_the_adapter_does_not_import_fmpy():
    code = "import sys, cosim.fmu, cosim.fmu.inspect, fmus.build_c; print('fmpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- state save and restore ----------------------------------------------------------------------


def _run(unit, t, steps):
    out = []
    for h in steps:
        unit.do_step(t, h)
        t += h
        out.append(unit.get_outputs())
    return t, out


def test_fmi3_restore_continues_bit_identically(sensor_fmu):
    unit = FMUUnit(sensor_fmu, "sensor")
    unit.bind(["In1"], ["Out1", "step_count"])
    unit.setup(0.0)
    unit.set_inputs([330.0])
    t, _ = _run(unit, 0.0, [0.5] * 4)
    state = unit.save_state()
    _, first = _run(unit, t, [0.3, 0.9, 0.4])
    unit.restore_state(state)
    assert unit.get_outputs()[1] == 4.0  # the step counter went back too
    _, again = _run(unit, t, [0.3, 0.9, 0.4])
    assert again == first
    unit.terminate()


def test_fmi2_pythonfmu_restore_and_shorter_redo(integrator_fmu):
    unit = FMUUnit(integrator_fmu, "integ")
    unit.bind(["u"], ["y"])
    unit.setup(0.0)
    unit.set_inputs([2.0])
    unit.do_step(0.0, 1.0)
    state = unit.save_state()
    unit.do_step(1.0, 1.0)
    assert unit.get_outputs() == [4.0]
    unit.restore_state(state)
    assert unit.get_outputs() == [2.0]
    unit.do_step(1.0, 0.25)  # the rejected step, redone shorter
    assert unit.get_outputs() == [2.5]
    unit.terminate()


def test_saved_states_are_freed(sensor_fmu):
    unit = FMUUnit(sensor_fmu, "sensor")
    unit.setup(0.0)
    states = [unit.save_state() for _ in range(5)]
    assert len(unit._instance.states) == 5
    del states
    gc.collect()
    assert len(unit._instance.states) == 0
    kept = unit.save_state()
    unit.terminate()
    with pytest.raises(ValueError, match=r"that state was already freed"):
        unit.restore_state(kept)


def test_restore_refuses_a_state_of_another_unit(sensor_fmu):
    a, b = FMUUnit(sensor_fmu, "a"), FMUUnit(sensor_fmu, "b")
    a.setup(0.0)
    b.setup(0.0)
    with pytest.raises(ValueError, match=r"unit 'b': not a state saved by this unit"):
        b.restore_state(a.save_state())
    a.terminate()
    b.terminate()


# ---- pythonfmu: Python errors reach the host ---------------------------------------------------


def test_python_traceback_logged_by_the_model_reaches_the_error(integrator_fmu):
    unit = FMUUnit(integrator_fmu, "integ")
    unit.configure({"fail_at": 3.0})
    unit.setup(0.0)
    for k in range(3):
        unit.do_step(k * 1.0, 1.0)
    with pytest.raises(
        FMUCallError,
        match=r"(?s)^unit 'integ', t = 3 s: fmi2DoStep returned status 2 \(discard\); "
        r"FMU log:\n.*Traceback \(most recent call last\):.*in _explode\n.*"
        r"ZeroDivisionError: integrator blew up at t = 3\.0",
    ):
        unit.do_step(3.0, 1.0)
    unit.terminate()


def test_bare_python_exception_reaches_the_error(integrator_fmu):
    unit = FMUUnit(integrator_fmu, "integ")
    unit.configure({"fail_at": 0.0, "raise_bare": 1.0})
    unit.setup(0.0)
    with pytest.raises(
        FMUCallError,
        match=r"(?s)fmi2DoStep returned status 4 \(fatal\).*"
        r"ZeroDivisionError\('integrator blew up at t = 0\.0'\)",
    ):
        unit.do_step(0.0, 1.0)
    unit.terminate()


def test_a_failed_instantiation_is_a_simulation_error(tmp_path, plate_fmu):
    # A GUID that does not match the binary: the FMU refuses to instantiate and says why.
    fmu = _rezip(
        plate_fmu,
        tmp_path / "guid.fmu",
        edit=lambda xml: xml.replace(
            "{5b0f8a3e-2d71-4c9b-9e44-7a1c3f60b2d8}", "{00000000-0000-0000-0000-000000000000}"
        ),
    )
    unit = FMUUnit(fmu, "plate")
    with pytest.raises(
        SimulationError,
        match=r"(?s)unit 'plate', t = 0 s: the FMU could not be instantiated.*"
        r"GUID does not match this binary",
    ):
        unit.setup(0.0)
    unit.terminate()
    assert not os.path.exists(unit._instance.unzipdir)


def test_terminate_after_a_fatal_python_error_leaves_the_interpreter_intact(integrator_fmu):
    # pythonfmu 0.7 drops its references to the model object when it reports a fatal error, and
    # again when the instance is freed: one reference too many, which crashes a later garbage
    # collection. Count the model object's references across terminate(), in a process of its own.
    script = f"""
import gc, sys
from cosim.fmu import FMUUnit
unit = FMUUnit({str(integrator_fmu)!r}, "integ")
unit.configure({{"fail_at": 0.0, "raise_bare": 1.0}})
unit.setup(0.0)
model = next(o for o in gc.get_objects() if type(o).__name__ == "IntegratorSlave")
try:
    unit.do_step(0.0, 1.0)
except Exception:
    pass
before = sys.getrefcount(model)
unit.terminate()
print(before - sys.getrefcount(model))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "0"), out.stderr[-2000:]
