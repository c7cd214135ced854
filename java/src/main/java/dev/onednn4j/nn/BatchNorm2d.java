package dev.onednn4j.nn;

import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.BatchNorm;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.Locale;

/**
 * Batch normalization over a 4-D input, as PyTorch's {@code nn.BatchNorm2d}, for inference:
 * {@code y = (x - running_mean) / sqrt(running_var + eps) * weight + bias}, per channel.
 *
 * <pre>{@code
 * try (BatchNorm2d bn = new BatchNorm2d(64)) {
 *     bn.eval();                         // inference uses the running statistics
 *     Tensor y = bn.forward(x);          // (N, 64, H, W) -> (N, 64, H, W), same memory format
 * }
 * }</pre>
 *
 * <h2>Arguments</h2> (see {@link Builder}) numFeatures (C), eps (default 1e-5), momentum (default 0.1; kept for
 * the repr and state: it only matters in training), affine (default true: learnable {@code weight} and
 * {@code bias}), trackRunningStats (default true: buffers {@code running_mean}, {@code running_var} and the int64
 * {@code num_batches_tracked}).
 *
 * <h2>Shape</h2> Input (N, C, H, W), output the same, in the input's memory format.
 *
 * <h2>Modes</h2> In eval mode the running statistics normalize, as in PyTorch; without them
 * ({@code trackRunningStats(false)}) the batch's own mean and biased variance do, as PyTorch does in eval too.
 * Training mode (a new module's, as in PyTorch) would normalize with the batch's statistics and update the
 * running ones: this library computes inference only, so {@code forward} then throws
 * {@link UnsupportedOperationException}: call {@code eval()} first.
 *
 * <p>On oneDNN's batch normalization primitive in the input's layout.
 */
public final class BatchNorm2d extends OperationModule {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private static TensorImpl impl(Tensor t) {
        return t == null ? null : FACE.impl(t);
    }

    private final int numFeatures;
    private final double eps;
    private final double momentum;
    private final boolean affine;
    private final boolean trackRunningStats;
    private final Tensor weight;
    private final Tensor bias;
    private final Tensor runningMean;
    private final Tensor runningVar;

    /**
     * {@code nn.BatchNorm2d(numFeatures)} with PyTorch's defaults.
     *
     * @param numFeatures C, the channels of the input
     * @throws IllegalArgumentException if {@code numFeatures} is negative
     */
    public BatchNorm2d(int numFeatures) {
        this(builder(numFeatures).checked());
    }

    private BatchNorm2d(Builder b) {
        this.numFeatures = b.numFeatures;
        this.eps = b.eps;
        this.momentum = b.momentum;
        this.affine = b.affine;
        this.trackRunningStats = b.trackRunningStats;
        if (affine) {
            weight = registerParameter("weight", Tensor.zeros(numFeatures));
            bias = registerParameter("bias", Tensor.zeros(numFeatures));
            Init.constant(weight, 1);
        } else {
            weight = registerParameter("weight", null);
            bias = registerParameter("bias", null);
        }
        if (trackRunningStats) {
            runningMean = registerBuffer("running_mean", Tensor.zeros(numFeatures));
            runningVar = registerBuffer("running_var", Tensor.zeros(numFeatures));
            Init.constant(runningVar, 1);
            registerBuffer("num_batches_tracked", Tensor.zeros(DType.INT64)); // 0-d, int64, as PyTorch's
        } else {
            runningMean = registerBuffer("running_mean", null);
            runningVar = registerBuffer("running_var", null);
            registerBuffer("num_batches_tracked", null);
        }
    }

    /**
     * A builder for the optional arguments.
     *
     * @param numFeatures C, the channels of the input
     * @return a builder with PyTorch's defaults; {@link Builder#build()} checks the arguments
     */
    public static Builder builder(int numFeatures) {
        return new Builder(numFeatures);
    }

    /** Normalizes {@code input} (N, C, H, W) into a new tensor. Eval mode only (see the class documentation). */
    @Override
    public Tensor forward(Tensor input) {
        requireEval();
        return super.forward(input);
    }

    /** Normalizes {@code input} into {@code out}. Eval mode only. */
    @Override
    public void forward(Tensor input, Tensor out) {
        requireEval();
        super.forward(input, out);
    }

    private void requireEval() {
        if (isTraining()) {
            throw new UnsupportedOperationException("BatchNorm2d in training mode normalizes with the batch's "
                    + "statistics and updates running_mean and running_var; onednn4j computes inference only: call "
                    + "eval() on the module (or on the network that holds it) first");
        }
    }

