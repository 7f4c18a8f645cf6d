/* SPDX-License-Identifier: MIT */
/* event_filter.c — compiling and matching payload filters; see
 * event_filter.h for the language.
 *
 * A filter is checked and turned into a tree once, when an endpoint or a
 * sink is configured: AND/OR nodes over conditions, each a path split into
 * segments, an operator and its operand(s) copied out of jansson (so the
 * tree shares nothing mutable and any thread may match it). Matching walks
 * the event's data, parsed once per event (hv_filter_subject) however many
 * endpoints hold filters. Every bound is checked while compiling, so
 * matching is bounded by the filter's size: at most 64 conditions of at
 * most 16 segments and 64 operands each.
 */
#include "deliver/event_filter.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

enum { K_AND, K_OR, K_COND };
enum { R_TYPE, R_ROOM, R_USER, R_DATA };
enum { OP_EQ, OP_NE, OP_EXISTS, OP_PREFIX, OP_GT, OP_GTE, OP_LT, OP_LTE, OP_IN, OP_NIN };
enum { V_NULL, V_BOOL, V_INT, V_REAL, V_STR };

/* A scalar: an operand, or a value found in an event. */
typedef struct fval {
    int kind;
    int b;
    json_int_t i;
    double d;
    const char *s;
    size_t len;
} fval;

typedef struct node {
    int kind;             /* K_* */
    struct node *kids;    /* K_AND, K_OR */
    size_t nkids;
    int root;             /* K_COND: R_* */
    char **segs;          /* path below data */
    size_t nsegs;
    int op;               /* OP_* */
    fval *vals;           /* operands (strings owned) */
    size_t nvals;
} node;

struct hv_filter {
    atomic_int refs;
    node top;             /* K_AND */
    char *text;
};

static const struct {
    const char *name;
    int op;
} ops[] = {
    {"$eq", OP_EQ},         {"$ne", OP_NE},       {"$neq", OP_NE},         {"$exists", OP_EXISTS},
    {"$exist", OP_EXISTS},  {"$prefix", OP_PREFIX}, {"$startsWith", OP_PREFIX}, {"$gt", OP_GT},
    {"$gte", OP_GTE},       {"$lt", OP_LT},       {"$lte", OP_LTE},        {"$in", OP_IN},
    {"$nin", OP_NIN},
};

/* ---- compiling ------------------------------------------------------------ */

typedef struct ctx {
    size_t nconds;
    char *err;
    size_t errlen;
} ctx;

static int fail(ctx *c, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, const char *where, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "filter: %s, at %.200s", what, *where ? where : "the top");
    return -1;
}

static void free_node(node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        free_node(&n->kids[i]);
    free(n->kids);
    for (size_t i = 0; i < n->nsegs; i++)
        free(n->segs[i]);
    free(n->segs);
    for (size_t i = 0; i < n->nvals; i++)
        free((char *)n->vals[i].s);
    free(n->vals);
}

/* A JSON scalar into v (strings copied); -1 for arrays and objects. */
static int scalar(json_t *j, fval *v)
{
    memset(v, 0, sizeof(*v));
    switch (json_typeof(j)) {
    case JSON_NULL: v->kind = V_NULL; return 0;
    case JSON_TRUE: case JSON_FALSE: v->kind = V_BOOL, v->b = json_is_true(j); return 0;
    case JSON_INTEGER: v->kind = V_INT, v->i = json_integer_value(j), v->d = (double)v->i; return 0;
    case JSON_REAL: v->kind = V_REAL, v->d = json_real_value(j); return 0;
    case JSON_STRING: {
        v->kind = V_STR;
        v->len = json_string_length(j);
        char *s = hv_xmalloc(v->len + 1);
        memcpy(s, json_string_value(j), v->len + 1);
        v->s = s;
        return 0;
    }
    default: return -1;
    }
}

