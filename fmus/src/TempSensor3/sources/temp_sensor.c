/*
 * TempSensor3: a temperature sensor with a first-order lag, as an FMI 3.0 co-simulation FMU.
 *
 * It stands in for a small FMI 3.0 export with Simulink-style port names. Unlike CoolingPlate it
 * accepts any communication step and can save, restore and serialize its state, so hosts can
 * test rollback against it.
 *
 * Model: tau dy/dt = u - y. With u held over a step (zero-order hold) the update is exact:
 *
 *     y(t + h) = u + (y(t) - u) exp(-h / tau)
 *
 * The functions of FMI 3.0 this FMU has no use for (model exchange, scheduled execution, clocks,
 * the integer and binary types it does not declare) are in unsupported.c.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fmi3Functions.h"
#include "sensor.h"

#ifndef MODEL_GUID
#error "compile with -DMODEL_GUID=\"{...}\" taken from modelDescription.xml (evtwin fmus build-c does)"
#endif

enum {
    VR_TIME = 0, VR_IN = 1, VR_OUT = 2, VR_STEPS = 3, VR_TAU = 4, VR_Y_START = 5, VR_BYPASS = 6, VR_FAIL_AT = 7,
    VR_DECIMALS = 8
};

static const SensorValues START = {
    .time = 0.0, .u = 298.15, .y = 298.15, .steps = 0, .tau = 5.0, .y_start = 298.15, .bypass = false,
    .fail_at = -1.0, .decimals = -1,
};

/* The reading as the sensor shows it: the state, rounded when asked to. */
static double reading(const Sensor *s) {
    double y = s->mode == INITIALIZATION ? s->v.y_start : s->v.y;
    double scale;
    if (s->v.decimals < 0) return y;
    scale = pow(10.0, s->v.decimals);
    return round(y * scale) / scale;
}

void sensor_log(Sensor *s, fmi3Status status, const char *fmt, ...) {
    char text[512];
    va_list args;
    if (!s->log || (status == fmi3OK && !s->logging_on)) return;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    s->log(s->env, status, status >= fmi3Error ? "logStatusError" : "logAll", text);
}

fmi3Status sensor_fail(Sensor *s, const char *function) {
    sensor_log(s, fmi3Error, "%s is not supported by TempSensor3", function);
    return fmi3Error;
}

static fmi3Status bad_vr(Sensor *s, const char *function, fmi3ValueReference vr) {
    sensor_log(s, fmi3Error, "%s: value reference %u is not a variable of this type", function, vr);
    return fmi3Error;
}

static bool is_fixed_after_init(const Sensor *s) { return s->mode != INSTANTIATED && s->mode != INITIALIZATION; }

/* ---- life cycle --------------------------------------------------------------------------- */

const char *fmi3GetVersion(void) { return fmi3Version; }

fmi3Status fmi3SetDebugLogging(fmi3Instance instance, fmi3Boolean loggingOn, size_t nCategories,
                               const fmi3String categories[]) {
    (void)nCategories;
    (void)categories;
    ((Sensor *)instance)->logging_on = loggingOn;
    return fmi3OK;
}

fmi3Instance fmi3InstantiateCoSimulation(fmi3String instanceName, fmi3String instantiationToken,
                                         fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                         fmi3Boolean eventModeUsed, fmi3Boolean earlyReturnAllowed,
                                         const fmi3ValueReference requiredIntermediateVariables[],
                                         size_t nRequiredIntermediateVariables,
                                         fmi3InstanceEnvironment instanceEnvironment,
                                         fmi3LogMessageCallback logMessage,
                                         fmi3IntermediateUpdateCallback intermediateUpdate) {
    Sensor *s;
    (void)instanceName;
    (void)resourcePath;
    (void)visible;
    (void)earlyReturnAllowed;
    (void)requiredIntermediateVariables;
    (void)nRequiredIntermediateVariables;
    (void)intermediateUpdate;
    if (!instantiationToken || strcmp(instantiationToken, MODEL_GUID) != 0 || eventModeUsed) {
        if (logMessage)
            logMessage(instanceEnvironment, fmi3Error, "logStatusError",
                       eventModeUsed ? "TempSensor3: event mode is not supported"
                                     : "TempSensor3: instantiationToken does not match this binary (rebuild the FMU)");
        return NULL;
    }
    s = (Sensor *)calloc(1, sizeof(Sensor));
    if (!s) return NULL;
    s->log = logMessage;
    s->env = instanceEnvironment;
    s->logging_on = loggingOn;
    s->v = START;
    s->mode = INSTANTIATED;
    return s;
}

