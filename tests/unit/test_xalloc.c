/* SPDX-License-Identifier: MIT */
/* test_xalloc.c — the out-of-memory policy (core/xalloc.c): the hv_x*
 * allocators return usable memory, and when the allocation cannot be
 * made the process aborts with a message instead of returning NULL
 * (checked in a child process, which must die of SIGABRT after writing
 * "out of memory" to stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/xalloc.h"

/* Under ASan an impossible allocation is otherwise reported (and the
 * process ended) by the sanitizer before malloc can return NULL; this
 * lets it return NULL as glibc does, so the abort path is the one tested. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static volatile size_t huge = SIZE_MAX; /* volatile: the compiler cannot see it fail */

static void allocators_work(void **state)
{
    (void)state;
    char *p = hv_xmalloc(16);
    memcpy(p, "0123456789abcde", 16);
    p = hv_xrealloc(p, 4096);
    assert_string_equal(p, "0123456789abcde");
    free(p);

    unsigned char *z = hv_xcalloc(64, 8);
    for (size_t i = 0; i < 512; i++)
        assert_int_equal(z[i], 0);
    free(z);

    char *s = hv_xstrdup("herald");
    assert_string_equal(s, "herald");
    free(s);
    s = hv_xstrndup("herald", 3);
    assert_string_equal(s, "her");
    free(s);
    s = hv_xstrndup("her", 100);
    assert_string_equal(s, "her");
    free(s);

    int v[3] = {1, 2, 3};
    int *d = hv_xmemdup(v, sizeof(v));
    assert_memory_equal(d, v, sizeof(v));
    free(d);

    /* Size 0 is a valid, freeable pointer, never NULL. */
    void *e = hv_xmalloc(0);
    assert_non_null(e);
    free(e);
    e = hv_xcalloc(0, 8);
    assert_non_null(e);
    free(e);
    e = hv_xmemdup("", 0);
    assert_non_null(e);
    free(e);
}

/* Runs fn in a child with stderr on a pipe: asserts it died of SIGABRT
 * and said "out of memory" first. */
static void dies_of_oom(void (*fn)(void))
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        fn();
        _exit(0); /* returned: the test fails on the exit status */
    }
    close(fds[1]);
    char buf[256];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(buf, "herald: out of memory allocating"));
}

static void oom_malloc(void) { free(hv_xmalloc(huge)); }
static void oom_calloc(void) { free(hv_xcalloc(huge / 2 + 1, 4)); } /* n * size overflows */
static void oom_realloc(void)
{
    void *p = hv_xmalloc(8);
    free(hv_xrealloc(p, huge));
}

static void failure_aborts(void **state)
{
    (void)state;
    dies_of_oom(oom_malloc);
    dies_of_oom(oom_calloc);
    dies_of_oom(oom_realloc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocators_work),
        cmocka_unit_test(failure_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
