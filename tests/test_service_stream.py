"""Output kind ``service``: the shipped live-twin scenario streams its run to a real server, and the
service stores exactly what the result file recorded at the streamed points."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("fastapi")
from cosim import scenario  # noqa: E402
from cosim.errors import ScenarioError  # noqa: E402
from service.db import Database  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
START_UNIX = 1_767_225_600.0


def test_bad_stream_settings_are_named_before_the_run(tmp_path):
    text = (
        (ROOT / "scenarios" / "live_twin.yaml")
        .read_text()
        .replace("temperature_degC: battery.T_cell", "temperature_degC: battery.T_nowhere")
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("../fmus/", str(ROOT / "fmus") + "/"))
    with pytest.raises(ScenarioError) as err:
        scenario.check(path)
    assert "outputs.streams[0].settings" in str(err.value) and "battery.T_nowhere" in str(err.value)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("service.twin") is None,
    reason="the live twin (service.twin) is not in this tree",
)
def test_the_live_twin_scenario_feeds_a_running_service(twin_service, tmp_path):
    server = twin_service
    key = server.new_key("stream")
    text = (ROOT / "scenarios" / "live_twin.yaml").read_text()
    text = text.replace("http://127.0.0.1:8000", server.url).replace(
        "interval_s: 10", f"interval_s: 10\n        start_unix: {START_UNIX}"
    )
    text = text.replace("../fmus/", str(ROOT / "fmus") + "/")
    (tmp_path / "live.yaml").write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "cosim.cli", "run", "live.yaml", "--duration", "9 h", "-o", "run.h5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "EVTWIN_API_KEY": key},
    )
    assert done.returncode == 0, done.stderr
    with server.client(key) as c:
        state = c.get("/vehicles/quickstart-car/state").json()
    db = Database(server.db_url)
    with db.transaction() as tx:
        rows = np.array(
            tx.all(
                "SELECT t, current_A, voltage_V, temperature_degC, speed_mps FROM samples "
                "WHERE fleet = 'stream' AND vehicle_id = 'quickstart-car' ORDER BY t"
            )
        )
    db.close()
    with h5py.File(tmp_path / "run.h5", "r") as f:
        t = f["time/main"][:]
        recorded = {
            name: f[f"signals/{name}"][:]
            for name in ("battery/I_terminal", "battery/V_terminal", "battery/T_cell", "vehicle/speed")
        }
    # The morning commute (07:30, 2134 s) streamed every 10 s, and the parked hours around it.
    assert 213 <= len(rows) <= 260
    at = np.searchsorted(t, rows[:, 0] - START_UNIX)
    assert np.array_equal(t[at], rows[:, 0] - START_UNIX)
    assert np.array_equal(recorded["battery/I_terminal"][at], rows[:, 1])
    assert np.array_equal(recorded["battery/V_terminal"][at], rows[:, 2])
    assert np.allclose(recorded["battery/T_cell"][at] - 273.15, rows[:, 3], atol=1e-9)
    assert np.array_equal(recorded["vehicle/speed"][at], rows[:, 4])
    assert state["samples_stored"] == len(rows) and state["last_sample_t"] == rows[-1, 0]
