"""The battery equations, each written once.

Every function takes its parameters ``p`` (:class:`battery_fmu.parameters.CellParameters`)
and a math backend ``ops`` (:mod:`battery_fmu.ops`), so the same line serves the FMU's
scalar step (``ops.SCALAR``), vectorised numpy checks, the CasADi MPC and the torch PINN.
All quantities are per cell and in SI units: s, A, V, Ohm, K, W, J; charge in C.
Current is positive when discharging.
"""

from __future__ import annotations

from battery_fmu.ops import SCALAR

#: Molar gas constant [J/(mol K)] (CODATA 2018, exact since the 2019 SI).
GAS_CONSTANT = 8.314462618
#: Reference temperature [K] of Naumann et al.'s calendar resistance law: their Arrhenius term is 1 at
#: 25 degC, the temperature its rate constant was fitted for.
NAUMANN_REFERENCE_TEMPERATURE = 298.15
SECONDS_PER_DAY = 86400.0

# --------------------------------------------------------------------------- electrical


def open_circuit_voltage(soc, temperature, p, ops=SCALAR, entropic=None):
    """OCV [V] at state of charge ``soc`` [1] and ``temperature`` [K].

    ``U(soc, T) = U_ref(soc) + (T - T_ref) * dU/dT(soc)``: the table value plus the
    entropic shift that the reversible heat term below is consistent with. ``entropic``: dU/dT
    [V/K] at ``soc`` when the caller has looked it up already.
    """
    if entropic is None:
        entropic = ops.interp(p.entropic_coefficient, soc)
    return ops.interp(p.ocv, soc) + (temperature - p.reference_temperature) * entropic


def enthalpy_potential(soc, p, ops=SCALAR):
    """``U - T dU/dT`` [V], independent of T: charge times this is the stored enthalpy per coulomb."""
    return ops.interp(p.ocv, soc) - p.reference_temperature * ops.interp(p.entropic_coefficient, soc)


def soc_derivative(current, capacity):
    """dSOC/dt [1/s] for ``current`` [A] (positive discharging) and actual ``capacity`` [C]."""
    return -current / capacity


def arrhenius_factor(temperature, activation_temperature, reference_temperature, ops=SCALAR):
    """``exp(Ta (1/T - 1/T_ref))``: resistance relative to its value at the reference temperature."""
    return ops.exp(activation_temperature * (1.0 / temperature - 1.0 / reference_temperature))


def resistances(soc, temperature, p, ops=SCALAR, discharge=True):
    """(R0 charge, R0 discharge, R1, R2) [Ohm] at ``soc`` [1] and ``temperature`` [K].

    Values at the reference temperature (R0 from its SOC tables) times one Arrhenius factor.
    ``discharge=False`` skips the discharge table (None in its place) for a caller that only charges.
    """
    arrhenius = arrhenius_factor(temperature, p.activation_temperature, p.reference_temperature, ops)
    r0_discharge = ops.interp(p.r0_discharge, soc) * arrhenius if discharge else None
    return ops.interp(p.r0_charge, soc) * arrhenius, r0_discharge, p.r1 * arrhenius, p.r2 * arrhenius


def ohmic_resistance(soc, temperature, charging, p, ops=SCALAR):
    """R0 [Ohm] at ``soc`` [1], ``temperature`` [K]; ``charging`` selects the charge table."""
    r_charge, r_discharge, _, _ = resistances(soc, temperature, p, ops)
    return ops.if_else(charging, r_charge, r_discharge)


def rc_derivative(v_rc, current, resistance, tau):
    """dV/dt [V/s] of an RC pair: ``(I R - V) / tau``."""
    return (current * resistance - v_rc) / tau


def rc_decay(dt, tau, ops=SCALAR):
    """``exp(-dt/tau)``: the exact RC transition over ``dt`` [s] under constant current."""
    return ops.exp(-dt / tau)


def rc_voltage_after(v_rc, current, resistance, decay):
    """RC voltage [V] after a step of constant ``current`` [A] (exact, any step length)."""
    return v_rc * decay + current * resistance * (1.0 - decay)


