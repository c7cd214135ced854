package dev.onednn4j.internal.op;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PostOps;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.List;
import java.util.Locale;

/**
 * ONNX's QuantizeLinear and DequantizeLinear with one scale and zero point for the whole tensor, on values held in
 * float32 (the quantized integers as exact floats):
 *
 * <ul>
 *   <li>quantize: {@code q = clamp(round(x / scale) + zeroPoint, qmin, qmax)}, rounding half to even, as ONNX
 *       Runtime computes it (the division, then the rounding, then the zero point, saturating to the integer
 *       type's range); on oneDNN a binary division by the scale with three post-ops (round, {@code + zeroPoint},
 *       clip);
 *   <li>dequantize: {@code x = (q - zeroPoint) * scale}, one rounding (the subtraction is exact); on oneDNN a binary
 *       subtraction of the zero point with a linear post-op.
 * </ul>
 *
 * A pair of them is what a QDQ file puts around every quantized tensor: run as written, they give the quantized
 * model's values in float32 arithmetic. The reference and oneDNN agree exactly, except that oneDNN may divide by
 * multiplying with the reciprocal (one more rounding), which moves a quotient within a rounding of a half-way point
 * to the neighbouring integer: one quantization step on that element.
 */
public final class QuantizeLinearOp implements GraphOp {
    private final boolean quantize;
    private final float scale;
    private final int zeroPoint;
    private final int qmin;
    private final int qmax;
    private final long[] shape;

    private QuantizeLinearOp(boolean quantize, float scale, int zeroPoint, int qmin, int qmax, long[] shape) {
        if (!(scale >= Float.MIN_NORMAL) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("the scale must be a positive, finite, normal float32 (at least "
                    + Float.MIN_NORMAL + ": oneDNN divides by it), got " + scale);
        }
        if (zeroPoint < qmin || zeroPoint > qmax) {
            throw new IllegalArgumentException("the zero point " + zeroPoint + " is outside the integer type's range ["
                    + qmin + ", " + qmax + "]");
        }
        this.quantize = quantize;
        this.scale = scale;
        this.zeroPoint = zeroPoint;
        this.qmin = qmin;
        this.qmax = qmax;
        this.shape = shape.length == 0 ? new long[] {1} : shape.clone();
    }

    /** QuantizeLinear onto the integers {@code [qmin, qmax]} (uint8: 0, 255; int8: -128, 127). */
    public static QuantizeLinearOp quantize(float scale, int zeroPoint, int qmin, int qmax, long[] shape) {
        return new QuantizeLinearOp(true, scale, zeroPoint, qmin, qmax, shape);
    }

    /** DequantizeLinear of integers of {@code [qmin, qmax]}. */
    public static QuantizeLinearOp dequantize(float scale, int zeroPoint, int qmin, int qmax, long[] shape) {
        return new QuantizeLinearOp(false, scale, zeroPoint, qmin, qmax, shape);
    }

    private static long[] ones(int rank) {
        long[] d = new long[rank];
        java.util.Arrays.fill(d, 1);
        return d;
    }

    /** Whether this quantizes (else it dequantizes). */
    public boolean quantizes() {
        return quantize;
    }

    public float scale() {
        return scale;
    }

    public int zeroPoint() {
        return zeroPoint;
    }

    /** The integer type's smallest value: 0 for uint8, -128 for int8. */
    public int qmin() {
        return qmin;
    }

    public int qmax() {
        return qmax;
    }

    @Override
    public String name() {
        return String.format(
                Locale.ROOT,
                "%s(scale %s, zero point %d, [%d, %d])",
                quantize ? "quantize" : "dequantize",
                scale,
                zeroPoint,
                qmin,
                qmax);
    }

    @Override
    public List<long[]> inputShapes() {
        return List.of(shape.clone());
    }

    @Override
    public long[] outputShape() {
        return shape.clone();
    }

    @Override
    public Arg inputArg(int i) {
        return Arg.SRC;
    }

    @Override
    public List<Operation.Constant> constants() {
        // the binary primitive's second operand: the scale (quantize), the zero point (dequantize)
        return List.of(new Operation.Constant(
                Arg.SRC_1, ones(shape.length), null, new float[] {quantize ? scale : zeroPoint}));
    }

