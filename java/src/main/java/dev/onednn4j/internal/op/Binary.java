package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.Arrays;

/**
 * Element-wise addition of two tensors of one shape, {@code out = a + b}: one IEEE rounding per element, so oneDNN
 * and the reference agree bit for bit. Tensors: a, b, output (which may be a: in place).
 */
public final class Binary {
    private final long[] shape;

    public Binary(long[] shape) {
        this.shape = shape.clone();
    }

    /** The plan for tensors a, b and the output laid out as these are. */
    public Plan plan(TensorImpl... t) {
        long[] dims = shape.length == 0 ? new long[] {1} : shape;
        Plan.Builder b = Plan.builder("add " + Arrays.toString(shape));
        MemoryDesc a = b.input(Arg.SRC, 0, Layouts.of(dims, t[0]));
        MemoryDesc c = b.input(Arg.SRC_1, 1, Layouts.of(dims, t[1]));
        b.output(Arg.DST, 2, Layouts.of(dims, t[2]));
        return b.build(attr -> PrimitiveDesc.binary(Engine.cpu(), Algorithm.BINARY_ADD, a, c, a, attr));
    }

    /** The sums in float, written plainly: what oneDNN must match bit for bit. */
    public static float[] reference(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }
}
