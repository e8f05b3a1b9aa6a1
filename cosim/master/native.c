/*
 * The master's macro step in C, for segments whose units all offer a compiled step (FMI 2.0
 * co-simulation FMUs with Real inputs and outputs; constants are read once and never stepped).
 *
 * The same semantics as the generated Python loop (cosim/master/compiled.py), statement for
 * statement, so that both give bit-identical values: Gauss-Seidel or Jacobi reads, delayed reads
 * from the start of the step, step multiples with windows, mean transfer with exact step weights,
 * finite and min/max checks after every step, rows packed into the result writer's buffers.
 *
 * The Python side (cosim/master/native.py) flattens the connection graph into the arrays below
 * and calls evtwin_core_run for a run of macro steps; it returns early, with a code, when a row
 * buffer needs the writer's attention, when an FMI call fails, or when a check fails, and the
 * Python side then does what the Python loop would have done.
 *
 * Built with gcc at first use (no Python headers: loaded with ctypes); -ffp-contract=off keeps
 * a * b + c two roundings, as in Python.
 */

#include <math.h>
#include <stddef.h>
#include <string.h>

typedef int (*set_real_fn)(void *, const unsigned *, size_t, const double *);
typedef int (*get_real_fn)(void *, const unsigned *, size_t, double *);
typedef int (*do_step_fn)(void *, double, double, int);

enum { DIRECT = 0, DELAYED = 1, MEAN = 2 };
enum { DONE = 0, ROWS = 1, FMI_FAILED = 2, CHECK_FAILED = 3 };
enum { CALL_SET = 0, CALL_STEP = 1, CALL_GET = 2 };

typedef struct {
    void *component;
    set_real_fn set_real;
    get_real_fn get_real;
    do_step_fn do_step;
    int no_prior;      /* noSetFMUStatePriorToCurrentPoint */
    int n_in, n_out;
    const unsigned *vr_in, *vr_out;
    int in_off, out_off; /* first value in in[] / out[] */
    int term_off;        /* first of its n_in input terms in terms[] */
    int n_mean, acc_off; /* its mean terms' accumulators in acc[] */
    int n_bounds, bound_off;
    int every, count;    /* step multiple in this segment; macro steps into the window */
    double tw;           /* start of the window [s] */
    int stepped;         /* 0 for units never stepped (constants) */
} Slot;

typedef struct {
    int kind;   /* DIRECT, DELAYED or MEAN */
    int src;    /* index into out[] (or prev[]) */
    int acc;    /* MEAN: index into acc[] */
    double g, o;
} Term;

typedef struct {
    char *buffer;
    long pos, next_check;
    int n;             /* values after the time */
    const int *gather; /* >= 0: out[i]; < 0: in[-1 - i] */
} Rows;

/* A summary's running reductions of one signal: last value, min, max, integral over time. */
typedef struct {
    int gather;        /* >= 0: out[i]; < 0: in[-1 - i] */
    double last, lo, hi, integral;
} Reduction;

typedef struct {
    int n_slots;
    Slot *slots;
    const Term *terms;
    double *acc, *out, *prev, *in;
    int n_values;      /* length of out[] and prev[] */
    int need_prev, jacobi;
    const int *bound_pos;
    const double *bound_lo, *bound_hi;
    int n_rows;
    Rows *rows;
    int n_reductions;
    Reduction *reductions;
    double t_last;     /* the reductions' last point [s] */
    long k;            /* next macro step */
    int err_slot, err_call, err_status;
    double err_t;
} Core;

static double read_term(const Term *tm, const double *v) {
    double x = v[tm->src];
    if (tm->g != 1.0) x = x * tm->g;
    if (tm->o != 0.0) x = x + tm->o;
    return x;
}

/* Every output finite, and those with bounds within them. */
static int values_ok(const Core *c, const Slot *s, const double *out) {
    int j;
    for (j = 0; j < s->n_out; j++)
        if (!isfinite(out[j])) return 0;
    for (j = s->bound_off; j < s->bound_off + s->n_bounds; j++) {
        double v = out[c->bound_pos[j]];
        if (!(c->bound_lo[j] <= v && v <= c->bound_hi[j])) return 0;
    }
    return 1;
}

