/*
 * CoolingPlate: a liquid cooling plate under a battery pack, as an FMI 2.0 co-simulation FMU.
 *
 * It stands in for a thermal-hydraulic model exported from AMESIM or Simulink, with that kind of
 * interface: structured variable names, degC and l/min at the ports, a fixed communication step
 * (canHandleVariableCommunicationStepSize=false) and no state save (canGetAndSetFMUstate=false).
 *
 * Model: one lumped coolant node of mass M and specific heat c_p, fed at T_in with mass flow
 * m_dot = rho * V_flow, receiving the pack's heat Q through the plate:
 *
 *     M c_p dT/dt = Q + m_dot c_p (T_in - T)
 *
 * With the inputs held over a step (zero-order hold) the update is exact:
 *
 *     T(t + h) = T_ss + (T(t) - T_ss) exp(-h m_dot / M),   T_ss = T_in + Q / (m_dot c_p)
 *
 * and T(t + h) = T(t) + Q h / (M c_p) without flow. The plate has no mass of its own; its
 * surface is warmer than the coolant by Q / UA.
 *
 * The parameter fail_at_time makes doStep fail (fmi2Error, with a logged message) from that
 * time on, so that hosts can test how they handle a failure in the middle of a run; with
 * fail_by_crash set it crashes the process instead (a segmentation fault), as a faulty
 * third-party binary would.
 *
 * The GUID comes from modelDescription.xml at build time (-DMODEL_GUID=...), so the two
 * cannot drift apart.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fmi2Functions.h"

#ifndef MODEL_GUID
#error "compile with -DMODEL_GUID=\"{...}\" taken from modelDescription.xml (evtwin fmus build-c does)"
#endif

/* Value references, as in modelDescription.xml. */
enum {
    VR_Q_FLOW = 0,      /* thermal_port.Q_flow  [W]        input */
    VR_T_IN = 1,        /* coolant_in.T         [degC]     input */
    VR_V_FLOW = 2,      /* coolant_in.V_flow    [l/min]    input */
    VR_PUMP_ON = 3,     /* pump_on              Boolean    input */
    VR_T_OUT = 4,       /* coolant_out.T        [degC]     output (the state) */
    VR_T_PLATE = 5,     /* plate.T              [degC]     output */
    VR_M_FLOW = 6,      /* coolant.m_flow       [kg/s]     local */
    VR_M = 7,           /* M_coolant            [kg]       parameter */
    VR_CP = 8,          /* cp_coolant           [J/(kg.K)] parameter */
    VR_RHO = 9,         /* rho_coolant          [kg/m3]    parameter */
    VR_UA = 10,         /* UA_plate             [W/K]      parameter */
    VR_T_START = 11,    /* T_coolant_start      [degC]     parameter */
    VR_FAIL_AT = 12,    /* fail_at_time         [s]        parameter */
    VR_MEDIUM = 13,     /* coolant.medium       String     parameter */
    VR_CRASH = 14,      /* fail_by_crash        Boolean    parameter */
    VR_AT_INLET = 15,   /* start_at_inlet       Boolean    parameter */
    N_REAL_SLOTS = 13
};

#define LITRE_PER_MIN_TO_M3_PER_S (1.0e-3 / 60.0)
#define MEDIUM_CHARS 64

typedef enum { INSTANTIATED, INITIALIZATION, STEPPING, TERMINATED, FAILED } Mode;

typedef struct {
    fmi2CallbackFunctions cb;
    char instance_name[128];
    fmi2Boolean logging_on;
    Mode mode;
    double r[N_REAL_SLOTS];      /* Real variables, indexed by value reference */
    fmi2Boolean pump_on;
    fmi2Boolean fail_by_crash;   /* at fail_at_time: a segmentation fault instead of fmi2Error */
    fmi2Boolean start_at_inlet;  /* the coolant starts at the inlet temperature, not T_coolant_start */
    char medium[MEDIUM_CHARS];
    double time;
    double fixed_step;           /* 0 until the first doStep fixes it */
} Plate;

