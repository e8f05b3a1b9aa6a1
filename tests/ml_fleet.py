"""A fleet-run folder written without simulating: daily tables whose SOH follows a known law.

For the ML tests: the daily usage is drawn per vehicle (mileage, cell temperature by climate), and
the true capacity SOH falls as ``1 - a_v sqrt(t_days) - b efc_cum`` with a per-vehicle rate ``a_v``
that grows with temperature, so the data have the shape of calendar plus cycle fade.
"""

from __future__ import annotations

import numpy as np

from fleet.daily import COLUMNS
from fleet.store import FleetStore

CLIMATES = {"miami": 27.0, "phoenix": 32.0, "oslo": 8.0}


def write_fleet(root, vehicles: int = 9, days: int = 2 * 365, climates=("miami", "oslo", "miami", "phoenix"),
                seed: int = 1) -> FleetStore:
    store = FleetStore(root)
    store.prepare("fake fleet\n", False, {"seed": seed, "vehicles": vehicles})
    for v in range(vehicles):
        rng = np.random.default_rng([seed, v])
        climate = climates[v % len(climates)]
        t_amb = CLIMATES[climate] + 8.0 * np.sin(2 * np.pi * np.arange(days) / 365.0)
        km = rng.uniform(20.0, 80.0) * rng.uniform(0.5, 1.5, days)
        efc = km / 400.0
        t_cell = t_amb + 3.0
        a = 6e-4 * np.exp(0.04 * (CLIMATES[climate] - 25.0)) * rng.uniform(0.9, 1.1)
        t = np.arange(days) + 1.0
        soh = 1.0 - a * np.sqrt(t) - 2e-5 * np.cumsum(efc)
        table = {name: np.zeros(days) for name in COLUMNS}
        table.update(day=np.arange(days, dtype=np.int32), distance_km=km, efc=efc, t_ambient_mean_degC=t_amb,
                     t_cell_mean_degC=t_cell, soc_mean=np.full(days, 0.6), soc_swing=efc * 2,
                     peak_power_kW=rng.uniform(40, 120, days), soh_capacity=soh, soh_resistance=2 - soh,
                     thermal_stress_Kh=np.clip(t_cell - 30.0, 0.0, None) * 24.0)
        table["fast_charge_events"] = (rng.random(days) < 0.1).astype(np.int32)
        row = {"vehicle_id": f"v{v:05d}", "preset": "model3_rwd_lfp", "chemistry": "lfp", "climate": climate,
               "style": "commute", "habit": "plug_in_90", "parking": "street", "truth_capacity": 1.0}
        store.save(f"v{v:05d}", {"table": table, "annual_km": float(km.sum()), "steps": 1, "cpu_s": 0.0,
                                 "wall_s": 0.0, "scenario": "", "vehicle": row})
    store.write_fleet_table()
    return store