static int fail(Core *c, int slot, int call, int status, double t) {
    c->err_slot = slot;
    c->err_call = call;
    c->err_status = status;
    c->err_t = t;
    return FMI_FAILED;
}

/* Step macro steps k = c->k .. k_stop - 1 of the segment start + k h (n steps, the last ending at stop). */
int evtwin_core_run(Core *c, double start, double h, long n, double stop, long k_stop) {
    const long last = n - 1;
    long k;
    int i, j, r, full;
    for (k = c->k; k < k_stop; k++) {
        const double t = start + (double)k * h;
        const double t_end = k == last ? stop : start + (double)(k + 1) * h;
        const double hh = t_end - t;
        const double *src;
        if (c->need_prev) memcpy(c->prev, c->out, sizeof(double) * (size_t)c->n_values);
        src = c->jacobi ? c->prev : c->out;
        for (i = 0; i < c->n_slots; i++) {
            Slot *s = &c->slots[i];
            const Term *terms = c->terms + s->term_off;
            double t0 = t, span = hh, *in = c->in + s->in_off, *out = c->out + s->out_off;
            int status;
            if (!s->stepped) continue;
            for (j = 0; j < s->n_in; j++)
                if (terms[j].kind == MEAN) c->acc[terms[j].acc] += src[terms[j].src] * hh;
            if (s->every != 1) {
                s->count += 1;
                if (!(s->count == s->every || k == last)) continue;
                t0 = s->tw;
                span = t_end - s->tw;
            }
            if (s->n_in) {
                for (j = 0; j < s->n_in; j++) {
                    const Term *tm = &terms[j];
                    if (tm->kind == DIRECT)
                        in[j] = read_term(tm, src);
                    else if (tm->kind == DELAYED)
                        in[j] = read_term(tm, c->prev);
                    else
                        in[j] = c->acc[tm->acc] / span * tm->g + tm->o;
                }
                for (j = 0; j < s->n_mean; j++) c->acc[s->acc_off + j] = 0.0;
                status = s->set_real(s->component, s->vr_in, (size_t)s->n_in, in);
                if (status > 1) {
                    c->k = k;
                    return fail(c, i, CALL_SET, status, t_end);
                }
            }
            status = s->do_step(s->component, t0, span, s->no_prior);
            if (status > 1) {
                c->k = k;
                return fail(c, i, CALL_STEP, status, t0);
            }
            status = s->get_real(s->component, s->vr_out, (size_t)s->n_out, out);
            if (status > 1) {
                c->k = k;
                return fail(c, i, CALL_GET, status, t_end);
            }
            if (!values_ok(c, s, out)) { /* the Python side says which value and why */
                c->k = k;
                c->err_slot = i;
                c->err_t = t_end;
                return CHECK_FAILED;
            }
            if (s->every != 1) {
                s->tw = t_end;
                s->count = 0;
            }
        }
        if (c->n_reductions) {
            /* as cosim.summary.SummaryObserver.sample: each value stands for the step that ends with it */
            const double span = t_end - c->t_last;
            for (r = 0; r < c->n_reductions; r++) {
                Reduction *d = &c->reductions[r];
                const double v = d->gather >= 0 ? c->out[d->gather] : c->in[-1 - d->gather];
                d->last = v;
                if (v < d->lo) d->lo = v;
                if (v > d->hi) d->hi = v;
                d->integral += v * span;
            }
            c->t_last = t_end;
        }
        full = 0;
        for (r = 0; r < c->n_rows; r++) {
            Rows *w = &c->rows[r];
            double *row = (double *)(w->buffer + w->pos);
            row[0] = t_end;
            for (j = 0; j < w->n; j++) {
                int g = w->gather[j];
                row[1 + j] = g >= 0 ? c->out[g] : c->in[-1 - g];
            }
            w->pos += (long)(sizeof(double) * (size_t)(w->n + 1));
            if (w->pos >= w->next_check) full = 1;
        }
        if (full) {
            c->k = k + 1;
            return ROWS;
        }
    }
    c->k = k;
    return DONE;
}