void fmi3FreeInstance(fmi3Instance instance) { free(instance); }

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime) {
    Sensor *s = (Sensor *)instance;
    (void)toleranceDefined;
    (void)tolerance;
    (void)stopTimeDefined;
    (void)stopTime;
    if (s->mode != INSTANTIATED) return sensor_fail(s, "fmi3EnterInitializationMode in this state");
    s->v.time = startTime;
    s->mode = INITIALIZATION;
    return fmi3OK;
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance) {
    Sensor *s = (Sensor *)instance;
    if (s->mode != INITIALIZATION) return sensor_fail(s, "fmi3ExitInitializationMode in this state");
    if (!(s->v.tau > 0.0)) {
        sensor_log(s, fmi3Error, "tau = %g s: the time constant must be > 0", s->v.tau);
        return fmi3Error;
    }
    s->v.y = s->v.y_start;
    s->mode = STEPPING;
    return fmi3OK;
}

fmi3Status fmi3EnterStepMode(fmi3Instance instance) {
    (void)instance;
    return fmi3OK;
}

fmi3Status fmi3Terminate(fmi3Instance instance) {
    ((Sensor *)instance)->mode = TERMINATED;
    return fmi3OK;
}

fmi3Status fmi3Reset(fmi3Instance instance) {
    Sensor *s = (Sensor *)instance;
    s->v = START;
    s->mode = INSTANTIATED;
    return fmi3OK;
}

fmi3Status fmi3DoStep(fmi3Instance instance, fmi3Float64 t, fmi3Float64 h,
                      fmi3Boolean noSetFMUStatePriorToCurrentPoint, fmi3Boolean *eventHandlingNeeded,
                      fmi3Boolean *terminateSimulation, fmi3Boolean *earlyReturn, fmi3Float64 *lastSuccessfulTime) {
    Sensor *s = (Sensor *)instance;
    (void)noSetFMUStatePriorToCurrentPoint;
    *eventHandlingNeeded = false;
    *terminateSimulation = false;
    *earlyReturn = false;
    *lastSuccessfulTime = s->v.time;
    if (s->mode != STEPPING) return sensor_fail(s, "fmi3DoStep before initialization");
    if (!(h > 0.0)) {
        sensor_log(s, fmi3Error, "fmi3DoStep at t = %g s: step size must be > 0 (got %g s)", t, h);
        return fmi3Error;
    }
    if (s->v.fail_at >= 0.0 && t >= s->v.fail_at) {
        sensor_log(s, fmi3Error, "sensor model failed at t = %g s (injected by parameter fail_at_time = %g s)",
                   t, s->v.fail_at);
        return fmi3Error;
    }
    s->v.y = s->v.bypass ? s->v.u : s->v.u + (s->v.y - s->v.u) * exp(-h / s->v.tau);
    s->v.time = t + h;
    s->v.steps += 1;
    *lastSuccessfulTime = s->v.time;
    return fmi3OK;
}

/* ---- values ------------------------------------------------------------------------------- */

fmi3Status fmi3GetFloat64(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Float64 values[],
                          size_t nValues) {
    Sensor *s = (Sensor *)instance;
    size_t i;
    (void)nValues;
    for (i = 0; i < nvr; i++) {
        switch (vr[i]) {
        case VR_TIME: values[i] = s->v.time; break;
        case VR_IN: values[i] = s->v.u; break;
        case VR_OUT: values[i] = reading(s); break;
        case VR_TAU: values[i] = s->v.tau; break;
        case VR_Y_START: values[i] = s->v.y_start; break;
        case VR_FAIL_AT: values[i] = s->v.fail_at; break;
        default: return bad_vr(s, "fmi3GetFloat64", vr[i]);
        }
    }
    return fmi3OK;
}

