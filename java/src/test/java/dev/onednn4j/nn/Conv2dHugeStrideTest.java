package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A stride past the input, up to {@code Integer.MAX_VALUE}, where the output has one position along that dimension:
 * oneDNN 3.13's brgemm convolution on AVX2 divided by zero in its blocking and killed the JVM with SIGFPE (found by
 * scripts/fuzz under {@code ONEDNN_MAX_CPU_ISA=AVX2}: {@code Conv2d(4, 32, (1, 2), stride=2147483647, padding=(0,
 * 3), padding_mode='replicate')} on (4, 2, 2)). Such a stride moves nothing, so oneDNN is given the smallest stride
 * with the same output. Run in child JVMs under AVX2 (and this machine's own ISA), so a crash is counted; each case
 * must equal the reference bit for bit (small integers).
 */
class Conv2dHugeStrideTest {

    static final int[] STRIDES = {2, 7, 1 << 20, Integer.MAX_VALUE - 1, Integer.MAX_VALUE};

    static final List<PaddingMode> MODES = List.of(PaddingMode.values());
    static final List<MemoryFormat> FORMATS = List.of(MemoryFormat.values());

    /** Each case: a stride, a padding mode, a memory format. */
    static final int CASES = STRIDES.length * MODES.size() * FORMATS.size();

    @Test
    void hugeStridesUnderAvx2AreExactAndDoNotCrash() {
        ChildJvm.Report r =
                ChildJvm.run(Conv2dHugeStrideTest.class, CASES, List.of(), Map.of("ONEDNN_MAX_CPU_ISA", "AVX2"));
        assertEquals(List.of(), r.crashes(), "JVM crashes");
        assertEquals(List.of(), r.failures(), "wrong results");
        assertEquals(CASES, r.outcomes().size(), "cases run");
    }

    @Test
    void hugeStridesOnThisMachinesIsaAreExact() {
        ChildJvm.Report r = ChildJvm.run(Conv2dHugeStrideTest.class, CASES, List.of());
        assertEquals(List.of(), r.crashes(), "JVM crashes");
        assertEquals(List.of(), r.failures(), "wrong results");
        assertEquals(CASES, r.outcomes().size(), "cases run");
    }

    public static void main(String[] args) {
        ChildJvm.serve(args, CASES, Conv2dHugeStrideTest::check);
    }

    /** One case: {@code ok}, else what went wrong. */
    static String check(int i) {
        int stride = STRIDES[i % STRIDES.length];
        PaddingMode mode = MODES.get((i / STRIDES.length) % MODES.size());
        MemoryFormat f = FORMATS.get(i / (STRIDES.length * MODES.size()));
        SplittableRandom r = new SplittableRandom(i);
        try (Conv2d conv = Conv2d.builder(4, 32, 1, 2)
                .stride(stride)
                // replicate 3 is the fuzzer's case (padded in Java); zeros 1 keeps oneDNN's own padding (no window
                // wholly in it); reflect and circular pad at most the input's width
                .padding(0, mode == PaddingMode.REPLICATE ? 3 : 1)
                .paddingMode(mode)
                .build()) {
            float[] w = new float[32 * 4 * 2];
            for (int k = 0; k < w.length; k++) {
                w[k] = r.nextInt(5) - 2;
            }
            conv.weight().copyFrom(w);
            float[] b = new float[32];
            for (int k = 0; k < b.length; k++) {
                b[k] = r.nextInt(7) - 3;
            }
            conv.bias().copyFrom(b);
            float[] x = new float[2 * 4 * 2 * 2];
            for (int k = 0; k < x.length; k++) {
                x[k] = r.nextInt(9) - 4;
            }
            // contiguous: unbatched (4, 2, 2), the fuzzer's case; channels-last: a batch of 2
            long[] shape = f == MemoryFormat.CONTIGUOUS ? new long[] {4, 2, 2} : new long[] {2, 4, 2, 2};
            if (f == MemoryFormat.CONTIGUOUS) {
                x = Arrays.copyOf(x, 16);
            }
            try (Tensor in = Tensor.of(x, f, shape);
                    Tensor y = conv.forward(in);
                    Tensor out = Tensor.zeros(shape.length == 3 ? MemoryFormat.CONTIGUOUS : f, y.shape())) {
                conv.forward(in, out); // the fuzzer's crash came through forward(x, out)
                if (!Arrays.equals(y.toFloatArray(), out.toFloatArray())) {
                    return conv + " " + f + ": forward(x) and forward(x, out) differ";
                }
                float[] got = y.toFloatArray();
                conv.to(Backend.REFERENCE);
                try (Tensor ref = conv.forward(in)) {
                    return Arrays.equals(ref.toFloatArray(), got)
                            ? "ok"
                            : conv + " " + f + ": " + Arrays.toString(got) + " vs "
                                    + Arrays.toString(ref.toFloatArray());
                }
            }
        }
    }
}
