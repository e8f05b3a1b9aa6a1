/*
 * BatteryTwinNative: the battery twin as an FMI 2.0 co-simulation FMU in C, with no Python.
 *
 * The physics is generated: battery_generated.c is CasADi's C code of the twin's own step
 * (battery_fmu/native/functions.py evaluates battery_fmu.step, the pack's power solve, the rest
 * sub-step equations and the aging laws on CasADi symbols). This file holds what is not physics:
 * the FMI interface, the parameters and their checks, and the order of the calls, which follows
 * battery_fmu/model.py (BatteryPack.step, BatteryPack._rest) and battery_fmu/aging.py line by line.
 * twin_config.h (written by the build) holds the value references, the parameter set's constants
 * and the generated functions' work sizes.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"
#include "battery_generated.h"
#include "twin_config.h"

typedef enum { INSTANTIATED, INITIALIZATION, STEPPING, TERMINATED, FAILED } Mode;

/* Everything that determines the future and the outputs: what an FMU state copies. */
typedef struct {
    Mode mode;
    double value[N_VARS];        /* every variable by value reference (Integer, Boolean as numbers) */
    char parameter_set[PARAMETER_SET_CHARS];
    double x[6];                 /* soc, v1, v2, hysteresis, t_cell, t_housing (per cell) */
    double aging[N_AGING];       /* the aging model's state (functions.AGING_STATE) */
    double variation[4];         /* capacity, calendar, cycle, resistance factors */
    int coolant;
} State;

typedef struct {
    fmi2CallbackFunctions cb;
    char instance_name[128];
    fmi2Boolean logging_on;
    State s;
} Twin;

typedef int (*casadi_fn)(const casadi_real **arg, casadi_real **res, casadi_int *iw, casadi_real *w, int mem);

/* ---- calling the generated functions ---------------------------------------------------------- */

/* f(arg[0..n_arg), res[0..n_res)); the generated code may use arg and res beyond them as scratch. */
static void call(casadi_fn f, const double **arg, int n_arg, double **res, int n_res) {
    const casadi_real *a[SZ_ARG > 0 ? SZ_ARG : 1];
    casadi_real *r[SZ_RES > 0 ? SZ_RES : 1];
    casadi_int iw[SZ_IW > 0 ? SZ_IW : 1];
    casadi_real w[SZ_W > 0 ? SZ_W : 1];
    memcpy(a, arg, sizeof(*a) * (size_t)n_arg);
    memcpy(r, res, sizeof(*r) * (size_t)n_res);
    f(a, r, iw, w, 0);
}

static casadi_fn fn_step(const Twin *t) { return t->s.coolant ? battery_step_coolant : battery_step_air; }
static casadi_fn fn_prepare(const Twin *t) { return t->s.coolant ? battery_prepare_coolant : battery_prepare_air; }
static casadi_fn fn_rest(const Twin *t) { return t->s.coolant ? battery_rest_coolant : battery_rest_air; }

/* (soh_capacity, soh_resistance, resistance_factor, soh_committed) of the aging state */
static void aging_outputs(const Twin *t, double out[4]) {
    const double *arg[2] = {t->s.aging, t->s.variation};
    double *res[4] = {&out[0], &out[1], &out[2], &out[3]};
    call(battery_aging_outputs, arg, 2, res, 4);
}

/* AgingModel.advance: a step of dt [s] at constant current [A] and mean temperature [K]. */
static void aging_advance(Twin *t, double dt, double soc_start, double soc_end, double temperature,
                          double current) {
    double next[N_AGING];
    const double *arg[7] = {t->s.aging, &dt, &soc_start, &soc_end, &temperature, &current, t->s.variation};
    double *res[1] = {next};
    if (dt <= 0.0) return;
    call(battery_aging, arg, 7, res, 1);
    memcpy(t->s.aging, next, sizeof next);
}

/* The pack's parallel count in cells of the generated capacity. A cell of another capacity is the same
   design scaled (parameters.scaled_to_capacity: currents, heat capacities and conductances times k,
   resistances over k, the rest intensive), which behaves as k generated cells in parallel. */
