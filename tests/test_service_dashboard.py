"""The dashboard in a real browser (headless Debian Chromium through Selenium and chromedriver): it
loads from the server with no outside resource, takes a key, shows the fleet, and its numbers and
plots follow the telemetry that arrives.

``EVTWIN_DASHBOARD_SCREENSHOT=path.png`` keeps the page's screenshot (the one in docs/service.md).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from service_server import PACK, T0, samples  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("selenium") is None, reason="selenium is not installed"),
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER),
        reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("service.twin") is None,
        reason="the live twin (service.twin) is not in this tree",
    ),
]


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _drive_day(n: int, t0: float, soc_drop_per_sample: float) -> list[dict]:
    """A discharge at 0.5 C of the test pack, warming up: what a drive sends."""
    out = samples(n, t0=t0, dt=10.0, current_A=110.0)
    for i, s in enumerate(out):
        s["voltage_V"] = 106 * (3.30 - 0.2 * i * soc_drop_per_sample) - 110.0 * 0.0005 * 106
        s["temperature_degC"] = 25.0 + 0.02 * i
    return out


def test_dashboard_shows_the_fleet_and_follows_new_telemetry(browser, twin_service, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = twin_service
    key = server.new_key("demo")
    with server.client(key) as c:
        for vid, soc in (("bus-1", 0.9), ("car-7", 0.6)):
            assert c.put(f"/vehicles/{vid}", json={"pack": PACK, "soc_init": soc}).status_code == 201
        assert (
            c.post("/vehicles/bus-1/telemetry", json={"samples": _drive_day(60, T0, 0.003)}).status_code
            == 200
        )

        browser.get(server.url + "/")
        browser.find_element(By.ID, "key").send_keys(key)
        browser.find_element(By.ID, "connect").click()
        wait = WebDriverWait(browser, 30)

        def text(css: str) -> str | None:
            # Read in one script call: the page re-renders the table at every poll.
            return browser.execute_script("return document.querySelector(arguments[0])?.textContent", css)

        samples_cell, soc_cell = 'tr[data-vehicle="bus-1"] td.samples', 'tr[data-vehicle="bus-1"] td.soc'
        wait.until(lambda d: text(samples_cell) == "60")
        soc_before = text(soc_cell)
        browser.execute_script("document.querySelector('tr[data-vehicle=\"bus-1\"]').click()")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plot-soc canvas"))
        wait.until(lambda d: "forecast" in (text("#forecast-status") or "").lower())

        more = _drive_day(120, T0 + 600.0, 0.003)
        assert c.post("/vehicles/bus-1/telemetry", json={"samples": more}).status_code == 200
        wait.until(lambda d: text(samples_cell) == "180")
        state = c.get("/vehicles/bus-1/state").json()
        soc_text = f"{100 * state['soc']:.1f} %"
        wait.until(lambda d: (text(soc_cell) or "").startswith(soc_text))
        assert not soc_before.startswith(soc_text)  # the number on the page changed with the data
        # The plots hold every state the service kept (one a minute of data), none twice.
        kept = c.get("/vehicles/bus-1/history").json()
        wait.until(lambda d: d.execute_script("return series.t.length") == len(kept))
        assert browser.execute_script("return series.t") == [s["last_sample_t"] for s in kept]
        shot = Path(os.environ.get("EVTWIN_DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        # No script error (a 503 of the forecast is the network's, and the page shows it).
        logs = browser.get_log("browser") if hasattr(browser, "get_log") else []
        assert not [e for e in logs if e.get("level") == "SEVERE" and e.get("source") != "network"], logs