    @Override
    Operation resolve(long[] shape) {
        if (shape.length != 4) {
            throw new IllegalArgumentException("expected 4D input (got " + shape.length + "D input)");
        }
        if (shape[1] != numFeatures) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "running_mean should contain %d elements not %d (BatchNorm2d(%d) got input of size %s)",
                    shape[1],
                    numFeatures,
                    numFeatures,
                    Arrays.toString(shape)));
        }
        if (!trackRunningStats && shape[0] * shape[2] * shape[3] == 1) {
            throw new IllegalArgumentException("Expected more than 1 value per channel when training, got input size "
                    + Arrays.toString(shape) + " (without running statistics the batch's own are used)");
        }
        return new BatchNorm(shape, eps, impl(runningMean), impl(runningVar), impl(weight), impl(bias));
    }

    /**
     * The channels this layer normalizes, PyTorch's {@code num_features}.
     *
     * @return C
     */
    public int numFeatures() {
        return numFeatures;
    }

    /**
     * What is added to the variance for numerical stability, PyTorch's {@code eps}.
     *
     * @return eps; 1e-5 by default
     */
    public double eps() {
        return eps;
    }

    /**
     * The running statistics' update factor in training, PyTorch's {@code momentum}; unused in inference.
     *
     * @return momentum; 0.1 by default
     */
    public double momentum() {
        return momentum;
    }

    /**
     * Whether the layer has a learnable scale and shift, PyTorch's {@code affine}.
     *
     * @return true if {@link #weight()} and {@link #bias()} exist
     */
    public boolean affine() {
        return affine;
    }

    /**
     * Whether the layer keeps running statistics, PyTorch's {@code track_running_stats}.
     *
     * @return true if {@link #runningMean()} and {@link #runningVar()} exist and normalize in eval mode
     */
    public boolean trackRunningStats() {
        return trackRunningStats;
    }

    /**
     * The scale {@code gamma}, (C), owned by this layer; null without {@code affine}.
     *
     * @return the layer's own float32 tensor (not a copy: do not close it), or null
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor weight() {
        ensureOpen();
        return weight;
    }

    /**
     * The shift {@code beta}, (C), owned by this layer; null without {@code affine}.
     *
     * @return the layer's own float32 tensor (not a copy: do not close it), or null
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor bias() {
        ensureOpen();
        return bias;
    }

    /**
     * The running mean, (C), a buffer owned by this layer; null without {@code trackRunningStats}.
     *
     * @return the layer's own float32 tensor (not a copy: do not close it), or null
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor runningMean() {
        ensureOpen();
        return runningMean;
    }

    /**
     * The running (unbiased) variance, (C), a buffer owned by this layer; null without {@code trackRunningStats}.
     *
     * @return the layer's own float32 tensor (not a copy: do not close it), or null
     * @throws IllegalStateException if this layer is closed
     */
    public Tensor runningVar() {
        ensureOpen();
        return runningVar;
    }

    @Override
    public String extraRepr() {
        return String.format(
                Locale.ROOT,
                "%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s",
                numFeatures,
                Repr.pyFloat(eps),
                Repr.pyFloat(momentum),
                Repr.pyBool(affine),
                Repr.pyBool(trackRunningStats));
    }

    /** Arguments of a {@link BatchNorm2d}, named and defaulted as PyTorch's. */
    public static final class Builder {
        private final int numFeatures;
        private double eps = 1e-5;
        private double momentum = 0.1;
        private boolean affine = true;
        private boolean trackRunningStats = true;

        private Builder(int numFeatures) {
            this.numFeatures = numFeatures;
        }

        /**
         * Added to the variance for numerical stability (default 1e-5).
         *
         * @param eps a positive finite number
         * @return this builder
         */
        public Builder eps(double eps) {
            this.eps = eps;
            return this;
        }

        /**
         * The running statistics' update factor in training (default 0.1); kept for the repr.
         *
         * @param momentum a finite number
         * @return this builder
         */
        public Builder momentum(double momentum) {
            this.momentum = momentum;
            return this;
        }

        /**
         * Whether the layer has a learnable scale and shift (default true).
         *
         * @param affine false for no {@code weight} and {@code bias} (scale 1, shift 0)
         * @return this builder
         */
        public Builder affine(boolean affine) {
            this.affine = affine;
            return this;
        }

        /**
         * Whether the layer keeps running statistics (default true).
         *
         * @param trackRunningStats false for no buffers: every batch is then normalized with its own statistics
         * @return this builder
         */
        public Builder trackRunningStats(boolean trackRunningStats) {
            this.trackRunningStats = trackRunningStats;
            return this;
        }

        /**
         * Checks the arguments and builds the layer.
         *
         * @return a new layer in training mode, as PyTorch's (call {@code eval()} before {@code forward}), owned by
         *     the caller (close it)
         * @throws IllegalArgumentException if numFeatures is negative, eps not positive and finite, or momentum not
         *     finite
         */
        public BatchNorm2d build() {
            return new BatchNorm2d(checked());
        }

        private Builder checked() {
            if (numFeatures < 0) {
                throw new IllegalArgumentException("Trying to create tensor with negative dimension " + numFeatures
                        + ": num_features must be >= 0");
            }
            if (!(eps > 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("eps must be a positive finite number, but got eps=" + eps);
            }
            if (!Double.isFinite(momentum)) {
                throw new IllegalArgumentException("momentum must be finite, but got momentum=" + momentum);
            }
            return this;
        }
    }
}
