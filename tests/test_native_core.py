"""The C stepping core against the Python loops: the same values, bit for bit, on the C FMUs.

A cooling plate (heat in, coolant out) and its coolant loop (a radiator to ambient) close a thermal
loop of two FMI 2.0 FMUs. Each case runs three times (the C core, the generated Python loop, the
interpreter) and records every signal at every point to HDF5: the files must agree exactly, and
the run must reach the analytic steady state.
"""

from __future__ import annotations

import numpy as np
import pytest
from cosim_units import Integrator

from cosim import Connection, Master, MasterSettings, Segment
from cosim.errors import EvtwinError, FMUCallError, SimulationError
from cosim.fmu import FMUUnit
from cosim.master import native
from cosim.results import OutputGroup, ResultWriter, read_result
from cosim.sources import Constant

pytest_plugins = ["fmu_fixtures"]

SIGNALS = [
    "plate.plate.T",
    "plate.coolant_out.T",
    "loop.coolant_supply.T",
    "loop.Q_radiator",
    "loop.coolant_return.T",
]
PATHS = {"C": dict(native=True), "python": dict(native=False), "interpreter": dict(compile=False)}


def thermal_loop(
    c_fmus,
    *,
    method="gauss_seidel",
    every=None,
    transfer="last",
    heat=2000.0,
    params=None,
    extra=None,
    **flags,
):
    units = {
        "heat": Constant(value=heat, unit="W"),
        "plate": FMUUnit(c_fmus["CoolingPlate"], "plate"),
        "loop": FMUUnit(c_fmus["CoolantLoop"], "loop"),
        **(extra or {}),
    }
    units["plate"].configure(params or {})
    conns = [
        Connection("heat.value", "plate.thermal_port.Q_flow"),
        Connection("plate.coolant_out.T", "loop.coolant_return.T", transfer=transfer),
        Connection("loop.coolant_supply.T", "plate.coolant_in.T", delay=0 if method == "jacobi" else 1),
    ]
    if extra:
        conns.append(Connection("loop.Q_radiator", "x.u"))
    settings = MasterSettings(method=method)
    return Master(units, conns, settings=settings, every=every or {}, observe=SIGNALS, **flags)


def run_recorded(master, path, timeline):
    writer = ResultWriter(path, [OutputGroup("main", SIGNALS)], block=512, buffer_bytes=64 * 1024)
    try:
        stats = master.run(timeline, observers=[writer])
    except BaseException:
        writer.close("failed")
        raise
    writer.close("complete", final=(stats.end, master.outs, master.ins))
    return read_result(path)


TIMELINE = [Segment(0.0, 1800.0, 1.0, "a"), Segment(1800.0, 3600.0, 1.0, "b")]
CASES = {
    "gauss-seidel": {},
    "jacobi": {"method": "jacobi"},
    "jacobi, loop every 5, mean": {"method": "jacobi", "every": {"loop": 5}, "transfer": "mean"},
    "gauss-seidel, loop every 7 in phase b, mean": {"every": {"loop": {"b": 7}}, "transfer": "mean"},
}


@pytest.mark.parametrize("case", CASES)
def test_the_c_core_gives_the_python_loops_values_bit_for_bit(tmp_path, c_fmus, case):
    results = {}
    for name, flags in PATHS.items():
        master = thermal_loop(c_fmus, **CASES[case], **flags)
        results[name] = run_recorded(master, tmp_path / f"{name}.h5", TIMELINE)
        used_c = any(core is not None for core in master._cores.values())
        assert used_c == (name == "C"), native.unavailable
    for sig in SIGNALS:
        for name in ("python", "interpreter"):
            np.testing.assert_array_equal(results["C"][sig].time, results[name][sig].time)
            np.testing.assert_array_equal(results["C"][sig].values, results[name][sig].values, err_msg=name)
    assert len(results["C"]["plate.plate.T"].time) == 3601
    # Steady state of the closed loop: the radiator rejects what the plate takes in, Q = UA (T_s - T_amb),
    # with the loop's return-to-supply drop carrying it: m_l c_l (T_r - T_s) = UA (T_s - T_amb),
    # T_r - T_s = Q / (m_p c_p) across the plate (m_p = rho V_flow).
    m_p_cp = 1060.0 * 8.0e-3 / 60.0 * 3500.0
    t_supply = 25.0 + 0.14133333333333334 * 3500.0 * 2000.0 / (m_p_cp * 200.0)  # = 25 + Q / UA: the same flow
    assert results["C"]["loop.coolant_supply.T"].values[-1] == pytest.approx(t_supply, rel=1e-6)


def test_a_unit_without_a_compiled_step_keeps_the_segment_in_python(tmp_path, c_fmus):
    master = thermal_loop(c_fmus, extra={"x": Integrator()})
    master.run([Segment(0.0, 100.0, 1.0)])
    assert all(core is None for core in master._cores.values())


