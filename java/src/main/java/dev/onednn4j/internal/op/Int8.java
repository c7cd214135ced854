package dev.onednn4j.internal.op;

import java.util.function.DoubleUnaryOperator;

/**
 * The arithmetic of oneDNN's int8 primitives, in plain Java: how compiled int8 graphs quantize weights, and the exact
 * result an int8 convolution must produce, which oneDNN's is checked against.
 *
 * <p>The model (oneDNN's static quantization, zero points 0): a real value {@code x} is stored as {@code q = round(x /
 * step)}, rounded to nearest (ties to even) and saturated to the type's range ([0, 255] for u8, [-128, 127] for s8). A
 * convolution accumulates {@code sum(qx * qw)} exactly in integers, then in real units computes {@code y =
 * srcStep * wStep[oc] * acc + bias[oc]}, applies its post-ops (element-wise functions, and a residual sum {@code y +=
 * sumStep * q_residual}), and stores {@code round(y / dstStep)}.
 *
 * <p>oneDNN computes the real-unit part in float32, with the steps' product and the destination step's inverse
 * rounded to float: its result may differ from this one, computed in double, by one unit where {@code y / dstStep}
 * lies within a float rounding of a half-way point. That is benchdnn's rule for int8 too: exact, or one unit off.
 */
public final class Int8 {
    private Int8() {}

    /**
     * Weights quantized symmetrically per output channel: {@code steps[oc] = max|w_oc| / levels / multiple} (1 for a
     * channel of zeros) and each weight {@code multiple * round(w / (multiple * steps[oc]))}, in
     * {@code [-levels * multiple, levels * multiple]}. Weights that already lie on a grid of at most {@code levels}
     * steps each way (a quantized model's, dequantized from its file: {@code q * scale} with {@code |q| <= levels}),
     * keep that grid, whatever {@code multiple}: the step is {@code max|w_oc| / m} for the largest {@code m <= levels}
     * that makes every weight of the channel an integer number of steps, so the integers are the file's (or a finer
     * grid holding the same values; with {@code multiple} 2, a file's even integers are halved exactly).
     *
     * @param w        weights, row-major, output channels outermost
     * @param steps    receives one step per output channel; its length is the number of channels
     * @param levels   127 (s8); 63 where the CPU has no VNNI, so that a pair of u8 x s8 products stays within int16
     * @param multiple 1; 2 for an s8 input where the CPU has no VNNI: oneDNN then halves the weights (and doubles the
     *     result) to make room for its +128 shift of the input, which is exact only for even weights
     * @return the quantized weights as integer-valued floats, in the order of {@code w}
     */
    public static float[] quantizeWeights(float[] w, float[] steps, int levels, int multiple) {
        int channels = steps.length;
        if (channels == 0 || w.length % channels != 0) {
            throw new IllegalArgumentException(w.length + " weights do not divide into " + channels + " channels");
        }
        int per = w.length / channels;
        float[] q = new float[w.length];
        // [OC, per] -> [OC, per]
        for (int oc = 0; oc < channels; oc++) {
            float max = 0;
            for (int k = 0; k < per; k++) {
                max = Math.max(max, Math.abs(w[oc * per + k]));
            }
            float step = max == 0 ? 1f : gridStep(w, oc * per, per, max, levels);
            steps[oc] = step / multiple;
            for (int k = 0; k < per; k++) {
                q[oc * per + k] =
                        multiple * (float) Math.max(-levels, Math.min(levels, Math.rint(w[oc * per + k] / step)));
            }
        }
        return q;
    }

    /**
     * {@code max / m} for the largest {@code m} from {@code levels} down to half of it that puts each of the
     * {@code count} weights from {@code from} within a thousandth of a step of an integer; else {@code max / levels}.
     */
    private static float gridStep(float[] w, int from, int count, float max, int levels) {
        for (int m = levels; m >= (levels + 1) / 2; m--) {
            float step = max / m;
            boolean onGrid = true;
            for (int k = 0; k < count && onGrid; k++) {
                double r = w[from + k] / step;
                onGrid = Math.abs(r - Math.rint(r)) <= 1e-3;
            }
            if (onGrid) {
                return step;
            }
        }
        return max / levels;
    }

    /** {@code x / step} rounded to nearest (ties to even) and saturated to u8's range or s8's. */
    public static int quantize(double x, double step, boolean unsigned) {
        double r = Math.rint(x / step);
        double lo = unsigned ? 0 : -128;
        double hi = unsigned ? 255 : 127;
        return (int) Math.max(lo, Math.min(hi, r));
    }

    /** Float32 values quantized with {@code step}, as integer-valued floats. */
    public static float[] quantize(float[] x, double step, boolean unsigned) {
        float[] q = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            q[i] = quantize(x[i], step, unsigned);
        }
        return q;
    }

    /**
     * The exact int8 convolution, stored values out.
     *
     * @param g        the geometry
     * @param qx       the quantized input (N, C, H, W), row-major, integer-valued
     * @param srcStep  the input's step
     * @param qw       the quantized weights (OC, C/groups, kH, kW), integer-valued
     * @param wSteps   their step per output channel
     * @param bias     float32 bias per output channel, or null
     * @param before   element-wise post-ops before the sum (identity for none)
     * @param residual the residual's stored values (N, OC, OH, OW), or null for no sum
     * @param sumStep  the residual's step
     * @param after    element-wise post-ops after the sum
     * @param dstStep  the output's step
     * @param unsigned whether the output is u8 (else s8)
     * @return the stored output (N, OC, OH, OW), row-major
     */
    public static int[] convolution(
            ConvGeometry g,
            float[] qx,
            double srcStep,
            float[] qw,
            float[] wSteps,
            float[] bias,
            DoubleUnaryOperator before,
            float[] residual,
            double sumStep,
            DoubleUnaryOperator after,
            double dstStep,
            boolean unsigned) {
        double[] acc = Convolution.compute(g, qx, qw, null, null); // integer sums: exact in double
        int[] q = new int[acc.length];
        int plane = g.outH() * g.outW();
        // [N, OC, OH, OW] -> [N, OC, OH, OW]
        for (int i = 0; i < acc.length; i++) {
            int oc = i / plane % g.outC();
            double y = srcStep * wSteps[oc] * acc[i] + (bias == null ? 0 : bias[oc]);
            y = before.applyAsDouble(y);
            if (residual != null) {
                y += sumStep * residual[i];
            }
            q[i] = quantize(after.applyAsDouble(y), dstStep, unsigned);
        }
        return q;
    }
}
