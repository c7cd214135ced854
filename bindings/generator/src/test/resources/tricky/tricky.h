/* The generator's test header: each declaration is a case that a naive binding generator gets wrong. */
#ifndef TRICKY_H
#define TRICKY_H

#include <stddef.h>
#include <stdint.h>

#define TRICKY_API                            /* empty, like DNNL_API: harmless when evaluated */
#define TRICKY_BASE 7
#define TRICKY_ALIAS TRICKY_BASE              /* a macro defined as another macro */
#define TRICKY_SHIFTED (TRICKY_ALIAS << 4)
#define TRICKY_BIG 0x100000000LL              /* needs 64 bits */
#define TRICKY_UNSIGNED_MAX 0xffffffffu       /* unsigned int: -1 as a Java int */
#define TRICKY_HALF 0.5
#define TRICKY_ALLOCATE ((void *)(size_t)-1)  /* a pointer-valued macro */
#define TRICKY_NONE (NULL)
#define TRICKY_TWICE(x) ((x) * 2)             /* function-like: not a constant */

typedef enum { tricky_red = 1, tricky_green = 0x1fff0, tricky_blue } tricky_color_t; /* anonymous enum typedef */
typedef enum { tricky_neg = -3, tricky_pos = 3 } tricky_signed_t;

typedef struct {        /* anonymous struct typedef, with padding */
    char tag;           /* offset 0, then 7 bytes of padding */
    double value;       /* offset 8 */
    int count;          /* offset 16, then 4 bytes of tail padding */
} tricky_padded_t;

typedef struct {
    int64_t dims[4];
    const char *name;
    unsigned short small;
} tricky_with_array_t;

typedef struct tricky_opaque *tricky_handle_t;
typedef int64_t tricky_dims_t[4];

size_t TRICKY_API tricky_sum(const tricky_dims_t dims, size_t n); /* array parameter; size_t */
size_t tricky_sizeof_padded(void);
size_t tricky_offsetof_value(void);
size_t tricky_offsetof_count(void);
size_t tricky_sizeof_with_array(void);
size_t tricky_offsetof_name(void);
size_t tricky_offsetof_small(void);
const char *tricky_color_name(tricky_color_t color);
void tricky_fill(tricky_padded_t *p, char tag, double value, int count);
int64_t tricky_mix(unsigned char a, short b, int c, long d, float e, double f);
tricky_handle_t tricky_handle(void);
int tricky_variadic(int n, ...);

#endif
