/*
 * The CPU's arithmetic peak, for reading the benchmarks' GFLOP/s: how many fp32 FMAs (vfmadd231ps) and bf16 dot
 * products (vdpbf16ps, AVX512_BF16) the cores retire per second when nothing else limits them. Each OpenMP thread
 * runs CHAINS independent accumulators (each started at a different value, so that the compiler cannot merge them:
 * scripts/peak checks the instruction count in the binary), enough to hide the instructions' latency.
 *
 * Built and run by scripts/peak; prints GFLOP/s for 1 thread and for OMP_NUM_THREADS threads.
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 16
#define ITERS 100000000L

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

/* best of 3 runs of loop on `threads` threads, in GFLOP/s (flops: per instruction) */
static double measure(float (*loop)(void), int threads, double flops) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
        float sink = 0;
        double t0 = seconds();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += loop();
        double gflops = (double) threads * CHAINS * ITERS * flops / (seconds() - t0) / 1e9;
        if (gflops > best) best = gflops;
        if (sink == 0.12345f) printf(" ");
    }
    return best;
}

int main(void) {
    int n = omp_get_max_threads();
    double f1 = measure(fma_loop, 1, 16 * 2), fn = measure(fma_loop, n, 16 * 2);
    printf("fp32 FMA (vfmadd231ps zmm): %.0f GFLOP/s on 1 thread, %.0f on %d\n", f1, fn, n);
#ifdef __AVX512BF16__
    double b1 = measure(bf16_loop, 1, 32 * 2), bn = measure(bf16_loop, n, 32 * 2);
    printf("bf16 dot product (vdpbf16ps zmm): %.0f GFLOP/s on 1 thread, %.0f on %d (%.2fx fp32)\n", b1, bn, n, bn / fn);
#endif
    return 0;
}
