package dev.onednn4j.nn;

import dev.onednn4j.internal.graph.TensorOps;
import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.ResampleOp;
import dev.onednn4j.tensor.Tensor;
import java.util.Locale;
import java.util.Objects;

/**
 * Bilinear resizing of (N, C, H, W) inputs to a fixed size, as PyTorch's {@code nn.Upsample(size=(h, w),
 * mode="bilinear", align_corners=False)} and {@code F.interpolate} (half-pixel centres), on oneDNN's linear
 * resampling (or its reference loop on the reference backend); recorded by {@code compile}.
 */
public final class Upsample extends Module {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    private final long height;
    private final long width;

    /**
     * {@code nn.Upsample(size=(height, width), mode="bilinear")}.
     *
     * @param height the output's height, positive
     * @param width  the output's width, positive
     */
    public Upsample(long height, long width) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException(
                    String.format(Locale.ROOT, "Upsample: size must be positive, got (%d, %d)", height, width));
        }
        this.height = height;
        this.width = width;
    }

    @Override
    public Tensor forward(Tensor input) {
        ensureOpen();
        Objects.requireNonNull(input, "input");
        if (backend() == Backend.REFERENCE) {
            long[] s = input.shape();
            if (s.length != 4) {
                return FACE.of(TensorOps.interpolate(FACE.impl(input), height, width)); // refuses it, with the rule
            }
            ResampleOp op = new ResampleOp(s, new long[] {s[0], s[1], height, width});
            return Tensor.of(Nd.floats(op.exact(new double[][] {input.toDoubleArray()})), op.outputShape());
        }
        return FACE.of(TensorOps.interpolate(FACE.impl(input), height, width));
    }

    @Override
    public String extraRepr() {
        return "size=(" + height + ", " + width + "), mode='bilinear'";
    }
}
