package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.List;

/**
 * Concatenation along one axis ({@code torch.cat}, ONNX's Concat) on oneDNN's concat primitive: exact (a copy).
 * Parts may be constants (a class token), passed as the primitive's constant arguments.
 */
public final class ConcatOp implements GraphOp {
    private final int axis;
    private final List<long[]> parts;
    private final TensorImpl[] constants; // per part: the constant, or null for a computed input
    private final int[] position; // computed input i is part position[i]
    private final long[] out;

    /**
     * @param axis      the axis, non-negative
     * @param parts     every part's shape, in order (equal except along {@code axis})
     * @param constants per part, its float32 constant or null for a computed part
     */
    public ConcatOp(int axis, List<long[]> parts, TensorImpl[] constants) {
        this.axis = axis;
        this.parts = List.copyOf(parts);
        this.constants = constants.clone();
        List<Integer> pos = new ArrayList<>();
        for (int i = 0; i < constants.length; i++) {
            if (constants[i] == null) {
                pos.add(i);
            }
        }
        this.position = pos.stream().mapToInt(Integer::intValue).toArray();
        this.out = parts.get(0).clone();
        out[axis] = 0;
        for (long[] p : parts) {
            out[axis] += p[axis];
        }
    }

    @Override
    public String name() {
        return "concat axis " + axis;
    }

    @Override
    public List<long[]> inputShapes() {
        List<long[]> s = new ArrayList<>();
        for (int p : position) {
            s.add(parts.get(p));
        }
        return s;
    }

    @Override
    public long[] outputShape() {
        return out.clone();
    }

    @Override
    public Arg inputArg(int i) {
        return Arg.multipleSrc(position[i]);
    }

    @Override
    public List<Operation.Constant> constants() {
        List<Operation.Constant> c = new ArrayList<>();
        for (int i = 0; i < constants.length; i++) {
            if (constants[i] != null) {
                c.add(new Operation.Constant(Arg.multipleSrc(i), parts.get(i), constants[i], null));
            }
        }
        return c;
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        MemoryDesc[] all = new MemoryDesc[parts.size()];
        List<MemoryDesc> made = new ArrayList<>();
        for (int i = 0; i < srcs.length; i++) {
            all[position[i]] = srcs[i];
        }
        for (int i = 0; i < all.length; i++) {
            if (all[i] == null) { // a constant: row-major, in the computed parts' type
                long[] d = parts.get(i);
                all[i] = MemoryDesc.strided(d, srcs.length > 0 ? srcs[0].dataType() : dt, Nd.strides(d));
                made.add(all[i]);
            }
        }
        try {
            return PrimitiveDesc.concat(Engine.cpu(), dst, axis, all, attr);
        } finally {
            made.forEach(MemoryDesc::close);
        }
    }

    @Override
    public double[] exact(double[][] in) {
        double[][] all = new double[parts.size()][];
        for (int i = 0; i < in.length; i++) {
            all[position[i]] = in[i];
        }
        for (int i = 0; i < all.length; i++) {
            if (all[i] == null) {
                all[i] = constants[i].toDoubleArray();
            }
        }
        long outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= out[d];
        }
        double[] r = new double[Nd.numel(out)];
        int at = 0;
        // [outer, sum(C_k), inner] <- each [outer, C_k, inner]
        for (long o = 0; o < outer; o++) {
            for (int k = 0; k < all.length; k++) {
                int block = all[k].length / (int) outer;
                System.arraycopy(all[k], (int) (o * block), r, at, block);
                at += block;
            }
        }
        return r;
    }
}
