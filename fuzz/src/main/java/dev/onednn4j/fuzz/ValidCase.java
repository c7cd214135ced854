package dev.onednn4j.fuzz;

import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.FuzzBridge;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A valid configuration: the layer must compute it, on oneDNN within the operation's stated bound of the exact
 * result (bit for bit in the exact tier), and on the reference backend as the exact result rounded once.
 *
 * <p>In order: the layer and the input are built; the operation the layer resolves for the input gives the output
 * shape; the oneDNN plan is built (the primitive created, not run) and its kernel reported, so that a crash in the
 * call that follows is recorded with it; the layer runs on oneDNN ({@code forward(x)}, in place, or into an
 * {@code out} filled with a sentinel so that unwritten elements show); the result is compared with
 * {@link Operation#exact} within {@link Operation#bound}; then the layer runs again on {@link Backend#REFERENCE}.
 */
final class ValidCase {
    /** What {@code out} holds before {@code forward(x, out)}: an element oneDNN leaves unwritten is out of bound. */
    static final float SENTINEL = -1.2345e30f;

    private ValidCase() {}

    static FuzzCase.Body body(LayerSpec spec, Input in, Call call, long seed) {
        return trace -> run(spec, in, call, seed, trace);
    }

    static Verdict run(LayerSpec spec, Input in, Call call, long seed, FuzzCase.Trace trace) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] data = in.data.values(in.numel(), r.nextLong());
        boolean integers = in.data.kind() == Data.Kind.INTEGERS;
        boolean nonFinite = in.data.kind() == Data.Kind.NON_FINITE;
        try (Module m = spec.build(r, integers && spec.exactTier())) {
            Verdict v = FuzzBridge.hasOperation(m)
                    ? operation(spec, m, in, call, data, integers && spec.exactTier(), trace)
                    : view(spec, m, in, data);
            return v.withNonFinite(nonFinite);
        } catch (RuntimeException | Error e) {
            return new Verdict(Status.WRONG, "a valid configuration threw: " + Checks.stackTrace(e), nonFinite, false);
        }
    }

    private static Verdict operation(
            LayerSpec spec, Module m, Input in, Call call, float[] data, boolean exactTier, FuzzCase.Trace trace) {
        long[] outShape;
        double[] exact;
        double[] bound;
        float[] got;
        try (Tensor x = Tensor.of(data, in.format, in.shape())) {
            Operation op = FuzzBridge.operation(m, x);
            outShape = op.outputShape();
            MemoryFormat outFormat = call.intoOut() ? call.outFormat() : newOutputFormat(spec, in, outShape);
            if (in.numel() > 0 && Input.numel(outShape) > 0) {
                trace.kernel(kernel(spec, m, in, outShape, outFormat));
            }
            Object result = runOnce(spec, m, x, call, outShape, outFormat);
            if (result instanceof String problem) {
                return Verdict.wrong("oneDNN: " + problem);
            }
            got = (float[]) result;
            exact = op.exact(data);
            bound = op.bound(data);
        }
        Verdict v = Checks.compare(
                (exactTier ? "exact tier" : "bound tier") + ", oneDNN", outShape, got, exact, bound, exactTier);
        if (v.status() != Status.PASS) {
            return v;
        }
        m.to(Backend.REFERENCE);
        try (Tensor x = Tensor.of(data, in.format, in.shape())) {
            Object result = runOnce(
                    spec,
                    m,
                    x,
                    call,
                    outShape,
                    call.intoOut() ? call.outFormat() : newOutputFormat(spec, in, outShape));
            if (result instanceof String problem) {
                return Verdict.wrong("reference backend: " + problem);
            }
            String diff = Checks.roundedOnce(outShape, (float[]) result, exact);
            if (diff != null) {
                return Verdict.wrong(diff);
            }
        }
        return v;
    }

    /**
     * What {@code forward(x)} returns: the format of the input the layer computes on (Linear's is its rows) when
     * both are 4-D, else contiguous.
     */
    private static MemoryFormat newOutputFormat(LayerSpec spec, Input in, long[] outShape) {
        return in.rank() == 4 && outShape.length == 4 ? spec.planInputFormat(in.format) : MemoryFormat.CONTIGUOUS;
    }

    /** Builds the plan the coming call uses and returns its kernel. */
    private static String kernel(LayerSpec spec, Module m, Input in, long[] outShape, MemoryFormat outFormat) {
        try (Tensor x = Tensor.zeros(spec.planInputFormat(in.format), in.shape())) {
            if (spec.inPlace()) {
                return FuzzBridge.implementation(m, x, x);
            }
            try (Tensor out = Tensor.zeros(outFormat, outShape)) {
                return FuzzBridge.implementation(m, x, out);
            }
        }
    }

    /**
     * One call of the layer on its current backend: the output's values, or a String saying what is wrong with the
     * output tensor itself (shape, dtype, format, an in-place call that did not write into its input).
     */
    private static Object runOnce(
            LayerSpec spec, Module m, Tensor x, Call call, long[] outShape, MemoryFormat outFormat) {
        if (call.intoOut()) {
            try (Tensor out = Tensor.zeros(outFormat, outShape)) {
                float[] fill = new float[Math.toIntExact(out.numel())];
                Arrays.fill(fill, SENTINEL);
                out.copyFrom(fill);
                FuzzBridge.forwardInto(m, x, out);
                return out.toFloatArray();
            }
        }
        try (Tensor y = m.forward(x)) {
            if (!Arrays.equals(y.shape(), outShape)) {
                return "forward(x) returned shape " + Arrays.toString(y.shape()) + ", the operation's output is "
                        + Arrays.toString(outShape);
            }
            if (y.dtype() != DType.FLOAT32) {
                return "forward(x) returned dtype " + y.dtype();
            }
            if (y.memoryFormat() != outFormat) {
                return "forward(x) of a " + x.memoryFormat() + " input returned a " + y.memoryFormat() + " output, not "
                        + outFormat;
            }
            float[] got = y.toFloatArray();
            if (spec.inPlace() && !Arrays.equals(x.toFloatArray(), got)) {
                return "an in-place forward(x) returned values its input does not hold";
            }
            return got;
        }
    }

    /** Flatten: a view or a copy, exact: the input's values in the merged shape, and the input left intact. */
    private static Verdict view(LayerSpec spec, Module m, Input in, float[] data) {
        long[] expected = ((FlattenCases.Spec) spec).flattenedShape(in.shape());
        try (Tensor x = Tensor.of(data, in.format, in.shape())) {
            try (Tensor y = m.forward(x)) {
                if (!Arrays.equals(y.shape(), expected)) {
                    return Verdict.wrong(
                            "shape " + Arrays.toString(y.shape()) + ", expected " + Arrays.toString(expected));
                }
                String diff = sameBits(data, y.toFloatArray());
                if (diff != null) {
                    return Verdict.wrong("the flattened values differ from the input's: " + diff);
                }
            }
            String diff = sameBits(data, x.toFloatArray());
            if (diff != null) {
                return Verdict.wrong("closing the result changed the input: " + diff);
            }
        }
        return Verdict.pass("flatten to " + Arrays.toString(expected) + ": the input's values, exactly");
    }

    private static String sameBits(float[] want, float[] got) {
        if (want.length != got.length) {
            return got.length + " elements instead of " + want.length;
        }
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToIntBits(want[i]) != Float.floatToIntBits(got[i])) {
                return "element " + i + ": " + got[i] + " instead of " + want[i];
            }
        }
        return null;
    }
}
