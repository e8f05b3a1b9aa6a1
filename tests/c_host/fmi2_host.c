/* A plain C host for an FMI 2.0 co-simulation FMU: no Python of its own.
 *
 * Usage: fmi2_host BINARY.so RESOURCE_URI GUID STEPS STEP_SIZE INPUT_VALUE VR_INPUT VR_OUT1 VR_OUT2 VR_OUT3
 * Loads the FMU binary, instantiates and initialises it with its start values, steps STEPS
 * times with one input held at INPUT_VALUE, and prints "t out1 out2 out3" after the last
 * step. Exits non-zero on any FMI error; the FMU's log lines go to stderr.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"

static void logger(fmi2ComponentEnvironment env, fmi2String instance, fmi2Status status, fmi2String category,
                   fmi2String message, ...) {
    (void)env;
    va_list args;
    va_start(args, message);
    fprintf(stderr, "[%s %d %s] ", instance, (int)status, category);
    vfprintf(stderr, message, args);
    fprintf(stderr, "\n");
    va_end(args);
}

#define LOAD(name)                                                                \
    name##TYPE *name = (name##TYPE *)dlsym(lib, #name);                           \
    if (!name) {                                                                  \
        fprintf(stderr, "missing symbol %s\n", #name);                            \
        return 3;                                                                 \
    }

#define CHECK(call)                                                               \
    do {                                                                          \
        fmi2Status s = (call);                                                    \
        if (s > fmi2Warning) {                                                    \
            fprintf(stderr, "%s failed with status %d\n", #call, (int)s);         \
            return 4;                                                             \
        }                                                                         \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr, "usage: %s BINARY RESOURCE_URI GUID STEPS STEP_SIZE INPUT_VALUE VR_INPUT VR_OUT1 VR_OUT2 "
                        "VR_OUT3\n", argv[0]);
        return 2;
    }
    const char *binary = argv[1], *resources = argv[2], *guid = argv[3];
    long steps = atol(argv[4]);
    double h = atof(argv[5]), input = atof(argv[6]);
    fmi2ValueReference vr_input = (fmi2ValueReference)atol(argv[7]);
    fmi2ValueReference outs[3] = {(fmi2ValueReference)atol(argv[8]), (fmi2ValueReference)atol(argv[9]),
                                  (fmi2ValueReference)atol(argv[10])};

    void *lib = dlopen(binary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 3;
    }
    LOAD(fmi2Instantiate)
    LOAD(fmi2SetupExperiment)
    LOAD(fmi2EnterInitializationMode)
    LOAD(fmi2ExitInitializationMode)
    LOAD(fmi2SetReal)
    LOAD(fmi2GetReal)
    LOAD(fmi2DoStep)
    LOAD(fmi2Terminate)
    LOAD(fmi2FreeInstance)

    fmi2CallbackFunctions callbacks = {logger, calloc, free, NULL, NULL};
    fmi2Component c = fmi2Instantiate("host", fmi2CoSimulation, guid, resources, &callbacks, fmi2False, fmi2False);
    if (!c) {
        fprintf(stderr, "fmi2Instantiate failed\n");
        return 4;
    }
    CHECK(fmi2SetupExperiment(c, fmi2False, 0.0, 0.0, fmi2False, 0.0));
    CHECK(fmi2EnterInitializationMode(c));
    CHECK(fmi2ExitInitializationMode(c));
    double t = 0.0;
    for (long k = 0; k < steps; k++) {
        CHECK(fmi2SetReal(c, &vr_input, 1, &input));
        CHECK(fmi2DoStep(c, t, h, fmi2True));
        t = (double)(k + 1) * h;
    }
    double values[3];
    CHECK(fmi2GetReal(c, outs, 3, values));
    printf("%.9f %.12f %.12f %.12f\n", t, values[0], values[1], values[2]);
    CHECK(fmi2Terminate(c));
    fmi2FreeInstance(c);
    dlclose(lib);
    return 0;
}
