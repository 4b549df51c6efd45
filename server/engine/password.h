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

#include <protobuf-c/protobuf-c.h>
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

/* A valid hash, with the parameters of cl_password_hash, of a password no user has: a
 * login for an unknown user is verified against it, so that it takes the same time as
 * one for a real user. Made on the first call (one hash's time, thread-safe); static. */
const char *cl_password_dummy_hash(void);

/* The verify of a login for a user that does not exist: the same work as
 * cl_password_verify_async, against cl_password_dummy_hash (made on the pool thread on
 * first use); status is CL_EFORBIDDEN, never CL_OK. */
CL_MUSTCHECK int cl_password_verify_unknown_async(uv_loop_t *loop, const char *password,
                                                  cl_password_cb cb, void *arg);

/* Wipes the passwords and session tokens a decoded request message carries (see
 * secret_fields in password.c), in place; call it before the message is freed. Other
 * messages, and NULL, are left alone. */
void cl_password_cleanse_request(ProtobufCMessage *msg);

/* A new random session token, NUL-terminated (out >= CL_TOKEN_LEN + 1). */
CL_MUSTCHECK int cl_token_new(char *out, size_t outlen);

/* The SHA-256 of the token, what sessions.token_hash stores, sent to PostgreSQL as a
 * binary bytea parameter. CL_OK, or CL_EINVAL for no token / CL_EINTERNAL. */
#define CL_TOKEN_HASH_LEN 32
CL_MUSTCHECK int cl_token_hash(const char *token, uint8_t out[CL_TOKEN_HASH_LEN]);

#endif
