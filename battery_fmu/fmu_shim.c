/* FMI 2.0 co-simulation shim in front of the pythonfmu binary of BatteryTwin.fmu.
 *
 * Why: the pythonfmu wrapper turns every Python exception into fmi2Fatal and then frees the
 * Python slave twice when the host calls fmi2FreeInstance (a host crash), and it has no way to
 * report fmi2Error. The slave therefore never raises: it logs problems with status fmi2Error
 * and returns normally. This shim forwards every call to the pythonfmu binary
 * (BatteryTwin_pythonfmu.so beside it), watches the log, and returns fmi2Error from any call
 * during which an error was logged, so hosts see the status the FMI standard prescribes.
 *
 * Two more jobs, both about the process the FMU lives in:
 * - A C host (Simulink, AMESIM, a test harness) has no Python: the pythonfmu binary needs
 *   libpython's symbols in the global namespace before it is loaded. The shim loads libpython
 *   itself with RTLD_GLOBAL: the library recorded at build time (EVTWIN_LIBPYTHON), else the
 *   one under $PYTHONHOME/lib, else the one of the `python3` on PATH, all with the soname of
 *   the build's Python (EVTWIN_LIBPYTHON_SONAME), so no host needs LD_PRELOAD.
 * - pythonfmu 0.7.0 releases its global interpreter state twice at exit: once from the
 *   __cxa_atexit handler of the global's destructor, then again from its library destructor
 *   (finalizePythonInterpreter in .fini_array), which by then decrements a count inside a freed
 *   block and corrupts the heap ("corrupted double-linked list" later at exit). Registering
 *   finalizePythonInterpreter with __cxa_atexit after the library is loaded makes it run first
 *   (exit handlers run in reverse order of registration): it releases the state once, properly,
 *   and leaves an empty pointer for the two later releases. The library is never unmapped (it
 *   has STB_GNU_UNIQUE symbols), so the function pointer stays valid until exit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"

typedef struct {
    fmi2CallbackFunctions host;  /* what the importer gave us */
    fmi2CallbackFunctions inner; /* what we give the pythonfmu binary */
    fmi2Component component;     /* the pythonfmu component */
    int error_logged;            /* an fmi2Error or worse was logged during the current call */
} Shim;

#ifndef EVTWIN_LIBPYTHON
#define EVTWIN_LIBPYTHON ""
#endif
#ifndef EVTWIN_LIBPYTHON_SONAME
#define EVTWIN_LIBPYTHON_SONAME "libpython3.so"
#endif

extern int __cxa_atexit(void (*func)(void *), void *arg, void *dso_handle);

static void *inner_library = NULL;
static char load_error[2048] = "";

static int try_libpython(const char *path) {
    if (!path || !*path) return 0;
    if (dlopen(path, RTLD_NOW | RTLD_GLOBAL)) return 1;
    snprintf(load_error, sizeof(load_error), "%s", dlerror());
    return 0;
}

/* libpython of the `python3` on PATH, if it has the build's soname. */
static int try_libpython_on_path(void) {
    char path[4096] = "";
    FILE *p = popen("python3 -c \"import os, sysconfig as s; "
                    "print(os.path.join(s.get_config_var('LIBDIR') or '', s.get_config_var('INSTSONAME') or ''))\""
                    " 2>/dev/null", "r");
    if (!p) return 0;
    if (!fgets(path, sizeof(path), p)) path[0] = '\0';
    pclose(p);
    path[strcspn(path, "\n")] = '\0';
    const char *base = strrchr(path, '/');
    if (!base || strcmp(base + 1, EVTWIN_LIBPYTHON_SONAME) != 0) return 0;
    return try_libpython(path);
}