    @Override
    public PrimitiveDesc describe(MemoryDesc[] srcs, MemoryDesc dst, DataType dt, PrimitiveAttr attr) {
        try (PostOps post = PostOps.create()) {
            if (quantize) { // x / scale, rounded, shifted, saturated
                post.eltwise(Algorithm.ELTWISE_ROUND, 0, 0);
                if (zeroPoint != 0) {
                    post.eltwise(Algorithm.ELTWISE_LINEAR, 1, zeroPoint);
                }
                post.eltwise(Algorithm.ELTWISE_CLIP_V2, qmin, qmax);
            } else { // q - zeroPoint (exact), times the scale
                post.eltwise(Algorithm.ELTWISE_LINEAR, scale, 0);
            }
            attr.postOps(post);
            long[] one = ones(shape.length);
            Algorithm alg = quantize ? Algorithm.BINARY_DIV : Algorithm.BINARY_SUB;
            try (MemoryDesc src1 = MemoryDesc.strided(one, DataType.F32, Nd.strides(one))) {
                return GraphOp.toDst(
                        dst, shape, dt, d -> PrimitiveDesc.binary(Engine.cpu(), alg, srcs[0], src1, d, attr));
            }
        }
    }

    @Override
    public double[] exact(double[][] in) {
        double[] x = in[0];
        double[] y = new double[x.length];
        // [*shape] -> [*shape]
        for (int i = 0; i < x.length; i++) {
            y[i] = quantize ? quantized(x[i]) : dequantized(x[i], scale, zeroPoint);
        }
        return y;
    }

    /**
     * One value quantized: the float32 quotient, rounded half to even, shifted, saturated; NaN saturates to
     * {@code qmax}, as oneDNN's clip computes it (and ONNX Runtime's min/max do).
     */
    private double quantized(double x) {
        return quantized(x, scale, zeroPoint, qmin, qmax);
    }

    /** QuantizeLinear of one value, as {@link #quantized(double)} (for constants, folded with their own scale). */
    public static double quantized(double x, float scale, double zeroPoint, int qmin, int qmax) {
        double q = Math.rint((float) (x / scale)) + zeroPoint;
        if (Double.isNaN(q)) {
            return qmax;
        }
        return Math.max(qmin, Math.min(qmax, q));
    }

    /** DequantizeLinear of one value: {@code (q - zeroPoint) * scale}, rounded once to float32. */
    public static double dequantized(double q, float scale, double zeroPoint) {
        return (float) ((q - zeroPoint) * scale);
    }

    /**
     * The pair QuantizeLinear then DequantizeLinear as element-wise post-ops of the primitive computing their input
     * (in real units, before what follows it in the chain): {@code x / scale} (as a multiplication by the
     * reciprocal), rounded half to even, clipped to the integers' range less the zero point, times the scale. It
     * costs the convolutions it joins about 6% (ResNet-18's QDQ file on AMX, against a clip alone, which keeps the
     * saturation but not the rounding, and matches ONNX Runtime exactly on 75% of the logits instead of 82%). A compiled int8 graph uses it
     * where it fuses a step into the one before and the value between them, which its file quantizes, is never
     * stored: the rounding and saturation (a ReLU the file folded into a zero point of 0) stay.
     */
    public Operation asPostOps() {
        QuantizeLinearOp q = this;
        return new Operation() {
            @Override
            public long[] outputShape() {
                return shape.clone();
            }

            @Override
            public dev.onednn4j.internal.exec.Plan plan(TensorImpl... tensors) {
                throw new UnsupportedOperationException("a quantize-dequantize pair runs fused into another step");
            }

            @Override
            public boolean appendTo(PostOps post) {
                // s * clip(round(x / s), qmin - z, qmax - z): the same values as the pair, in four steps
                post.eltwise(Algorithm.ELTWISE_LINEAR, 1 / scale, 0);
                post.eltwise(Algorithm.ELTWISE_ROUND, 0, 0);
                post.eltwise(Algorithm.ELTWISE_CLIP_V2, qmin - zeroPoint, qmax - zeroPoint);
                post.eltwise(Algorithm.ELTWISE_LINEAR, scale, 0);
                return true;
            }

            @Override
            public double[] exact(float[] input) {
                double[] y = new double[input.length];
                for (int i = 0; i < y.length; i++) {
                    y[i] = (q.quantized(input[i]) - zeroPoint) * scale;
                }
                return y;
            }

            @Override
            public double[] bound(float[] input) {
                double[] b = new double[input.length];
                java.util.Arrays.fill(b, scale); // one step, where the quotient lies at a half-way point
                return b;
            }

            @Override
            public String toString() {
                return "quantize-dequantize(scale " + scale + ", zero point " + zeroPoint + ")";
            }
        };
    }
}
