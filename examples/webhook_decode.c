/* SPDX-License-Identifier: MIT */
/* webhook_decode.c — example: decode a webhook body and print it.
 *
 *   ./example_webhook_decode body.bin      (or the body on stdin)
 *   printf '\x52\x04\x0a\x02\x72\x31' | ./example_webhook_decode
 *
 * A body starting with '{' is JSON (Jellyfish {"notification": …} or
 * herald's native envelope) and goes to herald_receive_json; anything else
 * is a Fishjam protobuf ServerMessage for herald_receive_binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/client.h>

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096;
    char *buf = malloc(cap);
    *len = 0;
    while (buf) {
        size_t n = fread(buf + *len, 1, cap - *len - 1, f);
        *len += n;
        if (n == 0) {
            buf[*len] = '\0'; /* fread always leaves room for it */
            break;
        }
        if (*len + 1 >= cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p)
                free(buf);
            buf = p;
        }
    }
    return buf;
}

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t len;
    char *body = read_all(f, &len);
    if (f != stdin)
        fclose(f);
    if (!body)
        return 1;

    herald_notification n;
    size_t skip = strspn(body, " \t\r\n");
    int rc = skip < len && body[skip] == '{' ? herald_receive_json(body, len, &n)
                                             : herald_receive_binary((uint8_t *)body, len, &n);
    free(body);
    if (rc != 0) {
        fprintf(stderr, "not a notification: %s\n", herald_strerror(rc));
        return 1;
    }
    printf("%s (%s) room=%s peer=%s peer_type=%d\n%s\n", n.name, n.type,
           n.room_id ? n.room_id : "-", n.peer_id ? n.peer_id : "-", n.peer_type, n.json);
    herald_notification_clear(&n);
    return 0;
}
