/* SPDX-License-Identifier: MIT */
/* id.h — random identifiers.
 *
 * Rooms, peers and webhook endpoints get ids no one can guess or predict
 * (taken from OpenSSL's CSPRNG), made here once for every layer that needs
 * one.
 */
#ifndef HV_ID_H
#define HV_ID_H

/* A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx",
 * lower-case hex, into out (37 bytes with the NUL). */
void hv_uuid4(char out[37]);

#endif
