package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import java.util.Arrays;
import java.util.List;

/**
 * A copy that reads a view of its input, on oneDNN's reorder: a permutation of the dimensions ({@code permute},
 * ONNX's Transpose) or a block of it ({@code narrow}, ONNX's Slice with step 1, Split, Gather of one index). Exact.
 */
public final class CopyOp implements GraphOp {
    private final long[] in;
    private final int[] perm; // non-null for a permutation
    private final long[] offsets; // non-null for a block
    private final long[] out;

    private CopyOp(long[] in, int[] perm, long[] offsets, long[] out) {
        this.in = in.clone();
        this.perm = perm;
        this.offsets = offsets;
        this.out = out;
    }

    /** Output dimension i is input dimension {@code perm[i]}. */
    public static CopyOp permute(long[] in, int[] perm) {
        long[] out = new long[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = in[perm[i]];
        }
        return new CopyOp(in, perm.clone(), null, out);
    }

    /** The block of {@code sizes} starting at {@code offsets}. */
    public static CopyOp block(long[] in, long[] offsets, long[] sizes) {
        return new CopyOp(in, null, offsets.clone(), sizes.clone());
    }

    @Override
    public String name() {
        return perm != null ? "permute " + Arrays.toString(perm) : "block at " + Arrays.toString(offsets);
    }

    @Override
    public List<long[]> inputShapes() {
        return List.of(in);
    }

    @Override
    public long[] outputShape() {
        return out.clone();
    }

    @Override
    public Arg inputArg(int i) {
        return Arg.FROM;
    }

    @Override
    public boolean rowMajorInputs() {
        return true;
    }

    @Override
    public MemoryDesc view(int i, MemoryDesc md) {
        long[] strides = md.strides();
        if (strides == null) {
            throw new IllegalStateException(name() + " needs a plain layout, got " + md);
        }
        if (perm != null) {
            long[] s = new long[perm.length];
            for (int d = 0; d < perm.length; d++) {
                s[d] = strides[perm[d]];
            }
            return MemoryDesc.strided(out, md.dataType(), s);
        }
        return md.submemory(out, offsets);
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        MemoryDesc to = dst != null ? null : MemoryDesc.strided(out, dt, Nd.strides(out));
        try {
            return PrimitiveDesc.reorder(Engine.cpu(), srcs[0], dst != null ? dst : to, attr);
        } finally {
            if (to != null) {
                to.close();
            }
        }
    }

    @Override
    public double[] exact(double[][] inputs) {
        if (perm != null) {
            return Nd.transpose(inputs[0], in, perm);
        }
        long[] step = new long[in.length];
        Arrays.fill(step, 1);
        return Nd.slice(inputs[0], in, offsets, step, out);
    }
}