/* "type", "room_id", "user_id", "data" or "data.<seg>[.<seg>…]". */
static int parse_path(ctx *c, node *n, const char *path, const char *where)
{
    size_t len = strlen(path);
    if (len > HV_FILTER_MAX_PATH)
        return fail(c, where, "a path is longer than %d bytes", HV_FILTER_MAX_PATH);
    if (!strcmp(path, "type") || !strcmp(path, "room_id") || !strcmp(path, "user_id")) {
        n->root = path[0] == 't' ? R_TYPE : path[0] == 'r' ? R_ROOM : R_USER;
        return 0;
    }
    if (strncmp(path, "data", 4) != 0 || (path[4] && path[4] != '.'))
        return fail(c, where, "unknown path \"%.64s\" (paths are type, room_id, user_id, data or data.<field>…)", path);
    n->root = R_DATA;
    if (!path[4])
        return 0;
    n->segs = hv_xcalloc(HV_FILTER_MAX_SEGMENTS, sizeof(char *));
    for (const char *p = path + 5;; p++) {
        size_t k = strcspn(p, ".");
        if (k == 0)
            return fail(c, where, "a path has an empty segment");
        if (n->nsegs == HV_FILTER_MAX_SEGMENTS)
            return fail(c, where, "a path has more than %d segments below data", HV_FILTER_MAX_SEGMENTS);
        n->segs[n->nsegs++] = hv_xstrndup(p, k);
        p += k;
        if (!*p)
            return 0;
    }
}

static int op_of(const char *name)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (!strcmp(ops[i].name, name))
            return ops[i].op;
    return -1;
}

/* The operand(s) of op from v into n. */
static int operands(ctx *c, node *n, int op, json_t *v, const char *opname, const char *where)
{
    n->op = op;
    if (op == OP_IN || op == OP_NIN) {
        size_t k = json_array_size(v);
        if (!json_is_array(v) || k == 0 || k > HV_FILTER_MAX_IN)
            return fail(c, where, "%s takes an array of 1 to %d strings, numbers, booleans or nulls", opname,
                        HV_FILTER_MAX_IN);
        n->vals = hv_xcalloc(k, sizeof(fval));
        for (size_t i = 0; i < k; i++, n->nvals++)
            if (scalar(json_array_get(v, i), &n->vals[i]) != 0)
                return fail(c, where, "%s[%zu] is not a string, number, boolean or null", opname, i);
        return 0;
    }
    n->vals = hv_xcalloc(1, sizeof(fval));
    n->nvals = 1;
    int ok = scalar(v, &n->vals[0]) == 0;
    int kind = n->vals[0].kind;
    if (op == OP_EXISTS && !(ok && kind == V_BOOL))
        return fail(c, where, "%s takes true or false", opname);
    if (op == OP_PREFIX && !(ok && kind == V_STR))
        return fail(c, where, "%s takes a string", opname);
    if (op >= OP_GT && op <= OP_LTE && !(ok && (kind == V_INT || kind == V_REAL)))
        return fail(c, where, "%s takes a number", opname);
    if (!ok)
        return fail(c, where, "%s takes a string, number, boolean or null (use $in for a list)", opname);
    return 0;
}

static node *add_kid(node *parent)
{
    parent->kids = hv_xrealloc(parent->kids, (parent->nkids + 1) * sizeof(node));
    node *n = &parent->kids[parent->nkids++];
    memset(n, 0, sizeof(*n));
    return n;
}

/* One condition: path (already checked by the caller's parse) op operand. */
static int add_cond(ctx *c, node *parent, const char *path, int op, json_t *v, const char *opname,
                    const char *where)
{
    if (++c->nconds > HV_FILTER_MAX_CONDS)
        return fail(c, where, "more than %d conditions", HV_FILTER_MAX_CONDS);
    node *n = add_kid(parent);
    n->kind = K_COND;
    if (parse_path(c, n, path, where) != 0)
        return -1;
    return operands(c, n, op, v, opname, where);
}

/* "path": literal or {"$op": operand, …}. */
static int compile_field(ctx *c, node *out, const char *path, json_t *v, const char *where)
{
    if (!json_is_object(v))
        return add_cond(c, out, path, OP_EQ, v, "a value", where);
    if (json_object_size(v) == 0)
        return fail(c, where, "an empty object (give operators such as {\"$eq\": …})");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        char at[512];
        snprintf(at, sizeof(at), "%.300s.%.100s", where, k);
        int op = op_of(k);
        if (op < 0)
            return fail(c, at, "unknown operator \"%.32s\" (operators: $eq $ne $exists $prefix $gt $gte $lt $lte "
                        "$in $nin)", k);
        if (add_cond(c, out, path, op, x, k, at) != 0)
            return -1;
    }
    return 0;
}

