package dev.onednn4j.onnx;

import dev.onednn4j.internal.onnx.OnnxGraph;
import dev.onednn4j.internal.op.Nd;
import dev.onednn4j.internal.op.QuantizeLinearOp;
import dev.onednn4j.onnx.Resolution.Ctx;
import dev.onednn4j.onnx.Resolution.Val;

/**
 * QuantizeLinear and DequantizeLinear: the QDQ form of a quantized model, as ONNX Runtime's {@code quantize_static}
 * and PyTorch's export write it. Weights, biases and any other constant are dequantized at load (per tensor or per
 * axis), so a convolution reads float32 weights that are exactly its integers times their scales; a tensor computed
 * at run time is quantized and dequantized by {@link QuantizeLinearOp} with one scale and zero point, its integers
 * held in float32. The model then computes in float32 exactly the values its quantized arithmetic defines (what
 * ONNX Runtime's QDQ semantics are), on every backend; {@code Precision.INT8} reads the scales from these nodes.
 */
final class QuantOps {
    private QuantOps() {}

    /** The integer types the two operations read and write: ONNX's, with their range. */
    private record IntType(int onnx, int min, int max) {
        static IntType of(Ctx c, int type, String what) {
            return switch (type) {
                case OnnxGraph.UINT8 -> new IntType(type, 0, 255);
                case OnnxGraph.INT8 -> new IntType(type, -128, 127);
                case OnnxGraph.UINT16 -> new IntType(type, 0, 65535);
                case OnnxGraph.INT16 -> new IntType(type, -32768, 32767);
                case OnnxGraph.INT32 -> new IntType(type, Integer.MIN_VALUE, Integer.MAX_VALUE);
                default ->
                    throw c.error(
                            "%s is %s; onednn4j reads uint8, int8, uint16, int16 (and int32 for DequantizeLinear)",
                            what, OnnxGraph.typeName(type));
            };
        }
    }

    /** {@code QuantizeLinear(x, y_scale, y_zero_point)}: {@code clamp(round(x / scale) + zero point)}. */
    static void quantize(Ctx c) {
        refuseBlocks(c);
        IntType t = type(c, (int) c.i("output_dtype", OnnxGraph.UINT8));
        if (t.onnx() == OnnxGraph.INT32) {
            throw c.error("QuantizeLinear to int32 is not an ONNX type; uint8, int8, uint16 and int16 are");
        }
        Axis a = axis(c);
        Val x = c.need(0);
        if (x.isConst()) {
            double[] v = x.values();
            double[] q = new double[v.length];
            // [*shape] -> [*shape], the scale and zero point of each element's index along the axis
            for (int i = 0; i < v.length; i++) {
                int k = a.index(i);
                q[i] = QuantizeLinearOp.quantized(v[i], (float) a.scale[k], a.zero[k], t.min(), t.max());
            }
            c.constOut(0, t.onnx(), x.shape(), q);
            return;
        }
        a.requirePerTensor(c, "QuantizeLinear");
        c.graph(QuantizeLinearOp.quantize((float) a.scale[0], (int) a.zero[0], t.min(), t.max(), x.shape()), 0);
    }

    /** {@code DequantizeLinear(x, x_scale, x_zero_point)}: {@code (x - zero point) * scale}. */
    static void dequantize(Ctx c) {
        refuseBlocks(c);
        Val x = c.need(0);
        IntType t = type(c, x.isConst() ? x.type() : OnnxGraph.UINT8);
        Axis a = axis(c);
        if (x.isConst()) {
            double[] v = x.values();
            double[] y = new double[v.length];
            // [*shape] -> [*shape]
            for (int i = 0; i < v.length; i++) {
                int k = a.index(i);
                y[i] = QuantizeLinearOp.dequantized(v[i], (float) a.scale[k], a.zero[k]);
            }
            c.constOut(0, OnnxGraph.FLOAT, x.shape(), y);
            return;
        }
        a.requirePerTensor(c, "DequantizeLinear");
        c.graph(QuantizeLinearOp.dequantize((float) a.scale[0], (int) a.zero[0], t.min(), t.max(), x.shape()), 0);
    }

    /**
     * The integer type: the zero point's where the node has one (a computed input's own type is not known: it holds
     * the integers in float32), else {@code otherwise}.
     */
    private static IntType type(Ctx c, int otherwise) {
        Val zp = c.in(2);
        long declared = c.i("output_dtype", 0);
        if (zp != null && declared != 0 && declared != zp.type()) {
            throw c.error(
                    "its output_dtype is %s but its zero point is %s: they must be the same type",
                    OnnxGraph.typeName((int) declared), OnnxGraph.typeName(zp.type()));
        }
        int type = zp != null ? zp.type() : otherwise;
        return IntType.of(c, type, zp != null ? "its zero point" : "its integer type");
    }

    private static void refuseBlocks(Ctx c) {
        if (c.i("block_size", 0) != 0) {
            throw c.error(
                    "block_size %d: blocked quantization (opset 21) is not supported; per tensor and per axis are",
                    c.i("block_size", 0));
        }
    }

    /** The scales and zero points, one per tensor or one per index along the axis. */
    @SuppressWarnings("ArrayRecordComponent") // read by index only
    private record Axis(double[] scale, double[] zero, long stride, long size) {
        int index(int i) {
            return scale.length == 1 ? 0 : (int) (i / stride % size);
        }

        void requirePerTensor(Ctx c, String op) {
            if (scale.length != 1) {
                throw c.error(
                        "%s of a tensor computed at run time with %d scales (per axis): onednn4j quantizes computed "
                                + "tensors with one scale (per tensor); per-axis scales are supported for constants "
                                + "(weights)",
                        op, scale.length);
            }
        }
    }

    private static Axis axis(Ctx c) {
        long[] shape = c.shape(0);
        double[] scale = c.constant(1, "scale");
        Val zp = c.in(2);
        double[] zero = zp == null ? new double[scale.length] : c.constant(2, "zero point");
        if (zero.length != scale.length) {
            throw c.error(
                    "its scale has %d values but its zero point has %d: they must have the same shape",
                    scale.length, zero.length);
        }
        for (double s : scale) {
            if (!((float) s >= Float.MIN_NORMAL) || Double.isInfinite(s)) {
                throw c.error(
                        "its scale must be a positive, finite, normal float32 (at least %s), got %s",
                        Float.MIN_NORMAL, s);
            }
        }
        if (scale.length == 1) {
            return new Axis(scale, zero, 1, 1);
        }
        int axis = Nd.axis(c.i("axis", 1), shape.length, c.op());
        if (c.shape(1).length != 1 || shape[axis] != scale.length) {
            throw c.error(
                    "its scale has shape %s: per-axis quantization needs one scale per index of axis %d, which has "
                            + "%d (input shape %s)",
                    java.util.Arrays.toString(c.shape(1)), axis, shape[axis], java.util.Arrays.toString(shape));
        }
        long stride = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            stride *= shape[i];
        }
        return new Axis(scale, zero, stride, shape[axis]);
    }
}
