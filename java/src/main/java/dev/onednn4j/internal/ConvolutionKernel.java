package dev.onednn4j.internal;

import dev.onednn4j.tensor.Tensor;

/**
 * One implementation of the 2-D convolution: the oneDNN path and the pure-Java reference sit behind
 * this, so either can run any layer and each can be checked against the other.
 */
public interface ConvolutionKernel extends AutoCloseable {

    /**
     * Computes {@code out = conv(x, weight) + bias} for 4-D tensors already validated against {@code g}.
     *
     * @param bias null when the convolution has none
     * @param out  of shape {@code g.outputShape()}, in any memory format; overwritten
     */
    void forward(ConvGeometry g, Tensor x, Tensor weight, Tensor bias, Tensor out);

    /** Frees native state; idempotent. */
    @Override
    void close();
}
