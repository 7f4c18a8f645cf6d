/* SPDX-License-Identifier: MIT */
/* console_assets.h — the web console's files as built into herald (issue
 * 17): the table scripts/console-embed.py generates from the console's
 * build (build/gen/console_assets.c) and src/api/console.c serves. */
#ifndef HV_API_CONSOLE_ASSETS_H
#define HV_API_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct hv_console_asset {
    const char *path;         /* under /console/: "index.html", "assets/app-<hash>.js" */
    const char *type;         /* Content-Type */
    const char *etag;         /* quoted: a hash of the original bytes */
    const unsigned char *raw; /* the original bytes */
    size_t raw_len;
    const unsigned char *gz;  /* the same, gzip-compressed at build time */
    size_t gz_len;
    int immutable;            /* a content hash is in the name: cached for a year */
} hv_console_asset;

extern const hv_console_asset hv_console_assets[];
extern const size_t hv_console_nassets;

#endif