fmi3Status fmi3SetFloat64(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                          const fmi3Float64 values[], size_t nValues) {
    Sensor *s = (Sensor *)instance;
    size_t i;
    (void)nValues;
    for (i = 0; i < nvr; i++) {
        if (vr[i] != VR_IN && is_fixed_after_init(s)) {
            sensor_log(s, fmi3Error, "fmi3SetFloat64: value reference %u is fixed after initialization", vr[i]);
            return fmi3Error;
        }
        switch (vr[i]) {
        case VR_IN: s->v.u = values[i]; break;
        case VR_TAU: s->v.tau = values[i]; break;
        case VR_Y_START: s->v.y_start = values[i]; break;
        case VR_FAIL_AT: s->v.fail_at = values[i]; break;
        default: return bad_vr(s, "fmi3SetFloat64", vr[i]);
        }
    }
    return fmi3OK;
}

fmi3Status fmi3GetInt32(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Int32 values[],
                        size_t nValues) {
    Sensor *s = (Sensor *)instance;
    size_t i;
    (void)nValues;
    for (i = 0; i < nvr; i++) {
        switch (vr[i]) {
        case VR_STEPS: values[i] = s->v.steps; break;
        case VR_DECIMALS: values[i] = s->v.decimals; break;
        default: return bad_vr(s, "fmi3GetInt32", vr[i]);
        }
    }
    return fmi3OK;
}

fmi3Status fmi3SetInt32(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const fmi3Int32 values[],
                        size_t nValues) {
    Sensor *s = (Sensor *)instance;
    size_t i;
    (void)nValues;
    for (i = 0; i < nvr; i++) {
        if (vr[i] != VR_DECIMALS) return bad_vr(s, "fmi3SetInt32", vr[i]);
        if (is_fixed_after_init(s)) return sensor_fail(s, "changing decimals after initialization");
        s->v.decimals = values[i];
    }
    return fmi3OK;
}

fmi3Status fmi3GetBoolean(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Boolean values[],
                          size_t nValues) {
    Sensor *s = (Sensor *)instance;
    size_t i;
    (void)nValues;
    for (i = 0; i < nvr; i++) {
        if (vr[i] != VR_BYPASS) return bad_vr(s, "fmi3GetBoolean", vr[i]);
        values[i] = s->v.bypass;
    }
    return fmi3OK;
}

fmi3Status fmi3SetBoolean(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                          const fmi3Boolean values[], size_t nValues) {
    Sensor *s = (Sensor *)instance;
    size_t i;
    (void)nValues;
    for (i = 0; i < nvr; i++) {
        if (vr[i] != VR_BYPASS) return bad_vr(s, "fmi3SetBoolean", vr[i]);
        if (is_fixed_after_init(s)) return sensor_fail(s, "changing bypass after initialization");
        s->v.bypass = values[i];
    }
    return fmi3OK;
}

/* ---- state -------------------------------------------------------------------------------- */

fmi3Status fmi3GetFMUState(fmi3Instance instance, fmi3FMUState *FMUState) {
    SensorValues *copy = *FMUState ? (SensorValues *)*FMUState : (SensorValues *)malloc(sizeof(SensorValues));
    if (!copy) return sensor_fail((Sensor *)instance, "fmi3GetFMUState (out of memory)");
    *copy = ((Sensor *)instance)->v;
    *FMUState = copy;
    return fmi3OK;
}

fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState FMUState) {
    if (!FMUState) return sensor_fail((Sensor *)instance, "fmi3SetFMUState with a NULL state");
    ((Sensor *)instance)->v = *(const SensorValues *)FMUState;
    return fmi3OK;
}

fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState *FMUState) {
    (void)instance;
    free(*FMUState);
    *FMUState = NULL;
    return fmi3OK;
}

fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState FMUState, size_t *size) {
    (void)instance;
    (void)FMUState;
    *size = sizeof(SensorValues);
    return fmi3OK;
}

fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState FMUState, fmi3Byte serializedState[],
                                 size_t size) {
    if (size != sizeof(SensorValues)) return sensor_fail((Sensor *)instance, "fmi3SerializeFMUState (wrong size)");
    memcpy(serializedState, FMUState, sizeof(SensorValues));
    return fmi3OK;
}

fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte serializedState[], size_t size,
                                   fmi3FMUState *FMUState) {
    fmi3Status status;
    if (size != sizeof(SensorValues)) return sensor_fail((Sensor *)instance, "fmi3DeserializeFMUState (wrong size)");
    status = fmi3GetFMUState(instance, FMUState);
    if (status == fmi3OK) memcpy(*FMUState, serializedState, sizeof(SensorValues));
    return status;
}
