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
    assert_int_equal(hv_router_find("POST", "/v1/events", &h), 200);
    assert_ptr_equal(h, hv_api_publish);
    assert_int_equal(hv_router_find("GET", "/v1/events", &h), 200);
    assert_ptr_equal(h, hv_api_history);
    assert_int_equal(hv_router_find("GET", "/socket/server/websocket", &h), 200);
    assert_ptr_equal(h, hv_api_notifier);
    assert_int_equal(hv_router_find("GET", "/health", &h), 200);
    assert_ptr_equal(h, hv_api_health);
    assert_int_equal(hv_router_find("GET", "/metrics", &h), 200);
    assert_ptr_equal(h, hv_api_metrics);
}

static void head_is_get(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    assert_int_equal(hv_router_find("HEAD", "/health", &h), 200);
    assert_ptr_equal(h, hv_api_health);
}

static void wrong_method_is_405(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    assert_int_equal(hv_router_find("DELETE", "/v1/events", &h), 405);
    assert_int_equal(hv_router_find("POST", "/health", &h), 405);
}

static void unknown_path_is_404(void **state)
{
    (void)state;
    hv_route_handler h = NULL;
    assert_int_equal(hv_router_find("GET", "/v1/event", &h), 404);
    assert_int_equal(hv_router_find("GET", "/v1/events/", &h), 404); /* http.c strips the slash first */
    assert_int_equal(hv_router_find("GET", "/HEALTH", &h), 404);
    assert_int_equal(hv_router_find("GET", "", &h), 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_routes),
        cmocka_unit_test(head_is_get),
        cmocka_unit_test(wrong_method_is_405),
        cmocka_unit_test(unknown_path_is_404),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
