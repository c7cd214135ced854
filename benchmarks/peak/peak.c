/*
 * The CPU's arithmetic peak, for reading the benchmarks' GFLOP/s against each precision's own limit: how many fp32
 * FMAs (vfmadd231ps), bf16 dot products (vdpbf16ps, AVX512_BF16), int8 dot products (vpdpbusd, AVX512_VNNI) and AMX
 * tile dot products (tdpbf16ps, tdpbusd) the cores retire per second when nothing else limits them. Each OpenMP
 * thread runs CHAINS independent vector accumulators (each started at a different value, so that the compiler
 * cannot merge them: scripts/peak checks the instruction count in the binary), enough to hide the instructions'
 * latency; the tile loops keep TILE_CHAINS accumulator tiles (of AMX's eight) in flight.
 *
 * Built and run by scripts/peak; prints GFLOP/s (GOP/s for int8: a multiply and an add are two operations, as for
 * floats) for 1 thread and for OMP_NUM_THREADS threads.
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <time.h>
#ifdef __AMX_TILE__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define CHAINS 16
#define ITERS 100000000L
#define TILE_CHAINS 4
/* a tile dot product takes 16 cycles where a vector one takes 1 */
#define TILE_ITERS (ITERS / 16)

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* one thread's loop: CHAINS x ITERS instructions; returns a sum so that nothing is dead code */
static float fma_loop(void) {
    __m512 acc[CHAINS];
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps(1.0f + c + omp_get_thread_num());
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (long i = 0; i < ITERS; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
    }
    __m512 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
    return _mm512_reduce_add_ps(s);
}

#ifdef __AVX512BF16__
static float bf16_loop(void) {
    __m512 acc[CHAINS];
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps(1.0f + c + omp_get_thread_num());
    const __m512bh x = (__m512bh) _mm512_set1_epi16(0x3f80), y = (__m512bh) _mm512_set1_epi16(0x3380); /* 1, 6e-8 */
    for (long i = 0; i < ITERS; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_dpbf16_ps(acc[c], x, y);
    }
    __m512 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
    return _mm512_reduce_add_ps(s);
}
#endif

#ifdef __AVX512VNNI__
static float vnni_loop(void) {
    __m512i acc[CHAINS];
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_epi32(1 + c + omp_get_thread_num());
    const __m512i x = _mm512_set1_epi8(1), y = _mm512_set1_epi8(0); /* u8 1 times s8 0: no overflow */
    for (long i = 0; i < ITERS; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_dpbusd_epi32(acc[c], x, y);
    }
    __m512i s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm512_add_epi32(s, acc[c]);
    return (float) _mm512_reduce_add_epi32(s);
}
#endif

#ifdef __AMX_TILE__
/* Linux hands out the tile state on request only (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) */
static int amx_permitted(void) {
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
}

/* palette 1, every tile 16 rows of 64 bytes: tdpbf16ps 16x16 fp32 += 16x32 bf16 . 32x16 bf16 (8,192 MACs),
   tdpbusd 16x16 s32 += 16x64 u8 . 64x16 s8 (16,384 MACs) */
static void amx_configure(void) {
    unsigned char cfg[64] __attribute__((aligned(64))) = {0};
    cfg[0] = 1;
    for (int t = 0; t < 8; t++) {
        cfg[16 + 2 * t] = 64; /* bytes per row */
        cfg[48 + t] = 16;     /* rows */
    }
    _tile_loadconfig(cfg);
}

static float amx_loop(int int8) {
    static const unsigned char zeros[1024] __attribute__((aligned(64))) = {0};
    float out[256] __attribute__((aligned(64)));
    amx_configure();
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, zeros, 64);
    _tile_loadd(5, zeros, 64);
    if (int8) {
        for (long i = 0; i < TILE_ITERS; i++) {
            _tile_dpbusd(0, 4, 5);
            _tile_dpbusd(1, 4, 5);
            _tile_dpbusd(2, 4, 5);
            _tile_dpbusd(3, 4, 5);
        }
    } else {
        for (long i = 0; i < TILE_ITERS; i++) {
            _tile_dpbf16ps(0, 4, 5);
            _tile_dpbf16ps(1, 4, 5);
            _tile_dpbf16ps(2, 4, 5);
            _tile_dpbf16ps(3, 4, 5);
        }
    }
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0] + omp_get_thread_num();
}

static float amx_bf16_loop(void) {
    return amx_loop(0);
}

static float amx_int8_loop(void) {
    return amx_loop(1);
}
#endif

/* best of 3 runs of loop on `threads` threads, in GFLOP/s (flops: per instruction, count: instructions per loop) */
static double measure_n(float (*loop)(void), int threads, double flops, double count) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
        float sink = 0;
        double t0 = seconds();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += loop();
        double gflops = (double) threads * count * flops / (seconds() - t0) / 1e9;
        if (gflops > best) best = gflops;
        if (sink == 0.12345f) printf(" ");
    }
    return best;
}

/* a vector loop: CHAINS x ITERS instructions */
static double measure(float (*loop)(void), int threads, double flops) {
    return measure_n(loop, threads, flops, (double) CHAINS * ITERS);
}

int main(void) {
    int n = omp_get_max_threads();
    double f1 = measure(fma_loop, 1, 16 * 2), fn = measure(fma_loop, n, 16 * 2);
    printf("fp32 FMA (vfmadd231ps zmm): %.0f GFLOP/s on 1 thread, %.0f on %d\n", f1, fn, n);
#ifdef __AVX512BF16__
    double b1 = measure(bf16_loop, 1, 32 * 2), bn = measure(bf16_loop, n, 32 * 2);
    printf("bf16 dot product (vdpbf16ps zmm): %.0f GFLOP/s on 1 thread, %.0f on %d (%.2fx fp32)\n", b1, bn, n, bn / fn);
#endif
#ifdef __AVX512VNNI__
    double v1 = measure(vnni_loop, 1, 64 * 2), vn = measure(vnni_loop, n, 64 * 2);
    printf("int8 dot product (vpdpbusd zmm): %.0f GOP/s on 1 thread, %.0f on %d (%.2fx fp32)\n", v1, vn, n, vn / fn);
#endif
#ifdef __AMX_TILE__
    if (!amx_permitted()) {
        printf("AMX tiles: the kernel refused the tile state (arch_prctl ARCH_REQ_XCOMP_PERM): not measured\n");
        return 0;
    }
    double tiles = (double) TILE_CHAINS * TILE_ITERS;
    double a1 = measure_n(amx_bf16_loop, 1, 8192 * 2, tiles), an = measure_n(amx_bf16_loop, n, 8192 * 2, tiles);
    printf("AMX bf16 tiles (tdpbf16ps): %.0f GFLOP/s on 1 thread, %.0f on %d (%.2fx fp32)\n", a1, an, n, an / fn);
    double i1 = measure_n(amx_int8_loop, 1, 16384 * 2, tiles), in = measure_n(amx_int8_loop, n, 16384 * 2, tiles);
    printf("AMX int8 tiles (tdpbusd): %.0f GOP/s on 1 thread, %.0f on %d (%.2fx fp32)\n", i1, in, n, in / fn);
#endif
    return 0;
}
