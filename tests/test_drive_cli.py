"""``evtwin vehicles`` and ``evtwin drive`` through the real command line group."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cosim.cli import cli


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_vehicles_json_lists_presets_with_required_keys(runner):
    result = runner.invoke(cli, ["vehicles", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert isinstance(rows, list) and len(rows) >= 12
    for row in rows:
        assert {"id", "name", "chemistry", "battery_kWh"} <= set(row)
        assert isinstance(row["battery_kWh"], float) and row["chemistry"]
    assert "model3_rwd_lfp" in {r["id"] for r in rows}


def test_vehicles_table_and_one_preset_with_basis(runner):
    table = runner.invoke(cli, ["vehicles"])
    assert table.exit_code == 0 and "atto3" in table.output
    one = runner.invoke(cli, ["vehicles", "atto3", "--json"])
    data = json.loads(one.output)
    assert data["values"]["chemistry"] == "LFP (Blade)"
    assert "km77" in data["basis"]["chemistry"]


def test_drive_json_has_the_consumption_keys(runner):
    result = runner.invoke(cli, ["drive", "model3_rwd_lfp", "udds", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"wh_per_km_battery", "wh_per_km_wall", "distance_km", "regen_kWh"} <= set(out)
    assert out["distance_km"] == pytest.approx(11.990, abs=0.0005)
    assert out["wh_per_km_wall"] == pytest.approx(out["wh_per_km_battery"] / out["charge_efficiency"])
    assert out["regen_kWh"] > 0


def test_drive_epa_reports_the_label_and_the_official_figure(runner):
    out = json.loads(runner.invoke(cli, ["drive", "ioniq5_awd", "epa", "--json"]).output)
    assert out["epa_label_Wh_per_km"] == pytest.approx(out["wh_per_km_wall"] / 0.7)
    assert out["official_Wh_per_km"] == 214.0
    assert abs(out["deviation"]) < 0.10


def test_drive_prints_a_summary_with_charging_losses(runner):
    result = runner.invoke(cli, ["drive", "atto3", "wltc", "--ambient-degC", "-5"])
    assert result.exit_code == 0, result.output
    assert "at the wall" in result.output and "charging losses" in result.output
    assert "official figure" in result.output


def test_colder_ambient_costs_more(runner):
    mild = json.loads(runner.invoke(cli, ["drive", "zoe", "udds", "--json"]).output)
    cold = json.loads(runner.invoke(cli, ["drive", "zoe", "udds", "--json", "--ambient-degC", "-10"]).output)
    assert cold["wh_per_km_battery"] > mild["wh_per_km_battery"] + 50


def test_drive_errors_exit_2_with_a_message(runner):
    result = runner.invoke(cli, ["drive", "tesla", "udds"])
    assert result.exit_code == 2
    assert "error: unknown vehicle preset 'tesla'; did you mean 'model3_rwd_lfp'" in result.output
    result = runner.invoke(cli, ["drive", "zoe", "nedcc"])
    assert result.exit_code == 2 and "did you mean 'nedc'" in result.output
