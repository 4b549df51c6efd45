/* sha256.c - cl_sha256 over OpenSSL's one-shot EVP_Digest (see sha256.h). */
#include "sha256.h"

#include <openssl/evp.h>

int cl_sha256(const void *data, size_t len, uint8_t out[CL_SHA256_LEN]) {
    static const uint8_t none[1] = {0};
    unsigned n = 0;
    if (EVP_Digest(data ? data : none, len, out, &n, EVP_sha256(), NULL) != 1 || n != CL_SHA256_LEN)
        return CL_EINTERNAL;
    return CL_OK;
}
