package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.internal.check.CrossCheck;
import dev.onednn4j.internal.op.ConvGeometry;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * oneDNN 3.13's brgemm convolution crashes the JVM (SIGSEGV in {@code perform_outwork}) when an output column's
 * whole dilated kernel window lies in the padding (oneDNN issue 5942, fixed upstream after 3.13). The library pads
 * those inputs in Java and runs oneDNN without padding. This runs the whole family of small shapes that have such a
 * column, in both memory formats and both output paths, in child JVMs (so a crash is counted, not fatal), against
 * the reference loop; and checks that their neighbours without such a column keep oneDNN's own padding.
 */
class Conv2dPaddingOnlyColumnTest {

    /** One convolution of the grid: an input (1, c, h, w) and the layer's arguments. */
    record Case(
            int c,
            int oc,
            int groups,
            int h,
            int w,
            int kH,
            int kW,
            int sH,
            int sW,
            int pH,
            int pW,
            int dH,
            int dW,
            boolean bias,
            MemoryFormat format) {

        Conv2d build() {
            return Conv2d.builder(c, oc, kH, kW)
                    .groups(groups)
                    .stride(sH, sW)
                    .padding(pH, pW)
                    .dilation(dH, dW)
                    .bias(bias)
                    .build();
        }

        long[] inputShape() {
            return new long[] {1, c, h, w};
        }

        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "Conv2d(%d, %d, kernel=(%d, %d), stride=(%d, %d), padding=(%d, %d), dilation=(%d, %d), groups=%d, "
                            + "bias=%s) on (1, %d, %d, %d) %s",
                    c,
                    oc,
                    kH,
                    kW,
                    sH,
                    sW,
                    pH,
                    pW,
                    dH,
                    dW,
                    groups,
                    bias,
                    c,
                    h,
                    w,
                    format);
        }
    }

    /** Every small shape of the grid whose padded input holds the kernel; {@code family} picks those with the trigger. */
    static List<Case> grid(boolean family) {
        int[][] channels = {{1, 1, 1}, {16, 16, 2}, {8, 8, 8}, {3, 20, 1}};
        List<Case> cases = new ArrayList<>();
        int i = 0;
        for (int[] ch : channels) {
            for (int w : new int[] {1, 2, 3, 5}) {
                for (int kW = 1; kW <= 3; kW++) {
                    for (int sW = 1; sW <= 3; sW++) {
                        for (int pW = 0; pW <= 3; pW++) {
                            for (int dW : new int[] {1, 2, 4}) {
                                for (MemoryFormat f : MemoryFormat.values()) {
                                    i++;
                                    // the height varies along: padded or not, kernel 1 to 3
                                    int h = 1 + i % 3;
                                    int kH = 1 + i % 2;
                                    int pH = i % 5 == 0 ? 1 : 0;
                                    if (h + 2 * pH < kH || w + 2 * pW < dW * (kW - 1) + 1) {
                                        continue;
                                    }
                                    Case k = new Case(
                                            ch[0],
                                            ch[1],
                                            ch[2],
                                            h,
                                            w,
                                            kH,
                                            kW,
                                            1 + i % 2,
                                            sW,
                                            pH,
                                            pW,
                                            1,
                                            dW,
                                            i % 3 != 0,
                                            f);
                                    boolean trigger;
                                    try (Conv2d conv = k.build()) {
                                        trigger = conv.geometry(k.inputShape()).hasPaddingOnlyColumn();
                                    }
                                    if (trigger == family) {
                                        cases.add(k);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return cases;
    }

    /** One case on oneDNN, both {@code forward(x)} and {@code forward(x, out)}, against the reference loop. */
    static String check(Case k, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        try (Conv2d conv = k.build()) {
            ConvGeometry g = conv.geometry(k.inputShape());
            float[] w = conv.weight().toFloatArray();
            float[] b = k.bias() ? conv.bias().toFloatArray() : null;
            float[] x = new float[k.c() * k.h() * k.w()];
            for (int j = 0; j < x.length; j++) {
                x[j] = (float) random.nextDouble(-1, 1);
            }
            if (!conv.oneDnnPlan(k.format(), k.inputShape()).padsInputInJava()) {
                return "not padded in Java: " + k;
            }
            try (Tensor input = Tensor.of(x, k.format(), k.inputShape());
                    Tensor y = conv.forward(input);
                    Tensor out = Tensor.zeros(k.format(), y.shape())) {
                conv.forward(input, out);
                for (Tensor t : new Tensor[] {y, out}) {
                    CrossCheck.Result r = CrossCheck.convolution(g, x, w, b, t.toFloatArray(), false, 1);
                    // without a bias, the padding-only columns are legitimately zeros
                    if (k.bias() ? !r.passed() : r.violations() != 0) {
                        return "wrong: " + k + ": " + r.report();
                    }
                }
            }
        }
        return "ok";
    }

    /** The child JVM: runs the family from the case its argument names. */
    public static void main(String[] args) {
        List<Case> family = grid(true);
        ChildJvm.serve(args, family.size(), i -> check(family.get(i), i));
    }

    @Test
    void everyShapeWithAPaddingOnlyColumnRunsAndMatchesTheReference() {
        List<Case> family = grid(true);
        assertTrue(family.size() > 500, "the family has " + family.size() + " cases");
        ChildJvm.Report report = ChildJvm.run(Conv2dPaddingOnlyColumnTest.class, family.size(), List.of());
        String crashes = report.crashes().stream()
                .map(c -> family.get(c.index()) + " (exit " + c.exitCode() + ")")
                .collect(Collectors.joining("\n"));
        assertEquals(List.of(), report.crashes(), "JVM crashes:\n" + crashes);
        assertEquals(family.size(), report.outcomes().size());
        assertEquals(List.of(), report.failures());
    }

    @Test
    void theirNeighboursKeepOneDnnsOwnPadding() {
        List<Case> others = grid(false);
        assertTrue(others.size() > 500, "the neighbours are " + others.size() + " cases");
        int padded = 0;
        for (Case k : others) {
            try (Conv2d conv = k.build()) {
                // builds the plan (oneDNN's choice and layouts) without running it
                assertFalse(conv.oneDnnPlan(k.format(), k.inputShape()).padsInputInJava(), k::toString);
                padded += k.pW() + k.pH() > 0 ? 1 : 0;
            }
        }
        assertTrue(padded > 300, padded + " of the neighbours have padding");
    }

    @Test
    void theTwoReportedCasesRun() {
        // the minimal cases of the report, in this JVM: they would have killed it
        try (Conv2d conv = Conv2d.builder(1, 1, 1)
                        .stride(1, 3)
                        .padding(1, 1)
                        .dilation(1, 3)
                        .build();
                Tensor x = Tensor.zeros(1, 1, 1, 2);
                Tensor y = conv.forward(x)) {
            assertEquals(List.of(1L, 1L, 3L, 2L), boxed(y.shape()));
            float bias = conv.bias().toFloatArray()[0];
            for (float v : y.toFloatArray()) {
                assertEquals(bias, v, "zeros in, the bias out");
            }
        }
        try (Conv2d conv = Conv2d.builder(10, 12, 2, 2)
                        .groups(2)
                        .stride(3, 2)
                        .padding(0, 3)
                        .dilation(2, 2)
                        .build();
                Tensor x = Tensor.zeros(MemoryFormat.CHANNELS_LAST, 1, 10, 3, 1);
                Tensor y = conv.forward(x)) {
            assertEquals(List.of(1L, 12L, 1L, 3L), boxed(y.shape()));
        }
    }

    private static List<Long> boxed(long[] shape) {
        List<Long> l = new ArrayList<>();
        for (long s : shape) {
            l.add(s);
        }
        return l;
    }
}
