"""Cycle life of the shipped real cells from their first 100 cycles."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from ml import cycle_life

pytest.importorskip("sklearn")


def test_the_shipped_files_are_the_ones_the_provenance_names():
    text = (cycle_life.DATA / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", text, re.M))
    assert set(listed) == {"attia2020_validation_Qn.csv", "attia2020_validation_index.csv"}
    for name, digest in listed.items():
        assert hashlib.sha256((cycle_life.DATA / name).read_bytes()).hexdigest() == digest


def test_the_capacity_curves_end_at_the_published_cycle_lives():
    # the first cycle below 80 % of nominal against Attia et al.'s final cycle lives
    d = cycle_life.load()
    below = np.nan_to_num(d["capacity"], nan=0.0) < cycle_life.END_OF_LIFE_AH
    first_below = below.argmax(axis=1) + 1
    assert np.sum(np.abs(first_below - d["life"]) <= 3) >= 42
    assert len(d["life"]) == 45 and np.bincount(d["protocol"]).tolist() == [5] * 9


def test_the_first_100_cycles_predict_much_better_than_the_mean_life():
    result = cycle_life.evaluate()
    for split in ("leave_one_cell_out", "leave_one_protocol_out"):
        s = result[split]
        assert s["mape_first_100_cycles"] < 0.7 * s["mape_training_mean"]
        assert 0 < s["mape_first_100_cycles"] < 25.0


def test_cycle_life_command_plots_the_cells(tmp_path):
    from click.testing import CliRunner

    from ml.cli import ml

    plot = tmp_path / "cells.png"
    done = CliRunner().invoke(ml, ["cycle-life", "--plot", str(plot)])
    assert done.exit_code == 0, done.output
    assert "leave one protocol out" in done.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