static const double START[N_REAL_SLOTS] = {
    [VR_Q_FLOW] = 0.0, [VR_T_IN] = 25.0, [VR_V_FLOW] = 8.0, [VR_T_OUT] = 25.0, [VR_T_PLATE] = 25.0,
    [VR_M_FLOW] = 0.0, [VR_M] = 2.0, [VR_CP] = 3500.0, [VR_RHO] = 1060.0, [VR_UA] = 250.0,
    [VR_T_START] = 25.0, [VR_FAIL_AT] = -1.0,
};

/* Formats here, because the variadic logger cannot take a va_list. Errors are always
   reported; debug messages only when the host switched logging on. */
static void log_message(Plate *p, fmi2Status status, const char *fmt, ...) {
    char text[512];
    va_list args;
    if (!p->cb.logger || (status == fmi2OK && !p->logging_on)) return;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    p->cb.logger(p->cb.componentEnvironment, p->instance_name, status,
                 status >= fmi2Error ? "logStatusError" : "logAll", "%s", text);
}

static fmi2Status fail(Plate *p, fmi2Status status, const char *what) {
    log_message(p, status, "%s", what);
    if (status >= fmi2Error) p->mode = FAILED;
    return status;
}

static double mass_flow(const Plate *p) {
    return p->pump_on ? p->r[VR_RHO] * p->r[VR_V_FLOW] * LITRE_PER_MIN_TO_M3_PER_S : 0.0;
}

static void update_outputs(Plate *p) {
    p->r[VR_M_FLOW] = mass_flow(p);
    p->r[VR_T_PLATE] = p->r[VR_T_OUT] + p->r[VR_Q_FLOW] / p->r[VR_UA];
}

/* The coolant's initial temperature: the inlet's when asked (a loop at rest sits at ambient). */
static double initial_coolant(const Plate *p) {
    return p->start_at_inlet ? p->r[VR_T_IN] : p->r[VR_T_START];
}

static void reset_values(Plate *p) {
    memcpy(p->r, START, sizeof START);
    p->pump_on = fmi2True;
    snprintf(p->medium, MEDIUM_CHARS, "%s", "EGW50");
    p->time = 0.0;
    p->fixed_step = 0.0;
    p->mode = INSTANTIATED;
}

static int is_parameter(fmi2ValueReference vr) { return vr >= VR_M && vr <= VR_FAIL_AT; }
static int is_input(fmi2ValueReference vr) { return vr <= VR_V_FLOW; }

/* ---- common functions ------------------------------------------------------------------- */

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t nCategories,
                               const fmi2String categories[]) {
    (void)nCategories;
    (void)categories;
    ((Plate *)c)->logging_on = loggingOn;
    return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
    Plate *p;
    (void)fmuResourceLocation;
    (void)visible;
    if (!functions || !functions->allocateMemory) return NULL;
    if (fmuType != fmi2CoSimulation || !fmuGUID || strcmp(fmuGUID, MODEL_GUID) != 0) {
        if (functions->logger)
            functions->logger(functions->componentEnvironment, instanceName, fmi2Error, "logStatusError",
                              "CoolingPlate: %s", fmuType != fmi2CoSimulation
                                  ? "only co-simulation is supported"
                                  : "GUID does not match this binary (rebuild the FMU)");
        return NULL;
    }
    p = (Plate *)functions->allocateMemory(1, sizeof(Plate));
    if (!p) return NULL;
    p->cb = *functions;
    snprintf(p->instance_name, sizeof p->instance_name, "%s", instanceName ? instanceName : "CoolingPlate");
    p->logging_on = loggingOn;
    reset_values(p);
    log_message(p, fmi2OK, "instantiated");
    return p;
}

