package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import java.util.Arrays;
import java.util.Locale;

/**
 * A reduction (mean, sum, max, min) over some dimensions, kept as size 1 ({@code x.mean(dims, keepdim=True)}), on
 * oneDNN's reduction primitive.
 */
public final class ReduceOp extends SingleInputOp {
    /** What the reduction computes. */
    public enum Kind {
        MEAN(Algorithm.REDUCTION_MEAN),
        SUM(Algorithm.REDUCTION_SUM),
        MAX(Algorithm.REDUCTION_MAX),
        MIN(Algorithm.REDUCTION_MIN);

        final Algorithm algorithm;

        Kind(Algorithm algorithm) {
            this.algorithm = algorithm;
        }
    }

    private final Kind kind;

    /** Reduces {@code shape} to {@code out} (same rank, 1 where reduced, the same size elsewhere). */
    public ReduceOp(Kind kind, long[] shape, long[] out) {
        super(shape, out);
        this.kind = kind;
    }

    @Override
    public String name() {
        return "reduce " + kind.name().toLowerCase(Locale.ROOT) + " " + Arrays.toString(in) + " -> "
                + Arrays.toString(out);
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        if (Arrays.equals(in, out)) { // nothing to reduce (size-1 dimensions only): oneDNN's reduction refuses it
            MemoryDesc copy = dst != null ? null : MemoryDesc.strided(out, dt, Nd.strides(out));
            try {
                return PrimitiveDesc.reorder(Engine.cpu(), srcs[0], dst != null ? dst : copy, attr);
            } finally {
                if (copy != null) {
                    copy.close();
                }
            }
        }
        return GraphOp.toDst(
                dst, out, dt, d -> PrimitiveDesc.reduction(Engine.cpu(), kind.algorithm, srcs[0], d, attr));
    }

    @Override
    public double[] exact(double[][] inputs) {
        int[] target = Nd.broadcastIndex(out, in); // each input element's output element
        double[] r = new double[Nd.numel(out)];
        Arrays.fill(r, kind == Kind.MAX ? Double.NEGATIVE_INFINITY : kind == Kind.MIN ? Double.POSITIVE_INFINITY : 0);
        for (int i = 0; i < target.length; i++) {
            double v = inputs[0][i];
            int t = target[i];
            r[t] = switch (kind) {
                case MAX -> Math.max(r[t], v);
                case MIN -> Math.min(r[t], v);
                default -> r[t] + v;
            };
        }
        if (kind == Kind.MEAN) {
            int count = target.length / Math.max(r.length, 1);
            for (int i = 0; i < r.length; i++) {
                r[i] /= count;
            }
        }
        return r;
    }
}
