/* What the C compiler itself says about tricky.h: the independent answer the generated layouts must match. */
#include "tricky.h"

static int opaque_storage;

size_t tricky_sum(const tricky_dims_t dims, size_t n) {
    size_t s = 0;
    for (size_t i = 0; i < n; i++) s += (size_t) dims[i];
    return s;
}
size_t tricky_sizeof_padded(void) { return sizeof(tricky_padded_t); }
size_t tricky_offsetof_value(void) { return offsetof(tricky_padded_t, value); }
size_t tricky_offsetof_count(void) { return offsetof(tricky_padded_t, count); }
size_t tricky_sizeof_with_array(void) { return sizeof(tricky_with_array_t); }
size_t tricky_offsetof_name(void) { return offsetof(tricky_with_array_t, name); }
size_t tricky_offsetof_small(void) { return offsetof(tricky_with_array_t, small); }
const char *tricky_color_name(tricky_color_t color) {
    switch (color) {
        case tricky_red: return "red";
        case tricky_green: return "green";
        case tricky_blue: return "blue";
    }
    return "?";
}
void tricky_fill(tricky_padded_t *p, char tag, double value, int count) {
    p->tag = tag;
    p->value = value;
    p->count = count;
}
int64_t tricky_mix(unsigned char a, short b, int c, long d, float e, double f) {
    return (int64_t) a + b * 10 + c * 100 + d * 1000 + (int64_t) (e * 10000) + (int64_t) (f * 100000);
}
tricky_handle_t tricky_handle(void) { return (tricky_handle_t) &opaque_storage; }
int tricky_variadic(int n, ...) { return n; }
