package dev.onednn4j.nn;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.op.InnerProduct;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * A fully connected layer, as PyTorch's {@code nn.Linear}: {@code y = x W^T + b}.
 *
 * <pre>{@code
 * try (Linear fc = new Linear(512, 1000); Tensor y = fc.forward(features)) {   // (N, 512) -> (N, 1000)
 * }
 * }</pre>
 *
 * <h2>Arguments</h2> inFeatures, outFeatures; {@link Builder#bias(boolean)} (default true).
 *
 * <h2>Shape</h2> Input (*, inFeatures): any number of leading dimensions, or just (inFeatures); output
 * (*, outFeatures), contiguous. A channels-last 4-D input is copied to row-major order first (Linear works on the
 * last dimension, which channels-last does not keep together).
 *
 * <h2>Variables</h2> {@link #weight()} (outFeatures, inFeatures) and {@link #bias()} (outFeatures), initialised
 * from U(-1/sqrt(inFeatures), 1/sqrt(inFeatures)) as PyTorch does, from the builder's generator.
 *
 * <p>On oneDNN's inner product primitive, the weights reordered once into its layout. Within
 * {@code gamma(inFeatures + 1) * (sum|x * w| + |b|)} of the exact result.
 */
public final class Linear extends OperationModule {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final int inFeatures;
    private final int outFeatures;
    private final Tensor weight;
    private final Tensor bias;

    /**
     * {@code nn.Linear(inFeatures, outFeatures)}, randomly initialised as PyTorch does.
     *
     * @param inFeatures  the size of the input's last dimension; positive
     * @param outFeatures the size of the output's last dimension; not negative
     * @throws IllegalArgumentException if a size is out of range, or the weight has more elements than a Java
     *     array holds
     */
    public Linear(int inFeatures, int outFeatures) {
        this(builder(inFeatures, outFeatures).checked());
    }

    private Linear(Builder b) {
        this.inFeatures = b.inFeatures;
        this.outFeatures = b.outFeatures;
        RandomGenerator rng = b.generator != null ? b.generator : new SplittableRandom();
        float bound = (float) (1 / Math.sqrt(inFeatures));
        weight = registerParameter("weight", Init.uniform(rng, bound, outFeatures, inFeatures));
        bias = registerParameter("bias", b.bias ? Init.uniform(rng, bound, outFeatures) : null);
    }

    /**
     * A builder for the optional arguments.
     *
     * @param inFeatures  the size of the input's last dimension; positive
     * @param outFeatures the size of the output's last dimension; not negative
     * @return a builder with PyTorch's defaults; {@link Builder#build()} checks the arguments
     */
    public static Builder builder(int inFeatures, int outFeatures) {
        return new Builder(inFeatures, outFeatures);
    }

    /** Applies the layer to {@code input} (*, inFeatures) into a new contiguous tensor (*, outFeatures). */
    @Override
    public Tensor forward(Tensor input) {
        if (input.memoryFormat() == MemoryFormat.CONTIGUOUS) {
            return super.forward(input);
        }
        try (Tensor rows = input.reshape(input.shape())) { // a view if already row-major, else a copy
            return super.forward(rows);
        }
    }

    /** Applies the layer to {@code input} into {@code out} (*, outFeatures), contiguous. */
    @Override
    public void forward(Tensor input, Tensor out) {
        if (out.memoryFormat() != MemoryFormat.CONTIGUOUS) {
            throw new IllegalArgumentException("out must be contiguous for Linear, got " + out);
        }
        if (input.memoryFormat() == MemoryFormat.CONTIGUOUS) {
            super.forward(input, out);
            return;
        }
        try (Tensor rows = input.reshape(input.shape())) {
            super.forward(rows, out);
        }
    }

    @Override
    Operation resolve(long[] shape) {
        if (shape.length == 0) {
            throw new IllegalArgumentException(
                    "both arguments to matmul need to be at least 1D, but they are 0D and " + "2D");
        }
        long k = shape[shape.length - 1];
        long rows = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            rows = Math.multiplyExact(rows, shape[i]);
        }
        if (k != inFeatures) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d): input of size %s, Linear(in_features="
                            + "%d, out_features=%d)",
                    rows,
                    k,
                    inFeatures,
                    outFeatures,
                    Arrays.toString(shape),
                    inFeatures,
                    outFeatures));
        }
        long[] out = shape.clone();
        out[out.length - 1] = outFeatures;
        return new InnerProduct(
                rows, inFeatures, outFeatures, out, FACE.impl(weight), bias == null ? null : FACE.impl(bias));
    }

    /**
     * The size of each input sample, PyTorch's {@code in_features}.
     *
     * @return the size the input's last dimension must have
     */
    public int inFeatures() {
        return inFeatures;
    }

    /**
     * The size of each output sample, PyTorch's {@code out_features}.
     *
     * @return the size of the output's last dimension
     */
    public int outFeatures() {
        return outFeatures;
    }

    /**
     * The weight, (outFeatures, inFeatures), owned by this layer.
     *
     * @return the layer's own float32 weight tensor (not a copy): do not close it
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor weight() {
        ensureOpen();
        return weight;
    }

    /**
     * The bias, (outFeatures), owned by this layer; null when built with {@code bias(false)}.
     *
     * @return the layer's own float32 bias tensor (not a copy, do not close it), or null
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor bias() {
        ensureOpen();
        return bias;
    }

    @Override
    public String extraRepr() {
        return String.format(
                Locale.ROOT,
                "in_features=%d, out_features=%d, bias=%s",
                inFeatures,
                outFeatures,
                Repr.pyBool(bias != null));
    }

    /** Arguments of a {@link Linear}, named and defaulted as PyTorch's. */
    public static final class Builder {
        private final int inFeatures;
        private final int outFeatures;
        private boolean bias = true;
        private RandomGenerator generator;

        private Builder(int inFeatures, int outFeatures) {
            this.inFeatures = inFeatures;
            this.outFeatures = outFeatures;
        }

        /**
         * Whether the layer adds a learnable bias (default true).
         *
         * @param bias false for {@code y = x W^T}; {@link Linear#bias()} is then null
         * @return this builder
         */
        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /**
         * The generator the initial weights and bias are drawn from (default: a randomly seeded one).
         *
         * @param generator the source of the initial values; drawn from once, by {@link #build()}
         * @return this builder
         */
        public Builder generator(RandomGenerator generator) {
            this.generator = java.util.Objects.requireNonNull(generator, "generator");
            return this;
        }

        /**
         * Draws the initial weights and bias from a generator seeded with {@code seed}: reproducible.
         *
         * @param seed the seed of a {@link SplittableRandom}
         * @return this builder
         */
        public Builder seed(long seed) {
            return generator(new SplittableRandom(seed));
        }

        private Builder checked() {
            if (inFeatures <= 0 || outFeatures < 0) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "in_features must be positive and out_features non-negative, but got inFeatures=%d, "
                                + "outFeatures=%d",
                        inFeatures,
                        outFeatures));
            }
            if ((long) inFeatures * outFeatures > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "weight of shape [%d, %d] has more than %d elements",
                        outFeatures,
                        inFeatures,
                        Integer.MAX_VALUE - 8));
            }
            return this;
        }

        /**
         * Checks the arguments and builds the layer.
         *
         * @return a new layer with freshly initialised weight and bias, owned by the caller (close it)
         * @throws IllegalArgumentException if inFeatures is not positive, outFeatures is negative, or the weight
         *     has more elements than a Java array holds
         */
        public Linear build() {
            return new Linear(checked());
        }
    }
}
