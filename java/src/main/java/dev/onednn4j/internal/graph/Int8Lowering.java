package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.Memory;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.graph.Compiler.Node;
import dev.onednn4j.internal.graph.Compiler.Quantization;
import dev.onednn4j.internal.graph.Compiler.Range;
import dev.onednn4j.internal.graph.Compiler.Value;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.Convolution;
import dev.onednn4j.internal.op.InnerProduct;
import dev.onednn4j.internal.op.Int8;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.internal.op.Pooling;
import dev.onednn4j.internal.op.QuantizeLinearOp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The int8 half of a {@link Compiler}: which values an int8 compile quantizes (and their keys in a calibration), the
 * quantization step of every int8 buffer, and the lowering of convolutions and linear layers onto oneDNN's int8
 * kernels, with the reorders that quantize and dequantize at the edges of the int8 steps.
 *
 * <p>Activations are int8 with one step per tensor (u8 for a value never seen negative, else s8, both symmetric),
 * weights s8 with a step per output channel; the steps come from the {@link Quantization}'s calibrated ranges.
 * Everything else about a step (its buffers, layouts, post-ops, residual copy) is the compiler's.
 */
final class Int8Lowering {
    private final Compiler c;
    private final Quantization int8; // null: a float32 or bf16 compile (or a calibration program)
    private final boolean calibrating;
    private final Map<Value, String> keys = new HashMap<>(); // the values an int8 compile quantizes
    private final List<Integer> probes = new ArrayList<>();
    private final Map<Integer, Quant> quantOfRoot = new HashMap<>(); // int8 buffers: how they are quantized
    private final Map<Value, Quant> fromFile = new HashMap<>(); // values the model's file quantizes (QDQ)
    private final List<Integer[]> dequantized = new ArrayList<>(); // {int8 buffer, float32 copy}

    Int8Lowering(Compiler c, Quantization int8, boolean calibrating) {
        this.c = c;
        this.int8 = int8;
        this.calibrating = calibrating;
    }

    /**
     * How an int8 value is stored: a real value is {@code step * (stored - zero)}, stored as {@code type} (u8 or
     * s8). {@code threshold} is the calibrated clipping magnitude (NaN for a quantization the model's file gives),
     * from which the same value's step as the other type follows.
     */
    record Quant(float step, int zero, DataType type, double threshold) {
        /** A calibrated, symmetric quantization: {@code threshold} over 255 (u8) or 127 (s8). */
        static Quant symmetric(double threshold, DataType type) {
            return new Quant((float) (threshold / (type == DataType.U8 ? 255 : 127)), 0, type, threshold);
        }

        /** This value stored as {@code t}: itself, the symmetric step of {@code t}, or null if it has none. */
        Quant as(DataType t) {
            if (t == type) {
                return this;
            }
            return zero != 0 || Double.isNaN(threshold) ? null : symmetric(threshold, t);
        }

        @Override
        public String toString() {
            return type.name().toLowerCase(java.util.Locale.ROOT) + " step " + step
                    + (zero == 0 ? "" : " zero point " + zero);
        }
    }

    /**
     * Value {@code v} is quantized as the model's own file says (a QuantizeLinear/DequantizeLinear pair the compiler
     * removed): step {@code scale}, zero point {@code zero}, u8 for {@code [0, 255]} and s8 for {@code [-128, 127]}.
     */
    void fromFile(Value v, float scale, int zero, boolean unsigned) {
        fromFile.put(v, new Quant(scale, zero, unsigned ? DataType.U8 : DataType.S8, Double.NaN));
    }

