"""`evtwin validate` refuses, before a run, everything the run would reject: each case asserts the
exit status, the message with file:line and key, and that no file was written or changed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cosim.cli import cli

ROOT = Path(__file__).parent.parent
QUICKSTART = (ROOT / "scenarios" / "quickstart.yaml").read_text(encoding="utf-8")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its content."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class _Edited(type(Path())):
    """A path that remembers the line of the edit."""

    edited_line = 0


@pytest.fixture
def quickstart(tmp_path, battery_fmu, monkeypatch):
    """A function writing the quickstart with one edit into an empty working folder; returns its path."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(battery_fmu, tmp_path / "BatteryTwin.fmu")

    def edit(old: str = "", new: str = "") -> Path:
        text = QUICKSTART.replace("../fmus/BatteryTwin.fmu", "BatteryTwin.fmu")
        assert old in text, old
        path = _Edited(tmp_path / "q.yaml")
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        path.edited_line = text[: text.index(old)].count("\n") + 1 + (new.count("\n") if "\n" in new else 0)
        return path

    return edit


def refused(path: Path, *expected: str, command: str = "validate", extra: tuple[str, ...] = ()) -> str:
    """Run ``command`` on ``path``: exit 2, each ``expected`` text in the output ({line}: the edited line)."""
    before = snapshot(path.parent)
    res = invoke(command, str(path), *extra)
    assert res.exit_code == 2, res.output
    line = getattr(path, "edited_line", 0)
    for text in expected:
        assert text.replace("{line}", str(line)) in res.output, res.output
    assert "Traceback" not in res.output
    assert snapshot(path.parent) == before  # nothing written, nothing changed
    return res.output


def test_the_quickstart_validates(quickstart):
    res = invoke("validate", str(quickstart()))
    assert res.exit_code == 0, res.output
    assert "ok: " in res.output and "warning" not in res.output


# Parameters against the ranges the FMU declares (min/max in modelDescription.xml) and built-in units'.
@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "SOC_init: 0.8",
            "SOC_init: 1.5",
            "q.yaml:{line} units.battery.parameters.SOC_init: found 1.5: outside "
            "SOC_init's declared range [0, 1]",
        ),
        (
            "SOC_init: 0.8",
            "SOC_init: 0.8\n      capacity_Ah: -5",
            "q.yaml:{line} units.battery.parameters.capacity_Ah: found -5: "
            "outside capacity_Ah's declared range [0.001, 100000] Ah",
        ),
        ("SOC_init: 0.8", "SOC_init: 0.8\n      capacity_Ah: 0", "capacity_Ah: found 0: outside"),
        (
            "T_init: {value: 25, unit: degC}",
            "T_init: 5000 degC",
            "q.yaml:{line} units.battery.parameters.T_init: "
            "found '5000 degC' (5273.15 K): outside T_init's declared range [200, 400] K",
        ),
        (
            "SOC_init: 0.8",
            "SOC_init: 0.8\n      n_series: -3",
            "n_series: found -3: outside n_series's declared range [1, 10000]",
        ),
        (
            "SOC_init: 0.8",
            "SOC_init: 0.8\n      n_series: 1.5",
            "q.yaml:{line} units.battery.parameters.n_series: found 1.5: expected a whole number",
        ),
        (
            "SOC_init: 0.8",
            "SOC_init: 0.8\n      n_series: 1e308",
            "n_series: found 1e+308: outside n_series's declared range",
        ),
        ("SOC_init: 0.8", "SOC_init: .nan", "SOC_init: found nan: expected a finite number"),
        (
            "power_limit: 7.4 kW",
            "power_limit: -7.4 kW",
            "q.yaml:{line} units.charger.parameters.power_limit: found "
            "'-7.4 kW' (-7400 W): outside power_limit's declared range [0, inf] W",
        ),
        (
            "target_soc: 0.9",
            "target_soc: 2",
            "q.yaml:{line} units.charger.parameters.target_soc: found 2: outside "
            "target_soc's declared range [0, 1]",
        ),
    ],
)
def test_parameters_outside_their_declared_range(quickstart, old, new, expected):
    refused(quickstart(old, new), expected)


