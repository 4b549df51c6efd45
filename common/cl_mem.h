/* cl_mem.h - growing an array by doubling, the one way every buffer and list in closeloop
 * makes room. Pure; any thread; the caller owns the array and frees it with free(). */
#ifndef CL_MEM_H
#define CL_MEM_H

#include <stddef.h>

/* Makes room for need (at least 1) elements of elem bytes in the array p of *cap
 * elements, doubling from *cap, or from first when the array is empty. Returns the array
 * (p itself when it is large enough) and updates *cap; NULL when out of memory or the
 * size overflows, and then p and *cap are unchanged. */
void *cl_grow(void *p, size_t *cap, size_t need, size_t elem, size_t first);

#endif