def rc_mean_weight(dt, tau, decay):
    """Weight ``a`` with ``mean(V_rc) = a V0 + (1 - a) I R`` over a step of constant current."""
    return tau * (1.0 - decay) / dt


def hysteresis_target(current, soc, p, ops=SCALAR):
    """Voltage [V] the hysteresis state tends to: below OCV while discharging, above while charging."""
    magnitude = ops.interp(p.hysteresis_magnitude, soc)
    return ops.if_else(current > 0, -magnitude, magnitude)


def hysteresis_exponent(current, dt, capacity, p, ops=SCALAR):
    """``rate |I| dt / Q`` [1]: how many of its "time constants" the hysteresis moves over a step
    (it moves with charge throughput, not time)."""
    return p.hysteresis_rate * ops.fabs(current) * dt / capacity


def hysteresis_decay(current, dt, capacity, p, ops=SCALAR):
    """``exp(-rate |I| dt / Q)``: the exact hysteresis transition over a step of constant current."""
    return ops.exp(-hysteresis_exponent(current, dt, capacity, p, ops))


#: Below this exponent :func:`relaxation_mean_weight` takes its series (the difference form would cancel).
_SERIES_BELOW = 1e-3


def relaxation_mean_weight(exponent, decay, ops=SCALAR):
    """``(1 - e^-x) / x`` for ``x = exponent >= 0`` and ``decay = e^-x``: the weight of the start value in
    the mean of an exponential relaxation over a step (1 for a state that does not move).

    Both forms are evaluated finite (a backend's ``if_else`` evaluates both): the series
    ``1 - x/2 + x^2/6 - x^3/24`` is exact to 1e-14 below 1e-3.
    """
    x = exponent
    series = 1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0
    return ops.if_else(x < _SERIES_BELOW, series, (1.0 - decay) / ops.fmax(x, _SERIES_BELOW))


def hysteresis_derivative(h, current, soc, capacity, p, ops=SCALAR):
    """dh/dt [V/s] of the one-state hysteresis model."""
    return p.hysteresis_rate * ops.fabs(current) / capacity * (hysteresis_target(current, soc, p, ops) - h)


def hysteresis_after(h, target, decay):
    """Hysteresis [V] after a step of constant current: exact relaxation from ``h`` toward ``target``.

    ``decay`` is :func:`hysteresis_decay` over the step.
    """
    return target + (h - target) * decay


def terminal_voltage(ocv, hysteresis, current, r0, v_rc_sum):
    """Terminal voltage [V]: ``U + h - I R0 - sum(V_rc)``."""
    return ocv + hysteresis - current * r0 - v_rc_sum


def rc_step_heat(v_start, v_end, current, resistance, tau, mean_weight, dt):
    """Joule heat [W] of one RC pair, mean over a step of constant ``current`` [A].

    The electrical work into the pair, ``I mean(V)`` with the exact mean
    ``a V0 + (1 - a) I R`` (:func:`rc_mean_weight`), minus the change of its stored energy
    ``C V^2 / 2`` (``C = tau / R``) over ``dt`` [s]: exact for a step of any length.
    """
    mean_v = v_start * mean_weight + current * resistance * (1.0 - mean_weight)
    return current * mean_v - 0.5 * (tau / resistance) * (v_end * v_end - v_start * v_start) / dt


def reversible_heat(current, temperature, soc, p, ops=SCALAR):
    """Entropic heat [W]: ``-I T dU/dT`` (positive means heat released in the cell)."""
    return entropic_heat(current, temperature, ops.interp(p.entropic_coefficient, soc))


def entropic_heat(current, temperature, entropic_coefficient):
    """Entropic heat [W] from dU/dT [V/K] already looked up: ``-I T dU/dT``."""
    return -current * temperature * entropic_coefficient


def irreversible_heat(current, r0, rc_joule, hysteresis):
    """Irreversible heat [W]: ohmic ``I^2 R0``, RC Joule heat ``sum(V^2/R)`` and hysteresis ``-I h``."""
    return current * current * r0 + rc_joule - current * hysteresis


# --------------------------------------------------------------------------- thermal


