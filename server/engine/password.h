/* password.h - password hashing (Argon2id, libargon2) and session tokens.
 *
 * Hashes use the OWASP parameters: m = 19 MiB, t = 2, p = 1, a 16-byte random salt, a
 * 32-byte tag, in the PHC string format "$argon2id$v=19$m=19456,t=2,p=1$...". Hashing
 * takes tens of milliseconds, so the daemon calls the _async forms, which run on the
 * libuv thread pool and call back on the loop. Tokens are 32 random bytes (OpenSSL
 * RAND_bytes), base64url without padding; only their SHA-256 is ever stored. */
#ifndef CL_PASSWORD_H
#define CL_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cl_err.h"
#include "domain.h"

#define CL_PASSWORD_HASH_MAX 128 /* encoded hash buffer size */
#define CL_PASSWORD_MIN_LEN  CL_LIM_PASSWORD_MIN_BYTES
#define CL_PASSWORD_MAX_LEN  CL_LIM_PASSWORD_MAX_BYTES
#define CL_TOKEN_LEN         43 /* base64url of 32 bytes, no padding */

/* Blocking: hashes password into out (>= CL_PASSWORD_HASH_MAX bytes). CL_OK, CL_EINVAL
 * (length outside CL_PASSWORD_MIN_LEN..MAX_LEN) or CL_EINTERNAL. */
CL_MUSTCHECK int cl_password_hash(const char *password, char *out, size_t outlen);

/* Blocking: CL_OK when password matches encoded, CL_EFORBIDDEN when it does not,
 * CL_EINVAL when encoded is not an Argon2id hash. Constant time in the password. */
CL_MUSTCHECK int cl_password_verify(const char *encoded, const char *password);

/* status as above; encoded is the new hash for cl_password_hash_async, NULL otherwise.
 * Called on the loop thread. */
typedef void (*cl_password_cb)(void *arg, int status, const char *encoded);

/* Thread-pool forms; the password is copied (and wiped after use). CL_OK when queued. */
CL_MUSTCHECK int cl_password_hash_async(uv_loop_t *loop, const char *password, cl_password_cb cb,
                                        void *arg);
CL_MUSTCHECK int cl_password_verify_async(uv_loop_t *loop, const char *encoded,
                                          const char *password, cl_password_cb cb, void *arg);

/* A new random session token, NUL-terminated (out >= CL_TOKEN_LEN + 1). */
CL_MUSTCHECK int cl_token_new(char *out, size_t outlen);

/* SHA-256 of the token as a bytea text literal "\x<64 hex>" (out >= 67 bytes). */
void cl_token_hash_hex(const char *token, char *out, size_t outlen);

#endif
