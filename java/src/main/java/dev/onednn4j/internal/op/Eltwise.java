package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PostOps;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.Arrays;
import java.util.Locale;

/**
 * An element-wise activation on a tensor of any shape, resolved for one shape. Tensors: input, output (the same
 * tensor for an in-place call).
 *
 * <p>oneDNN: the eltwise primitive in the input's layout; an output in another layout is reordered into.
 */
public final class Eltwise implements Operation {

    /** The activations, each with its oneDNN algorithm and PyTorch's formula (the reference). */
    public enum Kind {
        /** {@code max(x, 0)}. */
        RELU(Algorithm.ELTWISE_RELU, true),
        /** {@code x > 0 ? x : slope * x}; the parameter is the slope. */
        LEAKY_RELU(Algorithm.ELTWISE_RELU, true),
        /** {@code min(max(x, 0), 6)}. */
        RELU6(Algorithm.ELTWISE_CLIP_V2, true),
        /** {@code x * sigmoid(x)}. */
        SILU(Algorithm.ELTWISE_SWISH, false),
        /** {@code x / 2 * (1 + erf(x / sqrt(2)))}. */
        GELU(Algorithm.ELTWISE_GELU_ERF, false),
        /** {@code x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))}. */
        GELU_TANH(Algorithm.ELTWISE_GELU_TANH, false),
        /** {@code 1 / (1 + exp(-x))}. */
        SIGMOID(Algorithm.ELTWISE_LOGISTIC, false),
        TANH(Algorithm.ELTWISE_TANH, false),
        /** {@code x * min(max(x + 3, 0), 6) / 6}. */
        HARDSWISH(Algorithm.ELTWISE_HARDSWISH, false),
        /** {@code min(max(x + 3, 0), 6) / 6}. */
        HARDSIGMOID(Algorithm.ELTWISE_HARDSIGMOID, false);

        private final Algorithm algorithm;
        private final boolean exact;

        Kind(Algorithm algorithm, boolean exact) {
            this.algorithm = algorithm;
            this.exact = exact;
        }

        /**
         * Whether oneDNN's result must be the correctly rounded value (comparisons, clipping, one multiplication);
         * the others evaluate several roundings or approximate transcendental functions.
         */
        public boolean exact() {
            return exact;
        }

        /**
         * How far oneDNN's float result may be from the exact value {@code ref = apply(x)}:
         * <ul>
         *   <li>ReLU, ReLU6: {@code u * |ref|}, correct rounding; LeakyReLU: {@code gamma(2) * |ref|}, the slope
         *       rounded to float, then the product (against a slope taken exactly, as PyTorch's float64 is);</li>
         *   <li>Hardsigmoid, {@code alpha * x + beta} clipped, with {@code alpha = 1/6} itself rounded: three
         *       roundings, {@code gamma(3) * (|x| / 6 + 1/2)}; Hardswish, one more product:
         *       {@code gamma(4) * |x| * (|x| / 6 + 1/2)};</li>
         *   <li>the functions oneDNN approximates (exp, tanh, erf inside): benchdnn's f32 eltwise thresholds,
         *       {@code 4e-6} relative ({@code 4e-5} for tanh, SiLU and the tanh GELU), absolute where
         *       {@code |ref| <= 1e-5}, and absolute as well where GELU's {@code 1 + erf} or {@code 1 + tanh}
         *       cancels catastrophically (large negative x), as benchdnn's {@code check_abs_err} does.</li>
         * </ul>
         */
        public double bound(double x, double ref) {
            return switch (this) {
                case RELU, RELU6 -> RoundingBound.U * Math.abs(ref);
                case LEAKY_RELU -> RoundingBound.gamma(2) * Math.abs(ref);
                case HARDSIGMOID -> RoundingBound.gamma(3) * (Math.abs(x) / 6 + 0.5);
                case HARDSWISH -> RoundingBound.gamma(4) * Math.abs(x) * (Math.abs(x) / 6 + 0.5);
                default -> approximated(x, ref);
            };
        }

        /** benchdnn's threshold for a function oneDNN approximates, absolute where it cancels. */
        private double approximated(double x, double ref) {
            double threshold = this == GELU_TANH || this == TANH || this == SILU ? 4e-5 : 4e-6;
            double cancellation = 2 * Math.ulp(1.0f) / threshold;
            boolean cancels = this == GELU
                    ? 1 + Erf.erf(x / Math.sqrt(2)) <= cancellation
                    : this == GELU_TANH
                            && 1 + Math.tanh(Math.sqrt(2 / Math.PI) * x * (1 + 0.044715 * x * x)) <= cancellation;
            return threshold * (Math.abs(ref) > 1e-5 && !cancels ? Math.abs(ref) : 1);
        }

