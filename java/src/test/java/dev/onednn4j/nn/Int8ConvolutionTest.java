package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.OneDnn;
import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.internal.op.ConvParams;
import dev.onednn4j.internal.op.Int8;
import dev.onednn4j.internal.op.PadMode;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * oneDNN's int8 convolutions in a compiled {@link Precision#INT8} module give the exact int8 arithmetic
 * ({@link Int8#convolution}) or one unit off (benchdnn's rule for int8: where {@code y / step} lies within a float
 * rounding of a half-way point), on every element, for the families whose int8 kernels differ: u8 and s8 input,
 * u8 (after a ReLU) and s8 output, strided, padded, grouped, depthwise, 1x1, a 3-channel first layer, batch 2, and a
 * residual block whose sum post-op adds int8 values with their own step. Each case reads the convolution's int8
 * output through a 1x1 max pooling, which keeps it int8: the compiled output is {@code step * stored}.
 *
 * <p>Inputs are integer multiples of a step, so that quantizing them is exact; calibration is MINMAX over the input
 * itself, so the steps are known. Cases run in child JVMs (each int8 kernel is native code this shape family has not
 * met), on this CPU and under {@code ONEDNN_MAX_CPU_ISA=AVX2}, where oneDNN has no VNNI and the weights keep 7 bits.
 */
class Int8ConvolutionTest {
    /** n, c, h, w, outC, k, stride, pad, groups, relu (1/0), signed input (1/0). */
    private static final int[][] SHAPES = {
        {1, 8, 10, 10, 16, 3, 1, 1, 1, 1, 0},
        {1, 8, 10, 10, 16, 3, 1, 1, 1, 0, 1}, // s8 in, s8 out
        {2, 12, 9, 9, 8, 3, 2, 1, 1, 1, 1}, // strided, batch 2
        {1, 16, 12, 12, 16, 3, 1, 1, 16, 1, 0}, // depthwise
        {1, 8, 7, 7, 8, 3, 1, 0, 2, 0, 1}, // grouped
        {1, 3, 20, 20, 8, 5, 2, 2, 1, 1, 1}, // a first layer
        {1, 32, 6, 6, 40, 1, 1, 0, 1, 1, 0}, // 1x1
    };
    /**
     * Residual blocks {@code relu(conv2(a) + a)}, {@code a = x} through an identity 1x1 convolution and then a ReLU
     * (1: u8) or not (0: s8, the block's non-negative output then written as u8 over it): n, c, h, w, ReLU on a.
     */
    private static final int[][] RESIDUAL = {{1, 16, 8, 8, 1}, {2, 24, 5, 5, 1}, {1, 16, 6, 6, 0}};

    private static final int CASES = SHAPES.length + RESIDUAL.length;

    @Test
    void int8ConvolutionsAreExactOrOneUnitOff() {
        expectAllOk(ChildJvm.run(Int8ConvolutionTest.class, CASES, List.of()));
    }

    @Test
    void int8ConvolutionsAreExactOrOneUnitOffOnAvx2KernelsWithoutVnni() {
        expectAllOk(ChildJvm.run(Int8ConvolutionTest.class, CASES, List.of(), Map.of("ONEDNN_MAX_CPU_ISA", "AVX2")));
    }

    private static void expectAllOk(ChildJvm.Report r) {
        assertTrue(r.crashes().isEmpty(), "crashed: " + r.crashes());
        assertEquals(CASES, r.outcomes().size(), r.outcomes().toString());
        assertTrue(r.failures().isEmpty(), r.failures().toString());
    }

    /** Child JVM: runs the cases. */
    public static void main(String[] args) {
        ChildJvm.serve(args, CASES, Int8ConvolutionTest::check);
    }

    static String check(int i) {
        return i < SHAPES.length ? single(SHAPES[i], i) : residual(RESIDUAL[i - SHAPES.length], i);
    }

    /** Integer multiples of {@code step} in [lo, hi], both ends present (so MINMAX calibrates to them). */
    private static float[] multiples(SplittableRandom r, int count, int lo, int hi, float step) {
        float[] x = new float[count];
        for (int k = 0; k < count; k++) {
            x[k] = r.nextInt(lo, hi + 1) * step;
        }
        x[0] = hi * step;
        x[1] = lo * step;
        return x;
    }

    private static String single(int[] s, int i) {
        SplittableRandom r = new SplittableRandom(80 + i);
        boolean relu = s[9] == 1;
        boolean signed = s[10] == 1;
        long[] shape = {s[0], s[1], s[2], s[3]};
        float[] x = multiples(
                r, (int) (shape[0] * shape[1] * shape[2] * shape[3]), signed ? -127 : 0, signed ? 127 : 255, 0.05f);
        try (Conv2d conv = Conv2d.builder(s[1], s[4], s[5])
                        .stride(s[6])
                        .padding(s[7])
                        .groups(s[8])
                        .seed(i)
                        .build();
                Sequential net = relu
                        ? new Sequential(conv, new ReLU(), MaxPool2d.builder(1).build())
                        : new Sequential(conv, MaxPool2d.builder(1).build());
                Tensor in = Tensor.of(x, shape)) {
            net.eval();
            try (CompiledModule q = calibratedOn(in, net);
                    Tensor out = q.forward(in)) {
                List<Calibration.Range> ranges =
                        new ArrayList<>(q.calibration().ranges().values());
                double srcStep = step(ranges.get(0));
                double dstStep = step(ranges.get(1));
                ConvGeometry g = geometry(s, shape);
                float[] w = conv.weight().toFloatArray();
                float[] wSteps = new float[s[4]];
                float[] qw = Int8.quantizeWeights(w, wSteps, weightLevels(), multiple(signed));
                int[] expected = Int8.convolution(
                        g,
                        Int8.quantize(x, srcStep, !signed),
                        srcStep,
                        qw,
                        wSteps,
                        conv.bias().toFloatArray(),
                        relu ? v -> Math.max(0, v) : DoubleUnaryOperator.identity(),
                        null,
                        0,
                        DoubleUnaryOperator.identity(),
                        dstStep,
                        ranges.get(1).min() >= 0);
                return compare(q, out.toFloatArray(), dstStep, expected);
            }
        }
    }

    private static String residual(int[] s, int i) {
        SplittableRandom r = new SplittableRandom(90 + i);
        int c = s[1];
        long[] shape = {s[0], c, s[2], s[3]};
        float[] x = multiples(r, (int) (shape[0] * c * shape[2] * shape[3]), -127, 127, 0.05f);
        try (Conv2d identity = Conv2d.builder(c, c, 1).bias(false).build();
                Conv2d conv2 = Conv2d.builder(c, c, 3).padding(1).seed(i).build();
                Module block = new Block(identity, conv2, s[4] == 1);
                Tensor in = Tensor.of(x, shape)) {
            float[] eye = new float[c * c];
            for (int k = 0; k < c; k++) {
                eye[k * c + k] = 1;
            }
            identity.weight().copyFrom(eye);
            block.eval();
            try (CompiledModule q = calibratedOn(in, block);
                    Tensor out = q.forward(in)) {
                List<Calibration.Range> ranges =
                        new ArrayList<>(q.calibration().ranges().values());
                double srcStep = step(ranges.get(0));
                boolean reluOnA = s[4] == 1;
                double aStep = step(ranges.get(1)); // a = relu(x): u8; a = x: s8
                double dstStep = ranges.get(2).threshold() / 255; // non-negative: u8
                float[] qx = Int8.quantize(x, srcStep, false);
                // a: the identity's int8 output, exact (x / aStep is never near a half-way point: 255/127 steps)
                float[] qa = new float[qx.length];
                for (int k = 0; k < qa.length; k++) {
                    double real = qx[k] * srcStep;
                    qa[k] = Int8.quantize(reluOnA ? Math.max(0, real) : real, aStep, reluOnA);
                }
                float[] wSteps = new float[c];
                float[] qw =
                        Int8.quantizeWeights(conv2.weight().toFloatArray(), wSteps, weightLevels(), multiple(!reluOnA));
                int[] expected = Int8.convolution(
                        geometry(new int[] {s[0], c, s[2], s[3], c, 3, 1, 1, 1}, shape),
                        qa,
                        aStep,
                        qw,
                        wSteps,
                        conv2.bias().toFloatArray(),
                        DoubleUnaryOperator.identity(),
                        qa,
                        aStep,
                        v -> Math.max(0, v),
                        dstStep,
                        true);
                return compare(q, out.toFloatArray(), dstStep, expected);
            }
        }
    }

    /** {@code relu(conv2(a) + a)} with {@code a = [relu](identity(x))}, read through a 1x1 max pooling. */
    private static final class Block extends Module {
        private final Conv2d identity;
        private final Conv2d conv2;
        private final boolean reluOnA;
        private final ReLU relu = new ReLU();
        private final MaxPool2d pool = MaxPool2d.builder(1).build();

        Block(Conv2d identity, Conv2d conv2, boolean reluOnA) {
            this.reluOnA = reluOnA;
            this.identity = registerModule("identity", identity);
            this.conv2 = registerModule("conv2", conv2);
            registerModule("relu", relu);
            registerModule("pool", pool);
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor i = identity.forward(x);
                    Tensor r = reluOnA ? relu.forward(i) : null) {
                Tensor a = reluOnA ? r : i;
                try (Tensor c = conv2.forward(a);
                        Tensor sum = c.add(a);
                        Tensor y = relu.forward(sum)) {
                    return pool.forward(y);
                }
            }
        }
    }
    /** {@code m} compiled in INT8 for {@code in}'s shape, calibrated on {@code in} alone by MINMAX: steps known. */
    private static CompiledModule calibratedOn(Tensor in, Module m) {
        return m.compile(CompileOptions.forInput(in.shape())
                .precision(Precision.INT8)
                .calibrationMethod(CalibrationMethod.MINMAX)
                .calibration(List.of(in)));
    }

    /** The compiler's step for a calibrated value: u8 when never negative. */
    private static double step(Calibration.Range r) {
        return r.threshold() / (r.min() >= 0 ? 255 : 127);
    }

    /** 127 with VNNI; 63 without, where the compiler keeps weights to 7 bits. */
    private static int weightLevels() {
        return Dnnl.int8Vnni() ? 127 : 63;
    }

    /** 2 for an s8 input without VNNI (even weights, which oneDNN halves exactly), else 1. */
    private static int multiple(boolean signedInput) {
        return signedInput && !Dnnl.int8Vnni() ? 2 : 1;
    }

    private static ConvGeometry geometry(int[] s, long[] shape) {
        ConvParams p =
                new ConvParams(s[1], s[4], s[5], s[5], s[6], s[6], s[7], s[7], false, 1, 1, s[8], PadMode.ZEROS, true);
        return p.resolve(shape);
    }

    /** Every stored value equals the exact one or is one unit off; the compiled plan ran int8. */
    private static String compare(CompiledModule q, float[] out, double step, int[] expected) {
        if (!q.toString().contains("u8") && !q.toString().contains("s8")) {
            throw new AssertionError("no int8 step in the plan:\n" + q);
        }
        if (out.length != expected.length) {
            throw new AssertionError(out.length + " outputs, expected " + expected.length);
        }
        int off = 0;
        for (int k = 0; k < out.length; k++) {
            long stored = Math.round(out[k] / step);
            long d = Math.abs(stored - expected[k]);
            if (d > 1) {
                throw new AssertionError(String.format(
                        Locale.ROOT,
                        "element %d: oneDNN stored %d, the int8 arithmetic gives %d (step %s) on %s",
                        k,
                        stored,
                        expected[k],
                        step,
                        OneDnn.cpuIsa()));
            }
            off += (int) d;
        }
        // one unit off only near half-way points: a handful, never a systematic shift
        if (off > Math.max(2, out.length / 50)) {
            throw new AssertionError(off + " of " + out.length + " elements one unit off: more than rounding explains");
        }
        return "ok";
    }
}
