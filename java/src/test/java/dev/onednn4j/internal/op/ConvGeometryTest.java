package dev.onednn4j.internal.op;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ConvGeometryTest {

    /** Tries every tap of every output position. */
    static boolean bruteForce(int size, int pad, int k, int stride, int dilation) {
        long out = ConvGeometry.outputSize(size, pad, pad, k, stride, dilation);
        for (long o = 0; o < out; o++) {
            boolean reads = false;
            for (int t = 0; t < k; t++) {
                long i = o * stride - pad + (long) t * dilation;
                reads |= i >= 0 && i < size;
            }
            if (!reads) {
                return true;
            }
        }
        return false;
    }

    @Test
    void paddingOnlyWindowsAreFoundExactlyWhereEveryTapMissesTheInput() {
        int found = 0;
        int cases = 0;
        for (int size = 1; size <= 9; size++) {
            for (int pad = 0; pad <= 9; pad++) {
                for (int k = 1; k <= 4; k++) {
                    for (int stride = 1; stride <= 5; stride++) {
                        for (int dilation = 1; dilation <= 7; dilation++) {
                            if (size + 2 * pad < dilation * (k - 1) + 1) {
                                continue;
                            }
                            long out = ConvGeometry.outputSize(size, pad, pad, k, stride, dilation);
                            boolean expected = bruteForce(size, pad, k, stride, dilation);
                            String what = "size " + size + ", pad " + pad + ", kernel " + k + ", stride " + stride
                                    + ", dilation " + dilation;
                            assertEquals(
                                    expected,
                                    ConvGeometry.hasPaddingOnlyWindow(size, pad, k, stride, dilation, out),
                                    what);
                            found += expected ? 1 : 0;
                            cases++;
                        }
                    }
                }
            }
        }
        assertTrue(found > 1000 && cases - found > 1000, "both answers are tested: " + found + " of " + cases);
    }

    @Test
    void hugeShapesAnswerWithoutLooping() {
        // a window jumping over a one-column input, with a dilation far beyond any loop worth running
        int dilation = 1 << 30;
        long out = ConvGeometry.outputSize(1, dilation - 1, dilation - 1, 2, 1, dilation);
        assertTrue(ConvGeometry.hasPaddingOnlyWindow(1, dilation - 1, 2, 1, dilation, out));
        assertFalse(ConvGeometry.hasPaddingOnlyWindow(1 << 30, 1, 3, 1, 1, 1 << 30));
    }
}