/* Make libpython's symbols global unless the host already has them (a Python host does). */
static int ensure_libpython(void) {
    if (dlsym(RTLD_DEFAULT, "Py_IsInitialized")) return 1;
    if (try_libpython(EVTWIN_LIBPYTHON)) return 1;
    const char *home = getenv("PYTHONHOME");
    if (home && *home) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/lib/%s", home, EVTWIN_LIBPYTHON_SONAME);
        if (try_libpython(path)) return 1;
    }
    if (try_libpython_on_path()) return 1;
    snprintf(load_error + strlen(load_error), sizeof(load_error) - strlen(load_error),
             "%slibpython (%s) not found: tried %s, $PYTHONHOME/lib and the python3 on PATH",
             load_error[0] ? "; " : "", EVTWIN_LIBPYTHON_SONAME,
             EVTWIN_LIBPYTHON[0] ? EVTWIN_LIBPYTHON : "(none recorded)");
    return 0;
}

static void *inner_symbol(const char *name) {
    if (!inner_library) {
        Dl_info info;
        char path[4096];
        if (!ensure_libpython()) return NULL;
        if (!dladdr((void *)&inner_symbol, &info) || !info.dli_fname) return NULL;
        strncpy(path, info.dli_fname, sizeof(path) - 64);
        path[sizeof(path) - 64] = '\0';
        char *slash = strrchr(path, '/');
        strcpy(slash ? slash + 1 : path, "BatteryTwin_pythonfmu.so");
        inner_library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!inner_library) {
            snprintf(load_error, sizeof(load_error), "%s", dlerror());
            return NULL;
        }
        void (*finalize)(void) = (void (*)(void))dlsym(inner_library, "finalizePythonInterpreter");
        if (finalize) __cxa_atexit((void (*)(void *))finalize, NULL, NULL);
    }
    return dlsym(inner_library, name);
}

static void shim_logger(fmi2ComponentEnvironment env, fmi2String instance, fmi2Status status, fmi2String category,
                        fmi2String message, ...) {
    Shim *s = (Shim *)env;
    char text[8192], escaped[16384];
    va_list args;
    va_start(args, message);
    vsnprintf(text, sizeof(text), message, args);
    va_end(args);
    if (status >= fmi2Error) s->error_logged = 1;
    /* Forward the text itself as the message (hosts written with ctypes cannot read varargs),
       with '%' doubled because the FMI logger's message is a format string. */
    size_t j = 0;
    for (size_t i = 0; text[i] && j < sizeof(escaped) - 2; i++) {
        if (text[i] == '%') escaped[j++] = '%';
        escaped[j++] = text[i];
    }
    escaped[j] = '\0';
    if (s->host.logger) s->host.logger(s->host.componentEnvironment, instance, status, category, escaped);
}

/* Forward a call; an error logged during it makes the status at least fmi2Error. */
#define FORWARD(name, args_decl, args_call)                                            \
    fmi2Status name args_decl {                                                        \
        static name##TYPE *fn = NULL;                                                  \
        Shim *s = (Shim *)c;                                                           \
        if (!fn) fn = (name##TYPE *)inner_symbol(#name);                               \
        if (!fn) return fmi2Fatal;                                                     \
        s->error_logged = 0;                                                           \
        fmi2Status status = fn args_call;                                              \
        if (s->error_logged && status < fmi2Error) status = fmi2Error;                 \
        return status;                                                                 \
    }

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
    fmi2InstantiateTYPE *fn = (fmi2InstantiateTYPE *)inner_symbol("fmi2Instantiate");
    if (!fn) {
        if (functions && functions->logger)
            functions->logger(functions->componentEnvironment, instanceName, fmi2Fatal, "logStatusFatal",
                              "cannot load BatteryTwin_pythonfmu.so next to the FMU binary: %s", load_error);
        return NULL;
    }
    Shim *s = (Shim *)calloc(1, sizeof(Shim));
    if (!s) return NULL;
    s->host = *functions;
    s->inner = *functions;
    s->inner.logger = shim_logger;
    s->inner.componentEnvironment = s;
    s->component = fn(instanceName, fmuType, fmuGUID, fmuResourceLocation, &s->inner, visible, loggingOn);
    if (!s->component) {
        free(s);
        return NULL;
    }
    return (fmi2Component)s;
}

void fmi2FreeInstance(fmi2Component c) {
    Shim *s = (Shim *)c;
    fmi2FreeInstanceTYPE *fn = (fmi2FreeInstanceTYPE *)inner_symbol("fmi2FreeInstance");
    if (!s) return;
    if (fn) fn(s->component);
    free(s);
}

