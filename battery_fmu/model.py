"""The battery pack model: identical cells, n_series x n_parallel, stepped under a power and a current request.

Per step of length ``dt`` the current is held constant (what the vehicle and the charger
ask for, within the limits). Under constant current every state has an exact update:
SOC is linear, each RC pair and the hysteresis relax exponentially, and the two-node
thermal network is linear, so one long step equals many short ones. Only the aging
integrals are quadratures; long rests are sub-divided where the temperature moves.

The equations themselves live in :mod:`battery_fmu.equations`; this module chains them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from battery_fmu import equations as eq
from battery_fmu.aging_laws import aging_model
from battery_fmu.variation import Variation
from battery_fmu.parameters import CellParameters, load_parameters

_sqrt = math.sqrt


class InputError(ValueError):
    """A parameter or input the model cannot work with; the message names it."""


class ThermalStep:
    """Exact transition of the two-node thermal network over one step length.

    ``x(t+dt) = x_ss + exp(A dt) (x - x_ss)`` for the linear system of
    :func:`battery_fmu.equations.thermal_derivatives`; ``A`` depends only on the
    conductances, so the matrix exponential is computed once per (dt, boundary).
    """

    __slots__ = ("m11", "m12", "m21", "m22")

    def __init__(self, dt: float, conductance_boundary: float, p: CellParameters):
        c1, c2, k1, kb = p.cell_heat_capacity, p.housing_heat_capacity, p.conductance_cell_housing, conductance_boundary
        a11, a12 = -k1 / c1, k1 / c1
        a21, a22 = k1 / c2, -(k1 + kb) / c2
        # Eigenvalues of a 2x2 matrix (real and negative for this network).
        tr, det = a11 + a22, a11 * a22 - a12 * a21
        disc = _sqrt(max(tr * tr / 4.0 - det, 0.0))
        l1, l2 = tr / 2.0 + disc, tr / 2.0 - disc
        e1, e2 = math.exp(l1 * dt), math.exp(l2 * dt)
        if abs(l1 - l2) > 1e-15:
            s1 = (e1 - e2) / (l1 - l2)
            s0 = (l1 * e2 - l2 * e1) / (l1 - l2)
        else:  # repeated eigenvalue
            s1, s0 = dt * e1, e1 - l1 * dt * e1
        # exp(A dt) = s1 A + s0 I (Cayley-Hamilton for 2x2).
        self.m11, self.m12 = s1 * a11 + s0, s1 * a12
        self.m21, self.m22 = s1 * a21, s1 * a22 + s0

    @staticmethod
    def time_constants(conductance_boundary: float, p: CellParameters) -> tuple[float, float]:
        """(fast, slow) time constants [s] of the network."""
        c1, c2, k1, kb = p.cell_heat_capacity, p.housing_heat_capacity, p.conductance_cell_housing, conductance_boundary
        a11, a22, off = -k1 / c1, -(k1 + kb) / c2, (k1 / c1) * (k1 / c2)
        tr, det = a11 + a22, a11 * a22 - off
        disc = _sqrt(max(tr * tr / 4.0 - det, 0.0))
        return -1.0 / (tr / 2.0 - disc), -1.0 / (tr / 2.0 + disc)


class BatteryPack:
    """A pack of identical cells with SOC, RC, hysteresis, two-node thermal and aging states.

    Parameters
    ----------
    params : CellParameters, optional
        Cell parameter set (default: the 220 Ah LFP cell).
    n_series, n_parallel : int
        Cells in series and in parallel.
    soc : float
        Initial state of charge [1], relative to the actual capacity.
    soh : float
        Initial relative capacity [1].
    temperature : float
        Initial cell and housing temperature [K].
    coolant_connected : bool
        Whether the housing also exchanges heat with ``t_coolant`` (a cooling loop) besides ambient.
    warn : callable, optional
        Receives out-of-range messages (aging model), once each.
    variation : Variation, optional
        This pack's manufacturing factors (capacity when new, aging-rate factors); nominal when omitted.
    """

    __slots__ = (
        "p", "n_series", "n_parallel", "coolant_connected", "aging",
        "soc", "v1", "v2", "hysteresis", "t_cell", "t_housing",
        # outputs of the last step (pack level unless noted)
        "current", "voltage", "power", "heat", "heat_to_ambient", "heat_to_coolant", "power_discharge_max",
        "power_charge_max",
        "current_charge_max", "current_discharge_max", "ocv", "power_request_unmet",
        "_rc_cache", "_thermal_cache", "_cap_nominal", "_prep",
    )

    def __init__(self, params: CellParameters | None = None, n_series: int = 1, n_parallel: int = 1,
                 soc: float = 0.5, soh: float = 1.0, temperature: float = 298.15, coolant_connected: bool = False,
                 warn: Callable[[str], None] | None = None, variation: Variation | None = None):
        self.p = p = params or load_parameters()
        check_settings(n_series, n_parallel, soc, soh, temperature)
        self.n_series, self.n_parallel = int(n_series), int(n_parallel)
        self.coolant_connected = bool(coolant_connected)
        self.aging = aging_model(p, soh_capacity=soh, warn=warn, variation=variation)
        self.aging.reset_soc(soc)
        self.soc = float(soc)
        self.v1 = self.v2 = 0.0
        self.hysteresis = 0.0
        self.t_cell = self.t_housing = float(temperature)
        self._cap_nominal = p.capacity
        self._rc_cache: dict[float, tuple[float, float, float, float]] = {}
        self._thermal_cache: dict[tuple[float, float], ThermalStep] = {}
        self.current = self.power = self.heat = self.power_request_unmet = 0.0
        self.heat_to_ambient = self.heat_to_coolant = 0.0
        self.ocv = eq.open_circuit_voltage(self.soc, self.t_cell, p)
        self.voltage = self.ocv * self.n_series
        self._prep = None
        self._prepare(1.0)

    # ------------------------------------------------------------------ helpers

    def _rc(self, dt: float) -> tuple[float, float, float, float]:
        """(decay1, weight1, decay2, weight2) for a step length, cached."""
        rc = self._rc_cache.get(dt)
        if rc is None:
            p = self.p
            d1, d2 = eq.rc_decay(dt, p.tau1), eq.rc_decay(dt, p.tau2)
            rc = (d1, eq.rc_mean_weight(dt, p.tau1, d1), d2, eq.rc_mean_weight(dt, p.tau2, d2))
            if len(self._rc_cache) > 64:
                self._rc_cache.clear()
            self._rc_cache[dt] = rc
        return rc

    def _thermal(self, dt: float, conductance: float) -> ThermalStep:
        key = (dt, conductance)
        step = self._thermal_cache.get(key)
        if step is None:
            if len(self._thermal_cache) > 64:
                self._thermal_cache.clear()
            step = self._thermal_cache[key] = ThermalStep(dt, conductance, self.p)
        return step

    # ------------------------------------------------------------------ the step

    def step(self, dt: float, power_load: float, current_charge: float, t_ambient: float,
             t_coolant: float | None = None) -> None:
        """Advance by ``dt`` [s].

        Parameters
        ----------
        dt : float
            Step length [s], > 0.
        power_load : float
            Power drawn at the pack terminals by the vehicle [W]; negative while regenerating.
        current_charge : float
            Current pushed into the pack by a charger [A], >= 0.
        t_ambient : float
            Ambient temperature [K].
        t_coolant : float, optional
            Coolant temperature [K], used when ``coolant_connected``.
        """
        p = self.p
        ns, npar = self.n_series, self.n_parallel
        cells = ns * npar
        p_cell = power_load / cells
        i_charge = current_charge / npar
        soc, t0, h, v1, v2 = self.soc, self.t_cell, self.hysteresis, self.v1, self.v2
        prep = self._prep
        if prep is None or prep[0] != dt:
            prep = self._prepare(dt)
        _, ocv, r0_c, r0_d, r1, r2, d1, a1, d2, a2, e, r_rc, i_dis_max, i_chg_max, cap = prep

        # Vehicle current i_v from P = i_v (e - r_eff (i_v - i_charge)): the root nearer zero.
        # e - i r_eff is the mean terminal voltage over the step (exact for the RC pairs).
        charging = p_cell < 0.0 or i_charge * ocv > p_cell
        r_eff = (r0_c if charging else r0_d) + r_rc
        b = e + r_eff * i_charge
        disc = b * b - 4.0 * r_eff * p_cell
        i_vehicle = 2.0 * p_cell / (b + _sqrt(disc)) if disc > 0.0 else b / (2.0 * r_eff)
        current = i_vehicle - i_charge
        if current > i_dis_max:
            current = i_dis_max
        elif current < -i_chg_max:
            current = -i_chg_max
        r0 = r0_c if current < 0.0 else r0_d
        voltage = e - current * (r0 + r_rc)

        # RC pairs: exact update; their Joule heat is I * mean(V) minus the change of stored energy.
        v1_new = eq.rc_voltage_after(v1, current, r1, d1)
        v2_new = eq.rc_voltage_after(v2, current, r2, d2)
        c1, c2 = p.tau1 / r1, p.tau2 / r2
        rc_joule = (current * ((v1 * a1 + current * r1 * (1.0 - a1)) + (v2 * a2 + current * r2 * (1.0 - a2)))
                    - 0.5 * (c1 * (v1_new * v1_new - v1 * v1) + c2 * (v2_new * v2_new - v2 * v2)) / dt)
        heat = eq.irreversible_heat(current, r0, rc_joule, h) + eq.reversible_heat(current, t0, soc, p)

        soc_new = soc - current * dt / cap
        if current != 0.0:
            # Target at the step's mid SOC: exact where the magnitude is flat, second order elsewhere.
            target = eq.hysteresis_target(current, 0.5 * (soc + soc_new), p)
            h = target + (h - target) * eq.hysteresis_decay(current, dt, cap, p)

        t_coolant = t_coolant if t_coolant is not None else t_ambient
        if current == 0.0 and dt > 60.0:
            heat = self._rest(dt, t_ambient, t_coolant, v1, v2, r1, r2)
        else:
            self._advance_thermal_and_aging(dt, heat, t_ambient, t_coolant, soc, soc_new, current)

        self.soc, self.v1, self.v2, self.hysteresis = soc_new, v1_new, v2_new, h
        self.current = current * npar
        self.voltage = voltage * ns
        self.power = voltage * current * cells
        self.power_request_unmet = power_load - (current + i_charge) * voltage * cells
        self.heat = heat * cells
        self._prepare(dt)

    def _prepare(self, dt: float) -> tuple:
        """Everything a step of length ``dt`` needs from the present state, and the limit outputs.

        Computed at the end of each step from the new state, so the outputs describe the
        present and the next step of the same length starts from it without recomputing.
        """
        p = self.p
        soc, t = self.soc, self.t_cell
        aging = self.aging
        r_factor = aging.resistance_factor
        cap = aging.soh_capacity_committed * self._cap_nominal
        ocv = eq.open_circuit_voltage(soc, t, p)
        r0_c, r0_d, r1, r2 = eq.resistances(soc, t, p)
        r0_c, r0_d, r1, r2 = r0_c * r_factor, r0_d * r_factor, r1 * r_factor, r2 * r_factor
        d1, a1, d2, a2 = self._rc(dt)
        e = ocv + self.hysteresis - self.v1 * a1 - self.v2 * a2
        r_rc = r1 * (1.0 - a1) + r2 * (1.0 - a2)
        r_d, r_c = r0_d + r_rc, r0_c + r_rc
        # Current limits [A, cell]: rating x temperature derating, voltage window, SOC window.
        i_dis = min(p.current_max_discharge * p.discharge_derating.scalar(t), (e - p.voltage_min) / r_d,
                    soc * cap / dt)
        i_chg = min(p.current_max_charge * p.charge_derating.scalar(t), (p.voltage_max - e) / r_c,
                    (1.0 - soc) * cap / dt)
        i_dis = i_dis if i_dis > 0.0 else 0.0
        i_chg = i_chg if i_chg > 0.0 else 0.0
        cells = self.n_series * self.n_parallel
        self.ocv = ocv
        self.power_discharge_max = i_dis * (e - r_d * i_dis) * cells
        self.power_charge_max = i_chg * (e + r_c * i_chg) * cells
        self.current_discharge_max = i_dis * self.n_parallel
        self.current_charge_max = i_chg * self.n_parallel
        self._prep = prep = (dt, ocv, r0_c, r0_d, r1, r2, d1, a1, d2, a2, e, r_rc, i_dis, i_chg, cap)
        return prep

    def _boundary(self, t_ambient: float, t_coolant: float) -> tuple[float, float]:
        """(conductance [W/K], temperature [K]) the housing exchanges heat with, per cell."""
        p = self.p
        if not self.coolant_connected:
            return p.conductance_housing_ambient, t_ambient
        ka, kc = p.conductance_housing_ambient, p.conductance_housing_coolant
        return ka + kc, (ka * t_ambient + kc * t_coolant) / (ka + kc)

    def _advance_thermal_and_aging(self, dt, heat, t_ambient, t_coolant, soc0, soc1, current) -> None:
        """Exact thermal update over a step of constant heat, then the aging quadrature over it."""
        kb, tb = self._boundary(t_ambient, t_coolant)
        tc_ss, th_ss = eq.thermal_steady_state(heat, tb, kb, self.p)
        tc, th = self.t_cell, self.t_housing
        m = self._thermal_cache.get((dt, kb))
        if m is None:
            m = self._thermal(dt, kb)
        dc, dh = tc - tc_ss, th - th_ss
        tc_new = tc_ss + m.m11 * dc + m.m12 * dh
        th_new = th_ss + m.m21 * dc + m.m22 * dh
        self.aging.advance(dt, soc0, soc1, 0.5 * (tc + tc_new), current)
        self.t_cell, self.t_housing = tc_new, th_new
        self._housing_flows(0.5 * (th + th_new), t_ambient, t_coolant)

    def _rest(self, dt, t_ambient, t_coolant, v1, v2, r1, r2) -> None:
        """Thermal and aging over a long rest (no current), in growing sub-steps.

        With no current the only heat is the RC pairs emptying, which happens within minutes,
        while the temperature relaxes over hours; sub-steps that start at a second and grow
        geometrically follow both, so one long rest equals many short ones.
        """
        p = self.p
        kb, tb = self._boundary(t_ambient, t_coolant)
        c1, c2 = p.tau1 / r1, p.tau2 / r2
        fast, slow = ThermalStep.time_constants(kb, p)
        h, h_max = min(1.0, dt), max(1.0, 0.05 * slow)
        soc, aging = self.soc, self.aging
        tc, th = self.t_cell, self.t_housing
        elapsed, heat_total, housing_integral = 0.0, 0.0, 0.0
        while elapsed < dt:
            # Never step across the aging model's chunk boundary, so chunks close where short steps close them.
            h = min(h, dt - elapsed, aging.chunk_time_left)
            if dt - elapsed - h < 1e-9 * dt:
                h = dt - elapsed
            w1, w2 = v1 * math.exp(-h / p.tau1), v2 * math.exp(-h / p.tau2)
            heat = 0.5 * (c1 * (v1 * v1 - w1 * w1) + c2 * (v2 * v2 - w2 * w2)) / h
            tc_ss, th_ss = eq.thermal_steady_state(heat, tb, kb, p)
            m = ThermalStep(0.5 * h, kb, p)  # applied twice: the midpoint, then the end (exact)
            dc, dh = tc - tc_ss, th - th_ss
            tc_mid, th_mid = tc_ss + m.m11 * dc + m.m12 * dh, th_ss + m.m21 * dc + m.m22 * dh
            dc, dh = tc_mid - tc_ss, th_mid - th_ss
            tc_new, th_new = tc_ss + m.m11 * dc + m.m12 * dh, th_ss + m.m21 * dc + m.m22 * dh
            # Simpson's rule for the aging integrals, which are exponential in temperature.
            aging.advance(h / 6.0, soc, soc, tc, 0.0)
            aging.advance(4.0 * h / 6.0, soc, soc, tc_mid, 0.0)
            aging.advance(h - h / 6.0 - 4.0 * h / 6.0, soc, soc, tc_new, 0.0)
            housing_integral += 0.5 * (th + th_new) * h
            heat_total += heat * h
            tc, th, v1, v2 = tc_new, th_new, w1, w2
            elapsed += h
            h = min(h * 1.3, h_max)
        self.t_cell, self.t_housing = tc, th
        self._housing_flows(housing_integral / dt, t_ambient, t_coolant)
        return heat_total / dt

    def _housing_flows(self, t_housing_mean: float, t_ambient: float, t_coolant: float) -> None:
        """Heat leaving the housing to the air and to the coolant over a step [W, pack]."""
        p, cells = self.p, self.n_series * self.n_parallel
        self.heat_to_ambient = p.conductance_housing_ambient * (t_housing_mean - t_ambient) * cells
        self.heat_to_coolant = (p.conductance_housing_coolant * (t_housing_mean - t_coolant) * cells
                                if self.coolant_connected else 0.0)

    # ------------------------------------------------------------------ outputs and state

    @property
    def soh_capacity(self) -> float:
        """Relative capacity [1]."""
        return self.aging.soh_capacity

    @property
    def soh_resistance(self) -> float:
        """Resistance relative to new [1]."""
        return self.aging.soh_resistance

    @property
    def efc(self) -> float:
        """Equivalent full cycles [1] against nominal capacity."""
        return self.aging.total_efc

    _STATE = ("soc", "v1", "v2", "hysteresis", "t_cell", "t_housing", "current", "voltage", "power", "heat",
              "heat_to_ambient", "heat_to_coolant", "power_discharge_max", "power_charge_max", "current_charge_max",
              "current_discharge_max", "ocv", "power_request_unmet")

    def get_state(self) -> list:
        """Every number that determines the future and the current outputs (JSON-serialisable)."""
        return [getattr(self, k) for k in self._STATE] + [self.aging.get_state()]

    def set_state(self, state: list) -> None:
        for k, v in zip(self._STATE, state):
            setattr(self, k, v)
        self.aging.set_state(state[len(self._STATE)])
        self._prep = None


def check_settings(n_series, n_parallel, soc, soh, temperature) -> None:
    """Raise :class:`InputError` naming the first setting a pack cannot have."""
    checks = [
        ("n_series", n_series, n_series >= 1 and float(n_series).is_integer(), "an integer >= 1"),
        ("n_parallel", n_parallel, n_parallel >= 1 and float(n_parallel).is_integer(), "an integer >= 1"),
        ("SOC_init", soc, 0.0 <= soc <= 1.0, "within [0, 1]"),
        ("SOH_init", soh, 0.0 < soh <= 1.0, "within (0, 1]"),
        ("T_init", temperature, 200.0 <= temperature <= 400.0, "a temperature in K within [200, 400]"),
    ]
    for name, value, ok, expected in checks:
        if not (ok and math.isfinite(float(value))):
            raise InputError(f"{name} must be {expected}, got {value!r}")