static double parallel(const Twin *t) {
    return t->s.value[VR_n_parallel] * (t->s.value[VR_capacity_Ah] / CAPACITY_AH);
}

/* BatteryPack._prepare: the limit outputs for a step of dt from the present state; the OCV [V, cell]. */
static double prepare(Twin *t, double dt) {
    double ag[4], cap, ocv, i_dis, i_chg, p_dis, p_chg;
    double *v = t->s.value;
    const double np = parallel(t), cells = v[VR_n_series] * np;
    const double *arg[4] = {t->s.x, &ag[2], &cap, &dt};
    double *res[5] = {&ocv, &i_dis, &i_chg, &p_dis, &p_chg};
    aging_outputs(t, ag);
    cap = ag[3] * CAPACITY_C;
    call(fn_prepare(t), arg, 4, res, 5);
    v[VR_P_discharge_max] = p_dis * cells;
    v[VR_P_charge_max] = p_chg * cells;
    v[VR_I_discharge_max] = i_dis * np;
    v[VR_I_charge_max] = i_chg * np;
    return ocv;
}

static void aging_state_outputs(Twin *t) {
    double ag[4];
    aging_outputs(t, ag);
    t->s.value[VR_SOH_capacity] = ag[0];
    t->s.value[VR_SOH_resistance] = ag[1];
    t->s.value[VR_EFC] = t->s.aging[A_efc] + t->s.aging[A_c_efc];
}

/* BatteryPack._rest: a long rest in growing sub-steps; (mean heat [W], mean housing temperature [K]). */
static void rest(Twin *t, double dt, double tb, const double start[6], double r1, double r2, double *heat_mean,
                 double *housing_mean) {
    const double slow = t->s.coolant ? SLOW_TIME_CONSTANT_COOLANT : SLOW_TIME_CONSTANT_AIR;
    const double h_max = fmax(REST_FIRST_SUBSTEP, REST_SUBSTEP_MAX_FRACTION * slow);
    const double soc = start[0];
    double v1 = start[1], v2 = start[2], tc = start[4], th = start[5];
    double stored = 0.5 * (TAU1 / r1 * v1 * v1 + TAU2 / r2 * v2 * v2);
    double h = fmin(stored > REST_RC_HEAT_NEGLIGIBLE * CELL_HEAT_CAPACITY ? REST_FIRST_SUBSTEP : h_max, dt);
    double elapsed = 0.0, heat_total = 0.0, housing_integral = 0.0;
    while (elapsed < dt) {
        double w1, w2, heat, tc_mid, th_mid, tc_new, th_new;
        const double *arg[8] = {&tc, &th, &v1, &v2, &r1, &r2, &h, &tb};
        double *res[7] = {&w1, &w2, &heat, &tc_mid, &th_mid, &tc_new, &th_new};
        h = fmin(fmin(h, dt - elapsed), CHUNK_TIME - t->s.aging[A_c_time]);
        if (dt - elapsed - h < 1e-9 * dt) h = dt - elapsed;
        call(fn_rest(t), arg, 8, res, 7);
        aging_advance(t, h / 6.0, soc, soc, tc, 0.0);
        aging_advance(t, 4.0 * h / 6.0, soc, soc, tc_mid, 0.0);
        aging_advance(t, h - h / 6.0 - 4.0 * h / 6.0, soc, soc, tc_new, 0.0);
        housing_integral += 0.5 * (th + th_new) * h;
        heat_total += heat * h;
        tc = tc_new;
        th = th_new;
        v1 = w1;
        v2 = w2;
        elapsed += h;
        h = fmin(h * REST_SUBSTEP_GROWTH, h_max);
    }
    t->s.x[4] = tc;
    t->s.x[5] = th;
    *heat_mean = heat_total / dt;
    *housing_mean = housing_integral / dt;
}

