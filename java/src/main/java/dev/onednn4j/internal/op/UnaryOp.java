package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PostOps;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import java.util.Locale;
import java.util.function.DoubleUnaryOperator;

/**
 * An element-wise function with oneDNN's parameters alpha and beta, on the eltwise primitive: {@code alpha * x +
 * beta} (a scalar operand of +, -, *, /, negation), {@code alpha * x^beta} (a constant power, a scalar divided by
 * x), {@code |x|}, {@code sqrt}, {@code exp}, {@code log}, clipping, hard sigmoid with any slope. The layers'
 * activations ({@code ReLU}, {@code GELU}, ...) are {@link Eltwise}; this covers the rest.
 */
public final class UnaryOp extends SingleInputOp {
    /** The functions, with their oneDNN algorithm and their plain Java form. */
    public enum Kind {
        LINEAR(Algorithm.ELTWISE_LINEAR),
        POW(Algorithm.ELTWISE_POW),
        ABS(Algorithm.ELTWISE_ABS),
        SQRT(Algorithm.ELTWISE_SQRT),
        EXP(Algorithm.ELTWISE_EXP),
        LOG(Algorithm.ELTWISE_LOG),
        CLIP(Algorithm.ELTWISE_CLIP_V2),
        HARDSIGMOID(Algorithm.ELTWISE_HARDSIGMOID);

        final Algorithm algorithm;

        Kind(Algorithm algorithm) {
            this.algorithm = algorithm;
        }
    }

    private final Kind kind;
    private final float alpha;
    private final float beta;

    public UnaryOp(Kind kind, float alpha, float beta, long[] shape) {
        super(shape.length == 0 ? new long[] {1} : shape, shape);
        this.kind = kind;
        this.alpha = alpha;
        this.beta = beta;
    }

    @Override
    public String name() {
        return String.format(Locale.ROOT, "%s(alpha %s, beta %s)", kind.name().toLowerCase(Locale.ROOT), alpha, beta);
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return PrimitiveDesc.eltwise(
                Engine.cpu(), kind.algorithm, srcs[0], dst != null ? dst : srcs[0], alpha, beta, attr);
    }

    /** Appends this function as a post-op (to fuse it into the primitive before it). */
    public void appendTo(PostOps postOps) {
        postOps.eltwise(kind.algorithm, alpha, beta);
    }

    /** The function, in double. */
    public DoubleUnaryOperator function() {
        double a = alpha;
        double b = beta;
        return switch (kind) {
            case LINEAR -> x -> a * x + b;
            case POW -> x -> a * Math.pow(x, b);
            case ABS -> Math::abs;
            case SQRT -> Math::sqrt;
            case EXP -> Math::exp;
            case LOG -> Math::log;
            case CLIP -> x -> x > a && x <= b ? x : x <= a ? a : b;
            case HARDSIGMOID -> x -> Math.max(0, Math.min(1, a * x + b));
        };
    }

    @Override
    public double[] exact(double[][] in) {
        DoubleUnaryOperator f = function();
        double[] r = new double[in[0].length];
        for (int i = 0; i < r.length; i++) {
            r[i] = f.applyAsDouble(in[0][i]);
        }
        return r;
    }
}
