/*
 * The FMI 3.0 functions TempSensor3 does not support. A co-simulation FMU must still export
 * them (hosts such as fmpy load every function of the standard); each logs and returns fmi3Error.
 */

#include "sensor.h"

#define UNUSED(x) (void)(x)

/* Getters and setters of the types this FMU does not declare. */
#define GETTER(T)                                                                                          \
    fmi3Status fmi3Get##T(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3##T values[], \
                          size_t nValues) {                                                                \
        UNUSED(vr); UNUSED(values); UNUSED(nValues);                                                       \
        return nvr ? sensor_fail((Sensor *)instance, "fmi3Get" #T) : fmi3OK;                               \
    }
#define SETTER(T)                                                                                          \
    fmi3Status fmi3Set##T(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,                \
                          const fmi3##T values[], size_t nValues) {                                        \
        UNUSED(vr); UNUSED(values); UNUSED(nValues);                                                       \
        return nvr ? sensor_fail((Sensor *)instance, "fmi3Set" #T) : fmi3OK;                               \
    }

GETTER(Float32) GETTER(Int8) GETTER(UInt8) GETTER(Int16) GETTER(UInt16) GETTER(UInt32) GETTER(Int64)
GETTER(UInt64) GETTER(String)
SETTER(Float32) SETTER(Int8) SETTER(UInt8) SETTER(Int16) SETTER(UInt16) SETTER(UInt32) SETTER(Int64)
SETTER(UInt64) SETTER(String)

fmi3Status fmi3GetBinary(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, size_t valueSizes[],
                         fmi3Binary values[], size_t nValues) {
    UNUSED(vr); UNUSED(valueSizes); UNUSED(values); UNUSED(nValues);
    return nvr ? sensor_fail((Sensor *)instance, "fmi3GetBinary") : fmi3OK;
}
fmi3Status fmi3SetBinary(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const size_t valueSizes[],
                         const fmi3Binary values[], size_t nValues) {
    UNUSED(vr); UNUSED(valueSizes); UNUSED(values); UNUSED(nValues);
    return nvr ? sensor_fail((Sensor *)instance, "fmi3SetBinary") : fmi3OK;
}
fmi3Status fmi3GetClock(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Clock values[]) {
    UNUSED(vr); UNUSED(values);
    return nvr ? sensor_fail((Sensor *)instance, "fmi3GetClock") : fmi3OK;
}
fmi3Status fmi3SetClock(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const fmi3Clock values[]) {
    UNUSED(vr); UNUSED(values);
    return nvr ? sensor_fail((Sensor *)instance, "fmi3SetClock") : fmi3OK;
}

fmi3Instance fmi3InstantiateModelExchange(fmi3String instanceName, fmi3String instantiationToken,
                                          fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                          fmi3InstanceEnvironment instanceEnvironment,
                                          fmi3LogMessageCallback logMessage) {
    UNUSED(instanceName); UNUSED(instantiationToken); UNUSED(resourcePath); UNUSED(visible); UNUSED(loggingOn);
    if (logMessage) logMessage(instanceEnvironment, fmi3Error, "logStatusError", "TempSensor3 is co-simulation only");
    return NULL;
}
fmi3Instance fmi3InstantiateScheduledExecution(fmi3String instanceName, fmi3String instantiationToken,
                                               fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                               fmi3InstanceEnvironment instanceEnvironment,
                                               fmi3LogMessageCallback logMessage, fmi3ClockUpdateCallback clockUpdate,
                                               fmi3LockPreemptionCallback lockPreemption,
                                               fmi3UnlockPreemptionCallback unlockPreemption) {
    UNUSED(instanceName); UNUSED(instantiationToken); UNUSED(resourcePath); UNUSED(visible); UNUSED(loggingOn);
    UNUSED(clockUpdate); UNUSED(lockPreemption); UNUSED(unlockPreemption);
    if (logMessage) logMessage(instanceEnvironment, fmi3Error, "logStatusError", "TempSensor3 is co-simulation only");
    return NULL;
}

fmi3Status fmi3EnterEventMode(fmi3Instance instance) { return sensor_fail((Sensor *)instance, "fmi3EnterEventMode"); }
fmi3Status fmi3EnterConfigurationMode(fmi3Instance instance) {
    return sensor_fail((Sensor *)instance, "fmi3EnterConfigurationMode");
}
fmi3Status fmi3ExitConfigurationMode(fmi3Instance instance) {
    return sensor_fail((Sensor *)instance, "fmi3ExitConfigurationMode");
}
fmi3Status fmi3EvaluateDiscreteStates(fmi3Instance instance) {
    return sensor_fail((Sensor *)instance, "fmi3EvaluateDiscreteStates");
}
fmi3Status fmi3UpdateDiscreteStates(fmi3Instance instance, fmi3Boolean *discreteStatesNeedUpdate,
                                    fmi3Boolean *terminateSimulation, fmi3Boolean *nominalsChanged,
                                    fmi3Boolean *valuesChanged, fmi3Boolean *nextEventTimeDefined,
                                    fmi3Float64 *nextEventTime) {
    UNUSED(discreteStatesNeedUpdate); UNUSED(terminateSimulation); UNUSED(nominalsChanged); UNUSED(valuesChanged);
    UNUSED(nextEventTimeDefined); UNUSED(nextEventTime);
    return sensor_fail((Sensor *)instance, "fmi3UpdateDiscreteStates");
}

fmi3Status fmi3GetNumberOfVariableDependencies(fmi3Instance instance, fmi3ValueReference vr, size_t *n) {
    UNUSED(vr); UNUSED(n);
    return sensor_fail((Sensor *)instance, "fmi3GetNumberOfVariableDependencies");
}
fmi3Status fmi3GetVariableDependencies(fmi3Instance instance, fmi3ValueReference dependent,
                                       size_t elementIndicesOfDependent[], fmi3ValueReference independents[],
                                       size_t elementIndicesOfIndependents[], fmi3DependencyKind dependencyKinds[],
                                       size_t nDependencies) {
    UNUSED(dependent); UNUSED(elementIndicesOfDependent); UNUSED(independents);
    UNUSED(elementIndicesOfIndependents); UNUSED(dependencyKinds); UNUSED(nDependencies);
    return sensor_fail((Sensor *)instance, "fmi3GetVariableDependencies");
}
fmi3Status fmi3GetDirectionalDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                        const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                        size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity) {
    UNUSED(unknowns); UNUSED(nUnknowns); UNUSED(knowns); UNUSED(nKnowns); UNUSED(seed); UNUSED(nSeed);
    UNUSED(sensitivity); UNUSED(nSensitivity);
    return sensor_fail((Sensor *)instance, "fmi3GetDirectionalDerivative");
}
fmi3Status fmi3GetAdjointDerivative(fmi3Instance instance, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                    const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                    size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity) {
    UNUSED(unknowns); UNUSED(nUnknowns); UNUSED(knowns); UNUSED(nKnowns); UNUSED(seed); UNUSED(nSeed);
    UNUSED(sensitivity); UNUSED(nSensitivity);
    return sensor_fail((Sensor *)instance, "fmi3GetAdjointDerivative");
}
fmi3Status fmi3GetOutputDerivatives(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                                    const fmi3Int32 orders[], fmi3Float64 values[], size_t nValues) {
    UNUSED(vr); UNUSED(nvr); UNUSED(orders); UNUSED(values); UNUSED(nValues);
    return sensor_fail((Sensor *)instance, "fmi3GetOutputDerivatives");
}

