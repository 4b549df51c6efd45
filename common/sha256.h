/* sha256.h - SHA-256 for closeloop's own rules (derived item ids, content keys), so that
 * no business file includes OpenSSL. OpenSSL's EVP interface does the work underneath;
 * no OpenSSL type appears here. Pure and thread-safe: no state between calls, nothing
 * to free. */
#ifndef CL_SHA256_H
#define CL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"

#define CL_SHA256_LEN 32 /* bytes in a digest */

/* The SHA-256 digest of data[0..len) into out. Returns CL_OK, or CL_EINTERNAL when the
 * crypto library failed (out of memory inside OpenSSL, or no SHA-256 provider); out is
 * then unspecified. data may be NULL when len is 0. */
CL_MUSTCHECK int cl_sha256(const void *data, size_t len, uint8_t out[CL_SHA256_LEN]);

#endif
