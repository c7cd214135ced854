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
    private final long[] steps; // a block's steps, or null for steps of 1

    private CopyOp(long[] in, int[] perm, long[] offsets, long[] out, long[] steps) {
        this.in = in.clone();
        this.perm = perm;
        this.offsets = offsets;
        this.out = out;
        this.steps = steps;
    }

    /** Output dimension i is input dimension {@code perm[i]}. */
    public static CopyOp permute(long[] in, int[] perm) {
        long[] out = new long[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = in[perm[i]];
        }
        return new CopyOp(in, perm.clone(), null, out, null);
    }

    /** The block of {@code sizes} starting at {@code offsets}. */
    public static CopyOp block(long[] in, long[] offsets, long[] sizes) {
        return new CopyOp(in, null, offsets.clone(), sizes.clone(), null);
    }

    /**
     * Every {@code steps[d]}-th element from {@code offsets[d]}, {@code sizes[d]} of them ({@code x[:, 0::2]}), or
     * null where a step does not divide its dimension or the start is not below it (then a plain loop does it).
     * The output is seen with each stepped dimension split in two (the second of size 1): reshape it after.
     */
    public static CopyOp strided(long[] in, long[] offsets, long[] sizes, long[] steps) {
        for (int d = 0; d < in.length; d++) {
            if (steps[d] < 1 || (steps[d] > 1 && (in[d] % steps[d] != 0 || offsets[d] >= steps[d]))) {
                return null;
            }
        }
        return new CopyOp(in, null, offsets.clone(), sizes.clone(), steps.clone());
    }

    /** A stepped block's dims with each stepped dimension d split into (d / step, step), and the rest as given. */
    private long[] split(long[] dims, long[] second, boolean input) {
        List<Long> r = new java.util.ArrayList<>();
        for (int d = 0; d < dims.length; d++) {
            if (steps[d] > 1) {
                r.add(input ? dims[d] / steps[d] : dims[d]);
                r.add(second[d]);
            } else {
                r.add(dims[d]);
            }
        }
        return r.stream().mapToLong(Long::longValue).toArray();
    }

    @Override
    public String name() {
        return perm != null
                ? "permute " + Arrays.toString(perm)
                : "block at " + Arrays.toString(offsets) + (steps != null ? " steps " + Arrays.toString(steps) : "");
    }

    @Override
    public List<long[]> inputShapes() {
        return List.of(in);
    }

    @Override
    public long[] outputShape() {
        if (steps == null) {
            return out.clone();
        }
        long[] ones = new long[out.length];
        java.util.Arrays.fill(ones, 1);
        return split(out, ones, false);
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
        if (steps == null) {
            return md.submemory(out, offsets);
        }
        try (MemoryDesc grouped = md.reshape(split(in, steps, true))) {
            if (grouped == null) {
                throw new IllegalStateException(name() + " cannot group " + md);
            }
            long[] start = new long[offsets.length];
            long[] within = new long[offsets.length];
            for (int d = 0; d < offsets.length; d++) {
                start[d] = steps[d] > 1 ? 0 : offsets[d];
                within[d] = offsets[d];
            }
            return grouped.submemory(outputShape(), split(start, within, false));
        }
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        long[] o = outputShape();
        MemoryDesc to = dst != null ? null : MemoryDesc.strided(o, dt, Nd.strides(o));
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
        long[] step = steps != null ? steps : new long[in.length];
        if (steps == null) {
            Arrays.fill(step, 1);
        }
        return Nd.slice(inputs[0], in, offsets, step, out);
    }
}