fmi3Status fmi3GetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                                  fmi3Float64 intervals[], fmi3IntervalQualifier qualifiers[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(intervals); UNUSED(qualifiers);
    return sensor_fail((Sensor *)instance, "fmi3GetIntervalDecimal");
}
fmi3Status fmi3GetIntervalFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                                   fmi3UInt64 counters[], fmi3UInt64 resolutions[], fmi3IntervalQualifier qualifiers[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(counters); UNUSED(resolutions); UNUSED(qualifiers);
    return sensor_fail((Sensor *)instance, "fmi3GetIntervalFraction");
}
fmi3Status fmi3GetShiftDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Float64 shifts[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(shifts);
    return sensor_fail((Sensor *)instance, "fmi3GetShiftDecimal");
}
fmi3Status fmi3GetShiftFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                                fmi3UInt64 counters[], fmi3UInt64 resolutions[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(counters); UNUSED(resolutions);
    return sensor_fail((Sensor *)instance, "fmi3GetShiftFraction");
}
fmi3Status fmi3SetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                                  const fmi3Float64 intervals[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(intervals);
    return sensor_fail((Sensor *)instance, "fmi3SetIntervalDecimal");
}
fmi3Status fmi3SetIntervalFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                                   const fmi3UInt64 counters[], const fmi3UInt64 resolutions[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(counters); UNUSED(resolutions);
    return sensor_fail((Sensor *)instance, "fmi3SetIntervalFraction");
}
fmi3Status fmi3SetShiftDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                               const fmi3Float64 shifts[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(shifts);
    return sensor_fail((Sensor *)instance, "fmi3SetShiftDecimal");
}
fmi3Status fmi3SetShiftFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr,
                                const fmi3UInt64 counters[], const fmi3UInt64 resolutions[]) {
    UNUSED(vr); UNUSED(nvr); UNUSED(counters); UNUSED(resolutions);
    return sensor_fail((Sensor *)instance, "fmi3SetShiftFraction");
}

fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance instance) {
    return sensor_fail((Sensor *)instance, "fmi3EnterContinuousTimeMode");
}
fmi3Status fmi3CompletedIntegratorStep(fmi3Instance instance, fmi3Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi3Boolean *enterEventMode, fmi3Boolean *terminateSimulation) {
    UNUSED(noSetFMUStatePriorToCurrentPoint); UNUSED(enterEventMode); UNUSED(terminateSimulation);
    return sensor_fail((Sensor *)instance, "fmi3CompletedIntegratorStep");
}
fmi3Status fmi3SetTime(fmi3Instance instance, fmi3Float64 time) {
    UNUSED(time);
    return sensor_fail((Sensor *)instance, "fmi3SetTime");
}
fmi3Status fmi3SetContinuousStates(fmi3Instance instance, const fmi3Float64 x[], size_t nx) {
    UNUSED(x); UNUSED(nx);
    return sensor_fail((Sensor *)instance, "fmi3SetContinuousStates");
}
fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance instance, fmi3Float64 dx[], size_t nx) {
    UNUSED(dx); UNUSED(nx);
    return sensor_fail((Sensor *)instance, "fmi3GetContinuousStateDerivatives");
}
fmi3Status fmi3GetEventIndicators(fmi3Instance instance, fmi3Float64 z[], size_t nz) {
    UNUSED(z); UNUSED(nz);
    return sensor_fail((Sensor *)instance, "fmi3GetEventIndicators");
}
fmi3Status fmi3GetContinuousStates(fmi3Instance instance, fmi3Float64 x[], size_t nx) {
    UNUSED(x); UNUSED(nx);
    return sensor_fail((Sensor *)instance, "fmi3GetContinuousStates");
}
fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance instance, fmi3Float64 nominals[], size_t nx) {
    UNUSED(nominals); UNUSED(nx);
    return sensor_fail((Sensor *)instance, "fmi3GetNominalsOfContinuousStates");
}
fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance instance, size_t *n) {
    UNUSED(n);
    return sensor_fail((Sensor *)instance, "fmi3GetNumberOfEventIndicators");
}
fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance instance, size_t *n) {
    UNUSED(n);
    return sensor_fail((Sensor *)instance, "fmi3GetNumberOfContinuousStates");
}
fmi3Status fmi3ActivateModelPartition(fmi3Instance instance, fmi3ValueReference clockReference,
                                      fmi3Float64 activationTime) {
    UNUSED(clockReference); UNUSED(activationTime);
    return sensor_fail((Sensor *)instance, "fmi3ActivateModelPartition");
}
