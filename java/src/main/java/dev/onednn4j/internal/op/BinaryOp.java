package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.Arrays;
import java.util.List;

/**
 * An element-wise binary operation with numpy broadcasting of its second operand ({@code a + b}, {@code a * b},
 * {@code a - b}, {@code a / b}, min, max), on oneDNN's binary primitive: the first operand has the output's
 * shape, the second broadcasts to it and is computed or a constant. One IEEE rounding per element: oneDNN and the
 * reference agree to the last bit (division may be computed as a multiplication by the reciprocal: one more
 * rounding).
 */
public final class BinaryOp implements GraphOp {
    /** The operations, with their oneDNN algorithm and their plain Java form. */
    public enum Kind {
        ADD(Algorithm.BINARY_ADD),
        SUB(Algorithm.BINARY_SUB),
        MUL(Algorithm.BINARY_MUL),
        DIV(Algorithm.BINARY_DIV),
        MIN(Algorithm.BINARY_MIN),
        MAX(Algorithm.BINARY_MAX);

        final Algorithm algorithm;

        Kind(Algorithm algorithm) {
            this.algorithm = algorithm;
        }

        /** The operation in double. */
        public double apply(double x, double y) {
            return switch (this) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case DIV -> x / y;
                case MIN -> Math.min(x, y);
                case MAX -> Math.max(x, y);
            };
        }
    }

    private final Kind kind;
    private final long[] a;
    private final long[] b;
    private final long[] bDims; // b with leading 1s to a's rank
    private final TensorImpl constant;

    /**
     * @param kind     the operation
     * @param a        the first operand's shape: the output's
     * @param b        the second operand's shape, broadcasting to {@code a}
     * @param constant the second operand if it is a constant (float32, shape {@code b}), else null (computed)
     */
    public BinaryOp(Kind kind, long[] a, long[] b, TensorImpl constant) {
        if (!Arrays.equals(Nd.broadcast(a, b, kind.name().toLowerCase(java.util.Locale.ROOT)), a)) {
            throw new IllegalArgumentException("the first operand " + Arrays.toString(a) + " must have the shape the "
                    + "operands broadcast to; the second is " + Arrays.toString(b));
        }
        this.kind = kind;
        this.a = a.clone();
        this.b = b.clone();
        this.bDims = new long[Math.max(a.length, 1)];
        Arrays.fill(bDims, 1);
        System.arraycopy(b, 0, bDims, bDims.length - b.length, b.length);
        this.constant = constant;
    }

    @Override
    public String name() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + (constant != null ? " constant" : "");
    }

    @Override
    public List<long[]> inputShapes() {
        return constant != null ? List.of(dims(a)) : List.of(dims(a), bDims);
    }

    private static long[] dims(long[] s) {
        return s.length == 0 ? new long[] {1} : s;
    }

    @Override
    public long[] outputShape() {
        return a.clone();
    }

    @Override
    public Arg inputArg(int i) {
        return i == 0 ? Arg.SRC : Arg.SRC_1;
    }

    @Override
    public List<Operation.Constant> constants() {
        return constant == null ? List.of() : List.of(new Operation.Constant(Arg.SRC_1, bDims, constant, null));
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        if (constant == null) {
            return GraphOp.toDst(
                    dst,
                    dims(a),
                    dt,
                    d -> PrimitiveDesc.binary(Engine.cpu(), kind.algorithm, srcs[0], srcs[1], d, attr));
        }
        try (MemoryDesc src1 = MemoryDesc.strided(bDims, DataType.F32, Nd.strides(bDims))) {
            return GraphOp.toDst(
                    dst, dims(a), dt, d -> PrimitiveDesc.binary(Engine.cpu(), kind.algorithm, srcs[0], src1, d, attr));
        }
    }

    @Override
    public double[] exact(double[][] in) {
        double[] y = in.length > 1 ? in[1] : constant.toDoubleArray();
        int[] ib = Nd.broadcastIndex(b, a);
        double[] r = new double[ib.length];
        // [*a] (op) [*b broadcast] -> [*a]
        for (int i = 0; i < r.length; i++) {
            r[i] = kind.apply(in[0][i], y[ib[i]]);
        }
        return r;
    }
}