/* BatteryPack.step */
static void pack_step(Twin *t, double dt) {
    double *v = t->s.value;
    const double ns = v[VR_n_series], np = parallel(t), cells = ns * np;
    const double p_load = v[VR_P_load], i_charge = v[VR_I_charge];
    const double t_ambient = v[VR_T_ambient], t_coolant = v[VR_T_coolant];
    double ag[4], cap, start[6], x_new[6], current, voltage, heat, tc_mean, th_mean, tb, r1, r2;
    const double *arg[10];
    double *res[9] = {x_new, &current, &voltage, &heat, &tc_mean, &th_mean, &tb, &r1, &r2};
    aging_outputs(t, ag);
    cap = ag[3] * CAPACITY_C;
    memcpy(start, t->s.x, sizeof start);
    arg[0] = start;
    arg[1] = &ag[2];
    arg[2] = &cap;
    arg[3] = &dt;
    arg[4] = &p_load;
    arg[5] = &i_charge;
    arg[6] = &t_ambient;
    arg[7] = &t_coolant;
    arg[8] = &cells;
    arg[9] = &np;
    call(fn_step(t), arg, 10, res, 9);
    if (current == 0.0 && dt > REST_QUADRATURE_MIN_STEP) {
        rest(t, dt, tb, start, r1, r2, &heat, &th_mean);
    } else {
        aging_advance(t, dt, start[0], x_new[0], tc_mean, current);
        t->s.x[4] = x_new[4];
        t->s.x[5] = x_new[5];
    }
    memcpy(t->s.x, x_new, 4 * sizeof(double));
    v[VR_Q_ambient] = CONDUCTANCE_HOUSING_AMBIENT * (th_mean - t_ambient) * cells;
    v[VR_Q_coolant] = t->s.coolant ? CONDUCTANCE_HOUSING_COOLANT * (th_mean - t_coolant) * cells : 0.0;
    v[VR_I_terminal] = current * np;
    v[VR_V_terminal] = voltage * ns;
    v[VR_P_terminal] = voltage * current * cells;
    v[VR_P_unmet] = p_load - (current + i_charge / np) * voltage * cells;
    v[VR_Q_heat] = heat * cells;
    v[VR_SOC] = t->s.x[0];
    v[VR_T_cell] = t->s.x[4];
    v[VR_T_housing] = t->s.x[5];
    prepare(t, dt);
    aging_state_outputs(t);
}

/* ---- messages ----------------------------------------------------------------------------------- */

static void log_message(Twin *t, fmi2Status status, const char *fmt, ...) {
    char text[512];
    va_list args;
    if (!t->cb.logger || (status == fmi2OK && !t->logging_on)) return;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    t->cb.logger(t->cb.componentEnvironment, t->instance_name, status,
                 status >= fmi2Error ? "logStatusError" : "logAll", "%s", text);
}

static fmi2Status fail(Twin *t, const char *fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    log_message(t, fmi2Error, "%s", text);
    t->s.mode = FAILED;
    return fmi2Error;
}

/* ---- initialisation ----------------------------------------------------------------------------- */

static void reset_values(Twin *t) {
    static const double start[N_VARS] = START_VALUES;
    memset(&t->s, 0, sizeof t->s);
    memcpy(t->s.value, start, sizeof start);
    snprintf(t->s.parameter_set, PARAMETER_SET_CHARS, "%s", PARAMETER_SET);
    t->s.mode = INSTANTIATED;
}