def thermal_derivatives(t_cell, t_housing, t_boundary, heat, conductance_boundary, p):
    """dT/dt [K/s] of the two-node lumped model (cell; coolant/housing) around a boundary.

    ``C_cell dTc/dt = Q - k_ch (Tc - Th)``;
    ``C_h dTh/dt = k_ch (Tc - Th) - k_b (Th - T_b)``,
    with ``heat`` Q [W] per cell and ``conductance_boundary`` k_b [W/K] to ambient or coolant.
    """
    flow = p.conductance_cell_housing * (t_cell - t_housing)
    d_cell = (heat - flow) / p.cell_heat_capacity
    d_housing = (flow - conductance_boundary * (t_housing - t_boundary)) / p.housing_heat_capacity
    return d_cell, d_housing


def thermal_matrix(conductance_boundary, p):
    """``A`` of the two-node network of :func:`thermal_derivatives` [1/s], as ``(a11, a12, a21, a22)``."""
    c1, c2, k1 = p.cell_heat_capacity, p.housing_heat_capacity, p.conductance_cell_housing
    kb = conductance_boundary
    return -k1 / c1, k1 / c1, k1 / c2, -(k1 + kb) / c2


#: Eigenvalue gaps below this fraction of the eigenvalues' mean count as repeated: there the series of
#: ``sinh(x)/x`` and ``cosh(x)`` replaces the difference of exponentials, which would lose every digit.
REPEATED_EIGENVALUE_GAP = 1e-7


def thermal_eigenvalues(conductance_boundary, p):
    """(mean, half gap) of the eigenvalues of :func:`thermal_matrix` [1/s]: ``m +/- d``, real here."""
    a11, a12, a21, a22 = thermal_matrix(conductance_boundary, p)
    tr, det = a11 + a22, a11 * a22 - a12 * a21
    return tr / 2.0, max(tr * tr / 4.0 - det, 0.0) ** 0.5


def thermal_time_constants(conductance_boundary, p):
    """(fast, slow) time constants [s] of the network: ``-1/eigenvalue``."""
    mean, half_gap = thermal_eigenvalues(conductance_boundary, p)
    return -1.0 / (mean - half_gap), -1.0 / (mean + half_gap)


def thermal_transition(dt, conductance_boundary, p, ops=SCALAR):
    """``exp(A dt)`` of the two-node network of :func:`thermal_derivatives`, as ``(m11, m12, m21, m22)``.

    With constant heat the network is linear with a constant matrix ``A`` (real, negative
    eigenvalues ``m +/- d``), so a step of any length ``dt`` [s] is exact:
    ``x(dt) = x_ss + exp(A dt)(x - x_ss)`` (:func:`thermal_after`). Cayley-Hamilton for 2x2:
    ``exp(A dt) = s1 A + s0 I`` with ``s1 = e^(m dt) dt sinh(x)/x`` and
    ``s0 = e^(m dt) (cosh(x) - m dt sinh(x)/x)``, ``x = d dt``. The parameters are numbers (the
    gap test is a Python comparison); ``dt`` may be a symbol of the backend.
    """
    a11, a12, a21, a22 = thermal_matrix(conductance_boundary, p)
    m, d = thermal_eigenvalues(conductance_boundary, p)
    if d <= REPEATED_EIGENVALUE_GAP * abs(m):
        # Repeated (or nearly): sinh(x)/x and cosh(x) by their series, exact to round-off for x < 1e-4.
        x2 = (d * dt) * (d * dt)
        shx = 1.0 + x2 / 6.0 + x2 * x2 / 120.0
        chx = 1.0 + x2 / 2.0 + x2 * x2 / 24.0
        e = ops.exp(m * dt)
        s1, s0 = e * dt * shx, e * (chx - m * dt * shx)
    else:
        l1, l2 = m + d, m - d
        e1, e2 = ops.exp(l1 * dt), ops.exp(l2 * dt)
        s1 = (e1 - e2) / (l1 - l2)
        s0 = (l1 * e2 - l2 * e1) / (l1 - l2)
    return s1 * a11 + s0, s1 * a12, s1 * a21, s1 * a22 + s0


