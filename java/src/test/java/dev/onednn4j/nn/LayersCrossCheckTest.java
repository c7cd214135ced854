package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.onednn4j.internal.check.CrossCheck;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every layer's oneDNN path against its reference loop, the way {@link Conv2dCrossCheckTest} checks Conv2d: each
 * output element within the operation's stated bound of the exact (double) result ({@link Operation#bound}: 0 past
 * correct rounding for max pooling and the piecewise-linear activations, a proven rounding bound for sums,
 * benchdnn's thresholds for transcendental activations), in both memory formats, into a new output and into a
 * caller's output of the other format; the reference backend gives the exact result rounded to float.
 */
class LayersCrossCheckTest {

    static final long SEED = Long.getLong("onednn4j.test.seed", 20261128L);

    /** One layer on one input: data drawn uniformly from [lo, hi]. */
    record Case(String name, Supplier<OperationModule> layer, long[] shape, double lo, double hi) {
        @Override
        public String toString() {
            return name + " " + java.util.Arrays.toString(shape);
        }
    }

    static Case c(String name, Supplier<OperationModule> layer, double lo, double hi, long... shape) {
        return new Case(name, layer, shape, lo, hi);
    }

    static BatchNorm2d bn(BatchNorm2d.Builder b, long seed) {
        BatchNorm2d m = b.build();
        SplittableRandom r = new SplittableRandom(seed);
        if (m.runningMean() != null) {
            m.runningMean().copyFrom(uniform(r, m.numFeatures(), -0.5, 0.5));
            m.runningVar().copyFrom(uniform(r, m.numFeatures(), 0.05, 2.0));
        }
        if (m.weight() != null) {
            m.weight().copyFrom(uniform(r, m.numFeatures(), 0.5, 1.5));
            m.bias().copyFrom(uniform(r, m.numFeatures(), -0.5, 0.5));
        }
        m.eval();
        return m;
    }

