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
    private volatile long[] operand; // the constant's dims as the primitive reads it (see operand()); null: not yet

    /**
     * The most elements a constant operand is expanded to so that oneDNN's vectorized kernel can read it: 4 Mi
     * (16 MiB in float32) per operation.
     */
    static final long MAX_EXPANDED = 1L << 22;

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
        if (constant == null) {
            return List.of();
        }
        long[] e = operand();
        if (Arrays.equals(e, bDims)) {
            return List.of(new Operation.Constant(Arg.SRC_1, bDims, constant, null));
        }
        // [*b] broadcast -> [*e]: the constant with its inner broadcast dimensions written out
        float[] values = constant.toFloatArray();
        int[] at = Nd.broadcastIndex(bDims, e);
        float[] expanded = new float[at.length];
        for (int i = 0; i < at.length; i++) {
            expanded[i] = values[at[i]];
        }
        return List.of(new Operation.Constant(Arg.SRC_1, e, null, expanded));
    }

    /**
     * The primitive: on the operands' dims as they are, or, where oneDNN has only its reference loops for that
     * broadcast, on the same memory seen with unit dimensions dropped and neighbours that broadcast alike merged
     * ({@code [1, 64, 3, 49, 49] + [1, 64, 1, 49, 49]} as {@code [64, 3, 2401] + [64, 1, 2401]}), which its
     * vectorized kernel reads. The second form needs layouts that can be seen so (row-major ones); compiled
     * programs and plans then see the buffers reshaped.
     */
    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        return describe(srcs, dst, dt, attr, constant != null ? operand() : bDims);
    }

    /** {@link #describe} with the constant read as dims {@code e}. */
    private PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr, long[] e) {
        long[] out = dims(a);
        PrimitiveDesc pd = primitive(srcs[0], constant == null ? srcs[1] : null, dst, out, e, dt, attr);
        long[][] merged = merge(out, e);
        if (!reference(pd) || merged[0].length == out.length) {
            return pd;
        }
        MemoryDesc x = srcs[0].reshape(merged[0]);
        MemoryDesc y = constant == null ? srcs[1].reshape(merged[1]) : null;
        MemoryDesc z = dst != null ? dst.reshape(merged[0]) : null;
        try {
            if (x == null || (constant == null && y == null) || (dst != null && z == null)) {
                return pd;
            }
            PrimitiveDesc flat;
            try {
                flat = primitive(x, y, z, merged[0], merged[1], dt, attr);
            } catch (RuntimeException refused) {
                return pd; // no primitive on the merged dims: the first one stands
            }
            if (reference(flat)) {
                flat.close();
                return pd;
            }
            pd.close();
            return flat;
        } finally {
            for (MemoryDesc m : new MemoryDesc[] {x, y, z}) {
                if (m != null) {
                    m.close();
                }
            }
        }
    }

    /** The binary primitive on {@code x} and {@code y} (null: the constant, as dims {@code e}) into {@code dst}. */
    private PrimitiveDesc primitive(
            MemoryDesc x, MemoryDesc y, MemoryDesc dst, long[] out, long[] e, DataType dt, PrimitiveAttr attr) {
        if (y != null) {
            return GraphOp.toDst(dst, out, dt, d -> PrimitiveDesc.binary(Engine.cpu(), kind.algorithm, x, y, d, attr));
        }
        try (MemoryDesc src1 = MemoryDesc.strided(e, DataType.F32, Nd.strides(e))) {
            return GraphOp.toDst(
                    dst, out, dt, d -> PrimitiveDesc.binary(Engine.cpu(), kind.algorithm, x, src1, d, attr));
        }
    }

    private static boolean reference(PrimitiveDesc pd) {
        return pd.implementation().startsWith("ref");
    }

    /**
     * {@code out} and {@code e} (one rank, {@code e} broadcasting to {@code out}) without the dimensions where
     * {@code out} is 1, each run of neighbours where {@code e} broadcasts (or does not) merged into one: the same
     * row-major memory, seen with fewer dimensions.
     */
    static long[][] merge(long[] out, long[] e) {
        long[] x = new long[out.length];
        long[] y = new long[out.length];
        int n = 0;
        Boolean last = null; // whether the previous kept dimension broadcasts
        for (int d = 0; d < out.length; d++) {
            if (out[d] == 1) {
                continue;
            }
            boolean broadcasts = e[d] == 1;
            if (last != null && last == broadcasts) {
                x[n - 1] *= out[d];
                y[n - 1] *= e[d];
            } else {
                x[n] = out[d];
                y[n] = e[d];
                n++;
            }
            last = broadcasts;
        }
        if (n == 0) {
            return new long[][] {{1}, {1}};
        }
        return new long[][] {Arrays.copyOf(x, n), Arrays.copyOf(y, n)};
    }

    /**
     * The dims the constant is read with: its own ({@code b} to {@code a}'s rank), or, where oneDNN has no
     * vectorized kernel for its broadcast even on merged dims (a {@code [1, 64, 1, 49, 49]} mask added to
     * {@code [8, 64, 3, 49, 49]}), the constant written out along every dimension after its leading broadcast
     * ones ({@code [1, 64, 3, 49, 49]}; merged, {@code [1, 460992]} against {@code [8, 460992]}), if that has at
     * most {@link #MAX_EXPANDED} elements. Decided once, on row-major float32 layouts.
     */
    long[] operand() {
        long[] e = operand;
        if (e == null) {
            e = chooseOperand();
            operand = e;
        }
        return e;
    }

    private long[] chooseOperand() {
        if (vectorized(bDims)) {
            return bDims;
        }
        // [*a] with the leading dimensions where b broadcasts kept at 1
        long[] e = dims(a).clone();
        for (int d = 0; d < e.length && bDims[d] == 1; d++) {
            e[d] = 1;
        }
        long count = 1;
        for (long d : e) {
            count *= d;
        }
        return !Arrays.equals(e, bDims) && count <= MAX_EXPANDED && vectorized(e) ? e : bDims;
    }

    /** Whether oneDNN has a kernel other than its reference loops for the constant as dims {@code e}. */
    private boolean vectorized(long[] e) {
        long[] out = dims(a);
        try (MemoryDesc x = MemoryDesc.strided(out, DataType.F32, Nd.strides(out));
                PrimitiveAttr attr = PrimitiveAttr.create();
                PrimitiveDesc pd = describe(new MemoryDesc[] {x}, x, DataType.F32, attr, e)) {
            return !reference(pd);
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
