/* item_id.h - the derived id of an inspection item: a protocol rule that every client
 * importing a day's paper forms must reproduce byte for byte, so that importing the
 * same file twice records nothing twice (docs/IMPORT_FORMAT.md, "Idempotency").
 *
 *   content = "closeloop:item:v1", then for each field 0x1F and its UTF-8 bytes, fields
 *             in this order: project id (decimal), unit, round, inspected_on, location,
 *             category, description, severity
 *   digest  = SHA-256(content + 0x1F + decimal(n)), n = how many earlier rows of the
 *             same file (without item_id) had the same content
 *   id      = the first 16 bytes of digest, version nibble 8, RFC 9562 variant, as a
 *             lower-case 8-4-4-4-12 UUID
 *
 * The occurrence count n is the importer's to keep; cl_item_content_key gives it a key
 * for "the same content". Never change the rule or the namespace: ids already stored
 * would no longer match. Pure; thread-safe; nothing to free. */
#ifndef CL_ITEM_ID_H
#define CL_ITEM_ID_H

#include <stdint.h>

#include "cl_err.h"
#include "sha256.h"

#define CL_ITEM_ID_NAMESPACE "closeloop:item:v1"
#define CL_ITEM_ID_LEN       36 /* characters of the UUID, without the NUL */

/* The fields of one row that make its identity, each as written in the file after
 * removing surrounding blanks (NULL reads as ""). The inspector is not one of them. */
typedef struct cl_item_content {
    int64_t project_id;       /* the id, also when the row named the project */
    const char *unit;         /* "3-2-1701" */
    const char *round;        /* the round's name: "handover" */
    const char *inspected_on; /* "YYYY-MM-DD" */
    const char *location;     /* "卫生间" */
    const char *category;     /* the trade code: "waterproofing" */
    const char *description;  /* the problem */
    const char *severity;     /* "minor", "major" or "critical" */
} cl_item_content_t;

/* SHA-256 of the row's content (without the occurrence count): equal for two rows
 * exactly when their content is equal, the importer's key for counting occurrences.
 * Returns CL_OK, CL_ENOMEM or CL_EINTERNAL (the hash failed). */
CL_MUSTCHECK int cl_item_content_key(const cl_item_content_t *c, uint8_t key[CL_SHA256_LEN]);

/* The derived id of the occurrence-th (0 for the first) row with content c, into out as
 * a NUL-terminated UUID. Returns CL_OK, CL_ENOMEM or CL_EINTERNAL. */
CL_MUSTCHECK int cl_item_id_derive(const cl_item_content_t *c, uint32_t occurrence,
                                   char out[CL_ITEM_ID_LEN + 1]);

#endif
