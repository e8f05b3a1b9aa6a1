"""Fuzzing the twin service's OpenAPI schema (schemathesis) against a real server finds no server error.

Bounded: a fixed number of generated requests per operation, derandomised so that a run repeats.
"""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from service_server import PACK, samples  # noqa: E402


@pytest.fixture(scope="module")
def fuzzed(twin_service):
    key = twin_service.new_key("fuzz")
    with twin_service.client(key) as c:
        # A vehicle with data, so that the fuzzer's requests reach more than 404s.
        if c.put("/vehicles/a", json={"pack": PACK}).status_code == 201:
            c.post("/vehicles/a/telemetry", json={"samples": samples(20)})
    twin_service.fuzz_key = key
    return twin_service


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    return schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")


@pytest.mark.slow
def test_no_request_makes_a_server_error(api_schema, fuzzed):
    errors, statuses = [], []
    for found in api_schema.get_all_operations():
        operation = found.ok()

        @given(operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            response = case.call(headers={"X-API-Key": fuzzed.fuzz_key}, timeout=60)
            statuses.append(response.status_code)
            if response.status_code == 503 and case.path.endswith("/forecast"):
                return  # no forecaster configured: a documented answer, not an error
            if response.status_code >= 500:
                errors.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
                )

        call()
    assert not errors, "\n".join(errors[:10])
    # The fuzzer got past the key and reached the routes' own answers.
    assert sum(200 <= s < 300 for s in statuses) >= 10 and 401 not in statuses
    print(sorted(Counter(statuses).items()))


@pytest.mark.slow
def test_any_telemetry_within_the_physical_ranges_is_taken(fuzzed):
    """Batches of arbitrary in-range samples reach the twin itself (the schema fuzzer's random ids rarely
    name a vehicle): every one is stored, or refused as a duplicate or too late, never a server error."""
    from hypothesis import strategies as st

    from service.samples import FIELDS

    def value(name):
        lo, hi, _, required = FIELDS[name]
        v = st.floats(lo, hi, allow_nan=False)
        return v if required else st.none() | v

    sample = st.fixed_dictionaries({name: value(name) for name in FIELDS if name != "t"})
    gaps = st.lists(st.floats(0.0, 7200.0, allow_nan=False), min_size=1, max_size=15)
    outcomes = []
    with fuzzed.client(fuzzed.fuzz_key) as c:
        assert c.put("/vehicles/wild", json={"pack": PACK}).status_code in (200, 201)

        @given(gaps, st.lists(sample, min_size=15, max_size=15))
        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def post(steps, values):
            t = 1_767_225_600.0 + 1e6 * len(outcomes)
            batch = []
            for gap, v in zip(steps, values, strict=False):
                t += gap
                batch.append({"t": t, **{k: x for k, x in v.items() if x is not None}})
            r = c.post("/vehicles/wild/telemetry", json={"samples": batch})
            assert r.status_code in (200, 422), r.text
            outcomes.append(r.json()["accepted"])

        post()
        state = c.get("/vehicles/wild/state").json()
    assert state["samples_stored"] == sum(outcomes) > 0
    for name in ("soc", "soc_std", "soh_capacity", "soh_resistance", "temperature_degC"):
        assert state[name] is not None and state[name] == state[name], name  # numbers, not NaN
