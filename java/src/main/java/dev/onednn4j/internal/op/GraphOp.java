package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Plan;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * An operation of a general graph, resolved for its input shapes: any number of computed inputs (in slot order),
 * constants of its own, one output. Like {@link Operation} it has two implementations of one thing: a oneDNN
 * primitive ({@link #describe}, run eagerly through {@link #plan} or lowered into a compiled program) and the
 * plain Java loops of {@link #exact}, in double, the reference it is checked against.
 */
public interface GraphOp {

    /** A short name for messages and plan descriptions, e.g. {@code concat axis 1}. */
    String name();

    /** The computed inputs' shapes, in slot order. */
    List<long[]> inputShapes();

    /** The output's shape. */
    long[] outputShape();

    /** The primitive's argument that computed input {@code i} is. */
    Arg inputArg(int i);

    /**
     * How the primitive sees computed input {@code i} whose memory is laid out as {@code md} (its own dims): usually
     * {@code md} itself; a copy that reads a permuted or sliced view returns that view (owned by the caller).
     */
    default MemoryDesc view(int i, MemoryDesc md) {
        return md;
    }

    /** Whether {@link #view} needs its inputs row-major (a strided view of a blocked layout does not exist). */
    default boolean rowMajorInputs() {
        return false;
    }

    /**
     * The primitive reading {@code srcs} (as {@link #view} made them) and writing {@code dst} (null: the layout it
     * prefers), computing in {@code dt}.
     */
    PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr);

    /** The operation's own constant arguments (weights, a constant operand). */
    default List<Operation.Constant> constants() {
        return List.of();
    }

    /** The output from the inputs (row-major, in double): the plain Java loops. */
    double[] exact(double[][] inputs);

    /**
     * {@code describe} with {@code dst}, or, when it is null, with an {@code any} layout of {@code dims} in
     * {@code dt} (the layout the primitive prefers), freed after.
     */
    static PrimitiveDesc toDst(MemoryDesc dst, long[] dims, DataType dt, Function<MemoryDesc, PrimitiveDesc> describe) {
        if (dst != null) {
            return describe.apply(dst);
        }
        try (MemoryDesc any = MemoryDesc.any(dims, dt)) {
            return describe.apply(any);
        }
    }

    /** The oneDNN plan for inputs and the output laid out as {@code t} are (inputs in slot order, then output). */
    default Plan plan(TensorImpl... t) {
        List<long[]> shapes = inputShapes();
        Plan.Builder b = Plan.builder(name() + " " + Arrays.deepToString(shapes.toArray()));
        MemoryDesc[] srcs = new MemoryDesc[shapes.size()];
        for (int i = 0; i < srcs.length; i++) {
            MemoryDesc user = Layouts.of(shapes.get(i), t[i]);
            MemoryDesc v = view(i, user);
            if (v != user) {
                user.close();
            }
            srcs[i] = b.input(inputArg(i), i, v);
        }
        long[] out = outputShape();
        MemoryDesc dst =
                b.output(Arg.DST, srcs.length, Layouts.of(out.length == 0 ? new long[] {1} : out, t[srcs.length]));
        for (Operation.Constant c : constants()) {
            TensorImpl values = c.tensor() != null ? c.tensor() : b.owned(TensorImpl.of(c.values(), c.dims()));
            b.constant(c.arg(), values, Layouts.of(c.dims(), values));
        }
        return b.build(attr -> describe(srcs, dst, DataType.F32, attr));
    }
}