def thermal_after(t_cell, t_housing, steady_cell, steady_housing, transition):
    """Cell and housing temperatures [K] after a step of constant heat, from ``transition``
    (:func:`thermal_transition`) and the steady state of that heat (:func:`thermal_steady_state`)."""
    m11, m12, m21, m22 = transition
    dc, dh = t_cell - steady_cell, t_housing - steady_housing
    return steady_cell + m11 * dc + m12 * dh, steady_housing + m21 * dc + m22 * dh


def thermal_steady_state(heat, t_boundary, conductance_boundary, p):
    """Steady cell and housing temperatures [K] for constant ``heat`` [W]: the analytic solution."""
    t_housing = t_boundary + heat / conductance_boundary
    return t_housing + heat / p.conductance_cell_housing, t_housing


# --------------------------------------------------------------------------- aging


def graphite_potential(soc, p, ops=SCALAR):
    """Graphite potential vs Li [V] at cell ``soc`` [1] (Safari & Delacourt 2011, JES 158 A562).

    Lithiation ``Xa = x0 + soc (x100 - x0)``; the potential drives the calendar rate.
    """
    xa = p.aging.anode_x0 + soc * (p.aging.anode_x100 - p.aging.anode_x0)
    return (
        0.6379
        + 0.5416 * ops.exp(-305.5309 * xa)
        + 0.044 * ops.tanh(-(xa - 0.1958) / 0.1088)
        - 0.1978 * ops.tanh((xa - 1.0571) / 0.0854)
        - 0.6875 * ops.tanh((xa + 0.0117) / 0.0529)
        - 0.0175 * ops.tanh((xa - 0.5692) / 0.0875)
    )


def calendar_rate(temperature, anode_potential, p, ops=SCALAR):
    """k_cal [day^-pcal]: ``p1 exp(p2/T) exp(p3 Ua/T)`` (Gasper et al. 2023)."""
    a = p.aging
    return a.p1 * ops.exp((a.p2 + a.p3 * anode_potential) / temperature)


def cycle_temperature_factor(temperature, p, ops=SCALAR):
    """``exp(p7/T) + exp(-p8/T)`` of the cycle rate, T clamped to the fitted cycling range.

    The fit learned an inverse temperature dependence, so outside 10-45 degC it would
    extrapolate badly (Gasper et al. 2023): the clamp keeps it at the range's edge.
    """
    a = p.aging
    t = ops.fmin(ops.fmax(temperature, a.cycling_temperature_min), a.cycling_temperature_max)
    return ops.exp(a.p7 / t) + ops.exp(-a.p8 / t)


def cycle_rate(dod, crate, temperature_factor, p):
    """k_cyc [EFC^-pcyc]: ``(p4 + p5 DOD + p6 Crate) * f(T)`` (Gasper et al. 2023)."""
    a = p.aging
    return (a.p4 + a.p5 * dod + a.p6 * crate) * temperature_factor


def power_law_slope(y, k, exponent, ops=SCALAR):
    """dy/dx of ``y = k x^exponent`` expressed through y (the "virtual time" form).

    ``dy/dx = k p (y/k)^((p-1)/p)``: integrating it with stressors that change keeps the
    fade continuous (BLAST-Lite's state update).
    """
    return k * exponent * ops.power(y / k, (exponent - 1.0) / exponent)


def power_law_increment(y, dx, k, exponent, ops=SCALAR):
    """Increase of ``y = k x^exponent`` over ``dx`` starting from ``y``.

    From ``y = 0`` the first increment is ``k dx^exponent`` exactly; afterwards the slope
    above times ``dx`` (as in BLAST-Lite's update of time-varying power-law states).
    """
    if y == 0.0:
        return k * dx**exponent if dx > 0.0 else 0.0
    return power_law_slope(y, k, exponent, ops) * dx


def power_law_value(k, x, exponent, ops=SCALAR):
    """``y = k x^exponent``: the fade after ``x`` (days or EFC) at a constant rate ``k``."""
    return k * ops.power(x, exponent)


