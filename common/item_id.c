/* item_id.c - the derived item id rule (see item_id.h). The content is built once in a
 * heap buffer, with room for the occurrence suffix, and hashed with cl_sha256. */
#include "item_id.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEM_SEP        '\x1f' /* between the namespace and each field */
#define ITEM_SUFFIX_MAX 12     /* 0x1F and up to 10 digits of a uint32, and a NUL */

/* content (see item_id.h) into a malloc'd buffer with ITEM_SUFFIX_MAX bytes to spare;
 * *len is the content's length. NULL when out of memory. */
static char *content_build(const cl_item_content_t *c, size_t *len) {
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, c->project_id);
    const char *f[] = {pid,         c->unit,     c->round,       c->inspected_on,
                       c->location, c->category, c->description, c->severity};
    size_t nf = sizeof f / sizeof f[0], total = strlen(CL_ITEM_ID_NAMESPACE);
    for (size_t i = 0; i < nf; i++)
        total += 1 + (f[i] ? strlen(f[i]) : 0);
    char *buf = malloc(total + ITEM_SUFFIX_MAX);
    if (!buf) return NULL;
    size_t o = strlen(CL_ITEM_ID_NAMESPACE);
    memcpy(buf, CL_ITEM_ID_NAMESPACE, o);
    for (size_t i = 0; i < nf; i++) {
        size_t n = f[i] ? strlen(f[i]) : 0;
        buf[o++] = ITEM_SEP;
        if (n) memcpy(buf + o, f[i], n);
        o += n;
    }
    *len = o;
    return buf;
}

int cl_item_content_key(const cl_item_content_t *c, uint8_t key[CL_SHA256_LEN]) {
    size_t len;
    char *buf = content_build(c, &len);
    if (!buf) return CL_ENOMEM;
    int rc = cl_sha256(buf, len, key);
    free(buf);
    return rc;
}

int cl_item_id_derive(const cl_item_content_t *c, uint32_t occurrence,
                      char out[CL_ITEM_ID_LEN + 1]) {
    size_t len;
    char *buf = content_build(c, &len);
    if (!buf) return CL_ENOMEM;
    len += (size_t)snprintf(buf + len, ITEM_SUFFIX_MAX, "%c%" PRIu32, ITEM_SEP, occurrence);
    uint8_t d[CL_SHA256_LEN];
    int rc = cl_sha256(buf, len, d);
    free(buf);
    if (rc != CL_OK) return rc;
    d[6] = (uint8_t)((d[6] & 0x0F) | 0x80); /* version 8: custom, name-based */
    d[8] = (uint8_t)((d[8] & 0x3F) | 0x80); /* RFC 9562 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[d[i] >> 4];
        out[o++] = hex[d[i] & 0x0F];
    }
    out[o] = '\0';
    return CL_OK;
}
