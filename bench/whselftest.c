/* SPDX-License-Identifier: MIT */
/* whselftest.c — the webhook_receiver cell (lg_wh_selftest): the receiver
 * (whrecv.c) alone against a libcurl-multi client doing what herald does
 * (keep-alive POSTs of a signed 250-byte JSON body with the three
 * webhook-* headers), to show the receiver is not the limit of the
 * webhook cells (webhook.c).
 */
#include "lg.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct st_slot {
    CURL *h;
    struct curl_slist *hd;
    char body[256];
} st_slot;

static size_t st_discard(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

/* Fills a slot for request number i: headers with a valid signature. */
static void st_prepare(st_slot *s, const uint8_t *key, int keylen, long i)
{
    char id[64], ts[32], sig[128], line[200];
    snprintf(id, sizeof id, "msg_%ld_ep_selftest", i + 1);
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    int bl = snprintf(s->body, sizeof s->body,
                      "{\"id\":%ld,\"type\":\"bench.tick\",\"data\":{\"t\":1,\"pad\":\"%0180d\"}}", i + 1, 0);
    char msg[512];
    int ml = snprintf(msg, sizeof msg, "%s.%s.%s", id, ts, s->body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned ln = 0;
    HMAC(EVP_sha256(), key, keylen, (unsigned char *)msg, (size_t)ml, mac, &ln);
    memcpy(sig, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)sig + 3, mac, (int)ln);
    curl_slist_free_all(s->hd);
    s->hd = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(line, sizeof line, "webhook-id: %s", id);
    s->hd = curl_slist_append(s->hd, line);
    snprintf(line, sizeof line, "webhook-timestamp: %s", ts);
    s->hd = curl_slist_append(s->hd, line);
    snprintf(line, sizeof line, "webhook-signature: %s", sig);
    s->hd = curl_slist_append(s->hd, line);
    s->hd = curl_slist_append(s->hd, "Expect:");
    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hd);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)bl);
}

int lg_wh_selftest(const lg_wh_cfg *c)
{
    char secret[64];
    lg_wh_make_secret(secret);
    uint8_t key[64];
    int keylen = EVP_DecodeBlock(key, (unsigned char *)secret + 6, 44) - 1; /* one '=' */
    lg_recv *r = lg_recv_start("127.0.0.1", 0, c->verify_every, secret);
    if (!r)
        return 1;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook/0", lg_recv_port(r));
    int k = c->concurrency > 0 ? c->concurrency : 64;
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)k);
    st_slot *slots = calloc((size_t)k, sizeof *slots);
    long started = 0, done = 0, failed = 0;
    double self0 = lg_self_cpu_s();
    int64_t t0 = lg_now_ns();
    for (int i = 0; i < k && started < c->events; i++) {
        slots[i].h = curl_easy_init();
        curl_easy_setopt(slots[i].h, CURLOPT_URL, url);
        curl_easy_setopt(slots[i].h, CURLOPT_WRITEFUNCTION, st_discard);
        curl_easy_setopt(slots[i].h, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(slots[i].h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(slots[i].h, CURLOPT_TCP_NODELAY, 1L);
        st_prepare(&slots[i], key, keylen, started++);
        curl_multi_add_handle(m, slots[i].h);
    }
    while (done < started) {
        int running, left;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            st_slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long code = 0;
            curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code != 200)
                failed++;
            done++;
            curl_multi_remove_handle(m, s->h);
            if (started < c->events) {
                st_prepare(s, key, keylen, started++);
                curl_multi_add_handle(m, s->h);
            }
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double secs = (double)(lg_now_ns() - t0) / 1e9;
    lg_recv_stop(r);
    const lg_recv_stats *rs = lg_recv_stats_get(r);
    json_t *out = json_object();
    json_object_set_new(out, "cell", json_string(c->cell));
    lg_put_int(out, "requests_sent", done);
    lg_put_int(out, "failed", failed);
    lg_put_int(out, "concurrency", k);
    lg_put_real(out, "seconds", secs, 3);
    lg_put_real(out, "requests_per_s", (double)done / secs, 1);
    lg_put_int(out, "deliveries", (long long)atomic_load(&rs->deliveries));
    lg_put_recv(out, rs);
    lg_put_real(out, "receiver_us_per_request", rs->cpu_s / (double)(done ? done : 1) * 1e6, 2);
    lg_put_real(out, "loadgen_cpu_s", lg_self_cpu_s() - self0, 2);
    json_object_set_new(out, "ok", json_boolean(failed == 0 && atomic_load(&rs->bad_sig) == 0 &&
                                                (long)atomic_load(&rs->deliveries) == done));
    lg_emit(out);
    for (int i = 0; i < k; i++) {
        if (slots[i].h) {
            curl_multi_remove_handle(m, slots[i].h);
            curl_easy_cleanup(slots[i].h);
        }
        curl_slist_free_all(slots[i].hd);
    }
    free(slots);
    curl_multi_cleanup(m);
    lg_recv_free(r);
    return 0;
}