def c_rate(current, p, ops=SCALAR):
    """C-rate [1/h] of ``current`` [A] against the nominal capacity (as the aging model counts it)."""
    return ops.fabs(current) * 3600.0 / p.capacity


def calendar_fade_rate(q_cal, k_cal, p, ops=SCALAR, q_min=0.0):
    """dq_cal/dt [1/s]: the calendar law's rate in time, in the virtual-time form.

    ``q_cal = k_cal t_days^pcal`` gives ``dq/dt = power_law_slope(q, k, pcal) / 86400`` for
    stressors that change (what the aging model's chunk update applies over a chunk). The
    slope is infinite at ``q = 0``: ``q_min`` (e.g. :func:`power_law_value` at one day) caps it.
    """
    return power_law_slope(ops.fmax(q_cal, q_min), k_cal, p.aging.pcal, ops) / SECONDS_PER_DAY


def cycle_fade_rate(q_cyc, k_cyc, current, p, ops=SCALAR, q_min=0.0):
    """dq_cyc/dt [1/s] while ``current`` [A] flows: the slope per EFC times ``|I| / (2 Q_nominal)``.

    The cycle law ``q_cyc = k_cyc EFC^pcyc`` in the virtual-time form, with equivalent full
    cycles counted against the nominal capacity as the aging model counts them; ``q_min`` caps
    the slope near ``q = 0`` as in :func:`calendar_fade_rate`.
    """
    slope = power_law_slope(ops.fmax(q_cyc, q_min), k_cyc, p.aging.pcyc, ops)
    return slope * ops.fabs(current) / (2.0 * p.capacity)


def calendar_resistance_rate(temperature, soc, p, ops=SCALAR):
    """Relative resistance growth per second while resting [1/s] (Naumann et al. 2018)."""
    r = p.aging_resistance
    arrhenius = ops.exp(-r.calendar_activation_energy / GAS_CONSTANT
                        * (1.0 / temperature - 1.0 / NAUMANN_REFERENCE_TEMPERATURE))
    return r.calendar_k * arrhenius * (r.calendar_soc_c * (soc - 0.5) ** 2 + r.calendar_soc_d)


def cycle_resistance_per_efc(crate, dod, p, ops=SCALAR):
    """Relative resistance growth per equivalent full cycle [1/EFC] (Naumann et al. 2020, % -> fraction)."""
    r = p.aging_resistance
    rate_term = ops.fmax(r.cycle_a * crate + r.cycle_b, 0.0)
    return 0.01 * rate_term * (r.cycle_dod_e * (dod - 0.5) ** 3 + r.cycle_dod_f)


def fade_rates(q_cal, q_cyc, temperature, soc, current, dod, crate, p, ops=SCALAR):
    """(dq_cal/dt, dq_cyc/dt) [1/s]: the capacity-fade laws in their rate ("virtual time") form.

    At cell ``temperature`` [K] and ``soc`` [1] with ``current`` [A] flowing, the aging states
    ``q_cal``, ``q_cyc`` [1] so far and the cycle stressors ``dod`` [1] and ``crate`` [1/h] (None:
    the C-rate of ``current`` itself). Near ``q = 0`` the slopes are capped at their value after one
    day (calendar) and one EFC (cycle). What a controller or an estimator integrates; the twin's
    aging model applies the same laws per chunk in closed form (:func:`power_law_increment`), and
    the two agree within a few percent of a day's fade (Jensen's inequality on the convex laws).
    """
    k_cal = calendar_rate(temperature, graphite_potential(soc, p, ops), p, ops)
    rate_cal = calendar_fade_rate(q_cal, k_cal, p, ops, power_law_value(k_cal, 1.0, p.aging.pcal, ops))
    crate = c_rate(current, p, ops) if crate is None else crate
    k_cyc = cycle_rate(dod, crate, cycle_temperature_factor(temperature, p, ops), p)
    rate_cyc = cycle_fade_rate(q_cyc, k_cyc, current, p, ops, power_law_value(k_cyc, 1.0, p.aging.pcyc, ops))
    return rate_cal, rate_cyc
