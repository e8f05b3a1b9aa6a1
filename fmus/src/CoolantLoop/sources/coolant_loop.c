/*
 * CoolantLoop: the coolant loop of a battery thermal system, as an FMI 2.0 co-simulation FMU.
 *
 * The return flow from the cooling plate (T_ret) mixes into one lumped node of mass M, which a
 * radiator of conductance UA cools towards ambient:
 *
 *     M c_p dT/dt = m_dot c_p (T_ret - T) - UA (T - T_amb)
 *
 * With the inputs held over a step the update is exact:
 *
 *     T(t + h) = T_eq + (T(t) - T_eq) exp(-a h),   a = (m_dot c_p + UA) / (M c_p),
 *     T_eq = (m_dot c_p T_ret + UA T_amb) / (m_dot c_p + UA)
 *
 * The supply temperature is the node's (no direct feed-through). The state is the node
 * temperature and the time, so saving a state is copying a small struct.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fmi2Functions.h"

#ifndef MODEL_GUID
#error "compile with -DMODEL_GUID=\"{...}\" taken from modelDescription.xml (evtwin fmus build-c does)"
#endif

enum {
    VR_T_RETURN = 0, /* coolant_return.T [degC]   input */
    VR_T_SUPPLY = 1, /* coolant_supply.T [degC]   output (the state) */
    VR_Q_RAD = 2,    /* Q_radiator       [W]      output */
    VR_M = 3,        /* M_loop           [kg]     fixed parameter */
    VR_CP = 4,       /* cp_coolant       [J/(kg.K)] fixed parameter */
    VR_M_FLOW = 5,   /* m_flow           [kg/s]   tunable parameter */
    VR_UA = 6,       /* UA_radiator      [W/K]    tunable parameter */
    VR_T_AMB = 7,    /* T_ambient        [degC]   tunable parameter */
    VR_T_START = 8,  /* T_loop_start     [degC]   fixed parameter */
    N_REAL = 9
};

typedef enum { INSTANTIATED, INITIALIZATION, STEPPING, TERMINATED, FAILED } Mode;

typedef struct {
    double r[N_REAL];
    double time;
    Mode mode;
} State;

typedef struct {
    fmi2CallbackFunctions cb;
    char instance_name[128];
    fmi2Boolean logging_on;
    State s;
} Loop;

static const double START[N_REAL] = {
    [VR_T_RETURN] = 25.0, [VR_T_SUPPLY] = 25.0, [VR_Q_RAD] = 0.0, [VR_M] = 5.0, [VR_CP] = 3500.0,
    [VR_M_FLOW] = 0.14133333333333334, [VR_UA] = 200.0, [VR_T_AMB] = 25.0, [VR_T_START] = 25.0,
};

static void log_message(Loop *p, fmi2Status status, const char *fmt, ...) {
    char text[512];
    va_list args;
    if (!p->cb.logger || (status == fmi2OK && !p->logging_on)) return;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    p->cb.logger(p->cb.componentEnvironment, p->instance_name, status,
                 status >= fmi2Error ? "logStatusError" : "logAll", "%s", text);
}

static fmi2Status fail(Loop *p, const char *what) {
    log_message(p, fmi2Error, "%s", what);
    p->s.mode = FAILED;
    return fmi2Error;
}

static void update_outputs(Loop *p) {
    p->s.r[VR_Q_RAD] = p->s.r[VR_UA] * (p->s.r[VR_T_SUPPLY] - p->s.r[VR_T_AMB]);
}

