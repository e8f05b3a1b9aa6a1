"""``evtwin experiment charging``: the shipped experiment, short, through the command line and the engine."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from control.experiment import fade_per_year, load_experiment, policy_scenario, projected_years_to, years_to
from cosim.cli import cli
from cosim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def experiment(tmp_path, battery_fmu):
    """The shipped experiment and its scenario, copied out of the work tree, with the session's FMU; the
    battery starts at SOC 0.35 so that the chargers for the trips charge on the first evening."""
    text = (SCENARIOS / "charging_commute.yaml").read_text(encoding="utf-8")
    text = text.replace("fmu: ../fmus/BatteryTwin.fmu", f"fmu: {battery_fmu}")
    assert "SOC_init: 0.9" in text
    text = text.replace("SOC_init: 0.9", "SOC_init: 0.35")
    (tmp_path / "charging_commute.yaml").write_text(text, encoding="utf-8")
    path = tmp_path / "charging_experiment.yaml"
    path.write_text((SCENARIOS / "charging_experiment.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_two_days_of_charging_to_90_percent_and_for_the_trips(experiment, tmp_path):
    from cosim.results import read_result

    out = tmp_path / "out"
    policies = ["cccv_plug_in", "charge_to_need", "mpc"]
    args = ["experiment", "charging", str(experiment), "--duration", "2 d", "--json", "-o", str(out)]
    result = CliRunner().invoke(cli, args + [x for p in policies for x in ("-p", p)])
    assert result.exit_code == 0, result.output
    rows = {r["policy"]: r for r in json.loads(result.output)}
    assert list(rows) == policies
    for r in rows.values():
        for key in ("capacity_fade_per_year", "resistance_growth_per_year", "missed_departures", "stranded",
                    "grid_energy_kWh", "cost", "mean_charge_hours", "peak_cell_temp_degC"):
            assert key in r
        # Monday 00:00 to Wednesday 00:00: one plug-in session (Monday evening) and its departure; the car
        # comes home from Tuesday's trips only after the run.
        assert r["departures"] == 1 and r["missed_departures"] == 0 and r["stranded"] == 0
        assert r["simulated_days"] == pytest.approx(2.0)
        assert 20.0 < r["peak_cell_temp_degC"] < 45.0
        assert r["years_to_80"] is None  # two days are too short to project
    # SOC at Tuesday 07:00: 90 % at plug-in; the reserve (20 %) plus Tuesday's 57 km with 30 % margin
    # (about 12 % of the pack) for the others.
    soc = {}
    for name in policies:
        trend = read_result(out / f"{name}.h5")["battery.SOC"]
        soc[name] = float(np.interp(31 * 3600.0, trend.time, trend.values))
    assert soc["cccv_plug_in"] == pytest.approx(0.9, abs=2e-3)
    for name in ("charge_to_need", "mpc"):
        assert 0.28 < soc[name] < 0.38, name
    assert soc["mpc"] == pytest.approx(soc["charge_to_need"], abs=0.01)
    # Less SOC held, less calendar fade; the MPC waits, the heuristic charges at plug-in.
    assert rows["mpc"]["capacity_fade"] <= rows["charge_to_need"]["capacity_fade"]
    assert rows["charge_to_need"]["capacity_fade"] < rows["cccv_plug_in"]["capacity_fade"]
    # The tariff: the heuristic charges at 18:20, in the 0.35 per kWh evening; the MPC after midnight.
    need = rows["charge_to_need"]
    assert need["cost"] / need["grid_energy_kWh"] == pytest.approx(0.35, rel=1e-9)
    assert rows["mpc"]["cost"] / rows["mpc"]["grid_energy_kWh"] < 0.15
    # CC-CV at plug-in draws 7.4 kW at the pack throughout: the loss share of the ADAC curve there,
    # 1 - (0.886 + (7.4 - 3.1) / (10.153 - 3.1) * 0.037) = 9.1 % (pack powers of the 3.5 and 11 kW points).
    plug_in = rows["cccv_plug_in"]
    eta = 0.886 + (7.4 - 3.5 * 0.886) / (11.0 * 0.923 - 3.5 * 0.886) * (0.923 - 0.886)
    assert plug_in["losses_kWh"] / plug_in["grid_energy_kWh"] == pytest.approx(1.0 - eta, rel=0.01)
    assert rows["mpc"]["mpc_solves"] > 5  # (fallbacks depend on the machine's load: not asserted)
    for name in ("table.csv", "table.json", "soc_soh.png", "mpc.h5"):
        assert (out / name).is_file(), name


def test_each_policy_is_wired_to_the_battery_and_given_the_pack(experiment):
    from cosim.scenario.plan import make_plan

    exp = load_experiment(experiment)
    source, model = policy_scenario(exp, "mpc")
    unit = model.units["charger"]
    assert unit.type == "mpc_charger"
    assert unit.settings["departure"] == {"weekdays": "07:30", "sat": "10:00"}
    assert float(unit.parameters["target_soc"]) == 0.9
    # The pack: the vehicle preset's (60.5 kWh at 339.2 V, 106s1p, LFP), the same for battery and charger.
    plan = make_plan(source, model)
    for name in ("battery", "charger"):
        params = plan.units[name].parameters
        assert params["capacity_Ah"] == pytest.approx(60.5e3 / 339.2, rel=1e-12)
        assert (params["n_series"], params["n_parallel"], params["parameter_set"]) == (106, 1, "lfp_220ah")
    wires = {(c.source, c.to, c.delay) for c in model.connections}
    assert ("battery.T_cell", "charger.T_cell", 1) in wires
    assert ("battery.SOC", "charger.SOC", 1) in wires
    assert ("charger.I_charge", "battery.I_charge", 0) in wires
    assert ("schedule.charge", "charger.plugged", 0) in wires
    source, model = policy_scenario(exp, "cccv_timer")
    assert model.units["charger"].settings["mode"] == "timer"
    charger = make_plan(source, model).units["charger"].parameters
    assert (charger["capacity_Ah"], charger["n_parallel"]) == (pytest.approx(60.5e3 / 339.2), 1)
    assert not any(c.to == "charger.T_cell" for c in model.connections)


def test_bad_experiment_files_are_named(tmp_path, experiment):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: charging_commute.yaml\ndeparture: '07:30'\npolicy: {}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad.yaml:3: unknown key 'policy'; did you mean 'policies'\?"):
        load_experiment(bad)
    bad.write_text(
        "scenario: nowhere.yaml\ndeparture: '7h'\npolicies: {a: {settings: {}}}\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(bad)
    text = str(err.value)
    assert "bad.yaml:1 scenario: scenario file" in text and "does not exist" in text
    assert "bad.yaml:2 departure: departure: expected a clock time 'HH:MM', got '7h'" in text
    assert "bad.yaml:3 policies.a: expected {type: ..., settings: ..., parameters: ...}" in text
    bad.write_text(
        "scenario: charging_commute.yaml\ndeparture: '07:30'\n"
        "policies: {t: {type: cccv_charger, settings: {mod: timer}}}\n",
        encoding="utf-8",
    )
    exp = load_experiment(bad)
    expected = r"bad.yaml:3 policies.t.settings.mod: unknown setting 'mod' of unit type 'cccv_charger'; did you "
    with pytest.raises(ScenarioError, match=expected + r"mean 'mode'\? \(settings: mode, departure, "):
        policy_scenario(exp, "t")


def test_projected_years_to_80_percent_follow_the_power_law():
    import numpy as np

    days = np.arange(1, 366) * 86400.0
    fade = 0.012 * (days / (365 * 86400.0)) ** 0.6  # 1.2 % in the first year, exponent 0.6
    expected = (0.2 / 0.012) ** (1 / 0.6)
    assert years_to(0.8, days, fade) == pytest.approx(expected, rel=1e-9)


def test_years_to_80_percent_are_not_projected_from_less_than_a_year():
    import numpy as np

    year = 365 * 86400.0
    days = np.arange(1, 31) * 86400.0  # 30 days of a law that reaches 80 % after (0.2 / 0.012)^(1/0.526) years
    assert projected_years_to(0.8, 30 / 365, days, 0.012 * (days / year) ** 0.526) is None
    whole = np.arange(1, 366) * 86400.0
    assert projected_years_to(0.8, 1.0, whole, 0.012 * (whole / year) ** 0.526) == pytest.approx(
        (0.2 / 0.012) ** (1 / 0.526), rel=1e-9)


def test_fade_per_year_of_a_short_run_is_projected_not_extrapolated():
    import numpy as np

    year = 365 * 86400.0
    days = np.arange(1, 29) * 86400.0  # four weeks of a law with 1.2 % in the first year
    fade = 0.012 * (days / year) ** 0.526
    assert fade_per_year(fade[-1], 28 / 365, days, fade) == pytest.approx(0.012, rel=1e-9)
    assert fade[-1] * 365 / 28 > 3 * 0.012  # what a straight line through four weeks would claim
    whole = np.arange(1, 731) * 86400.0
    assert fade_per_year(0.02, 2.0, whole, 0.012 * (whole / year) ** 0.526) == 0.01  # the mean over two years


NAMED = {"cccv_plug_in", "cccv_timer", "charge_to_need", "mpc", "rl"}


@pytest.mark.parametrize(
    "name, policies",
    [
        ("charging_experiment", NAMED | {"mpc_weekly_top_up"}),
        ("charging_experiment_hot", NAMED),
        ("charging_experiment_low_mileage", NAMED),
        ("charging_experiment_long_commute", {"cccv_plug_in", "cccv_timer", "mpc"}),
        ("charging_experiment_ride_hail", NAMED),
    ],
)
def test_shipped_experiments_and_their_scenarios_check(name, policies, tmp_path, battery_fmu):
    from cosim import scenario

    exp = load_experiment(SCENARIOS / f"{name}.yaml")
    text = exp.scenario.read_text(encoding="utf-8")
    text = text.replace("fmu: ../fmus/BatteryTwin.fmu", f"fmu: {battery_fmu}")
    copy = tmp_path / exp.scenario.name
    copy.write_text(text, encoding="utf-8")
    scenario.check(copy)
    assert set(exp.policies) == policies


def test_validate_warns_of_departures_the_schedule_does_not_end_a_charge_window_at(tmp_path, battery_fmu):
    from control.experiment_check import CHARGING_EXPERIMENT

    text = (SCENARIOS / "charging_ride_hail.yaml").read_text(encoding="utf-8")
    (tmp_path / "charging_ride_hail.yaml").write_text(
        text.replace("fmu: ../fmus/BatteryTwin.fmu", f"fmu: {battery_fmu}"), encoding="utf-8"
    )
    shipped = (SCENARIOS / "charging_experiment_ride_hail.yaml").read_text(encoding="utf-8")
    path = tmp_path / "exp.yaml"
    path.write_text(shipped, encoding="utf-8")
    assert CHARGING_EXPERIMENT.check(path)[1] == []  # every shift's departure ends its break
    # The schedule's breaks end at 06:00, 11:15 and 16:30: 11:00 falls inside one, 17:00 inside a shift.
    line = 'departure: {weekdays: ["06:00", "11:15", "16:30"], sat: ["06:00", "11:15", "16:30"]}'
    assert line in shipped
    moved = shipped.replace(line, 'departure: {weekdays: ["06:00", "11:00", "17:00"]}')
    path.write_text(moved, encoding="utf-8")
    warnings = CHARGING_EXPERIMENT.check(path)[1]
    assert ("exp.yaml:10 departure: the departure mon 11:00 falls inside a 'charge' window, which lasts "
            "15 min longer: the car stays plugged in after it leaves") in warnings
    assert ("exp.yaml:10 departure: the departure fri 17:00 does not end a 'charge' window: the "
            "schedule's phase just before it is 'drive'") in warnings
    assert len(warnings) == 10  # two of each weekday's three


@pytest.mark.slow
def test_sigterm_stops_the_workers_and_leaves_their_files_readable(experiment, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import h5py

    out = tmp_path / "out"
    args = [sys.executable, "-m", "cosim.cli", "experiment", "charging", str(experiment),
            "--duration", "365 d", "-j", "2", "-p", "cccv_plug_in", "-p", "cccv_timer", "-o", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    files = [out / "cccv_plug_in.h5", out / "cccv_timer.h5"]
    deadline = time.monotonic() + 300.0
    while not all(f.exists() for f in files) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == proc.pid]
    assert len(children) >= 2  # the workers (and the progress queue's manager)
    proc.send_signal(signal.SIGTERM)  # to the command alone, as a service manager sends it
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM
    said = f"interrupted (SIGTERM): each policy's result file holds what it ran, in {out}"
    assert err.strip().splitlines()[-1] == said
    assert "Traceback" not in err
    time.sleep(0.5)
    assert [c for c in children if Path(f"/proc/{c}").exists() and _state(c) != "Z"] == []  # none runs on
    for f in files:
        with h5py.File(f, "r") as h5:
            assert h5.attrs["status"] in (b"interrupted", "interrupted")


def _parent(proc_dir: Path) -> int:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