#define C (((Shim *)c)->component)

FORWARD(fmi2SetDebugLogging, (fmi2Component c, fmi2Boolean on, size_t n, const fmi2String categories[]),
        (C, on, n, categories))
FORWARD(fmi2SetupExperiment,
        (fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance, fmi2Real startTime,
         fmi2Boolean stopTimeDefined, fmi2Real stopTime),
        (C, toleranceDefined, tolerance, startTime, stopTimeDefined, stopTime))
FORWARD(fmi2EnterInitializationMode, (fmi2Component c), (C))
FORWARD(fmi2ExitInitializationMode, (fmi2Component c), (C))
FORWARD(fmi2Terminate, (fmi2Component c), (C))
FORWARD(fmi2Reset, (fmi2Component c), (C))
FORWARD(fmi2GetReal, (fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Real v[]), (C, vr, n, v))
FORWARD(fmi2GetInteger, (fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Integer v[]), (C, vr, n, v))
FORWARD(fmi2GetBoolean, (fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Boolean v[]), (C, vr, n, v))
FORWARD(fmi2GetString, (fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2String v[]), (C, vr, n, v))
FORWARD(fmi2SetReal, (fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Real v[]), (C, vr, n, v))
FORWARD(fmi2SetInteger, (fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Integer v[]),
        (C, vr, n, v))
FORWARD(fmi2SetBoolean, (fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Boolean v[]),
        (C, vr, n, v))
FORWARD(fmi2SetString, (fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2String v[]),
        (C, vr, n, v))
FORWARD(fmi2GetFMUstate, (fmi2Component c, fmi2FMUstate *state), (C, state))
FORWARD(fmi2SetFMUstate, (fmi2Component c, fmi2FMUstate state), (C, state))
FORWARD(fmi2FreeFMUstate, (fmi2Component c, fmi2FMUstate *state), (C, state))
FORWARD(fmi2SerializedFMUstateSize, (fmi2Component c, fmi2FMUstate state, size_t *size), (C, state, size))
FORWARD(fmi2SerializeFMUstate, (fmi2Component c, fmi2FMUstate state, fmi2Byte bytes[], size_t size),
        (C, state, bytes, size))
FORWARD(fmi2DeSerializeFMUstate, (fmi2Component c, const fmi2Byte bytes[], size_t size, fmi2FMUstate *state),
        (C, bytes, size, state))
FORWARD(fmi2GetDirectionalDerivative,
        (fmi2Component c, const fmi2ValueReference u[], size_t nu, const fmi2ValueReference z[], size_t nz,
         const fmi2Real dv[], fmi2Real dz[]),
        (C, u, nu, z, nz, dv, dz))
FORWARD(fmi2SetRealInputDerivatives,
        (fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Integer order[], const fmi2Real v[]),
        (C, vr, n, order, v))
FORWARD(fmi2GetRealOutputDerivatives,
        (fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Integer order[], fmi2Real v[]),
        (C, vr, n, order, v))
FORWARD(fmi2DoStep, (fmi2Component c, fmi2Real t, fmi2Real h, fmi2Boolean noSetPrior), (C, t, h, noSetPrior))
FORWARD(fmi2CancelStep, (fmi2Component c), (C))
FORWARD(fmi2GetStatus, (fmi2Component c, const fmi2StatusKind kind, fmi2Status *v), (C, kind, v))
FORWARD(fmi2GetRealStatus, (fmi2Component c, const fmi2StatusKind kind, fmi2Real *v), (C, kind, v))
FORWARD(fmi2GetIntegerStatus, (fmi2Component c, const fmi2StatusKind kind, fmi2Integer *v), (C, kind, v))
FORWARD(fmi2GetBooleanStatus, (fmi2Component c, const fmi2StatusKind kind, fmi2Boolean *v), (C, kind, v))
FORWARD(fmi2GetStringStatus, (fmi2Component c, const fmi2StatusKind kind, fmi2String *v), (C, kind, v))
