/* SPDX-License-Identifier: MIT */
/* test_sink_config.c — the "sinks" array of the config file: defaults,
 * every setting, the event filter (globs and Janus masks) and the errors a
 * user sees for bad settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/event_filter.h"
#include "deliver/sink_config.h"

static void expect_error(const char *json, const char *msg)
{
    hv_sink_spec *specs;
    size_t n;
    char err[512] = "";
    assert_int_equal(hv_sink_specs_parse(json, &specs, &n, err, sizeof(err)), -1);
    assert_null(specs);
    assert_string_equal(err, msg);
}

static void defaults_and_settings(void **state)
{
    (void)state;
    hv_sink_spec *s;
    size_t n;
    char err[512];
    const char *json =
        "[{\"name\":\"a\",\"module\":\"file\"},"
        " {\"name\":\"b.2\",\"module\":\"/opt/x.so\",\"events\":[\"peer.*\",\"room.created\"],"
        "  \"batch\":{\"max_events\":7,\"max_delay_ms\":250},\"retry\":{\"initial_ms\":50,\"max_ms\":20},"
        "  \"crash_after_s\":1.5,\"start\":\"beginning\",\"config\":{\"path\":\"/tmp/x\",\"n\":9007199254740993}}]";
    assert_int_equal(hv_sink_specs_parse(json, &s, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].name, "a");
    assert_string_equal(s[0].module, "file");
    assert_int_equal(s[0].max_events, 100);
    assert_int_equal(s[0].max_delay_ms, 0);
    assert_int_equal(s[0].retry_initial_ms, 1000);
    assert_int_equal(s[0].retry_max_ms, 60000);
    assert_true(s[0].crash_after_s == 300);
    assert_int_equal(s[0].start_at_beginning, 0);
    assert_string_equal(s[0].config_json, "{}");
    assert_true(hv_sink_spec_wants(&s[0], "anything.at.all"));

    assert_string_equal(s[1].module, "/opt/x.so");
    assert_int_equal(s[1].max_events, 7);
    assert_int_equal(s[1].max_delay_ms, 250);
    assert_int_equal(s[1].retry_initial_ms, 50);
    assert_int_equal(s[1].retry_max_ms, 50); /* never below the first back-off */
    assert_true(s[1].crash_after_s == 1.5);
    assert_int_equal(s[1].start_at_beginning, 1);
    /* The module's settings are passed on whole, big integers exact. */
    assert_string_equal(s[1].config_json, "{\"path\":\"/tmp/x\",\"n\":9007199254740993}");
    assert_true(hv_sink_spec_wants(&s[1], "peer.connected"));
    assert_true(hv_sink_spec_wants(&s[1], "room.created"));
    assert_false(hv_sink_spec_wants(&s[1], "room.deleted"));
    hv_sink_specs_free(s, n);
}