static void reset_values(Loop *p) {
    memcpy(p->s.r, START, sizeof START);
    p->s.time = 0.0;
    p->s.mode = INSTANTIATED;
}

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t n, const fmi2String cats[]) {
    (void)n;
    (void)cats;
    ((Loop *)c)->logging_on = loggingOn;
    return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
    Loop *p;
    (void)fmuResourceLocation;
    (void)visible;
    if (!functions || !functions->allocateMemory) return NULL;
    if (fmuType != fmi2CoSimulation || !fmuGUID || strcmp(fmuGUID, MODEL_GUID) != 0) {
        if (functions->logger)
            functions->logger(functions->componentEnvironment, instanceName, fmi2Error, "logStatusError",
                              "CoolantLoop: %s", fmuType != fmi2CoSimulation
                                  ? "only co-simulation is supported"
                                  : "GUID does not match this binary (rebuild the FMU)");
        return NULL;
    }
    p = (Loop *)functions->allocateMemory(1, sizeof(Loop));
    if (!p) return NULL;
    p->cb = *functions;
    snprintf(p->instance_name, sizeof p->instance_name, "%s", instanceName ? instanceName : "CoolantLoop");
    p->logging_on = loggingOn;
    reset_values(p);
    return p;
}

void fmi2FreeInstance(fmi2Component c) {
    Loop *p = (Loop *)c;
    if (p) p->cb.freeMemory(p);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean tolDefined, fmi2Real tol, fmi2Real startTime,
                               fmi2Boolean stopDefined, fmi2Real stopTime) {
    Loop *p = (Loop *)c;
    (void)tolDefined;
    (void)tol;
    (void)stopDefined;
    (void)stopTime;
    if (p->s.mode != INSTANTIATED) return fail(p, "fmi2SetupExperiment: only allowed after fmi2Instantiate");
    p->s.time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) {
    Loop *p = (Loop *)c;
    if (p->s.mode != INSTANTIATED) return fail(p, "fmi2EnterInitializationMode: wrong state");
    p->s.mode = INITIALIZATION;
    return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    Loop *p = (Loop *)c;
    if (p->s.mode != INITIALIZATION) return fail(p, "fmi2ExitInitializationMode: wrong state");
    if (!(p->s.r[VR_M] > 0.0) || !(p->s.r[VR_CP] > 0.0) || !(p->s.r[VR_M_FLOW] >= 0.0) || !(p->s.r[VR_UA] >= 0.0))
        return fail(p, "parameters must be positive: M_loop, cp_coolant, and m_flow, UA_radiator >= 0");
    p->s.r[VR_T_SUPPLY] = p->s.r[VR_T_START];
    update_outputs(p);
    p->s.mode = STEPPING;
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) {
    ((Loop *)c)->s.mode = TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c) {
    reset_values((Loop *)c);
    return fmi2OK;
}

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
    Loop *p = (Loop *)c;
    size_t i;
    if (p->s.mode == INITIALIZATION) {
        p->s.r[VR_T_SUPPLY] = p->s.r[VR_T_START];
        update_outputs(p);
    }
    for (i = 0; i < nvr; i++) {
        if (vr[i] >= N_REAL) return fail(p, "fmi2GetReal: unknown value reference");
        value[i] = p->s.r[vr[i]];
    }
    return fmi2OK;
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
    Loop *p = (Loop *)c;
    char what[160];
    size_t i;
    for (i = 0; i < nvr; i++) {
        int fixed = vr[i] == VR_M || vr[i] == VR_CP || vr[i] == VR_T_START;
        if (vr[i] >= N_REAL || vr[i] == VR_T_SUPPLY || vr[i] == VR_Q_RAD) {
            snprintf(what, sizeof what, "fmi2SetReal: value reference %u is not an input or parameter", vr[i]);
            return fail(p, what);
        }
        if (fixed && p->s.mode != INSTANTIATED && p->s.mode != INITIALIZATION) {
            snprintf(what, sizeof what, "fmi2SetReal: parameter %u is fixed after initialization", vr[i]);
            return fail(p, what);
        }
        p->s.r[vr[i]] = value[i];
    }
    if (p->s.mode == STEPPING) update_outputs(p);
    return fmi2OK;
}

static fmi2Status none(fmi2Component c, size_t nvr, const char *function) {
    char what[160];
    if (!nvr) return fmi2OK;
    snprintf(what, sizeof what, "%s: this FMU has only Real variables", function);
    return fail((Loop *)c, what);
}

fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
    (void)vr;
    (void)value;
    return none(c, nvr, "fmi2GetInteger");
}
fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
    (void)vr;
    (void)value;
    return none(c, nvr, "fmi2SetInteger");
}
fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[]) {
    (void)vr;
    (void)value;
    return none(c, nvr, "fmi2GetBoolean");
}
fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[]) {
    (void)vr;
    (void)value;
    return none(c, nvr, "fmi2SetBoolean");
}
fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2String value[]) {
    (void)vr;
    (void)value;
    return none(c, nvr, "fmi2GetString");
}
fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[]) {
    (void)vr;
    (void)value;
    return none(c, nvr, "fmi2SetString");
}

/* ---- state: a copy of the small state struct ----------------------------------------------- */

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *state) {
    Loop *p = (Loop *)c;
    State *copy = *state ? (State *)*state : (State *)p->cb.allocateMemory(1, sizeof(State));
    if (!copy) return fail(p, "fmi2GetFMUstate: out of memory");
    *copy = p->s;
    *state = copy;
    return fmi2OK;
}
fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate state) {
    Loop *p = (Loop *)c;
    if (!state) return fail(p, "fmi2SetFMUstate: no state");
    p->s = *(State *)state;
    return fmi2OK;
}
fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *state) {
    Loop *p = (Loop *)c;
    if (state && *state) {
        p->cb.freeMemory(*state);
        *state = NULL;
    }
    return fmi2OK;
}

static fmi2Status unsupported(fmi2Component c, const char *function) {
    char what[200];
    snprintf(what, sizeof what, "%s is not supported by CoolantLoop (see the capability flags)", function);
    log_message((Loop *)c, fmi2Error, "%s", what);
    return fmi2Error;
}

fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate s, size_t *size) {
    (void)s;
    (void)size;
    return unsupported(c, "fmi2SerializedFMUstateSize");
}
fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate s, fmi2Byte bytes[], size_t size) {
    (void)s;
    (void)bytes;
    (void)size;
    return unsupported(c, "fmi2SerializeFMUstate");
}
fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte bytes[], size_t size, fmi2FMUstate *s) {
    (void)bytes;
    (void)size;
    (void)s;
    return unsupported(c, "fmi2DeSerializeFMUstate");
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

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real t, fmi2Real h, fmi2Boolean noSetFMUStatePriorToCurrentPoint) {
    Loop *p = (Loop *)c;
    double *r = p->s.r, mc, g, T_eq;
    char what[200];
    (void)noSetFMUStatePriorToCurrentPoint;
    if (p->s.mode != STEPPING) return fail(p, "fmi2DoStep: not initialized, or already failed");
    if (!(h > 0.0)) {
        snprintf(what, sizeof what, "fmi2DoStep at t = %g s: step size must be > 0 (got %g s)", t, h);
        return fail(p, what);
    }
    if (fabs(t - p->s.time) > 1e-9 * (fabs(t) + h)) {
        snprintf(what, sizeof what, "fmi2DoStep: communication point %g s does not continue from %g s", t, p->s.time);
        return fail(p, what);
    }
    mc = r[VR_M_FLOW] * r[VR_CP];
    g = mc + r[VR_UA];
    if (g > 0.0) {
        T_eq = (mc * r[VR_T_RETURN] + r[VR_UA] * r[VR_T_AMB]) / g;
        r[VR_T_SUPPLY] = T_eq + (r[VR_T_SUPPLY] - T_eq) * exp(-h * g / (r[VR_M] * r[VR_CP]));
    }
    p->s.time = t + h;
    update_outputs(p);
    return fmi2OK;
}

fmi2Status fmi2GetStatus(fmi2Component c, const fmi2StatusKind s, fmi2Status *value) {
    (void)c;
    (void)s;
    (void)value;
    return fmi2Discard;
}
fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *value) {
    if (s != fmi2LastSuccessfulTime) return fmi2Discard;
    *value = ((Loop *)c)->s.time;
    return fmi2OK;
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
