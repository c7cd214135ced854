package dev.onednn4j.internal.dnnl;

import dev.onednn4j.internal.memory.TensorImpl;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Writes an (N, C, H, W) float32 tensor, padded, into a buffer: row {@code y} of the result reads input row
 * {@code rows[y]} and column {@code x} reads column {@code cols[x]} (-1 for a zero). That is every padding
 * mode oneDNN does not have (reflect, replicate, circular), done as PyTorch does: pad first, then run the
 * primitive with padding 0. The index maps are computed once per plan; padding allocates nothing.
 */
public final class Padder {
    private final long n;
    private final long c;
    private final int[] rows;
    private final int[] cols;
    private final long[] srcStrides;
    private final long[] dstStrides;

    /**
     * @param rows       the source row of each padded row; -1 for a zero
     * @param cols       the source column of each padded column; -1 for a zero
     * @param srcStrides the input's strides, (N, C, H, W) order, in elements
     * @param dstStrides the padded buffer's strides over {@link #paddedDims()}
     */
    public Padder(long n, long c, int[] rows, int[] cols, long[] srcStrides, long[] dstStrides) {
        this.n = n;
        this.c = c;
        this.rows = rows.clone();
        this.cols = cols.clone();
        this.srcStrides = srcStrides.clone();
        this.dstStrides = dstStrides.clone();
    }

    /** The padded dims (N, C, rows, cols). */
    public long[] paddedDims() {
        return new long[] {n, c, rows.length, cols.length};
    }

    /** Pads {@code src} (pinned by the caller) into {@code dst}'s buffer. */
    public void pad(TensorImpl src, Memory dst) {
        MemorySegment from = src.data();
        MemorySegment to = dst.data();
        for (long in = 0; in < n; in++) {
            for (long ic = 0; ic < c; ic++) {
                long srcBase = in * srcStrides[0] + ic * srcStrides[1];
                long dstBase = in * dstStrides[0] + ic * dstStrides[1];
                for (int y = 0; y < rows.length; y++) {
                    int sy = rows[y];
                    long dstRow = dstBase + y * dstStrides[2];
                    for (int x = 0; x < cols.length; x++) {
                        float v = sy < 0 || cols[x] < 0
                                ? 0f
                                : from.getAtIndex(
                                        ValueLayout.JAVA_FLOAT, srcBase + sy * srcStrides[2] + cols[x] * srcStrides[3]);
                        to.setAtIndex(ValueLayout.JAVA_FLOAT, dstRow + x * dstStrides[3], v);
                    }
                }
            }
        }
    }
}
