package dev.onednn4j.nn;

import dev.onednn4j.internal.op.AdaptiveAvgPool;
import dev.onednn4j.internal.op.Operation;
import java.util.Arrays;
import java.util.Locale;

/**
 * 2-D adaptive average pooling, as PyTorch's {@code nn.AdaptiveAvgPool2d}: any input size to a fixed output size
 * (outH, outW). Output row {@code i} averages input rows {@code floor(i * H / outH)} to
 * {@code ceil((i + 1) * H / outH)} (exclusive), columns likewise, so windows may overlap and differ in size when
 * the sizes do not divide; the output may also be larger than the input.
 *
 * <pre>{@code
 * try (AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(1, 1)) {   // global average pooling, as ResNet's
 *     Tensor y = pool.forward(x);                                // (N, 512, 7, 7) -> (N, 512, 1, 1)
 * }
 * }</pre>
 *
 * <h2>Shape</h2> Input (N, C, H, W) or (C, H, W); output (N, C, outH, outW) or (C, outH, outW), in the input's
 * memory format.
 *
 * <p>On oneDNN: a pooling primitive where the windows tile the input (outH divides H, outW divides W), else a
 * matmul with a constant averaging matrix. Within {@code gamma(H * W + 2) * sum|x| / |window|} of the exact mean.
 */
public final class AdaptiveAvgPool2d extends OperationModule {
    /** A size of 0 here stands for PyTorch's None: the input's own size along that dimension. */
    private final int outH;

    private final int outW;
    private final boolean square;

    /**
     * {@code nn.AdaptiveAvgPool2d(size)}: a size x size output.
     *
     * @param size the output's height and width; positive (1 for global average pooling)
     * @throws IllegalArgumentException if {@code size} is not positive
     */
    public AdaptiveAvgPool2d(int size) {
        this(checked(size, "size"), checked(size, "size"), false);
    }

    /**
     * {@code nn.AdaptiveAvgPool2d((outH, outW))}.
     *
     * @param outH the output's height; positive
     * @param outW the output's width; positive
     * @throws IllegalArgumentException if either size is not positive
     */
    public AdaptiveAvgPool2d(int outH, int outW) {
        this(checked(outH, "outH"), checked(outW, "outW"), true);
    }

    /**
     * {@code nn.AdaptiveAvgPool2d((outH, outW))} where either may be null, PyTorch's None: that dimension keeps the
     * input's size.
     *
     * @param outH the output's height, positive; or null to keep the input's
     * @param outW the output's width, positive; or null to keep the input's
     * @throws IllegalArgumentException if a size given is not positive
     */
    public AdaptiveAvgPool2d(Integer outH, Integer outW) {
        this(outH == null ? 0 : checked(outH, "outH"), outW == null ? 0 : checked(outW, "outW"), true);
    }

    private AdaptiveAvgPool2d(int outH, int outW, boolean pair) {
        this.outH = outH;
        this.outW = outW;
        this.square = !pair;
    }

    private static int checked(int size, String name) {
        if (size <= 0) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 1, but got %s=%d",
                    name,
                    size));
        }
        return size;
    }

    /**
     * (outH, outW); null where the input's size is kept (PyTorch's None).
     *
     * @return a new array of two sizes, either of which may be null
     */
    public Integer[] outputSize() {
        return new Integer[] {outH == 0 ? null : outH, outW == 0 ? null : outW};
    }

    @Override
    Operation resolve(long[] shape) {
        if (shape.length != 3 && shape.length != 4) {
            throw new IllegalArgumentException(
                    "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " + Arrays.toString(shape));
        }
        int d = shape.length - 3;
        for (int i = d; i < shape.length; i++) {
            if (shape[i] == 0) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "adaptive_avg_pool2d(): Expected input "
                                + "to have non-zero size for non-batch dimensions, but input has sizes %s with dimension %d "
                                + "being empty",
                        Arrays.toString(shape),
                        i));
            }
        }
        long[] nchw = {shape.length == 4 ? shape[0] : 1, shape[d], shape[d + 1], shape[d + 2]};
        AdaptiveAvgPool op = new AdaptiveAvgPool(
                nchw,
                outH == 0 ? Math.toIntExact(nchw[2]) : outH,
                outW == 0 ? Math.toIntExact(nchw[3]) : outW,
                shape.length == 3);
        Operation pooling = op.pooling();
        return pooling != null ? pooling : op;
    }

    @Override
    public String extraRepr() {
        return "output_size="
                + (square
                        ? Integer.toString(outH)
                        : "(" + (outH == 0 ? "None" : outH) + ", " + (outW == 0 ? "None" : outW) + ")");
    }
}
