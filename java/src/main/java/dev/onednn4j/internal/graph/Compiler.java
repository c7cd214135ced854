package dev.onednn4j.internal.graph;

import dev.onednn4j.internal.dnnl.Algorithm;
import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.DataType;
import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.PostOps;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.dnnl.Threads;
import dev.onednn4j.internal.exec.Choices;
import dev.onednn4j.internal.exec.Layouts;
import dev.onednn4j.internal.exec.Program;
import dev.onednn4j.internal.memory.Format;
import dev.onednn4j.internal.memory.TensorImpl;
import dev.onednn4j.internal.op.CopyOp;
import dev.onednn4j.internal.op.GraphOp;
import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.internal.op.Pooling;
import dev.onednn4j.internal.op.QuantizeLinearOp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a {@link Trace} into a {@link Program}: the graph of the recorded operations, rewritten for inference (steps 1
 * to 3, {@link Rewrites}), then lowered onto oneDNN primitives whose layouts oneDNN chooses (steps 4 and 5, here; the
 * int8 steps in {@link Int8Lowering}).
 *
 * <ol>
 *   <li>Copies that only change the layout disappear (the compiler chooses layouts), and so do unused results.
 *   <li>Each BatchNorm with running statistics that directly follows a convolution is folded into its weights and
 *       bias: {@code w' = w * scale}, {@code b' = b * scale + shift} per output channel, in double.
 *   <li>Element-wise operations (ReLU, ReLU6, SiLU, Hardswish, GELU, ...) become post-ops of the convolution or
 *       linear layer that produces their input; a residual {@code a + b} becomes a {@code sum} post-op of the
 *       convolution producing {@code a} (or {@code b}), which then writes into the other operand's buffer, and the
 *       activation after the addition a post-op after the sum.
 *   <li>Each convolution takes its input in the layout of the previous step when oneDNN has a real kernel for it,
 *       else in the layout oneDNN prefers (one reorder); each writes in the layout oneDNN prefers. Reorders remain
 *       only at the graph's input and output and where a consumer cannot read its producer's layout.
 *   <li>Every intermediate buffer is placed by lifetime in one slab per concurrent call ({@link Program}).
 * </ol>
 *
 * Precision: in bf16, convolutions and linear layers compute on bf16 activations and weights (bias and
 * accumulation in fp32), and every other step follows its input's type; the graph's input and output stay fp32.
 * In int8 ({@link Options#int8()}), convolutions and linear layers are lowered by {@link Int8Lowering}, which also
 * keeps each int8 buffer's quantization step; every other step reads their values dequantized once.
 */
public final class Compiler {

    /**
     * How to compile: the caller's input and output layouts, whether activations are bf16, the OpenMP threads.
     *
     * @param outputFormat the output's memory format where it is 4-D (contiguous otherwise)
     */
    public record Options(
            Format inputFormat,
            Format outputFormat,
            boolean bf16,
            int threads,
            boolean tuneKernels,
            Quantization int8) {
        public Options(Format inputFormat, Format outputFormat, boolean bf16, int threads, boolean tuneKernels) {
            this(inputFormat, outputFormat, bf16, threads, tuneKernels, null);
        }
    }

    /**
     * Static int8 quantization: for each value the graph quantizes (by its {@linkplain Calibrating#keys() key}),
     * its smallest calibrated value and its threshold; weights in 8 bits, or 7 where the CPU has no VNNI (see
     * {@link Dnnl#int8Vnni()}).
     */
    public record Quantization(Map<String, Range> ranges, boolean sevenBitWeights) {}

    /** A value's calibrated minimum and its clipping threshold (a positive magnitude). */
    public record Range(double min, double threshold) {}

    /**
     * A float32 program that keeps, after each call, the values an int8 compile of the same graph quantizes: their
     * keys (stable for a module and an input's image size) and the probes holding them.
     */
    @SuppressWarnings("ArrayRecordComponent") // handed to the caller once, never compared
    public record Calibrating(Program program, List<String> keys, int[] probes) {}

    /**
     * For the library's own tests only: names one rewrite to break on purpose ({@code fold-without-shift},
     * {@code post-op-dropped}, {@code sum-scale-2}, {@code sum-dropped}), to show that the cross-checks catch it.
     */
    public static final String MUTATION_PROPERTY = "onednn4j.internal.compilerMutation";

    private static final String MUTATION = System.getProperty(MUTATION_PROPERTY, "");

    static boolean mutated(String rewrite) {
        return !MUTATION.isEmpty() && MUTATION.equals(rewrite);
    }

    /** A step of the graph: a recorded node, possibly with others fused into it. */
    static final class Node {
        final Trace.Kind kind;
        Operation op;
        final GraphOp graph;
        final String name;
        final List<Value> in;
        Value out;
        final List<Operation> beforeSum = new ArrayList<>();
        Value sum;
        final List<Operation> afterSum = new ArrayList<>();
        final List<String> fused = new ArrayList<>();
        boolean removed;

        Node(Trace.Node n, List<Value> in, Value out) {
            this.kind = n.kind();
            this.op = n.op();
            this.graph = n.graph();
            this.name = n.module();
            this.in = in;
            this.out = out;
        }
    }

    /** A value of the graph: its producer (null for the input), its users, and once lowered its buffer. */
    static final class Value {
        final Trace.Value traced;
        Node producer;
        final List<Node> users = new ArrayList<>();
        int buffer = -1;

        Value(Trace.Value traced) {
            this.traced = traced;
        }

        long[] shape() {
            return traced.shape();
        }
    }

    final Options options;
    final DataType dt;
    final List<Node> nodes = new ArrayList<>();
    final Value input;
    Value output;
    final Program.Builder b;
    private final Map<Node, Integer> order = new HashMap<>(); // Node has identity equality
    final List<Integer[]> reorders = new ArrayList<>(); // {from, to} already built, for sharing
    MemoryDesc userOut;
    private int outBuffer = -1;
    private final KernelTuner tuner;
    final Int8Lowering int8;

    private Compiler(Trace trace, Trace.Value out, Options options, String title, boolean calibrating) {
        this.options = options;
        this.dt = options.bf16() ? DataType.BF16 : DataType.F32; // with int8: the steps that are not int8
        Map<Integer, Value> values = new HashMap<>();
        this.input = values.computeIfAbsent(trace.input().id(), id -> new Value(trace.input()));
        for (Trace.Node t : trace.nodes()) {
            List<Value> in = new ArrayList<>();
            for (Trace.Value v : t.inputs()) {
                Value x = values.get(v.id());
                if (x == null) {
                    throw new IllegalStateException("trace uses " + v + " before it is defined");
                }
                in.add(x);
            }
            Value o = new Value(t.output());
            values.put(t.output().id(), o);
            Node n = new Node(t, in, o);
            o.producer = n;
            for (Value x : in) {
                x.users.add(n);
            }
            nodes.add(n);
        }
        Value o = values.get(out.id());
        if (o == null) {
            throw new IllegalStateException("the traced output " + out + " was never defined");
        }
        this.output = o;
        this.b = Program.builder(title);
        this.tuner = options.tuneKernels() ? new KernelTuner(Choices.standard(), options.threads()) : null;
        this.int8 = new Int8Lowering(this, options.int8(), calibrating);
    }

    /**
     * Compiles a finished trace whose forward pass returned {@code out}.
     *
     * @param inputShape  the traced input's shape (4-D)
     * @param outputShape the output's shape
     * @throws IllegalArgumentException if an operation has no compiled form (its message names the layer)
     */
    public static Program compile(
            Trace trace, Trace.Value out, long[] inputShape, long[] outputShape, Options options, String title) {
        if (options.bf16() && !Dnnl.nativeBf16()) {
            throw new IllegalArgumentException(
                    "bf16 needs a CPU that computes it natively (AVX512_BF16, AVX10 or AMX); "
                            + "oneDNN would emulate it here (" + Dnnl.effectiveCpuIsa()
                            + "): compile with Precision.FP32 "
                            + "or AUTO");
        }
        return prepare(trace, out, options, title, false).build(inputShape, outputShape);
    }

    /**
     * Compiles a finished trace in float32 with a probe on every value an int8 compile of the same graph quantizes:
     * what calibration runs its samples through.
     */
    public static Calibrating calibration(
            Trace trace, Trace.Value out, long[] inputShape, long[] outputShape, Options options, String title) {
        Compiler c = prepare(trace, out, options, title, true);
        Program p = c.build(inputShape, outputShape);
        return new Calibrating(p, c.int8.keys(), c.int8.probes());
    }

    /**
     * Whether the trace holds a QuantizeLinear (a model quantized in its file, QDQ): an int8 compile of it needs no
     * calibration, its scales are the file's.
     */
    public static boolean quantizesItself(Trace trace) {
        for (Trace.Node n : trace.nodes()) {
            if (n.graph() instanceof QuantizeLinearOp q && q.quantizes()) {
                return true;
            }
        }
        return false;
    }

    private static Compiler prepare(Trace trace, Trace.Value out, Options options, String title, boolean calibrating) {
        if (options.int8() != null && calibrating) {
            throw new IllegalArgumentException("calibration runs in float32: compile it without int8 options");
        }
        Threads.applyToCallingThread(options.threads()); // primitives fix their thread count when created
        return new Compiler(trace, out, options, title, calibrating);
    }

    private Program build(long[] inputShape, long[] outputShape) {
        try {
            Rewrites rewrites = new Rewrites(this);
            rewrites.removeCopies();
            rewrites.removeUnused();
            if (int8.enabled()) {
                int8.absorbQuantizeLinear();
            }
            rewrites.foldBatchNorms();
            rewrites.fuse();
            List<Node> schedule = schedule();
            int8.nameQuantized(schedule);
            lower(schedule, inputShape, outputShape);
            if (tuner != null) {
                b.note(tuner.report());
            }
            return b.build(options.threads());
        } catch (RuntimeException | Error e) {
            b.abandon(e);
            throw e;
        }
    }

    // ---- editing the graph (the rewrites themselves: Rewrites) -------------------------------------

    void replaceUses(Value from, Value to) {
        for (Node u : from.users) {
            for (int i = 0; i < u.in.size(); i++) {
                if (u.in.get(i) == from) {
                    u.in.set(i, to);
                }
            }
            if (u.sum == from) {
                u.sum = to;
            }
            to.users.add(u);
        }
        from.users.clear();
        if (output == from) {
            output = to;
        }
    }

    void remove(Node n) {
        n.removed = true;
        for (Value x : n.in) {
            x.users.remove(n);
        }
    }

    /** The nodes the output needs, each after everything it reads (its inputs, its sum operand). */
    private List<Node> schedule() {
        List<Node> list = new ArrayList<>();
        Set<Node> done = new HashSet<>();
        visit(output, list, done);
        for (int i = 0; i < list.size(); i++) {
            order.put(list.get(i), i);
        }
        return list;
    }

    private void visit(Value v, List<Node> list, Set<Node> done) {
        Node p = v.producer;
        if (p == null || done.contains(p)) {
            return;
        }
        done.add(p);
        for (Value x : p.in) {
            visit(x, list, done);
        }
        if (p.sum != null) {
            visit(p.sum, list, done);
        }
        list.add(p);
    }

    // ---- lowering ------------------------------------------------------------------------------

    private void lower(List<Node> schedule, long[] inputShape, long[] outputShape) {
        input.buffer = b.input(Layouts.of(inputShape, options.inputFormat()));
        int8.probe(input);
        int8.settle(input);
        Format outFormat = outputShape.length == 4 ? options.outputFormat() : Format.CONTIGUOUS;
        userOut = Layouts.of(outputShape, outFormat);
        for (Node n : schedule) {
            switch (n.kind) {
                case OP -> {
                    if (!int8.enabled() || !Int8Lowering.computesInt8(n) || !int8.lowerInt8(n)) {
                        lowerOp(n); // float32, or int8 without a real int8 kernel
                    }
                }
                case ADD -> lowerAdd(n);
                case RESHAPE -> lowerReshape(n);
                case GRAPH -> lowerGraph(n);
                case COPY -> throw new IllegalStateException("copies are removed before lowering");
            }
            int8.probe(n.out);
            int8.settle(n.out);
        }
        if (outBuffer >= 0) {
            userOut.close();
            return; // the last step wrote into the caller's output directly
        }
        int out = b.output(userOut);
        int last = int8.readable(output.buffer);
        if (b.md(last).dims().length != outputShape.length) {
            last = view(last, outputShape);
        }
        b.reorderInto(last, out, "into the caller's output");
    }

    private void lowerOp(Node n) {
        Value src = n.in.getFirst();
        // pooling reads int8 as it is (same step out as in; an average only where 0 is stored as 0, and where the
        // model's file does not quantize the result its own way); every other step reads float32
        boolean int8Pool = n.op instanceof Pooling pool
                && int8.quantized(src.buffer)
                && (pool.geometry().p().max()
                        || (int8.quantOf(src.buffer).zero() == 0 && !int8.requantizes(n.out, src.buffer)));
        int srcBuffer = int8Pool ? src.buffer : int8.readable(src.buffer);
        MemoryDesc srcMd = b.md(srcBuffer);
        DataType stepType = int8Pool ? srcMd.dataType() : dt;
        int dstBuffer = -1;
        MemoryDesc dstMd = null;
        if (n.sum != null) {
            dstBuffer = ownedCopy(n.sum, n);
            forget(dstBuffer);
            if (int8.quantized(dstBuffer)) {
                // a float32 step accumulating into an int8 value: into a float32 copy of its own
                dstBuffer = int8.scaledReorder(
                        dstBuffer,
                        Int8Lowering.plainOf(b.md(dstBuffer), dt),
                        int8.quantOf(dstBuffer),
                        null,
                        "dequantized to add into");
            }
            dstMd = b.md(dstBuffer);
        } else if (n.out == output && n.op.fusesPostOps()) {
            dstMd = userOut; // straight into the caller's output, if oneDNN can
        }
        if (int8Pool && dstMd == userOut) {
            dstMd = null; // int8 out, dequantized into the caller's output after
        }
        PrimitiveDesc pd = null;
        try {
            pd = describe(n, srcMd, dstMd, stepType);
            if (pd == null && dstMd == userOut) {
                dstMd = null;
                pd = describe(n, srcMd, null, stepType);
            }
        } catch (RuntimeException e) {
            if (dstMd != userOut) {
                throw e;
            }
            dstMd = null;
            pd = describe(n, srcMd, null, stepType);
        }
        if (pd == null) {
            // a consumer that reads only plain layouts: give it the input in NHWC (or row-major)
            int plain = reorder(srcBuffer, plain(srcMd), "a layout the next step reads");
            pd = describe(n, b.md(plain), dstMd, stepType);
            srcBuffer = plain;
            if (pd == null) {
                throw new IllegalArgumentException(
                        "compile: " + n.name + " (" + n.op.getClass().getSimpleName()
                                + ") has no compiled form for this input (e.g. padding modes other than zeros, an output column "
                                + "that sees only padding, non-finite weights): run it eagerly");
            }
        }
        if (tuner != null && n.op.fusesPostOps()) {
            MemoryDesc asked = b.md(srcBuffer);
            MemoryDesc askedDst = dstMd;
            pd = tuner.choose(pd, () -> describe(n, asked, askedDst, dt));
        }
        b.own(pd);
        MemoryDesc pdSrc = pd.query(Arg.SRC);
        int srcArg = fit(srcBuffer, pdSrc);
        if (dstBuffer < 0) {
            dstBuffer = destination(pd, dstMd);
        }
        List<Object> args = new ArrayList<>(List.of(Arg.SRC, srcArg, Arg.DST, dstBuffer));
        for (Operation.Constant c : n.op.constants()) {
            TensorImpl values = values(c);
            args.add(c.arg());
            args.add(b.constant(pd.query(c.arg()), values, Layouts.of(c.dims(), values)));
        }
        String what = n.name + (n.fused.isEmpty() ? "" : " + " + String.join(" + ", n.fused)) + " [" + pdSrc.layout()
                + " -> " + pd.query(Arg.DST).layout() + typeNote(pd) + "]";
        b.step(what, pd, args.toArray());
        if (int8Pool) {
            int8.sameStep(dstBuffer, srcArg); // pooling keeps the step: max and mean alike
        }
        int result = dstBuffer;
        if (pd.query(Arg.DST).dims().length != n.out.shape().length) {
            result = view(dstBuffer, n.out.shape());
        }
        n.out.buffer = result;
    }

    /**
     * The descriptor for {@code n} reading {@code srcMd}. A convolution or linear layer writes in the layout oneDNN
     * prefers for it (asked with {@code any} on both sides), and reads its input as it is when oneDNN has a real
     * (non-reference) kernel for that pair of layouts, else in the layout it prefers (one reorder before it). Other
     * steps read their input as it is. Null if the operation has no compiled form there.
     */
    private PrimitiveDesc describe(Node n, MemoryDesc srcMd, MemoryDesc dstMd, DataType dt) {
        if (!n.op.fusesPostOps()) {
            try (PrimitiveAttr attr = attr(n)) {
                return n.op.describe(srcMd, dstMd, dt, attr);
            }
        }
        PrimitiveDesc preferred;
        try (PrimitiveAttr attr = attr(n);
                MemoryDesc any = MemoryDesc.any(srcMd.dims(), dt)) {
            preferred = n.op.describe(any, dstMd, dt, attr);
        }
        if (preferred == null || preferred.query(Arg.SRC).sameAs(srcMd) || type(srcMd) != dt) {
            return preferred;
        }
        PrimitiveDesc asIs;
        try (PrimitiveAttr attr = attr(n)) {
            asIs = n.op.describe(srcMd, dstMd != null ? dstMd : preferred.query(Arg.DST), dt, attr);
        } catch (RuntimeException refused) {
            return preferred; // no kernel for that layout
        }
        if (asIs == null || asIs.implementation().startsWith("ref")) {
            if (asIs != null) {
                asIs.close();
            }
            return preferred;
        }
        preferred.close();
        return asIs;
    }

    private static DataType type(MemoryDesc md) {
        return md.dataType();
    }

    /** User scratchpad, and the post-ops fused into {@code n}: element-wise ones, the sum, those after it. */
    private static PrimitiveAttr attr(Node n) {
        return attr(n, 1f, 0, null, -1, false);
    }

    /**
     * As {@link #attr(Node)}, the sum scaled by {@code sumStep} around zero point {@code sumZero} (reading the
     * destination as {@code sumType} if not null); with {@code weightsMask >= 0}, int8 scales: one for the source,
     * per {@code weightsMask} for the weights, one for the destination if {@code dstScaled}.
     */
    static PrimitiveAttr attr(
            Node n, float sumStep, int sumZero, DataType sumType, int weightsMask, boolean dstScaled) {
        PrimitiveAttr attr = PrimitiveAttr.create().userScratchpad();
        if (weightsMask >= 0) {
            attr.scalesMask(Arg.SRC, 0).scalesMask(Arg.WEIGHTS, weightsMask);
            if (dstScaled) {
                attr.scalesMask(Arg.DST, 0);
            }
        }
        if (n.beforeSum.isEmpty() && n.sum == null && n.afterSum.isEmpty()) {
            return attr;
        }
        try (PostOps post = PostOps.create()) {
            boolean eltwise = !mutated("post-op-dropped");
            for (Operation e : n.beforeSum) {
                if (eltwise) {
                    e.appendTo(post);
                }
            }
            if (n.sum != null && !mutated("sum-dropped")) {
                float scale = mutated("sum-scale-2") ? 2f * sumStep : sumStep;
                if (sumType == null) {
                    post.sum(scale);
                } else {
                    post.sum(scale, sumZero, sumType);
                }
            }
            for (Operation e : n.afterSum) {
                if (eltwise) {
                    e.appendTo(post);
                }
            }
            attr.postOps(post);
        } catch (RuntimeException e) {
            attr.close();
            throw e;
        }
        return attr;
    }

    /**
     * A buffer holding {@code v} that {@code n} may overwrite (a sum post-op accumulates into it): {@code v}'s own,
     * unless it is the caller's input, someone reads it after {@code n}, or {@code n} itself reads its memory (a
     * block {@code act(conv(x)) + x}: writing the sum in place would overwrite the convolution's own input while it
     * reads it), then a copy.
     */
    int ownedCopy(Value v, Node n) {
        boolean readLater = v == output;
        for (Node u : v.users) {
            if (u != n && order.getOrDefault(u, -1) > order.get(n)) {
                readLater = true;
            }
        }
        boolean readByN = false;
        for (Value in : n.in) {
            readByN |= b.root(in.buffer) == b.root(v.buffer);
        }
        if (!readLater && !readByN && !b.external(v.buffer)) {
            return v.buffer;
        }
        return reorder(
                v.buffer,
                b.md(v.buffer).copy(),
                readByN ? "the residual is the step's own input" : "the residual is read again later");
    }

    /**
     * Buffer {@code id} is about to be written in place (a sum post-op accumulates into it): copies made of its old
     * values (another layout, a dequantized copy) no longer stand for it.
     */
    void forget(int id) {
        reorders.removeIf(r -> r[0] == id);
        int8.forget(id);
    }

    /** A new buffer for {@code pd}'s output: the caller's output where {@code dstMd} is it, else a planned one. */
    int destination(PrimitiveDesc pd, MemoryDesc dstMd) {
        if (dstMd == userOut) {
            outBuffer = b.output(userOut.copy());
            return outBuffer;
        }
        return b.buffer(pd.query(Arg.DST));
    }

    /** A constant's values: its tensor, or its array as a tensor the program owns. */
    TensorImpl values(Operation.Constant c) {
        return c.tensor() != null ? c.tensor() : b.own(TensorImpl.of(c.values(), c.dims()));
    }

    /** Buffer {@code from} as {@code want}: itself, a view of it (another shape), or a reorder (another layout). */
    int fit(int from, MemoryDesc want) {
        MemoryDesc have = b.md(from);
        if (have.sameAs(want)) {
            return from;
        }
        if (have.dims().length != want.dims().length) {
            MemoryDesc v = have.reshape(want.dims());
            if (v != null && v.sameAs(want)) {
                return b.view(from, v);
            }
            if (v != null) {
                v.close();
            }
            throw new IllegalStateException("cannot see " + have + " as " + want);
        }
        for (Integer[] r : reorders) {
            if (r[0] == from && b.md(r[1]).sameAs(want)) {
                return r[1]; // another consumer already asked for this layout
            }
        }
        return reorder(from, want.copy(), "the layout oneDNN prefers for the next step");
    }

    private int reorder(int from, MemoryDesc to, String why) {
        int r = b.reorder(from, to, why);
        reorders.add(new Integer[] {from, r});
        if (int8.quantized(from) && to.dataType() == b.md(from).dataType()) {
            int8.sameStep(r, from); // another layout, the same int8 values
        }
        return r;
    }

    /** A row-major (4-D: NHWC) layout of {@code md}'s dims and type. */
    private static MemoryDesc plain(MemoryDesc md) {
        return inFormat(md.dims(), md.dataType(), md.dims().length == 4 ? Format.CHANNELS_LAST : Format.CONTIGUOUS);
    }

    /** The layout of {@code dims} in {@code format}, of {@code type}. */
    static MemoryDesc inFormat(long[] dims, DataType type, Format format) {
        return MemoryDesc.strided(dims, type, format.strides(dims));
    }

    /** A view of buffer {@code of} with {@code shape}, reordering to row-major first if its layout cannot be. */
    int view(int of, long[] shape) {
        MemoryDesc v = b.md(of).reshape(shape);
        if (v != null) {
            return b.view(of, v);
        }
        MemoryDesc md = b.md(of);
        long[] dims = md.dims();
        int rowMajor = reorder(of, inFormat(dims, md.dataType(), Format.CONTIGUOUS), "a layout that can change shape");
        return b.view(rowMajor, b.md(rowMajor).reshape(shape));
    }

    private void lowerAdd(Node n) {
        int x = int8.readable(n.in.get(0).buffer);
        int y = int8.readable(n.in.get(1).buffer);
        try (PrimitiveAttr attr = PrimitiveAttr.create().userScratchpad();
                MemoryDesc any = MemoryDesc.any(b.md(x).dims(), b.md(x).dataType())) {
            PrimitiveDesc pd = PrimitiveDesc.binary(Engine.cpu(), Algorithm.BINARY_ADD, b.md(x), b.md(y), any, attr);
            b.own(pd);
            int out = b.buffer(pd.query(Arg.DST));
            b.step(
                    n.name + " [" + b.md(x).layout() + " + " + b.md(y).layout() + "]",
                    pd,
                    Arg.SRC,
                    x,
                    Arg.SRC_1,
                    y,
                    Arg.DST,
                    out);
            n.out.buffer = out;
        }
    }

    /**
     * A general operation: its inputs as they are where its primitive reads them (else reordered once), its output
     * in the layout the primitive prefers; inputs it reads through a strided view (a permutation, a block) are made
     * row-major first.
     */
    private void lowerGraph(Node n) {
        GraphOp op = n.graph;
        int count = n.in.size();
        int[] buffers = new int[count];
        MemoryDesc[] srcs = new MemoryDesc[count];
        for (int i = 0; i < count; i++) {
            int buf = int8.readable(n.in.get(i).buffer);
            if (op.rowMajorInputs()) {
                // a view of the input as it lies when it is plain and starts at its buffer (NHWC included: no
                // round trip through row-major), else of a row-major copy
                MemoryDesc v = plainAndWhole(b.md(buf)) ? viewOrNull(op, i, b.md(buf)) : null;
                if (v == null) {
                    MemoryDesc md = b.md(buf);
                    long[] dims = md.dims();
                    MemoryDesc rowMajor = inFormat(dims, md.dataType(), Format.CONTIGUOUS);
                    if (!md.sameAs(rowMajor)) {
                        buf = reorder(buf, rowMajor, "a row-major layout for " + op.name());
                    } else {
                        rowMajor.close();
                    }
                    v = op.view(i, b.md(buf));
                }
                buf = v == b.md(buf) ? buf : b.view(buf, v);
            }
            buffers[i] = buf;
            srcs[i] = b.md(buf);
        }
        PrimitiveDesc pd;
        MemoryDesc copyDst =
                op instanceof CopyOp ? channelsLastDestination(n, int8.readable(n.in.getFirst().buffer)) : null;
        try (PrimitiveAttr attr = PrimitiveAttr.create().userScratchpad()) {
            try {
                pd = op.describe(srcs, copyDst, dt, attr);
            } catch (RuntimeException refused) {
                if (op.rowMajorInputs()) {
                    throw refused;
                }
                pd = null;
            }
            if (!op.rowMajorInputs() && (pd == null || pd.implementation().startsWith("ref"))) {
                // no kernel, or only oneDNN's reference loops, for these layouts (e.g. a broadcast operand in
                // another layout than the blocked one): read every input in its plain layout instead
                boolean changed = false;
                int[] plainBuffers = buffers.clone();
                MemoryDesc[] plainSrcs = srcs.clone();
                for (int i = 0; i < count; i++) {
                    MemoryDesc p = plain(b.md(buffers[i]));
                    if (b.md(buffers[i]).sameAs(p)) {
                        p.close();
                    } else {
                        plainBuffers[i] = reorder(buffers[i], p, "a plain layout " + op.name() + " has a kernel for");
                        plainSrcs[i] = b.md(plainBuffers[i]);
                        changed = true;
                    }
                }
                if (changed || pd == null) {
                    PrimitiveDesc plainPd = op.describe(plainSrcs, null, dt, attr);
                    if (pd != null) {
                        pd.close();
                    }
                    pd = plainPd;
                    buffers = plainBuffers;
                    srcs = plainSrcs;
                }
            }
        }
        b.own(pd);
        List<Object> args = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            args.add(op.inputArg(i));
            args.add(op.rowMajorInputs() ? buffers[i] : fit(buffers[i], pd.query(op.inputArg(i))));
        }
        int out = b.buffer(pd.query(Arg.DST));
        args.add(Arg.DST);
        args.add(out);
        for (Operation.Constant c : op.constants()) {
            TensorImpl values = values(c);
            args.add(c.arg());
            args.add(b.constant(pd.query(c.arg()), values, Layouts.of(c.dims(), values)));
        }
        b.step(
                n.name + " [" + srcs[0].layout() + " -> " + pd.query(Arg.DST).layout() + typeNote(pd) + "]",
                pd,
                args.toArray());
        int result = out;
        if (pd.query(Arg.DST).dims().length != n.out.shape().length) {
            result = view(out, n.out.shape());
        }
        n.out.buffer = result;
    }

    /** Whether {@code md} is a plain (strided, unblocked) layout that starts at its buffer, with no padding. */
    private static boolean plainAndWhole(MemoryDesc md) {
        long[] strides = md.strides();
        if (strides == null) {
            return false;
        }
        try (MemoryDesc bare = MemoryDesc.strided(md.dims(), md.dataType(), strides)) {
            return md.sameAs(bare);
        }
    }

    /** {@code op}'s view of input {@code i} as {@code md} lies, or null where it has none (a stepped regroup). */
    private static MemoryDesc viewOrNull(GraphOp op, int i, MemoryDesc md) {
        try {
            return op.view(i, md);
        } catch (IllegalStateException noView) {
            return null;
        }
    }

    /**
     * Where a copy that rearranges or selects the channels of a channels-last image (ShuffleNet's shuffle: a reshape
     * to (N, 2, C/2, H, W), a transpose and a reshape back; a split of the channels) writes: channels-last too, seen
     * in the copy's own dimensions, so that the convolutions and concatenations after it read it without a reorder.
     * Null (a row-major destination) for anything else: a copy whose result, through the reshapes that read it, is
     * not an image of the input's batch and pixels.
     */
    private MemoryDesc channelsLastDestination(Node n, int inputBuffer) {
        long[] image = channelsLastImage(inputBuffer);
        if (image == null) {
            return null;
        }
        // the shape the copy's result is read in: through reshapes (one per reader: all to the same shape)
        long[] target = n.out.shape();
        Value v = n.out;
        while (v != output && !v.users.isEmpty()) {
            Node r = v.users.getFirst();
            long[] s = r.out.shape();
            boolean allSame = v.users.stream()
                    .allMatch(u -> u.kind == Trace.Kind.RESHAPE && java.util.Arrays.equals(u.out.shape(), s));
            if (!allSame) {
                break;
            }
            v = r.out;
            target = s;
        }
        if (target.length != 4 || target[0] != image[0] || target[2] != image[2] || target[3] != image[3]) {
            return null;
        }
        try (MemoryDesc want = inFormat(target, b.md(inputBuffer).dataType(), Format.CHANNELS_LAST)) {
            MemoryDesc d = want.reshape(n.graph.outputShape());
            return d == null ? null : b.own(d);
        }
    }

    /** The (N, C, H, W) dims of a channels-last image that {@code buf} is, or is a view of; null if neither. */
    private long[] channelsLastImage(int buf) {
        for (int candidate : new int[] {buf, b.root(buf)}) {
            MemoryDesc md = b.md(candidate);
            long[] dims = md.dims();
            if (dims.length == 4) {
                try (MemoryDesc nhwc = inFormat(dims, md.dataType(), Format.CHANNELS_LAST)) {
                    if (md.sameAs(nhwc)) {
                        return dims;
                    }
                }
            }
        }
        return null;
    }

    /** The data types of a step (its first source's, its destination's), for its description: empty in float32. */
    static String typeNote(PrimitiveDesc pd) {
        MemoryDesc first = pd.query(Arg.SRC) != null ? pd.query(Arg.SRC) : pd.query(Arg.multipleSrc(0));
        DataType dst = pd.query(Arg.DST).dataType();
        DataType src = first == null ? dst : first.dataType();
        if (src == DataType.F32 && dst == DataType.F32) {
            return "";
        }
        String s = src.name().toLowerCase(java.util.Locale.ROOT);
        String d = dst.name().toLowerCase(java.util.Locale.ROOT);
        return ", " + (s.equals(d) ? s : s + " -> " + d);
    }

    private void lowerReshape(Node n) {
        n.out.buffer = view(n.in.getFirst().buffer, n.out.shape());
    }
}
