package dev.onednn4j.internal.dnnl;

import dev.onednn4j.bindings.dnnl_h;
import java.util.function.IntSupplier;

/**
 * oneDNN's {@code dnnl_alg_kind_t}, typed: the algorithms of the primitives and post-ops this library uses.
 * For eltwise algorithms, {@code alpha} and {@code beta} are as oneDNN defines them, e.g. {@link #ELTWISE_CLIP_V2}
 * clips to {@code [alpha, beta]} and {@link #ELTWISE_HARDSWISH} computes {@code x * min(max(alpha * x + beta, 0), 1)}.
 */
public enum Algorithm {
    CONVOLUTION_DIRECT(dnnl_h::dnnl_convolution_direct),
    /** {@code x > 0 ? x : alpha * x}: ReLU (alpha 0) and LeakyReLU. */
    ELTWISE_RELU(dnnl_h::dnnl_eltwise_relu),
    ELTWISE_TANH(dnnl_h::dnnl_eltwise_tanh),
    ELTWISE_ELU(dnnl_h::dnnl_eltwise_elu),
    /** {@code alpha * x + beta}. */
    ELTWISE_LINEAR(dnnl_h::dnnl_eltwise_linear),
    /** {@code max(0, min(1, alpha * x + beta))}. */
    ELTWISE_HARDSIGMOID(dnnl_h::dnnl_eltwise_hardsigmoid),
    /** The sigmoid {@code 1 / (1 + e^-x)}. */
    ELTWISE_LOGISTIC(dnnl_h::dnnl_eltwise_logistic),
    ELTWISE_GELU_TANH(dnnl_h::dnnl_eltwise_gelu_tanh),
    ELTWISE_GELU_ERF(dnnl_h::dnnl_eltwise_gelu_erf),
    /** {@code x * sigmoid(alpha * x)}: SiLU with alpha 1. */
    ELTWISE_SWISH(dnnl_h::dnnl_eltwise_swish),
    /** {@code alpha < x <= beta ? x : (x <= alpha ? alpha : beta)}. */
    ELTWISE_CLIP_V2(dnnl_h::dnnl_eltwise_clip_v2),
    ELTWISE_HARDSWISH(dnnl_h::dnnl_eltwise_hardswish),
    ELTWISE_MISH(dnnl_h::dnnl_eltwise_mish),
    /** {@code nearbyint(x)}: to the nearest integer, half-way cases to the even one. */
    ELTWISE_ROUND(dnnl_h::dnnl_eltwise_round),
    POOLING_MAX(dnnl_h::dnnl_pooling_max),
    POOLING_AVG_INCLUDE_PADDING(dnnl_h::dnnl_pooling_avg_include_padding),
    POOLING_AVG_EXCLUDE_PADDING(dnnl_h::dnnl_pooling_avg_exclude_padding),
    BINARY_ADD(dnnl_h::dnnl_binary_add),
    BINARY_MUL(dnnl_h::dnnl_binary_mul),
    BINARY_MAX(dnnl_h::dnnl_binary_max),
    BINARY_MIN(dnnl_h::dnnl_binary_min),
    BINARY_DIV(dnnl_h::dnnl_binary_div),
    BINARY_SUB(dnnl_h::dnnl_binary_sub),
    /** {@code |x|}. */
    ELTWISE_ABS(dnnl_h::dnnl_eltwise_abs),
    ELTWISE_SQRT(dnnl_h::dnnl_eltwise_sqrt),
    ELTWISE_EXP(dnnl_h::dnnl_eltwise_exp),
    ELTWISE_LOG(dnnl_h::dnnl_eltwise_log),
    /** {@code alpha * x^beta}. */
    ELTWISE_POW(dnnl_h::dnnl_eltwise_pow),
    /** Softmax computed with the maximum subtracted first. */
    SOFTMAX_ACCURATE(dnnl_h::dnnl_softmax_accurate),
    REDUCTION_MAX(dnnl_h::dnnl_reduction_max),
    REDUCTION_MIN(dnnl_h::dnnl_reduction_min),
    REDUCTION_SUM(dnnl_h::dnnl_reduction_sum),
    REDUCTION_MEAN(dnnl_h::dnnl_reduction_mean),
    RESAMPLING_NEAREST(dnnl_h::dnnl_resampling_nearest),
    RESAMPLING_LINEAR(dnnl_h::dnnl_resampling_linear),
    DECONVOLUTION_DIRECT(dnnl_h::dnnl_deconvolution_direct);

    private final int value;

    Algorithm(IntSupplier value) {
        this.value = value.getAsInt();
    }

    /** The C enum's value. */
    public int value() {
        return value;
    }
}