def test_shared_values_outside_the_taking_parameter_range(quickstart):
    path = quickstart("experiment:", "shared: {n_series: -3}\nexperiment:")
    line = path.edited_line - 1  # the inserted line comes before the anchor
    refused(
        path,
        f"q.yaml:{line} shared.n_series: n_series = -3 does not fit parameter battery.n_series [1]: "
        "outside n_series's declared range [1, 10000]",
    )


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "duration: 1 d",
            "duration: -1 d",
            "q.yaml:{line} experiment.duration: found '-1 d', expected a duration "
            "> 0 and finite (found -86400 s)",
        ),
        (
            "duration: 1 d",
            "duration: 0",
            "q.yaml:{line} experiment.duration: found 0, expected a duration > 0",
        ),
        (
            "duration: 1 d",
            "duration: .nan",
            "q.yaml:{line} experiment.duration: found nan, expected a duration > 0",
        ),
        (
            "duration: 1 d",
            "duration: .inf",
            "q.yaml:{line} experiment.duration: found inf, expected a duration > 0",
        ),
        ("duration: 1 d", "duration: 1e400", "q.yaml:{line} experiment.duration: found inf, expected"),
        (
            "drive: {step: 1 s}",
            "drive: {step: 0}",
            "schedule.phases.drive.step: found 0, expected a duration > 0",
        ),
        (
            "drive: {step: 1 s}",
            "drive: {step: -5 s}",
            "q.yaml:{line} schedule.phases.drive.step: found '-5 s'",
        ),
        ("method: gauss_seidel", "method: gauss_seidel\n  step: 0", "q.yaml:{line} algorithm.step: found 0"),
        ("start: 0 s", "start: .nan", "q.yaml:{line} experiment.start: found nan, expected a finite time"),
    ],
)
def test_durations_and_steps_must_be_positive_and_finite(quickstart, old, new, expected):
    refused(quickstart(old, new), expected)


def test_a_tiny_step_is_refused_with_the_estimate_unless_forced(quickstart):
    path = quickstart("drive: {step: 1 s}", "drive: {step: 1e-9 s}")
    out = refused(
        path,
        "experiment.duration: the run would take 4.27e+12 macro steps",
        "more than 1e+09 macro steps is refused",
        "--force",
    )
    assert "wall time" in out and "TB of results" in out
    # `run` refuses it the same way, before creating the result file.
    refused(path, "refused", command="run", extra=("-o", str(path.parent / "r.h5")))


def test_a_long_run_gets_a_warning_with_the_estimate(quickstart):
    path = quickstart("duration: 1 d", "duration: 300 yr")
    res = invoke("validate", str(path))
    assert res.exit_code == 0, res.output
    assert (
        f"warning: q.yaml:{path.edited_line} experiment.duration: the run would take 5.08e+08 macro steps, "
        "about" in res.output
    )
    assert "h of wall time" in res.output


def test_command_line_duration_must_be_finite(quickstart):
    path = quickstart()
    for given in ("inf", "1e400", "nan", "-1", "0"):
        out = refused(path, "the duration must be > 0", command="run", extra=("--duration", given))
        assert "Invalid value" in out


def test_clock_times_and_units_are_explained_in_a_sentence(quickstart):
    refused(
        quickstart('"07:30", phase: drive', '"7.30am", phase: drive'),
        "q.yaml:{line} schedule.daily[0].at: found '7.30am', expected a 24-hour time of day 'HH:MM' from "
        "'00:00' "
        "to '23:59', e.g. '07:30'",
    )
    refused(
        quickstart("duration: 1 d", "duration: 1000 y"),
        "q.yaml:{line} experiment.duration: found '1000 y', expected a duration (unknown unit 'y'; did you "
        "mean "
        "'yr'? (units of this kind: s, ms, us, min, h, d, yr))",
    )
    refused(quickstart("power_limit: 7.4 kW", "power_limit: 7.4 kw"), "unknown unit 'kw'; did you mean 'kW'?")


def test_an_fmu_that_is_a_folder_is_named(quickstart, tmp_path):
    (tmp_path / "Folder.fmu").mkdir()
    refused(
        quickstart("fmu: BatteryTwin.fmu", "fmu: Folder.fmu"),
        "q.yaml:{line} units.battery.fmu: 'Folder.fmu' is a folder",
    )