    /**
     * Before fusion, in an int8 compile: each QuantizeLinear whose every reader is a DequantizeLinear with the same scale, zero point
     * and 8-bit type (a QDQ file's pair around a tensor) disappears with its readers: their readers read the tensor
     * itself, which the int8 lowering then stores with that scale and zero point (the rounding and saturation the
     * pair computed happen when it is written in int8). A pair before the graph's output stays, so that the output
     * keeps the file's last rounding.
     */
    void absorbQuantizeLinear() {
        for (Node q : c.nodes) {
            if (q.removed
                    || q.kind != Trace.Kind.GRAPH
                    || !(q.graph instanceof QuantizeLinearOp ql)
                    || !ql.quantizes()
                    || q.out.users.isEmpty()
                    || !((ql.qmin() == 0 && ql.qmax() == 255) || (ql.qmin() == -128 && ql.qmax() == 127))) {
                continue;
            }
            boolean pair = true;
            for (Node d : q.out.users) {
                pair &= d.kind == Trace.Kind.GRAPH
                        && d.graph instanceof QuantizeLinearOp dl
                        && !dl.quantizes()
                        && dl.scale() == ql.scale()
                        && dl.zeroPoint() == ql.zeroPoint()
                        && dl.qmin() == ql.qmin()
                        && d.out != c.output;
            }
            if (!pair) {
                continue;
            }
            Value x = q.in.getFirst();
            if (x.users.size() != 1 || x == c.output || fromFile.containsKey(x)) {
                continue; // read unquantized elsewhere too, the graph's output, or quantized twice: stays as it is
            }
            for (Node d : List.copyOf(q.out.users)) {
                c.replaceUses(d.out, x);
                c.remove(d);
            }
            c.remove(q);
            fromFile(x, ql.scale(), ql.zeroPoint(), ql.qmin() == 0);
        }
    }

    /**
     * A value the model's file quantizes is stored in int8 with the file's quantization, whoever wrote it: where its
     * producer (or the caller) wrote float, a reorder quantizes it, so that every reader sees the values the file's
     * QuantizeLinear/DequantizeLinear pair defined (rounded, and saturated: a ReLU the pair stands for included).
     */
    void settle(Value v) {
        Quant q = fromFile.get(v);
        if (q == null) {
            return;
        }
        if (!quantized(v.buffer)) {
            v.buffer = scaledReorder(
                    v.buffer, plainOf(c.b.md(v.buffer), q.type()), null, q, "quantized as the model's file says");
        } else if (!quantOf(v.buffer).equals(q)) {
            v.buffer = scaledReorder(
                    v.buffer,
                    plainOf(c.b.md(v.buffer), q.type()),
                    quantOf(v.buffer),
                    q,
                    "requantized as the model's file says");
        }
    }

    /**
     * The rounding and saturation of {@code v}'s quantization in its file, as post-ops (for a fused chain that
     * never stores {@code v}); null where the file does not quantize it.
     */
    Operation fusedQuantization(Value v) {
        Quant q = fromFile.get(v);
        if (q == null) {
            return null;
        }
        boolean u8 = q.type() == DataType.U8;
        return QuantizeLinearOp.quantize(q.step(), q.zero(), u8 ? 0 : -128, u8 ? 255 : 127, v.shape())
                .asPostOps();
    }

    /**
     * Before {@code v} disappears into a fused chain (its producer computes on into the next step), the rounding and
     * saturation its file's quantization gives it (int8 compiles of QDQ models) join the chain as post-ops.
     */
    void keepQuantization(List<Operation> chain, Value v) {
        Operation q = fusedQuantization(v);
        if (q != null) {
            chain.add(q);
        }
    }

    /** Whether the file quantizes {@code a} and {@code b} alike. */
    boolean sameQuantization(Value a, Value b) {
        return java.util.Objects.equals(fromFile.get(a), fromFile.get(b));
    }

    /** See {@link Compiler#forget}: the dequantized copy of buffer {@code id} no longer stands for it. */
    void forget(int id) {
        dequantized.removeIf(r -> r[0] == id);
    }

    /**
     * Whether an average pooling writing {@code v} from int8 buffer {@code id} may not keep {@code id}'s step: the
     * model's file quantizes {@code v} its own way, or (a model quantized in its file) not at all, the average then
     * being float's.
     */
    boolean requantizes(Value v, int id) {
        if (fromFile.isEmpty()) {
            return false;
        }
        return !quantOf(id).equals(fromFile.get(v));
    }

    /** Whether the compile is int8. */
    boolean enabled() {
        return int8 != null;
    }