static void janus_masks(void **state)
{
    (void)state;
    hv_sink_spec *s;
    size_t n;
    char err[512];
    const char *json = "[{\"name\":\"labels\",\"module\":\"m\",\"events\":\"sessions, Handles,core\"},"
                       " {\"name\":\"bits\",\"module\":\"m\",\"events\":257},"
                       " {\"name\":\"none\",\"module\":\"m\",\"events\":\"none\"},"
                       " {\"name\":\"empty\",\"module\":\"m\",\"events\":[]},"
                       " {\"name\":\"all\",\"module\":\"m\",\"events\":\"all\"}]";
    assert_int_equal(hv_sink_specs_parse(json, &s, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 5);
    assert_true(hv_sink_spec_wants(&s[0], "janus.session"));
    assert_true(hv_sink_spec_wants(&s[0], "janus.handle"));
    assert_true(hv_sink_spec_wants(&s[0], "janus.core"));
    assert_false(hv_sink_spec_wants(&s[0], "janus.media"));
    assert_false(hv_sink_spec_wants(&s[0], "room.created"));
    assert_true(hv_sink_spec_wants(&s[1], "janus.session")); /* 1 */
    assert_true(hv_sink_spec_wants(&s[1], "janus.core"));    /* 256 */
    assert_false(hv_sink_spec_wants(&s[1], "janus.handle"));
    assert_false(hv_sink_spec_wants(&s[2], "janus.session"));
    assert_false(hv_sink_spec_wants(&s[3], "room.created"));
    assert_true(hv_sink_spec_wants(&s[4], "janus.transport"));
    assert_true(hv_sink_spec_wants(&s[4], "janus.external"));
    assert_false(hv_sink_spec_wants(&s[4], "room.created"));
    hv_sink_specs_free(s, n);

    const char *globs[9];
    assert_int_equal(hv_sink_janus_mask_globs("jsep,webrtc,media,plugins,transports,external", 0, globs), 6);
    assert_string_equal(globs[0], "janus.jsep");
    assert_string_equal(globs[5], "janus.external");
    assert_int_equal(hv_sink_janus_mask_globs(NULL, 0xffffffff, globs), 9);
    assert_int_equal(hv_sink_janus_mask_globs("sessions,sessions", 0, globs), 1);
    assert_int_equal(hv_sink_janus_mask_globs("sessions,calls", 0, globs), -1);
}

static void errors(void **state)
{
    (void)state;
    expect_error("{}", "\"sinks\" must be an array of sink objects");
    expect_error("[1]", "sinks[0] must be an object");
    expect_error("[{\"module\":\"file\"}]", "sinks[0]: \"name\" must be 1-64 characters of [A-Za-z0-9_.-]");
    expect_error("[{\"name\":\"a b\",\"module\":\"file\"}]",
                 "sinks[0]: \"name\" must be 1-64 characters of [A-Za-z0-9_.-]");
    expect_error("[{\"name\":\"a\"}]", "sink 'a': \"module\" (a module name or a path to a .so) is required");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"evnets\":[]}]", "sink 'a': unknown key \"evnets\"");
    expect_error("[{\"name\":\"a\",\"module\":\"f\"},{\"name\":\"a\",\"module\":\"g\"}]", "two sinks are named 'a'");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"events\":\"sessions,calls\"}]",
                 "sink 'a': \"events\" is not a Janus mask (labels: sessions, handles, external, jsep, webrtc, "
                 "media, plugins, transports, core, all, none)");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"events\":[\"\"]}]",
                 "sink 'a': \"events\" items must be non-empty strings (globs such as \"peer.*\")");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"batch\":{\"max_events\":0}}]",
                 "sink 'a': bad \"batch\" key or value \"max_events\" (max_events 1-10000, max_delay_ms 0-3600000)");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"retry\":{\"initial\":5}}]",
                 "sink 'a': bad \"retry\" key or value \"initial\" (initial_ms, max_ms: 1-86400000)");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"crash_after_s\":0}]",
                 "sink 'a': \"crash_after_s\" must be a positive number");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"start\":\"middle\"}]",
                 "sink 'a': \"start\" must be \"end\" or \"beginning\"");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"config\":[]}]", "sink 'a': \"config\" must be an object");
    hv_sink_spec *s;
    size_t n;
    char err[512];
    assert_int_equal(hv_sink_specs_parse("[", &s, &n, err, sizeof(err)), -1);
    assert_true(strncmp(err, "sinks: ", 7) == 0);
    assert_int_equal(hv_sink_specs_parse("[]", &s, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    hv_sink_specs_free(s, n);
}

/* "filter": a payload filter (issue 18 item 5), checked at start. */
static void filters(void **state)
{
    (void)state;
    hv_sink_spec *s;
    size_t n;
    char err[512];
    assert_int_equal(hv_sink_specs_parse("[{\"name\":\"a\",\"module\":\"f\",\"filter\":{\"data.n\":{\"$gt\":1}}},"
                                         "{\"name\":\"b\",\"module\":\"f\",\"filter\":{}},{\"name\":\"c\",\"module\":\"f\"}]",
                                         &s, &n, err, sizeof(err)), 0);
    assert_non_null(s[0].filter);
    assert_string_equal(hv_filter_text(s[0].filter), "{\"data.n\":{\"$gt\":1}}");
    assert_null(s[1].filter); /* {}: none */
    assert_null(s[2].filter);
    hv_sink_specs_free(s, n);
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"filter\":{\"data.n\":{\"$gt\":\"1\"}}}]",
                 "sink 'a': filter: $gt takes a number, at data.n.$gt");
    expect_error("[{\"name\":\"a\",\"module\":\"f\",\"filter\":[]}]", "sink 'a': filter: must be a JSON object, at the top");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(defaults_and_settings), cmocka_unit_test(janus_masks),
                                       cmocka_unit_test(errors), cmocka_unit_test(filters)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