@pytest.mark.parametrize(("engine", "loop"), [("c", "C"), ("python", "python"), ("interpreter", "interpreter")])
def test_evtwin_engine_picks_the_loop_unless_the_master_is_told(monkeypatch, c_fmus, engine, loop):
    monkeypatch.setenv("EVTWIN_ENGINE", engine)
    timeline = [Segment(0.0, 10.0, 1.0)]
    master = thermal_loop(c_fmus)
    master.run(timeline)
    used = "C" if any(master._cores.values()) else "python" if master._runners else "interpreter"
    assert used == loop, native.unavailable
    told = thermal_loop(c_fmus, native=True)  # what the caller says wins over the environment
    told.run(timeline)
    assert any(told._cores.values()) or engine == "interpreter"  # compile=False there: no C without it


def test_a_wrong_evtwin_engine_is_named_with_the_choices(monkeypatch, c_fmus):
    monkeypatch.setenv("EVTWIN_ENGINE", "fortran")
    with pytest.raises(EvtwinError, match=r"EVTWIN_ENGINE='fortran': use one of c, python, interpreter"):
        thermal_loop(c_fmus)


@pytest.mark.parametrize("name", ["C", "python"])
def test_a_failing_fmu_stops_both_loops_at_the_same_step_with_its_log(tmp_path, c_fmus, name):
    master = thermal_loop(c_fmus, params={"fail_at_time": 1234.0}, **PATHS[name])
    message = r"(?s)t = 1234 s: fmi2DoStep returned status 3.*diverged at t = 1234"
    with pytest.raises(FMUCallError, match=message):
        run_recorded(master, tmp_path / "r.h5", TIMELINE)
    result = read_result(tmp_path / "r.h5")
    assert result["plate.plate.T"].time[-1] == 1234.0  # every row up to the failing step


@pytest.mark.parametrize("name", ["C", "python"])
def test_an_output_leaving_its_declared_range_is_reported_by_both_loops_alike(tmp_path, c_fmus, name):
    # 20 kW into the plate: its surface starts at 25 + 20000 / 250 = 105 degC and heads for 251 degC
    # (the steady state above); it passes its declared maximum, 150 degC, on the way.
    master = thermal_loop(c_fmus, heat=20000.0, **PATHS[name])
    message = r"output 'plate.T' = 150\.\d+ degC is outside its range \[-50, 150\]"
    with pytest.raises(SimulationError, match=message):
        master.run(TIMELINE)


SCENARIO = """\
experiment: {{duration: 2 h}}
units:
  heat: {{type: constant, settings: {{outputs: {{Q: {{value: 2, unit: kW}}}}}}}}
  plate: {{fmu: {plate}}}
  loop: {{fmu: {loop}, every: 3}}
connections:
  - {{from: heat.Q, to: plate.thermal_port.Q_flow}}
  - {{from: plate.coolant_out.T, to: loop.coolant_return.T, transfer: mean}}
  - {{from: loop.coolant_supply.T, to: plate.coolant_in.T, delay: 1}}
algorithm: {{step: 10 s}}
summary:
  - {{label: supply at the end, signal: loop.coolant_supply.T, reduce: final, unit: degC}}
  - {{label: hottest plate, signal: plate.plate.T, reduce: max, unit: degC}}
  - {{label: heat rejected, signal: loop.Q_radiator, reduce: integral, unit: kWh}}
  - {{label: mean return, signal: loop.coolant_return.T, reduce: mean, unit: degC}}
"""


def test_a_scenario_run_with_a_summary_goes_through_the_c_core_with_the_same_file_and_summary(
    tmp_path, c_fmus, monkeypatch
):
    from cosim import scenario

    path = tmp_path / "loop.yaml"
    path.write_text(
        SCENARIO.format(plate=c_fmus["CoolingPlate"], loop=c_fmus["CoolantLoop"]), encoding="utf-8"
    )
    used = []
    real = native.core_for
    monkeypatch.setattr(native, "core_for", lambda *a: used.append(real(*a)) or used[-1])
    c_run = scenario.run(path, output=tmp_path / "c.h5")
    assert used and all(core is not None for core in used)
    monkeypatch.setattr(native, "core_for", lambda *a: None)
    python_run = scenario.run(path, output=tmp_path / "python.h5")
    assert c_run.summary == python_run.summary
    a, b = read_result(tmp_path / "c.h5"), read_result(tmp_path / "python.h5")
    assert sorted(a.signals) == sorted(b.signals)
    for sig in a.signals:
        np.testing.assert_array_equal(a[sig].values, b[sig].values, err_msg=sig)
    # Energy: the heat rejected over 2 h is the 4 kWh put in less what warmed the loop and the plate.
    rejected = dict((label, v) for label, v, _ in c_run.summary)["heat rejected"]
    stored = 5.0 * 3500.0 * (a["loop.coolant_supply.T"].values[-1] - 25.0) + 2.0 * 3500.0 * (
        a["plate.coolant_out.T"].values[-1] - 25.0
    )  # J: the loop's 5 kg and the plate's 2 kg of coolant, warmed from 25 degC
    assert rejected == pytest.approx(4.0 - stored / 3.6e6, rel=0.01)
