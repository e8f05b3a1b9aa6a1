/* Instance data of TempSensor3, shared by temp_sensor.c and unsupported.c. */
#ifndef TEMP_SENSOR_H
#define TEMP_SENSOR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fmi3Functions.h"

typedef enum { INSTANTIATED, INITIALIZATION, STEPPING, TERMINATED } SensorMode;

/* Everything a saved state holds: a plain struct, so get/set/serialize are copies. */
typedef struct {
    double time;     /* [s] */
    double u;        /* In1 [K] */
    double y;        /* Out1 [K] */
    int steps;       /* step_count */
    double tau;      /* [s] */
    double y_start;  /* [K] */
    bool bypass;
    double fail_at;  /* [s], negative: never */
    int decimals;    /* rounding of the reading, -1: none */
} SensorValues;

typedef struct {
    fmi3LogMessageCallback log;
    fmi3InstanceEnvironment env;
    bool logging_on;
    SensorMode mode;
    SensorValues v;
} Sensor;

void sensor_log(Sensor *s, fmi3Status status, const char *fmt, ...);
fmi3Status sensor_fail(Sensor *s, const char *function);

#endif