void fmi2FreeInstance(fmi2Component c) {
    Plate *p = (Plate *)c;
    if (p) p->cb.freeMemory(p);
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime) {
    Plate *p = (Plate *)c;
    (void)toleranceDefined;
    (void)tolerance;
    (void)stopTimeDefined;
    (void)stopTime;
    if (p->mode != INSTANTIATED) return fail(p, fmi2Error, "fmi2SetupExperiment: only allowed after fmi2Instantiate");
    p->time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) {
    Plate *p = (Plate *)c;
    if (p->mode != INSTANTIATED) return fail(p, fmi2Error, "fmi2EnterInitializationMode: wrong state");
    p->mode = INITIALIZATION;
    return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    Plate *p = (Plate *)c;
    char what[256];
    if (p->mode != INITIALIZATION) return fail(p, fmi2Error, "fmi2ExitInitializationMode: wrong state");
    if (!(p->r[VR_M] > 0.0) || !(p->r[VR_CP] > 0.0) || !(p->r[VR_UA] > 0.0) || !(p->r[VR_RHO] > 0.0)) {
        snprintf(what, sizeof what,
                 "parameters must be positive: M_coolant = %g kg, cp_coolant = %g J/(kg.K), "
                 "rho_coolant = %g kg/m3, UA_plate = %g W/K",
                 p->r[VR_M], p->r[VR_CP], p->r[VR_RHO], p->r[VR_UA]);
        return fail(p, fmi2Error, what);
    }
    p->r[VR_T_OUT] = initial_coolant(p);
    update_outputs(p);
    p->mode = STEPPING;
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) {
    ((Plate *)c)->mode = TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c) {
    reset_values((Plate *)c);
    return fmi2OK;
}

/* ---- getting and setting values --------------------------------------------------------- */

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
    Plate *p = (Plate *)c;
    size_t i;
    if (p->mode == INITIALIZATION) {
        p->r[VR_T_OUT] = initial_coolant(p);
        if (p->r[VR_UA] > 0.0) update_outputs(p);
    }
    for (i = 0; i < nvr; i++) {
        if (vr[i] >= N_REAL_SLOTS) return fail(p, fmi2Error, "fmi2GetReal: unknown value reference");
        value[i] = p->r[vr[i]];
    }
    return fmi2OK;
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
    Plate *p = (Plate *)c;
    char what[160];
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (vr[i] >= N_REAL_SLOTS || !(is_input(vr[i]) || is_parameter(vr[i]))) {
            snprintf(what, sizeof what, "fmi2SetReal: value reference %u is not an input or parameter", vr[i]);
            return fail(p, fmi2Error, what);
        }
        if (is_parameter(vr[i]) && p->mode != INSTANTIATED && p->mode != INITIALIZATION) {
            snprintf(what, sizeof what, "fmi2SetReal: parameter %u is fixed after initialization", vr[i]);
            return fail(p, fmi2Error, what);
        }
        p->r[vr[i]] = value[i];
    }
    if (p->mode == STEPPING) update_outputs(p);
    return fmi2OK;
}

fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
    (void)vr;
    (void)value;
    return nvr ? fail((Plate *)c, fmi2Error, "fmi2GetInteger: this FMU has no Integer variables") : fmi2OK;
}

fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
    (void)vr;
    (void)value;
    return nvr ? fail((Plate *)c, fmi2Error, "fmi2SetInteger: this FMU has no Integer variables") : fmi2OK;
}

fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[]) {
    Plate *p = (Plate *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (vr[i] == VR_CRASH || vr[i] == VR_AT_INLET) {
            value[i] = vr[i] == VR_CRASH ? p->fail_by_crash : p->start_at_inlet;
            continue;
        }
        if (vr[i] != VR_PUMP_ON) return fail(p, fmi2Error, "fmi2GetBoolean: unknown value reference");
        value[i] = p->pump_on;
    }
    return fmi2OK;
}

fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[]) {
    Plate *p = (Plate *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if ((vr[i] == VR_CRASH || vr[i] == VR_AT_INLET) && (p->mode == INSTANTIATED || p->mode == INITIALIZATION)) {
            *(vr[i] == VR_CRASH ? &p->fail_by_crash : &p->start_at_inlet) = value[i] ? fmi2True : fmi2False;
            continue;
        }
        if (vr[i] != VR_PUMP_ON) return fail(p, fmi2Error, "fmi2SetBoolean: unknown value reference");
        p->pump_on = value[i] ? fmi2True : fmi2False;
    }
    if (p->mode == STEPPING) update_outputs(p);
    return fmi2OK;
}

fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2String value[]) {
    Plate *p = (Plate *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (vr[i] != VR_MEDIUM) return fail(p, fmi2Error, "fmi2GetString: unknown value reference");
        value[i] = p->medium;
    }
    return fmi2OK;
}

fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[]) {
    Plate *p = (Plate *)c;
    size_t i;
    for (i = 0; i < nvr; i++) {
        if (vr[i] != VR_MEDIUM) return fail(p, fmi2Error, "fmi2SetString: unknown value reference");
        if (p->mode != INSTANTIATED && p->mode != INITIALIZATION)
            return fail(p, fmi2Error, "fmi2SetString: coolant.medium is fixed after initialization");
        snprintf(p->medium, MEDIUM_CHARS, "%s", value[i] ? value[i] : "");
    }
    return fmi2OK;
}

/* ---- no state save, no derivatives -------------------------------------------------------- */

static fmi2Status unsupported(fmi2Component c, const char *function) {
    char what[200];
    snprintf(what, sizeof what, "%s is not supported by CoolingPlate (see the capability flags)", function);
    log_message((Plate *)c, fmi2Error, "%s", what);
    return fmi2Error;
}

fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *s) {
    (void)s;
    return unsupported(c, "fmi2GetFMUstate");
}
fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate s) {
    (void)s;
    return unsupported(c, "fmi2SetFMUstate");
}
fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *s) {
    (void)s;
    return unsupported(c, "fmi2FreeFMUstate");
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

/* ---- stepping ----------------------------------------------------------------------------- */

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real t, fmi2Real h, fmi2Boolean noSetFMUStatePriorToCurrentPoint) {
    Plate *p = (Plate *)c;
    double m_dot, T_ss, Q, cp, M;
    char what[320];
    (void)noSetFMUStatePriorToCurrentPoint;
    if (p->mode != STEPPING) return fail(p, fmi2Error, "fmi2DoStep: not initialized, or already failed");
    if (!(h > 0.0)) {
        snprintf(what, sizeof what, "fmi2DoStep at t = %g s: step size must be > 0 (got %g s)", t, h);
        return fail(p, fmi2Error, what);
    }
    if (p->fixed_step == 0.0) {
        p->fixed_step = h;
    } else if (fabs(h - p->fixed_step) > 1e-9 * p->fixed_step) {
        snprintf(what, sizeof what,
                 "fmi2DoStep at t = %g s: communication step changed from %g s to %g s; this FMU runs at "
                 "one fixed step (canHandleVariableCommunicationStepSize=false)", t, p->fixed_step, h);
        return fail(p, fmi2Error, what);
    }
    if (fabs(t - p->time) > 1e-9 * (fabs(t) + h)) {
        snprintf(what, sizeof what, "fmi2DoStep: communication point %g s does not continue from %g s", t, p->time);
        return fail(p, fmi2Error, what);
    }
    if (p->r[VR_FAIL_AT] >= 0.0 && t >= p->r[VR_FAIL_AT] && p->fail_by_crash) {
        log_message(p, fmi2Warning, "crashing on purpose at t = %g s (fail_by_crash)", t);
        {
            /* A write through a null pointer the compiler cannot see through: a real SIGSEGV. */
            int *volatile nowhere = NULL;
            *nowhere = 0;
        }
    }
    if (p->r[VR_FAIL_AT] >= 0.0 && t >= p->r[VR_FAIL_AT]) {
        snprintf(what, sizeof what,
                 "coolant solver diverged at t = %g s (medium %s; injected by parameter fail_at_time = %g s)",
                 t, p->medium, p->r[VR_FAIL_AT]);
        return fail(p, fmi2Error, what);
    }
    if (p->r[VR_V_FLOW] < 0.0) {
        snprintf(what, sizeof what, "fmi2DoStep at t = %g s: coolant_in.V_flow = %g l/min, expected >= 0",
                 t, p->r[VR_V_FLOW]);
        return fail(p, fmi2Error, what);
    }

    Q = p->r[VR_Q_FLOW];
    cp = p->r[VR_CP];
    M = p->r[VR_M];
    m_dot = mass_flow(p);
    if (m_dot > 0.0) {
        T_ss = p->r[VR_T_IN] + Q / (m_dot * cp);
        p->r[VR_T_OUT] = T_ss + (p->r[VR_T_OUT] - T_ss) * exp(-h * m_dot / M);
    } else {
        p->r[VR_T_OUT] += Q * h / (M * cp);
    }
    p->time = t + h;
    update_outputs(p);
    log_message(p, fmi2OK, "t = %g s: coolant %g degC", p->time, p->r[VR_T_OUT]);
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
    *value = ((Plate *)c)->time;
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