    static List<Case> cases() {
        return List.of(
                c("BatchNorm2d", () -> bn(BatchNorm2d.builder(7), 1), -3, 3, 2, 7, 5, 6),
                c("BatchNorm2d eps 1e-3", () -> bn(BatchNorm2d.builder(3).eps(1e-3), 2), -3, 3, 1, 3, 9, 4),
                c("BatchNorm2d affine=False", () -> bn(BatchNorm2d.builder(4).affine(false), 3), -3, 3, 2, 4, 3, 3),
                c(
                        "BatchNorm2d batch statistics",
                        () -> bn(BatchNorm2d.builder(5).trackRunningStats(false), 4),
                        -3,
                        5,
                        3,
                        5,
                        4,
                        7),
                c("ReLU", ReLU::new, -2, 8, 2, 3, 5, 7),
                c("ReLU6", ReLU6::new, -2, 9, 2, 3, 5, 7),
                c("LeakyReLU 0.01", LeakyReLU::new, -8, 8, 2, 3, 5, 7),
                c("LeakyReLU 0.2", () -> new LeakyReLU(0.2), -8, 8, 1, 13, 3, 3),
                c("LeakyReLU -0.3", () -> new LeakyReLU(-0.3), -8, 8, 1, 4, 3, 3),
                c("SiLU", SiLU::new, -8, 8, 2, 3, 5, 7),
                c("GELU", GELU::new, -6, 6, 2, 3, 5, 7),
                c("GELU tanh", () -> new GELU("tanh"), -6, 6, 2, 3, 5, 7),
                c("Sigmoid", Sigmoid::new, -8, 8, 2, 3, 5, 7),
                c("Tanh", Tanh::new, -4, 4, 2, 3, 5, 7),
                c("Hardswish", Hardswish::new, -5, 5, 2, 3, 5, 7),
                c("Hardsigmoid", Hardsigmoid::new, -5, 5, 2, 3, 5, 7),
                c("ReLU on a 2-D tensor", ReLU::new, -2, 8, 5, 9),
                c(
                        "MaxPool2d 3 s2 p1 (ResNet)",
                        () -> MaxPool2d.builder(3).stride(2).padding(1).build(),
                        -4,
                        4,
                        2,
                        5,
                        12,
                        11),
                c("MaxPool2d 2", () -> MaxPool2d.builder(2).build(), -4, 4, 1, 3, 9, 8),
                c(
                        "MaxPool2d (3, 2) s(1, 2)",
                        () -> MaxPool2d.builder(3, 2).stride(1, 2).build(),
                        -4,
                        4,
                        2,
                        3,
                        7,
                        9),
                c(
                        "MaxPool2d dilation 2 padding 1",
                        () -> MaxPool2d.builder(3)
                                .stride(1)
                                .padding(1)
                                .dilation(2)
                                .build(),
                        -4,
                        4,
                        1,
                        3,
                        9,
                        10),
                c(
                        "MaxPool2d ceil",
                        () -> MaxPool2d.builder(3).stride(2).ceilMode(true).build(),
                        -4,
                        4,
                        2,
                        3,
                        10,
                        8),
                c(
                        "MaxPool2d ceil with padding",
                        () -> MaxPool2d.builder(3)
                                .stride(2)
                                .padding(1)
                                .ceilMode(true)
                                .build(),
                        -4,
                        4,
                        1,
                        3,
                        8,
                        9),
                c("MaxPool2d unbatched", () -> MaxPool2d.builder(2).build(), -4, 4, 3, 6, 7),
                c(
                        // dilation puts whole windows in the padding: PyTorch's max of nothing is -inf (found by
                        // scripts/fuzz; oneDNN alone gives the lowest float)
                        "MaxPool2d 2 p1 dilation 3, every window in the padding",
                        () -> MaxPool2d.builder(2)
                                .stride(1)
                                .padding(1)
                                .dilation(3)
                                .build(),
                        -4,
                        4,
                        1,
                        2,
                        2,
                        7),
                c("AvgPool2d 2", () -> AvgPool2d.builder(2).build(), -4, 4, 2, 3, 8, 9),
                c(
                        "AvgPool2d 3 s2 p1",
                        () -> AvgPool2d.builder(3).stride(2).padding(1).build(),
                        -4,
                        4,
                        2,
                        3,
                        9,
                        11),
                c(
                        "AvgPool2d 3 s2 p1 count_include_pad=False",
                        () -> AvgPool2d.builder(3)
                                .stride(2)
                                .padding(1)
                                .countIncludePad(false)
                                .build(),
                        -4,
                        4,
                        2,
                        3,
                        9,
                        11),
                c(
                        "AvgPool2d ceil count_include_pad",
                        () -> AvgPool2d.builder(3)
                                .stride(2)
                                .padding(1)
                                .ceilMode(true)
                                .build(),
                        -4,
                        4,
                        1,
                        3,
                        8,
                        10),
                c(
                        "AvgPool2d ceil count_include_pad=False",
                        () -> AvgPool2d.builder(3)
                                .stride(2)
                                .padding(1)
                                .ceilMode(true)
                                .countIncludePad(false)
                                .build(),
                        -4,
                        4,
                        1,
                        3,
                        8,
                        10),
                c(
                        "AvgPool2d ceil without padding",
                        () -> AvgPool2d.builder(2).stride(2).ceilMode(true).build(),
                        -4,
                        4,
                        1,
                        3,
                        7,
                        7),
                c(
                        "AvgPool2d (3, 2) s(2, 1) p(1, 0)",
                        () -> AvgPool2d.builder(3, 2).stride(2, 1).padding(1, 0).build(),
                        -4,
                        4,
                        2,
                        2,
                        9,
                        6),
                c(
                        // the override equal to the kernel, with padding excluded: the padding must still count
                        // (found by scripts/fuzz, case 3725 of seed 20261128)
                        "AvgPool2d 3 p1 divisor_override 9 count_include_pad=False",
                        () -> AvgPool2d.builder(3)
                                .padding(1)
                                .countIncludePad(false)
                                .divisorOverride(9)
                                .build(),
                        -4,
                        4,
                        1,
                        2,
                        5,
                        6),
                c(
                        "AvgPool2d divisor_override 3",
                        () -> AvgPool2d.builder(2).divisorOverride(3).build(),
                        -4,
                        4,
                        1,
                        3,
                        6,
                        6),
                c("AdaptiveAvgPool2d 1", () -> new AdaptiveAvgPool2d(1), -4, 4, 2, 5, 7, 7),
                c("AdaptiveAvgPool2d same size", () -> new AdaptiveAvgPool2d(7, 5), -4, 4, 1, 3, 7, 5),
                c("AdaptiveAvgPool2d (3, 3) on 7x7", () -> new AdaptiveAvgPool2d(3, 3), -4, 4, 2, 3, 7, 7),
                c("AdaptiveAvgPool2d (2, 3) on 5x7", () -> new AdaptiveAvgPool2d(2, 3), -4, 4, 2, 3, 5, 7),
                c("AdaptiveAvgPool2d (4, 4) on 2x2", () -> new AdaptiveAvgPool2d(4, 4), -4, 4, 1, 3, 2, 2),
                c("AdaptiveAvgPool2d (5, 1) on 13x8", () -> new AdaptiveAvgPool2d(5, 1), -4, 4, 2, 2, 13, 8),
                c("AdaptiveAvgPool2d unbatched", () -> new AdaptiveAvgPool2d(2, 3), -4, 4, 3, 5, 7),
                c("Linear", () -> Linear.builder(9, 5).seed(1).build(), -2, 2, 3, 9),
                c(
                        "Linear no bias",
                        () -> Linear.builder(9, 5).bias(false).seed(2).build(),
                        -2,
                        2,
                        4,
                        9),
                c("Linear 1-D", () -> Linear.builder(13, 4).seed(3).build(), -2, 2, 13),
                c("Linear 3-D", () -> Linear.builder(6, 7).seed(4).build(), -2, 2, 2, 3, 6));
    }