def test_a_yaml_alias_bomb_is_refused(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nexperiment: {duration: 1 d}\n", encoding="utf-8")
    refused(path, "bomb.yaml:", "the file expands to more than 200,000 values once its YAML aliases")


WARNED = """\
experiment: {duration: 100 s}
units:
  count: {type: "cosim_units:Counter"}
  gain: {type: "cosim_units:Gain"}
  follow: {type: "cosim_units:Follower"}
  fixed: {type: "cosim_units:FixedStepCounter"}
connections:
  - {from: gain.y, to: follow.u}
  - {from: follow.y, to: gain.u}
schedule:
  phases: {drive: {step: 1 s}, park: {step: 60 s}}
  default: park
  daily: [{at: "07:00", phase: drive, for: 1 h}]
algorithm:
  loop: {solver: fixedpoint}
events:
  - {name: many, signal: count.n, above: 50}
"""


def test_runtime_warnings_are_printed_by_validate_and_by_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "w.yaml"
    path.write_text(WARNED, encoding="utf-8")
    expected = [
        "warning: w.yaml:6 units.fixed: unit 'fixed' cannot vary its communication step (it says so), but "
        "the "
        "schedule steps it with 1 s and 60 s",
        "warning: w.yaml:16 events: events (many) are detected at the next communication point, not located "
        "exactly: count, follow, fixed cannot save and restore state",
        "warning: w.yaml:15 algorithm.loop: algebraic loop gain -> follow -> gain: follow cannot save and "
        "restore state, so the loop is not iterated",
    ]
    res = invoke("validate", str(path))
    assert res.exit_code == 0, res.output
    for text in expected:
        assert text in res.output, res.output
    # The run prints the same warnings (its own, from the master and the runner, without file:line).
    res = invoke("run", str(path), "-q", "--duration", "10 s", "-o", str(tmp_path / "r.h5"))
    assert res.exit_code == 0, res.output
    for text in expected:
        assert text.split(": ", 1)[1].split(": ", 1)[1] in res.output, res.output


def test_experiment_files_validate_as_experiments():
    res = invoke("validate", *map(str, sorted((ROOT / "scenarios").glob("*.yaml"))))
    assert res.exit_code == 0, res.output
    assert "charging_experiment.yaml (charging experiment, 6 policies" in res.output


def test_experiment_file_problems_carry_file_and_line(tmp_path):
    for name in ("charging_commute.yaml",):
        shutil.copy(ROOT / "scenarios" / name, tmp_path / name)
    shutil.copytree(ROOT / "scenarios" / "data", tmp_path / "data")
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        "scenario: charging_commute.yaml\ndeparture: '07:30'\ntarget_soc: 0.9\n"
        "policies:\n  a: {type: cccv_charger}\n  b: {type: cccv_charger, parameters: {power_limit: -3 kW}}\n",
        encoding="utf-8",
    )
    text = (ROOT / "scenarios" / "charging_commute.yaml").read_text(encoding="utf-8")
    (tmp_path / "charging_commute.yaml").write_text(text.replace("../fmus/", str(ROOT / "fmus") + "/"))
    out = refused(exp, "exp.yaml:6 policies.b: charging_commute.yaml:")
    assert "power_limit: found '-3 kW' (-3000 W): outside power_limit's declared range" in out


def test_names_and_signals_are_explained_in_a_sentence(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(
        "experiment: {duration: 100 s}\n"
        "units:\n"
        "  my-source: {type: table, settings: {data: {t: [0, 100], P: [0, 100]}, outputs: {P: {unit: W}}}}\n"
        "events:\n"
        "  - {name: 1st, signal: store, above: 1}\n",
        encoding="utf-8",
    )
    out = refused(
        path,
        "n.yaml:3 units.my-source: found 'my-source', expected a name of letters, digits and '_' "
        "that does not start with a digit, e.g. 'battery_2'",
        "n.yaml:5 events[0].signal: found 'store', expected 'unit.port': a unit's name, a dot and a "
        "port name, without spaces, e.g. 'battery.SOC'",
    )
    assert "pattern" not in out
    # Editors still get the patterns from the JSON Schema.
    schema = invoke("schema").output
    assert "^[A-Za-z_][A-Za-z0-9_]*$" in schema