        /** oneDNN's erf GELU of +inf on this machine's kernels: NaN with AVX-512, +inf (PyTorch's) without. */
        private static final boolean GELU_INF_IS_NAN = Dnnl.avx512();

        /** PyTorch's formula in double; {@code p} is the LeakyReLU slope. */
        public double apply(double x, float p) {
            return switch (this) {
                // non-finite inputs follow oneDNN's arithmetic, the library's (docs/non-finite-values.md):
                // ReLU and ReLU6 map NaN to 0, Hardsigmoid to 1, the erf GELU maps +inf to NaN
                case RELU -> x > 0 ? x : 0.0;
                // slope 0 is oneDNN's ReLU (a max with 0), which maps NaN and -inf to 0
                case LEAKY_RELU -> x > 0 ? x : (p == 0 ? 0.0 : x * p);
                case RELU6 -> Double.isNaN(x) ? 0.0 : Math.min(Math.max(x, 0), 6);
                case SILU -> x / (1 + Math.exp(-x));
                // +inf: PyTorch's +inf from oneDNN's AVX2 kernel, NaN from its AVX-512 one (measured:
                // docs/non-finite-values.md)
                case GELU ->
                    x == Double.POSITIVE_INFINITY
                            ? (GELU_INF_IS_NAN ? Double.NaN : x)
                            : x / 2 * (1 + Erf.erf(x / Math.sqrt(2)));
                case GELU_TANH -> x / 2 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
                case SIGMOID -> 1 / (1 + Math.exp(-x));
                case TANH -> Math.tanh(x);
                case HARDSWISH -> x * Math.min(Math.max(x + 3, 0), 6) / 6;
                case HARDSIGMOID -> Double.isNaN(x) ? 1.0 : Math.min(Math.max(x + 3, 0), 6) / 6;
            };
        }

        float alpha(float p) {
            return switch (this) {
                case LEAKY_RELU -> p;
                case SILU -> 1f;
                case HARDSWISH, HARDSIGMOID -> 1f / 6;
                default -> 0f;
            };
        }

        float beta() {
            return switch (this) {
                case RELU6 -> 6f;
                case HARDSWISH, HARDSIGMOID -> 0.5f;
                default -> 0f;
            };
        }
    }

    private final Kind kind;
    private final float parameter;
    private final long[] shape;

    /** @param parameter LeakyReLU's slope; ignored by the others */
    public Eltwise(Kind kind, float parameter, long[] shape) {
        this.kind = kind;
        this.parameter = parameter;
        this.shape = shape.clone();
    }

    @Override
    public long[] outputShape() {
        return shape.clone();
    }

    @Override
    public Plan plan(TensorImpl... t) {
        long[] dims = t[0].dim() == 0 ? new long[] {1} : shape;
        Plan.Builder b = Plan.builder(
                String.format(Locale.ROOT, "%s %s", kind.name().toLowerCase(Locale.ROOT), Arrays.toString(shape)));
        MemoryDesc src = b.input(Arg.SRC, 0, Layouts.of(dims, t[0]));
        b.output(Arg.DST, 1, Layouts.of(dims, t[1]));
        // the primitive writes in the input's layout; an output in another layout is reordered into
        return b.build(attr -> describe(src, null, DataType.F32, attr));
    }

    /** Computes into {@code src}'s own layout; {@code dst} and {@code dt} follow {@code src}. */
    @Override
    public PrimitiveDesc describe(MemoryDesc src, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return PrimitiveDesc.eltwise(Engine.cpu(), kind.algorithm, src, src, kind.alpha(parameter), kind.beta(), attr);
    }

    @Override
    public boolean appendTo(PostOps postOps) {
        postOps.eltwise(kind.algorithm, kind.alpha(parameter), kind.beta());
        return true;
    }

    /** What it computes, e.g. {@code relu}. */
    public Kind kind() {
        return kind;
    }

    /** Whether it is {@code max(x, 0)}: what a batch normalization can apply in its own pass. */
    public boolean isPlainRelu() {
        return kind == Kind.RELU;
    }

    @Override
    public double[] exact(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = kind.apply(x[i], parameter);
        }
        return y;
    }

    /** Per element {@link Kind#bound}. */
    @Override
    public double[] bound(float[] x) {
        double[] y = exact(x);
        for (int i = 0; i < y.length; i++) {
            y[i] = kind.bound(x[i], y[i]);
        }
        return y;
    }
}