    static Stream<Arguments> casesInBothFormats() {
        return cases().stream()
                .flatMap(c -> c.shape().length == 4
                        ? Stream.of(
                                Arguments.of(c, MemoryFormat.CONTIGUOUS), Arguments.of(c, MemoryFormat.CHANNELS_LAST))
                        : Stream.of(Arguments.of(c, MemoryFormat.CONTIGUOUS)));
    }

    static float[] uniform(SplittableRandom r, long n, double lo, double hi) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return a;
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static void assertPasses(CrossCheck.Result r) {
        if (!r.passed()) {
            fail(r.report());
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("casesInBothFormats")
    void oneDnnStaysWithinTheBoundOfTheExactResult(Case c, MemoryFormat format) {
        float[] data = uniform(new SplittableRandom(SEED ^ c.name().hashCode()), numel(c.shape()), c.lo(), c.hi());
        try (OperationModule layer = c.layer().get();
                Tensor x = Tensor.of(data, format, c.shape())) {
            Operation op = layer.operation(x);
            String what = String.format(Locale.ROOT, "%s, %s, seed %d", c, format, SEED);
            float[] first;
            try (Tensor y = layer.forward(x)) {
                assertArrayEquals(op.outputShape(), y.shape(), what);
                if (y.dim() == 4 && c.shape().length == 4) {
                    assertEquals(format, y.memoryFormat(), "the output keeps the input's memory format");
                }
                first = y.toFloatArray();
                assertPasses(CrossCheck.operation(what + ", forward(x)", op, data, first));
            }
            // into a caller's output, in the other format where there is one (another plan, maybe a reorder)
            MemoryFormat other =
                    format == MemoryFormat.CONTIGUOUS && op.outputShape().length == 4 && !(layer instanceof Linear)
                            ? MemoryFormat.CHANNELS_LAST
                            : MemoryFormat.CONTIGUOUS;
            try (Tensor out = Tensor.zeros(other, op.outputShape())) {
                layer.forward(x, out);
                assertPasses(
                        CrossCheck.operation(what + ", forward(x, out " + other + ")", op, data, out.toFloatArray()));
                layer.forward(x, out);
            }
            // the reference backend: the exact result, rounded once
            layer.to(Backend.REFERENCE);
            try (Tensor y = layer.forward(x)) {
                double[] exact = op.exact(data);
                float[] got = y.toFloatArray();
                for (int i = 0; i < got.length; i++) {
                    assertEquals((float) exact[i], got[i], what + ", reference backend, element " + i);
                }
            }
        }
    }

    /** The bound is not vacuous: each kind of operation, perturbed by a little more than it allows, fails. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theBoundCatchesAnErrorJustAboveIt(Case c) {
        float[] data = uniform(new SplittableRandom(SEED), numel(c.shape()), c.lo(), c.hi());
        try (OperationModule layer = c.layer().get();
                Tensor x = Tensor.of(data, c.shape())) {
            Operation op = layer.operation(x);
            double[] exact = op.exact(data);
            double[] bound = op.bound(data);
            float[] wrong = new float[exact.length];
            int worst = 0;
            for (int i = 0; i < exact.length; i++) {
                wrong[i] = (float) exact[i];
                if (Math.abs(exact[i]) > Math.abs(exact[worst])) {
                    worst = i;
                }
            }
            // one element moved by twice its bound plus one ulp: a correct float result cannot be there
            wrong[worst] = (float) (exact[worst] + 2 * bound[worst] + Math.ulp((float) exact[worst]) * 2);
            CrossCheck.Result r = CrossCheck.operation(c.name(), op, data, wrong);
            assertEquals(1, r.violations(), r.report());
            assertTrue(r.zeroFraction() <= 0.3, c + ": the exact output is mostly zeros, no evidence: " + r.report());
        }
    }

    /**
     * The exact tier, where the arithmetic allows it: on small integers every partial sum of a Linear layer and
     * of a 2x2 average (a divisor of 4, a power of two) is exact in float, so oneDNN must give the reference's bits.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("exactCases")
    void exactTierAgreesBitForBit(String name, Supplier<OperationModule> layer, long[] shape) {
        SplittableRandom r = new SplittableRandom(SEED + 5);
        float[] data = new float[Math.toIntExact(numel(shape))];
        for (int i = 0; i < data.length; i++) {
            data[i] = r.nextInt(-32, 33);
        }
        try (OperationModule m = layer.get();
                Tensor x = Tensor.of(data, shape)) {
            for (Tensor p : m.parameters()) {
                float[] v = new float[Math.toIntExact(p.numel())];
                for (int i = 0; i < v.length; i++) {
                    v[i] = r.nextInt(-8, 9);
                }
                p.copyFrom(v);
            }
            Operation op = m.operation(x);
            try (Tensor y = m.forward(x)) {
                CrossCheck.Result result =
                        CrossCheck.exact(name + ", seed " + (SEED + 5), y.shape(), y.toFloatArray(), op.exact(data));
                assertPasses(result);
            }
        }
    }

    static Stream<Arguments> exactCases() {
        return Stream.of(
                Arguments.of(
                        "Linear 64 -> 16 on integers",
                        (Supplier<OperationModule>) () -> new Linear(64, 16),
                        new long[] {5, 64}),
                Arguments.of(
                        "AvgPool2d 2 on integers",
                        (Supplier<OperationModule>) () -> AvgPool2d.builder(2).build(),
                        new long[] {2, 5, 8, 6}),
                Arguments.of(
                        "AdaptiveAvgPool2d (2, 2) on 4x4 integers",
                        (Supplier<OperationModule>) () -> new AdaptiveAvgPool2d(2, 2),
                        new long[] {2, 3, 4, 4}));
    }
}
