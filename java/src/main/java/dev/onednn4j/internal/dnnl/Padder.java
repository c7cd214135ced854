package dev.onednn4j.internal.dnnl;

import dev.onednn4j.internal.ConvGeometry;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Materialises the padded input for the padding modes oneDNN does not have (reflect, replicate,
 * circular), as PyTorch does: pad first, then convolve with padding 0. Index maps are computed once
 * per plan; padding allocates nothing.
 */
final class Padder {
    private final ConvGeometry g;
    private final int[] rows;
    private final int[] cols;

    Padder(ConvGeometry g) {
        this.g = g;
        rows = new int[g.h() + g.padTop() + g.padBottom()];
        cols = new int[g.w() + g.padLeft() + g.padRight()];
        for (int y = 0; y < rows.length; y++) {
            rows[y] = g.paddingMode().sourceIndex(y - g.padTop(), g.h());
        }
        for (int x = 0; x < cols.length; x++) {
            cols[x] = g.paddingMode().sourceIndex(x - g.padLeft(), g.w());
        }
    }

    /** The padded dims (N, C, H + top + bottom, W + left + right). */
    long[] paddedDims() {
        return new long[] {g.n(), g.c(), rows.length, cols.length};
    }

    /** Writes {@code src} (N, C, H, W) padded into {@code dst}; strides in elements, any layout. */
    void pad(MemorySegment src, long[] srcStrides, MemorySegment dst, long[] dstStrides) {
        for (int n = 0; n < g.n(); n++) {
            for (int c = 0; c < g.c(); c++) {
                long srcBase = n * srcStrides[0] + c * srcStrides[1];
                long dstBase = n * dstStrides[0] + c * dstStrides[1];
                for (int y = 0; y < rows.length; y++) {
                    int sy = rows[y];
                    long dstRow = dstBase + y * dstStrides[2];
                    for (int x = 0; x < cols.length; x++) {
                        float v = sy < 0 || cols[x] < 0 ? 0f : src.getAtIndex(ValueLayout.JAVA_FLOAT,
                                srcBase + sy * srcStrides[2] + cols[x] * srcStrides[3]);
                        dst.setAtIndex(ValueLayout.JAVA_FLOAT, dstRow + x * dstStrides[3], v);
                    }
                }
            }
        }
    }
}