/* model.check_settings, Variation's checks, the generated parameter set, and a cell capacity. */
static fmi2Status check_parameters(Twin *t) {
    const double *v = t->s.value;
    if (strcmp(t->s.parameter_set, PARAMETER_SET) != 0)
        return fail(t, "invalid parameter: parameter_set %s: this native FMU was generated for %s (evtwin fmu "
                       "build --native --parameter-set %s builds one for it)", t->s.parameter_set, PARAMETER_SET,
                    t->s.parameter_set);
    if (!(v[VR_capacity_Ah] > 0.0 && isfinite(v[VR_capacity_Ah])))
        return fail(t, "invalid parameter: capacity_Ah must be a positive number of A h, got %g",
                    v[VR_capacity_Ah]);
    if (!(v[VR_n_series] >= 1.0 && v[VR_n_parallel] >= 1.0))
        return fail(t, "invalid parameter: n_series and n_parallel must be integers >= 1");
    if (!(v[VR_SOC_init] >= 0.0 && v[VR_SOC_init] <= 1.0))
        return fail(t, "invalid parameter: SOC_init must be within [0, 1], got %g", v[VR_SOC_init]);
    if (!(v[VR_SOH_init] > 0.0 && v[VR_SOH_init] <= 1.0))
        return fail(t, "invalid parameter: SOH_init must be within (0, 1], got %g", v[VR_SOH_init]);
    if (!(v[VR_T_init] >= 200.0 && v[VR_T_init] <= 400.0))
        return fail(t, "invalid parameter: T_init must be a temperature in K within [200, 400], got %g",
                    v[VR_T_init]);
    if (!(v[VR_capacity_factor] >= 0.5 && v[VR_capacity_factor] <= 1.5))
        return fail(t, "invalid parameter: capacity_factor must lie within [0.5, 1.5], got %g",
                    v[VR_capacity_factor]);
    if (!(v[VR_calendar_fade_factor] > 0.0 && v[VR_cycle_fade_factor] > 0.0 && v[VR_resistance_growth_factor] > 0.0
          && isfinite(v[VR_calendar_fade_factor]) && isfinite(v[VR_cycle_fade_factor])
          && isfinite(v[VR_resistance_growth_factor])))
        return fail(t, "invalid parameter: the fade and growth factors must be positive numbers");
    return fmi2OK;
}

/* BatteryPack.__init__: the state and the outputs before the first step. */
static void initial_state(Twin *t) {
    double *v = t->s.value;
    double soh_init = v[VR_SOH_init], soc = v[VR_SOC_init], ocv;
    t->s.coolant = v[VR_coolant_connected] != 0.0;
    t->s.variation[0] = v[VR_capacity_factor];
    t->s.variation[1] = v[VR_calendar_fade_factor];
    t->s.variation[2] = v[VR_cycle_fade_factor];
    t->s.variation[3] = v[VR_resistance_growth_factor];
    memset(t->s.aging, 0, sizeof t->s.aging);
    t->s.aging[A_q_cal] = 1.0 - soh_init;
    t->s.aging[A_c_soc_min] = t->s.aging[A_c_soc_max] = soc;
    t->s.x[0] = soc;
    t->s.x[1] = t->s.x[2] = t->s.x[3] = 0.0;
    t->s.x[4] = t->s.x[5] = v[VR_T_init];
    v[VR_I_terminal] = v[VR_P_terminal] = v[VR_Q_heat] = v[VR_P_unmet] = 0.0;
    v[VR_Q_ambient] = v[VR_Q_coolant] = 0.0;
    v[VR_SOC] = soc;
    v[VR_T_cell] = v[VR_T_housing] = v[VR_T_init];
    ocv = prepare(t, 1.0);
    v[VR_V_terminal] = ocv * v[VR_n_series];
    aging_state_outputs(t);
}

/* ---- FMI: common functions ---------------------------------------------------------------------- */

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t n, const fmi2String cats[]) {
    (void)n;
    (void)cats;
    ((Twin *)c)->logging_on = loggingOn;
    return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
    Twin *t;
    (void)fmuResourceLocation;
    (void)visible;
    if (!functions || !functions->allocateMemory) return NULL;
    if (fmuType != fmi2CoSimulation || !fmuGUID || strcmp(fmuGUID, MODEL_GUID) != 0) {
        if (functions->logger)
            functions->logger(functions->componentEnvironment, instanceName, fmi2Error, "logStatusError",
                              "BatteryTwinNative: %s", fmuType != fmi2CoSimulation
                                  ? "only co-simulation is supported"
                                  : "GUID does not match this binary (rebuild the FMU)");
        return NULL;
    }
    t = (Twin *)functions->allocateMemory(1, sizeof(Twin));
    if (!t) return NULL;
    t->cb = *functions;
    snprintf(t->instance_name, sizeof t->instance_name, "%s", instanceName ? instanceName : "BatteryTwinNative");
    t->logging_on = loggingOn;
    reset_values(t);
    return t;
}