    /** The keys of the quantized values, by their index, and the probes holding them (a calibration program). */
    List<String> keys() {
        return keys.values().stream().sorted(Int8Lowering::byIndex).toList();
    }

    int[] probes() {
        return probes.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Keys sort by the index they start with. */
    private static int byIndex(String a, String b) {
        return Integer.compare(
                Integer.parseInt(a.substring(0, a.indexOf(' '))), Integer.parseInt(b.substring(0, b.indexOf(' '))));
    }

    /** Int8 buffer {@code to} holds the same values, quantized the same way, as int8 buffer {@code from}. */
    void sameStep(int to, int from) {
        quantOfRoot.put(c.b.root(to), quantOf(from));
    }

    /** Whether {@code n} runs in int8 when the compile is int8: convolutions and linear layers. */
    static boolean computesInt8(Node n) {
        return n.kind == Trace.Kind.OP && (n.op instanceof Convolution || n.op instanceof InnerProduct);
    }

    /**
     * Names the values an int8 compile quantizes: what an int8 step reads (its input, the residual it adds) and what
     * it writes, in schedule order, the graph's input first: {@code "<index> <producer>"}, the producer's name without
     * shapes, so that the same module has the same keys at every batch size.
     */
    void nameQuantized(List<Node> schedule) {
        List<Value> values = new ArrayList<>();
        values.add(c.input);
        for (Node n : schedule) {
            values.add(n.out);
        }
        for (Value v : values) {
            boolean q = v.producer != null && computesInt8(v.producer);
            for (Node u : v.users) {
                q |= !u.removed && computesInt8(u) && (u.in.getFirst() == v || u.sum == v);
            }
            if (q) {
                keys.put(v, keys.size() + " " + (v.producer == null ? "input" : withoutShapes(v.producer.name)));
            }
        }
    }

    /**
     * A step's name without the shapes some carry ({@code resample bilinear [1, 128, 14, 14] -> ...}): calibration
     * runs at batch 1, the compile at any batch, and a value's key must be the same in both.
     */
    private static String withoutShapes(String name) {
        int bracket = name.indexOf('[');
        String bare = (bracket < 0 ? name : name.substring(0, bracket)).strip();
        return bare.isEmpty() ? "step" : bare;
    }

    /** In a calibration program, keeps {@code v} after each call when an int8 compile quantizes it. */
    void probe(Value v) {
        if (calibrating && keys.containsKey(v)) {
            probes.add(
                    c.b.probe(v.buffer, Compiler.inFormat(c.b.md(v.buffer).dims(), DataType.F32, Format.CONTIGUOUS)));
        }
    }

    /** Whether buffer {@code id} holds int8 values. */
    boolean quantized(int id) {
        DataType t = c.b.md(id).dataType();
        return t == DataType.U8 || t == DataType.S8;
    }

    /** How int8 buffer {@code id} is quantized. */
    Quant quantOf(int id) {
        Quant q = quantOfRoot.get(c.b.root(id));
        if (q == null) {
            throw new IllegalStateException("int8 buffer " + c.b.md(id) + " has no quantization step");
        }
        return q;
    }

    /**
     * How {@code v} is quantized: as the model's file says, else by its calibrated range (u8 for a value never seen
     * negative, else s8, symmetric); null where neither says (a compile whose only quantization is its file's).
     */
    private Quant quant(Value v) {
        Quant f = fromFile.get(v);
        if (f != null) {
            return f;
        }
        if (int8.ranges().isEmpty()) {
            return null;
        }
        Range r = range(v);
        return Quant.symmetric(r.threshold(), r.min() >= 0 ? DataType.U8 : DataType.S8);
    }

    /** {@code v}'s calibrated range; its key must be in the calibration. */
    private Range range(Value v) {
        String key = keys.get(v);
        Range r = key == null ? null : int8.ranges().get(key);
        if (r == null) {
            throw new IllegalArgumentException("the calibration has no range for " + (key == null ? v.traced : key)
                    + ": it was made for another module or input size; calibrate again");
        }
        return r;
    }

    /**
     * Whether {@code v} is stored in int8: it is not the graph's output and some step reads it in int8 (an int8
     * convolution or linear layer, as input or residual; a pooling).
     */
    private boolean storedInt8(Value v) {
        if (v == c.output || quant(v) == null) {
            return false;
        }
        if (fromFile.containsKey(v)) {
            return true; // see settle
        }
        for (Node u : v.users) {
            if (u.removed) {
                continue;
            }
            if ((computesInt8(u) && (u.in.getFirst() == v || u.sum == v))
                    || (u.kind == Trace.Kind.OP && u.op instanceof Pooling && u.in.getFirst() == v)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Buffer {@code id} for a step that is not int8: itself, or its values dequantized once (shared by every reader)
     * into the other steps' type (float32, or bf16 where the CPU has it).
     */
    int readable(int id) {
        if (!quantized(id)) {
            return id;
        }
        for (Integer[] r : dequantized) {
            if (r[0] == id) {
                return r[1];
            }
        }
        int f = scaledReorder(
                id, plainOf(c.b.md(id), c.dt), quantOf(id), null, "dequantized for a step that is not int8");
        dequantized.add(new Integer[] {id, f});
        return f;
    }

    /** The plain layout of {@code md}'s dims in {@code type}: NHWC for 4-D, row-major otherwise. */
    static MemoryDesc plainOf(MemoryDesc md, DataType type) {
        long[] dims = md.dims();
        return Compiler.inFormat(dims, type, dims.length == 4 ? Format.CHANNELS_LAST : Format.CONTIGUOUS);
    }

    /**
     * A copy of buffer {@code from} as {@code to} (owned from now on) through a reorder that dequantizes with
     * {@code src} (null: none) and quantizes with {@code dst} (rounding to nearest even and saturating; null: none).
     */
    int scaledReorder(int from, MemoryDesc to, Quant src, Quant dst, String why) {
        PrimitiveDesc pd;
        try (PrimitiveAttr attr = PrimitiveAttr.create()) {
            if (src != null) {
                attr.scalesMask(Arg.FROM, 0);
                if (src.zero() != 0) {
                    attr.zeroPointsMask(Arg.FROM, 0);
                }
            }
            if (dst != null) {
                attr.scalesMask(Arg.TO, 0);
                if (dst.zero() != 0) {
                    attr.zeroPointsMask(Arg.TO, 0);
                }
            }
            pd = c.b.own(PrimitiveDesc.reorder(Engine.cpu(), c.b.md(from), to, attr));
        }
        int out = c.b.buffer(c.b.own(to));
        List<Object> args = new ArrayList<>(List.of(Arg.FROM, from, Arg.TO, out));
        if (src != null) {
            quantArgs(args, Arg.FROM, src);
        }
        if (dst != null) {
            quantArgs(args, Arg.TO, dst);
            quantOfRoot.put(out, dst);
        }
        c.b.step(
                (dst != null ? "quantize " : "dequantize ") + c.b.md(from).layout() + " -> " + to.layout()
                        + Compiler.typeNote(pd) + " (" + why + ")",
                pd,
                args.toArray());
        return out;
    }

    /** The execution arguments of {@code arg}'s quantization: its step, and its zero point if it has one. */
    private void quantArgs(List<Object> args, Arg arg, Quant q) {
        args.addAll(List.of(Arg.scales(arg), steps(q.step())));
        if (q.zero() != 0) {
            long[] one = {1};
            TensorImpl t = c.b.own(TensorImpl.of(new float[] {q.zero()}, one));
            args.addAll(List.of(
                    Arg.zeroPoints(arg),
                    c.b.constant(c.b.own(MemoryDesc.strided(one, DataType.S32, one)), t, Layouts.of(one, t))));
        }
    }

    /** A constant float32 vector of quantization steps. */
    private Memory steps(float... steps) {
        long[] dims = {steps.length};
        TensorImpl t = c.b.own(TensorImpl.of(steps, dims));
        return c.b.constant(c.b.own(Layouts.of(dims, Format.CONTIGUOUS)), t, Layouts.of(dims, t));
    }

    /**
     * A convolution or linear layer in int8: its input quantized (once, by a reorder, unless its producer wrote int8
     * already), s8 weights with a step per output channel, float32 bias, its post-ops in real units (a residual sum
     * scaled by the residual's own step), its output in int8 where a step reads it so, else float32. Zero points
     * (a quantization the model's file gives) go to oneDNN with the scales. False, with nothing built, where the
     * input has no quantization or oneDNN has no real int8 kernel: the step then runs in float.
     */
    boolean lowerInt8(Node n) {
        Value src = n.in.getFirst();
        Quant srcQ = quantized(src.buffer) ? quantOf(src.buffer) : quant(src);
        if (srcQ == null) {
            return false;
        }
        MemoryDesc dstMd; // what the primitive writes; for a sum, the residual's buffer (or its copy: the same layout)
        MemoryDesc retyped = null;
        Quant dstQ = null;
        Quant sumQ = null;
        DataType sumType = null;
        if (n.sum != null) {
            MemoryDesc held = c.b.md(n.sum.buffer);
            dstMd = held;
            if (quantized(n.sum.buffer)) {
                sumQ = quantOf(n.sum.buffer);
                Quant out = quant(n.out);
                if (out == null) {
                    return false;
                }
                if (out.type() != held.dataType() && out.zero() == 0 && sumQ.zero() == 0 && held.strides() != null) {
                    // a non-negative result (a ReLU after the sum) over an s8 residual: written as u8 into the same
                    // bytes, the sum reading them as s8 (oneDNN's sum data type), so the output keeps all 8 bits
                    retyped = MemoryDesc.strided(held.dims(), out.type(), held.strides());
                    dstMd = retyped;
                    sumType = held.dataType();
                }
                dstQ = out.as(dstMd.dataType());
                if (dstQ == null) {
                    if (retyped != null) {
                        retyped.close();
                    }
                    return false; // the file quantizes the result as another type than the residual's
                }
                if (sumQ.zero() != 0) {
                    sumType = held.dataType();
                }
            }
        } else if (n.out == c.output) {
            dstMd = c.userOut; // float32, straight into the caller's output
        } else if (storedInt8(n.out)) {
            dstQ = quant(n.out);
            dstMd = c.b.own(MemoryDesc.any(n.op.outputShape(), dstQ.type()));
        } else {
            dstMd = c.b.own(MemoryDesc.any(n.op.outputShape(), c.dt)); // for steps that are not int8: in their type
        }
        Operation.Constant weights = n.op.constants().getFirst();
        long[] wDims = weights.dims();
        int weightsMask = wDims.length == 5 ? 3 : 1; // per output channel: (G, OC/G, ...) or (OC, ...)
        PrimitiveDesc pd;
        try (PrimitiveAttr attr = Compiler.attr(
                n,
                sumQ == null ? 1 : sumQ.step(),
                sumQ == null ? 0 : sumQ.zero(),
                sumType,
                weightsMask,
                dstQ != null)) {
            if (srcQ.zero() != 0) {
                attr.zeroPointsMask(Arg.SRC, 0);
            }
            if (dstQ != null && dstQ.zero() != 0) {
                attr.zeroPointsMask(Arg.DST, 0);
            }
            pd = describeInt8(n, src.buffer, srcQ.type(), dstMd, attr);
            if (pd == null && (dstMd == c.userOut || (dstQ == null && n.sum == null && c.dt != DataType.F32))) {
                // float32 then: reordered into the caller's output, or into the type of the steps after
                dstMd = c.b.own(MemoryDesc.any(n.op.outputShape(), DataType.F32));
                pd = describeInt8(n, src.buffer, srcQ.type(), dstMd, attr);
            }
        }
        if (pd == null) {
            if (retyped != null) {
                retyped.close();
            }
            return false; // nothing built: the step runs in float32
        }
        int dstBuffer = -1;
        if (n.sum != null) {
            dstBuffer = c.ownedCopy(n.sum, n);
            c.forget(dstBuffer);
            if (retyped != null) {
                dstBuffer = c.b.view(dstBuffer, retyped);
            }
        }
        c.b.own(pd);
        MemoryDesc pdSrc = pd.query(Arg.SRC);
        int srcArg = quantized(src.buffer) ? c.fit(src.buffer, pdSrc) : quantizedCopy(src.buffer, pdSrc, srcQ);
        if (dstBuffer < 0) {
            dstBuffer = c.destination(pd, dstMd);
        }
        List<Object> args = new ArrayList<>(List.of(Arg.SRC, srcArg, Arg.DST, dstBuffer));
        float[] wSteps = null;
        for (Operation.Constant k : n.op.constants()) {
            TensorImpl values = c.values(k);
            if (k.arg().equals(Arg.WEIGHTS)) {
                float[] w = values.toFloatArray();
                long perChannel = 1;
                for (int i = wDims.length == 5 ? 2 : 1; i < wDims.length; i++) {
                    perChannel *= wDims[i];
                }
                wSteps = new float[Math.toIntExact(w.length / perChannel)];
                boolean noVnni = int8.sevenBitWeights();
                float[] q = Int8.quantizeWeights(
                        w, wSteps, noVnni ? 63 : 127, noVnni && pdSrc.dataType() == DataType.S8 ? 2 : 1);
                values = c.b.own(TensorImpl.of(q, k.dims()));
            }
            args.add(k.arg());
            args.add(c.b.constant(pd.query(k.arg()), values, Layouts.of(k.dims(), values)));
        }
        quantArgs(args, Arg.SRC, srcQ);
        args.addAll(List.of(Arg.scales(Arg.WEIGHTS), steps(wSteps)));
        if (dstQ != null) {
            quantArgs(args, Arg.DST, dstQ);
        }
        String what = n.name + (n.fused.isEmpty() ? "" : " + " + String.join(" + ", n.fused)) + " [" + pdSrc.layout()
                + " -> " + pd.query(Arg.DST).layout() + Compiler.typeNote(pd) + "]";
        c.b.step(what, pd, args.toArray());
        if (dstQ != null) {
            quantOfRoot.put(c.b.root(dstBuffer), dstQ);
        }
        int result = dstBuffer;
        if (pd.query(Arg.DST).dims().length != n.out.shape().length) {
            result = c.view(dstBuffer, n.out.shape());
        }
        n.out.buffer = result;
        return true;
    }

    /**
     * {@code n}'s int8 primitive reading buffer {@code src} as it is where oneDNN has a real kernel for that layout
     * (an int8 buffer), else in the layout it prefers; null where oneDNN has only its reference loops or nothing.
     */
    private PrimitiveDesc describeInt8(Node n, int src, DataType srcType, MemoryDesc dstMd, PrimitiveAttr attr) {
        MemoryDesc[] tries = quantized(src)
                ? new MemoryDesc[] {
                    c.b.md(src), c.b.own(MemoryDesc.any(c.b.md(src).dims(), srcType))
                }
                : new MemoryDesc[] {c.b.own(MemoryDesc.any(c.b.md(src).dims(), srcType))};
        for (MemoryDesc srcMd : tries) {
            PrimitiveDesc pd;
            try {
                pd = n.op.describe(srcMd, dstMd, DataType.S8, attr);
            } catch (RuntimeException refused) {
                continue; // no int8 implementation for these layouts
            }
            if (pd != null && !pd.implementation().startsWith("ref")) {
                return pd;
            }
            if (pd != null) {
                pd.close();
            }
        }
        return null;
    }

    /** Float32 buffer {@code from} quantized as {@code q} into layout {@code to}: once per buffer and layout. */
    private int quantizedCopy(int from, MemoryDesc to, Quant q) {
        for (Integer[] r : c.reorders) {
            if (r[0] == from && c.b.md(r[1]).sameAs(to)) {
                return r[1];
            }
        }
        int copy = scaledReorder(from, to.copy(), null, q, "int8 for the next step");
        c.reorders.add(new Integer[] {from, copy});
        return copy;
    }
}