static int compile_obj(ctx *c, node *out, json_t *o, int depth, const char *where);

/* "$and" / "$or": a non-empty array of filter objects. */
static int compile_list(ctx *c, node *out, const char *k, json_t *v, int depth, const char *where)
{
    if (depth >= HV_FILTER_MAX_DEPTH)
        return fail(c, where, "$and/$or nested deeper than %d", HV_FILTER_MAX_DEPTH);
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(c, where, "%s takes a non-empty array of objects", k);
    node *n = add_kid(out);
    n->kind = k[2] == 'n' ? K_AND : K_OR;
    for (size_t i = 0; i < json_array_size(v); i++) {
        char at[512];
        snprintf(at, sizeof(at), "%.300s[%zu]", where, i);
        json_t *o = json_array_get(v, i);
        if (!json_is_object(o))
            return fail(c, at, "%s takes a non-empty array of objects", k);
        node *kid = add_kid(n);
        kid->kind = K_AND;
        if (compile_obj(c, kid, o, depth + 1, at) != 0)
            return -1;
    }
    return 0;
}

/* An object: every key must hold. */
static int compile_obj(ctx *c, node *out, json_t *o, int depth, const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        char at[512];
        snprintf(at, sizeof(at), "%.300s%s%.100s", where, *where ? "." : "", k);
        int rc;
        if (!strcmp(k, "$and") || !strcmp(k, "$or"))
            rc = compile_list(c, out, k, v, depth, at);
        else if (k[0] == '$')
            rc = fail(c, at, "unknown operator \"%.32s\" (at this place: $and, $or or a path)", k);
        else
            rc = compile_field(c, out, k, v, at);
        if (rc != 0)
            return -1;
    }
    return 0;
}

hv_filter *hv_filter_compile(json_t *j, char *err, size_t errlen)
{
    err[0] = 0;
    ctx c = {0, err, errlen};
    if (!json_is_object(j)) {
        fail(&c, "", "must be a JSON object");
        return NULL;
    }
    if (json_object_size(j) == 0)
        return NULL;
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text || strlen(text) > HV_FILTER_MAX_BYTES) {
        free(text);
        fail(&c, "", "longer than %d bytes as compact JSON", HV_FILTER_MAX_BYTES);
        return NULL;
    }
    hv_filter *f = hv_xcalloc(1, sizeof(*f));
    atomic_init(&f->refs, 1);
    f->top.kind = K_AND;
    f->text = text;
    if (compile_obj(&c, &f->top, j, 0, "") != 0) {
        hv_filter_unref(f);
        return NULL;
    }
    return f;
}

hv_filter *hv_filter_compile_text(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(err, errlen, "filter: not JSON (%.100s), at the top", je.text);
        return NULL;
    }
    hv_filter *f = hv_filter_compile(j, err, errlen);
    json_decref(j);
    return f;
}

hv_filter *hv_filter_ref(hv_filter *f)
{
    if (f)
        atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

void hv_filter_unref(hv_filter *f)
{
    if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    free_node(&f->top);
    free(f->text);
    free(f);
}

const char *hv_filter_text(const hv_filter *f)
{
    return f->text;
}

/* ---- matching ------------------------------------------------------------- */

void hv_filter_subject_init(hv_filter_subject *s, const hv_event *ev)
{
    s->ev = ev;
    s->data = NULL;
    s->parsed = 0;
}

void hv_filter_subject_done(hv_filter_subject *s)
{
    json_decref(s->data);
    s->data = NULL;
    s->parsed = 0;
}

static json_t *data_of(hv_filter_subject *s)
{
    if (!s->parsed) {
        s->parsed = 1;
        const hv_event *ev = s->ev;
        s->data = ev->data ? json_loadb(ev->data, ev->data_len, 0, NULL) : NULL;
    }
    return s->data;
}

/* The value the path leads to, or NULL when there is none. */
static json_t *walk(const node *n, json_t *j)
{
    for (size_t i = 0; j && i < n->nsegs; i++) {
        const char *seg = n->segs[i];
        if (json_is_object(j)) {
            j = json_object_get(j, seg);
        } else if (json_is_array(j) && strspn(seg, "0123456789") == strlen(seg) && strlen(seg) <= 9) {
            j = json_array_get(j, (size_t)strtoul(seg, NULL, 10));
        } else {
            j = NULL;
        }
    }
    return j;
}

static int equal(const fval *a, const fval *b)
{
    int an = a->kind == V_INT || a->kind == V_REAL, bn = b->kind == V_INT || b->kind == V_REAL;
    if (an && bn)
        return a->kind == V_INT && b->kind == V_INT ? a->i == b->i : a->d == b->d;
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case V_NULL: return 1;
    case V_BOOL: return a->b == b->b;
    default: return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    }
}