void fmi2FreeInstance(fmi2Component c) {
    Twin *t = (Twin *)c;
    if (t) t->cb.freeMemory(t);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean tolDefined, fmi2Real tol, fmi2Real startTime,
                               fmi2Boolean stopDefined, fmi2Real stopTime) {
    (void)c;
    (void)tolDefined;
    (void)tol;
    (void)startTime;
    (void)stopDefined;
    (void)stopTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) {
    Twin *t = (Twin *)c;
    if (t->s.mode != INSTANTIATED) return fail(t, "fmi2EnterInitializationMode: wrong state");
    t->s.mode = INITIALIZATION;
    return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    Twin *t = (Twin *)c;
    if (t->s.mode != INITIALIZATION) return fail(t, "fmi2ExitInitializationMode: wrong state");
    if (check_parameters(t) != fmi2OK) return fmi2Error;
    initial_state(t);
    t->s.mode = STEPPING;
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) {
    ((Twin *)c)->s.mode = TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c) {
    reset_values((Twin *)c);
    return fmi2OK;
}

/* ---- FMI: values -------------------------------------------------------------------------------- */

static int kind_ok(fmi2ValueReference vr, char kind) { return vr < N_VARS && VAR_TYPES[vr] == kind; }

static fmi2Status settable(Twin *t, fmi2ValueReference vr, const char *function) {
    if (VAR_CAUSALITY[vr] == 'o') return fail(t, "%s: value reference %u is an output", function, vr);
    if (VAR_CAUSALITY[vr] == 'p' && t->s.mode != INSTANTIATED && t->s.mode != INITIALIZATION)
        return fail(t, "%s: parameter %u is fixed after initialisation", function, vr);
    return fmi2OK;
}

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'R')) return fail(t, "fmi2GetReal: %u is not a Real variable", vr[i]);
        value[i] = t->s.value[vr[i]];
    }
    return fmi2OK;
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'R')) return fail(t, "fmi2SetReal: %u is not a Real variable", vr[i]);
        if (settable(t, vr[i], "fmi2SetReal") != fmi2OK) return fmi2Error;
        t->s.value[vr[i]] = value[i];
    }
    return fmi2OK;
}

fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'I')) return fail(t, "fmi2GetInteger: %u is not an Integer variable", vr[i]);
        value[i] = (fmi2Integer)t->s.value[vr[i]];
    }
    return fmi2OK;
}

fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'I')) return fail(t, "fmi2SetInteger: %u is not an Integer variable", vr[i]);
        if (settable(t, vr[i], "fmi2SetInteger") != fmi2OK) return fmi2Error;
        t->s.value[vr[i]] = (double)value[i];
    }
    return fmi2OK;
}

fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'B')) return fail(t, "fmi2GetBoolean: %u is not a Boolean variable", vr[i]);
        value[i] = t->s.value[vr[i]] != 0.0;
    }
    return fmi2OK;
}

fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'B')) return fail(t, "fmi2SetBoolean: %u is not a Boolean variable", vr[i]);
        if (settable(t, vr[i], "fmi2SetBoolean") != fmi2OK) return fmi2Error;
        t->s.value[vr[i]] = value[i] ? 1.0 : 0.0;
    }
    return fmi2OK;
}

fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2String value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'S')) return fail(t, "fmi2GetString: %u is not a String variable", vr[i]);
        value[i] = t->s.parameter_set;
    }
    return fmi2OK;
}

fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[]) {
    Twin *t = (Twin *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (!kind_ok(vr[i], 'S')) return fail(t, "fmi2SetString: %u is not a String variable", vr[i]);
        if (settable(t, vr[i], "fmi2SetString") != fmi2OK) return fmi2Error;
        snprintf(t->s.parameter_set, PARAMETER_SET_CHARS, "%s", value[i] ? value[i] : "");
    }
    return fmi2OK;
}

/* ---- FMI: state --------------------------------------------------------------------------------- */

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *state) {
    Twin *t = (Twin *)c;
    State *copy = *state ? (State *)*state : (State *)t->cb.allocateMemory(1, sizeof(State));
    if (!copy) return fail(t, "fmi2GetFMUstate: out of memory");
    *copy = t->s;
    *state = copy;
    return fmi2OK;
}

fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate state) {
    Twin *t = (Twin *)c;
    if (!state) return fail(t, "fmi2SetFMUstate: no state");
    t->s = *(const State *)state;
    return fmi2OK;
}

fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *state) {
    Twin *t = (Twin *)c;
    if (state && *state) {
        t->cb.freeMemory(*state);
        *state = NULL;
    }
    return fmi2OK;
}

fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate s, size_t *size) {
    (void)c;
    (void)s;
    *size = sizeof(State);
    return fmi2OK;
}

fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate s, fmi2Byte bytes[], size_t size) {
    Twin *t = (Twin *)c;
    if (size < sizeof(State)) return fail(t, "fmi2SerializeFMUstate: %zu bytes are too few", size);
    memcpy(bytes, s, sizeof(State));
    return fmi2OK;
}

fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte bytes[], size_t size, fmi2FMUstate *s) {
    Twin *t = (Twin *)c;
    if (size != sizeof(State)) return fail(t, "fmi2DeSerializeFMUstate: not a state of this FMU");
    if (!*s) *s = t->cb.allocateMemory(1, sizeof(State));
    if (!*s) return fail(t, "fmi2DeSerializeFMUstate: out of memory");
    memcpy(*s, bytes, sizeof(State));
    return fmi2OK;
}

static fmi2Status unsupported(fmi2Component c, const char *function) {
    return fail((Twin *)c, "%s is not supported by BatteryTwinNative", function);
}

fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference u[], size_t nu,
                                        const fmi2ValueReference k[], size_t nk, const fmi2Real dk[],
                                        fmi2Real du[]) {
    (void)u;
    (void)nu;
    (void)k;
    (void)nk;
    (void)dk;
    (void)du;
    return unsupported(c, "fmi2GetDirectionalDerivative");
}

fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[]) {
    (void)vr;
    (void)nvr;
    (void)order;
    (void)value;
    return unsupported(c, "fmi2SetRealInputDerivatives");
}

fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[]) {
    (void)vr;
    (void)nvr;
    (void)order;
    (void)value;
    return unsupported(c, "fmi2GetRealOutputDerivatives");
}

fmi2Status fmi2CancelStep(fmi2Component c) { return unsupported(c, "fmi2CancelStep"); }

/* ---- FMI: stepping ------------------------------------------------------------------------------ */

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real time, fmi2Real h, fmi2Boolean noSetFMUStatePriorToCurrentPoint) {
    Twin *t = (Twin *)c;
    const double *v = t->s.value;
    (void)noSetFMUStatePriorToCurrentPoint;
    if (t->s.mode != STEPPING) return fail(t, "fmi2DoStep: not initialised, or already failed");
    if (!(h > 0.0)) return fail(t, "doStep failed at t = %.17g s: communication step size must be positive, got %g",
                                time, h);
    if (!(isfinite(v[VR_P_load]) && isfinite(v[VR_I_charge]) && isfinite(v[VR_T_ambient])
          && isfinite(v[VR_T_coolant])))
        return fail(t, "doStep failed at t = %.17g s: an input (P_load, I_charge, T_ambient, T_coolant) is not "
                       "finite", time);
    if (!(v[VR_I_charge] >= 0.0))
        return fail(t, "doStep failed at t = %.17g s: input I_charge must be >= 0 (a charger pushes current in), "
                       "got %g", time, v[VR_I_charge]);
    pack_step(t, h);
    return fmi2OK;
}

fmi2Status fmi2GetStatus(fmi2Component c, const fmi2StatusKind s, fmi2Status *value) {
    (void)c;
    (void)s;
    (void)value;
    return fmi2Discard;
}

fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *value) {
    (void)c;
    (void)s;
    (void)value;
    return fmi2Discard;
}

fmi2Status fmi2GetIntegerStatus(fmi2Component c, const fmi2StatusKind s, fmi2Integer *value) {
    (void)c;
    (void)s;
    (void)value;
    return fmi2Discard;
}

fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean *value) {
    (void)c;
    (void)s;
    (void)value;
    return fmi2Discard;
}

fmi2Status fmi2GetStringStatus(fmi2Component c, const fmi2StatusKind s, fmi2String *value) {
    (void)c;
    (void)s;
    (void)value;
    return fmi2Discard;
}
