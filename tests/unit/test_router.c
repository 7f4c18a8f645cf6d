/* SPDX-License-Identifier: MIT */
/* test_router.c — route lookup: paths, methods, 404 vs 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/handlers.h"
#include "api/router.h"

static void known_routes(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    char params[3][257];
    assert_int_equal(hv_router_find("POST", "/v1/events", &h, params), 200);
    assert_ptr_equal(h, hv_api_publish);
    assert_int_equal(hv_router_find("GET", "/v1/events", &h, params), 200);
    assert_ptr_equal(h, hv_api_history);
    assert_int_equal(hv_router_find("GET", "/socket/server/websocket", &h, params), 200);
    assert_ptr_equal(h, hv_api_notifier);
    assert_int_equal(hv_router_find("GET", "/health", &h, params), 200);
    assert_ptr_equal(h, hv_api_health);
    assert_int_equal(hv_router_find("GET", "/metrics", &h, params), 200);
    assert_ptr_equal(h, hv_api_metrics);
}

static void params_are_decoded(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    char params[3][257];
    assert_int_equal(hv_router_find("GET", "/room/r1", &h, params), 200);
    assert_ptr_equal(h, hv_api_room_get);
    assert_string_equal(params[0], "r1");
    assert_int_equal(hv_router_find("DELETE", "/room/my%20room/peer/p%2F1", &h, params), 200); /* %2F stays in the id */
    assert_string_equal(params[1], "p/1");
    assert_int_equal(hv_router_find("GET", "/room/a%00b", &h, params), 404);
    assert_int_equal(hv_router_find("DELETE", "/room/my%20room/peer/p-1", &h, params), 200);
    assert_ptr_equal(h, hv_api_peer_delete);
    assert_string_equal(params[0], "my room");
    assert_string_equal(params[1], "p-1");
    assert_int_equal(hv_router_find("POST", "/room/a/peer/b/refresh_token", &h, params), 200);
    assert_ptr_equal(h, hv_api_peer_refresh_token);
    assert_int_equal(hv_router_find("POST", "/room", &h, params), 200);
    assert_ptr_equal(h, hv_api_room_create);
    assert_int_equal(hv_router_find("GET", "/room", &h, params), 200);
    assert_ptr_equal(h, hv_api_room_list);
    assert_int_equal(hv_router_find("PUT", "/room/r1", &h, params), 405);
    assert_int_equal(hv_router_find("GET", "/room/r1/nothing", &h, params), 404);
    assert_int_equal(hv_router_find("GET", "/socket/peer/websocket", &h, params), 200);
    assert_ptr_equal(h, hv_api_peer_socket);
    assert_int_equal(hv_router_find("GET", "/socket/agent/websocket", &h, params), 200);
    assert_ptr_equal(h, hv_api_agent_socket);
}

static void head_is_get(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    char params[3][257];
    assert_int_equal(hv_router_find("HEAD", "/health", &h, params), 200);
    assert_ptr_equal(h, hv_api_health);
}

static void wrong_method_is_405(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    char params[3][257];
    assert_int_equal(hv_router_find("DELETE", "/v1/events", &h, params), 405);
    assert_int_equal(hv_router_find("POST", "/health", &h, params), 405);
}

static void unknown_path_is_404(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    char params[3][257];
    assert_int_equal(hv_router_find("GET", "/v1/event", &h, params), 404);
    assert_int_equal(hv_router_find("GET", "/v1/events/", &h, params), 404); /* http.c strips the slash first */
    assert_int_equal(hv_router_find("GET", "/HEALTH", &h, params), 404);
    assert_int_equal(hv_router_find("GET", "", &h, params), 404);
}

/* SDK 0.28+'s calls: /validate, and the media features herald answers
 * 501 (recordings: every method, every depth). */
static void newer_sdk_routes(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    char params[3][257];
    assert_int_equal(hv_router_find("GET", "/validate", &h, params), 200);
    assert_ptr_equal(h, hv_api_validate);
    assert_int_equal(hv_router_find("POST", "/validate", &h, params), 405);
    assert_int_equal(hv_router_find("POST", "/room/r1/track_forwardings", &h, params), 200);
    assert_ptr_equal(h, hv_api_track_forwardings);
    assert_string_equal(params[0], "r1");
    assert_int_equal(hv_router_find("POST", "/moq/access", &h, params), 200);
    assert_ptr_equal(h, hv_api_moq_access);
    static const char *const methods[] = {"GET", "POST", "DELETE", "PATCH", "PUT", "HEAD"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        h = NULL;
        assert_int_equal(hv_router_find(methods[i], "/recordings", &h, params), 200);
        assert_ptr_equal(h, hv_api_recordings);
        h = NULL;
        assert_int_equal(hv_router_find(methods[i], "/recordings/r1/a/b", &h, params), 200);
        assert_ptr_equal(h, hv_api_recordings);
    }
    assert_int_equal(hv_router_find("GET", "/recordingsx", &h, params), 404);
    assert_int_equal(hv_router_find("PUT", "/room/r1", &h, params), 405); /* "*" is not everywhere */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_routes),
        cmocka_unit_test(params_are_decoded),
        cmocka_unit_test(head_is_get),
        cmocka_unit_test(wrong_method_is_405),
        cmocka_unit_test(unknown_path_is_404),
        cmocka_unit_test(newer_sdk_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