/* <0, 0, >0 for numbers a and b. */
static int cmp_num(const fval *a, const fval *b)
{
    if (a->kind == V_INT && b->kind == V_INT)
        return (a->i > b->i) - (a->i < b->i);
    return (a->d > b->d) - (a->d < b->d);
}

/* One scalar x against a positive operator. */
static int test(const node *n, const fval *x)
{
    const fval *v = &n->vals[0];
    int num = x->kind == V_INT || x->kind == V_REAL;
    switch (n->op) {
    case OP_EQ: case OP_NE: return equal(x, v);
    case OP_PREFIX: return x->kind == V_STR && x->len >= v->len && memcmp(x->s, v->s, v->len) == 0;
    case OP_GT: return num && cmp_num(x, v) > 0;
    case OP_GTE: return num && cmp_num(x, v) >= 0;
    case OP_LT: return num && cmp_num(x, v) < 0;
    case OP_LTE: return num && cmp_num(x, v) <= 0;
    default: /* OP_IN, OP_NIN */
        for (size_t i = 0; i < n->nvals; i++)
            if (equal(x, &n->vals[i]))
                return 1;
        return 0;
    }
}

/* x's scalar form (strings borrowed); -1 for arrays and objects. */
static int borrow(json_t *j, fval *x)
{
    if (json_is_string(j)) {
        memset(x, 0, sizeof(*x));
        x->kind = V_STR, x->s = json_string_value(j), x->len = json_string_length(j);
        return 0;
    }
    if (json_is_array(j) || json_is_object(j))
        return -1;
    return scalar(j, x);
}

/* A value found at the path: an array matches when one of its elements
 * does ($ne/$nin: when none is equal/in), as in MongoDB and Convoy. */
static int test_json(const node *n, json_t *j)
{
    int negated = n->op == OP_NE || n->op == OP_NIN;
    fval x;
    if (borrow(j, &x) == 0)
        return negated ? !test(n, &x) : test(n, &x);
    if (!json_is_array(j))
        return negated; /* an object equals, is in, starts with nothing */
    for (size_t i = 0; i < json_array_size(j); i++)
        if (borrow(json_array_get(j, i), &x) == 0 && test(n, &x))
            return !negated;
    return negated;
}

static int test_string(const node *n, const char *s)
{
    if (!s) /* absent: only $exists false, $ne and $nin hold */
        return n->op == OP_EXISTS ? !n->vals[0].b : n->op == OP_NE || n->op == OP_NIN;
    if (n->op == OP_EXISTS)
        return n->vals[0].b;
    fval x = {.kind = V_STR, .s = s, .len = strlen(s)};
    int r = test(n, &x);
    return n->op == OP_NE || n->op == OP_NIN ? !r : r;
}

static int eval(const node *n, hv_filter_subject *s)
{
    switch (n->kind) {
    case K_AND:
        for (size_t i = 0; i < n->nkids; i++)
            if (!eval(&n->kids[i], s))
                return 0;
        return 1;
    case K_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (eval(&n->kids[i], s))
                return 1;
        return 0;
    default:
        break;
    }
    if (n->root != R_DATA)
        return test_string(n, n->root == R_TYPE ? s->ev->type : n->root == R_ROOM ? s->ev->room_id : s->ev->user_id);
    json_t *j = walk(n, data_of(s));
    if (n->op == OP_EXISTS)
        return (j != NULL) == n->vals[0].b;
    if (!j)
        return n->op == OP_NE || n->op == OP_NIN;
    return test_json(n, j);
}

int hv_filter_match(const hv_filter *f, hv_filter_subject *s)
{
    return !f || eval(&f->top, s);
}
