package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_BIAS;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_DST;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_FROM;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_SCRATCHPAD;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_SRC;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_TO;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_WEIGHTS;
import static dev.onednn4j.bindings.dnnl_h.dnnl_f32;
import static dev.onednn4j.bindings.dnnl_h.dnnl_format_tag_any;

import dev.onednn4j.internal.ConvGeometry;
import dev.onednn4j.internal.TensorAccess;
import dev.onednn4j.nn.PaddingMode;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Everything oneDNN needs to run one convolution layer on one input shape and layout, built once:
 * the primitive (layouts chosen by oneDNN, {@code any}), the weights reordered into its layout, the
 * src/dst reorders where the caller's layouts differ from its choice, and a user-mode scratchpad.
 *
 * <p>Threads: the primitive, the reordered weights and the descriptors are shared and read-only. All that
 * an execution writes (stream, memory objects, scratchpad, reorder and padding buffers) lives in an
 * {@link Context}; a context serves one execution at a time and goes back to a pool after it, so that
 * steady-state execution allocates nothing (the pool is a fixed array of slots, not a queue of nodes).
 */
final class ConvPlan implements AutoCloseable {

    private static final TensorAccess TENSORS = TensorAccess.get();

    private final Engine engine = Engine.cpu();
    private final ConvGeometry g;
    private final Padder padder; // null for zero padding, which oneDNN does itself
    private final long[] srcUserStrides;
    private final long[] padStrides;
    private final MemoryDesc srcUserMd;
    private final MemoryDesc dstUserMd;
    private final MemoryDesc weightsUserMd;
    private final MemoryDesc biasMd;
    private final PrimitiveDesc pd;
    private final Primitive conv;
    private final Primitive srcReorder;
    private final Primitive dstReorder;
    private final Primitive weightsReorder;
    private final long scratchpadBytes;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment weights;
    private volatile long weightsVersion = -1;
    /** Idle contexts; more concurrent callers than slots get contexts that are closed after their call. */
    private static final int POOL_SLOTS = 64;
    private final AtomicReferenceArray<Context> idle = new AtomicReferenceArray<>(POOL_SLOTS);
    private final List<Context> contexts = new ArrayList<>();
    private final String description;
    private final String implementation;

    ConvPlan(ConvGeometry g, MemoryFormat inFormat, MemoryFormat outFormat) {
        this.g = g;
        List<AutoCloseable> built = new ArrayList<>();
        try {
            boolean explicitPad = g.paddingMode() != PaddingMode.ZEROS
                    && (g.padTop() | g.padBottom() | g.padLeft() | g.padRight()) != 0;
            padder = explicitPad ? new Padder(g) : null;
            long[] srcDims = explicitPad ? padder.paddedDims() : g.inputShape();
            srcUserStrides = inFormat.strides(g.inputShape());
            padStrides = inFormat.strides(srcDims);
            long[] dstDims = g.outputShape();
            srcUserMd = track(built, MemoryDesc.ofStrides(srcDims, dnnl_f32(), padStrides));
            dstUserMd = track(built, MemoryDesc.ofStrides(dstDims, dnnl_f32(), outFormat.strides(dstDims)));
            long[] wDims = g.groups() == 1 ? g.weightShape()
                    : new long[] {g.groups(), g.outC() / g.groups(), g.c() / g.groups(), g.kH(), g.kW()};
            weightsUserMd = track(built, MemoryDesc.ofStrides(wDims, dnnl_f32(), MemoryFormat.CONTIGUOUS.strides(wDims)));
            biasMd = g.bias() ? track(built, MemoryDesc.ofStrides(new long[] {g.outC()}, dnnl_f32(), new long[] {1}))
                    : null;

            // A channels-last caller gets its layout as is (no reorder); otherwise oneDNN chooses.
            boolean nhwcIn = inFormat == MemoryFormat.CHANNELS_LAST;
            boolean nhwcOut = outFormat == MemoryFormat.CHANNELS_LAST;
            try (MemoryDesc srcAny = MemoryDesc.ofTag(srcDims, dnnl_f32(), dnnl_format_tag_any());
                 MemoryDesc dstAny = MemoryDesc.ofTag(dstDims, dnnl_f32(), dnnl_format_tag_any());
                 MemoryDesc wAny = MemoryDesc.ofTag(wDims, dnnl_f32(), dnnl_format_tag_any());
                 PrimitiveAttr attr = PrimitiveAttr.create().userScratchpad()) {
                int padH = explicitPad ? 0 : 1;
                pd = track(built, PrimitiveDesc.convolution(engine, nhwcIn ? srcUserMd : srcAny, wAny, biasMd,
                        nhwcOut ? dstUserMd : dstAny, new long[] {g.strideH(), g.strideW()},
                        new long[] {g.dilationH() - 1, g.dilationW() - 1},
                        new long[] {padH * g.padTop(), padH * g.padLeft()},
                        new long[] {padH * g.padBottom(), padH * g.padRight()}, attr));
            }
            conv = track(built, Primitive.create(pd));
            srcReorder = srcUserMd.sameAs(pd.srcDesc()) ? null : track(built, reorder(srcUserMd, pd.srcDesc()));
            dstReorder = dstUserMd.sameAs(pd.dstDesc()) ? null : track(built, reorder(pd.dstDesc(), dstUserMd));
            weightsReorder = weightsUserMd.sameAs(pd.weightsDesc()) ? null
                    : track(built, reorder(weightsUserMd, pd.weightsDesc()));
            scratchpadBytes = pd.scratchpadDesc().byteSize();
            weights = arena.allocate(Math.max(pd.weightsDesc().byteSize(), 4), 64);
            implementation = pd.implementation();
            description = g + ", input " + inFormat + ", output " + outFormat + ", " + implementation;
        } catch (RuntimeException | Error e) {
            for (int i = built.size() - 1; i >= 0; i--) {
                try {
                    built.get(i).close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            arena.close();
            throw e;
        }
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> built, T t) {
        built.add(t);
        return t;
    }

    private Primitive reorder(MemoryDesc from, MemoryDesc to) {
        try (PrimitiveDesc rpd = PrimitiveDesc.reorder(engine, from, to, null)) {
            return Primitive.create(rpd);
        }
    }

    String implementation() {
        return implementation;
    }

    boolean reordersSource() {
        return srcReorder != null;
    }

    boolean reordersDestination() {
        return dstReorder != null;
    }

    long scratchpadBytes() {
        return scratchpadBytes;
    }

    /** Runs the convolution; the caller has pinned every tensor. */
    void execute(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        if (weight.version() != weightsVersion) {
            refreshWeights(weight);
        }
        Context ctx = acquire();
        try {
            ctx.run(x, bias, out);
        } finally {
            release(ctx);
        }
    }

    private Context acquire() {
        for (int i = 0; i < POOL_SLOTS; i++) {
            Context c = idle.get(i);
            if (c != null && idle.compareAndSet(i, c, null)) {
                return c;
            }
        }
        return newContext();
    }

    private void release(Context c) {
        for (int i = 0; i < POOL_SLOTS; i++) {
            if (idle.get(i) == null && idle.compareAndSet(i, null, c)) {
                return;
            }
        }
        synchronized (this) {
            contexts.remove(c);
        }
        c.close();
    }

    /** Reorders the weights into oneDNN's layout: on first use and after every change of the weights. */
    private synchronized void refreshWeights(Tensor weight) {
        long version = weight.version();
        if (version == weightsVersion) {
            return;
        }
        MemorySegment user = TENSORS.data(weight);
        if (weightsReorder == null) {
            MemorySegment.copy(user, 0, weights, 0, user.byteSize());
        } else {
            try (Arena a = Arena.ofConfined();
                 Stream s = Stream.create(engine);
                 Memory from = Memory.over(weightsUserMd, engine, user);
                 Memory to = Memory.over(pd.weightsDesc(), engine, weights)) {
                weightsReorder.execute(s, new ExecArgs(a, 2).add(DNNL_ARG_FROM(), from).add(DNNL_ARG_TO(), to));
            }
        }
        weightsVersion = version;
    }

    private synchronized Context newContext() {
        Context c = new Context();
        contexts.add(c);
        return c;
    }

    /** What one execution writes: never shared between two executions at the same time. */
    private final class Context implements AutoCloseable {
        final Arena ctxArena = Arena.ofShared();
        final List<AutoCloseable> owned = new ArrayList<>();
        final Stream stream;
        final Memory srcUser;
        final Memory dstUser;
        final Memory bias;
        final MemorySegment padded;
        final ExecArgs convArgs;
        final ExecArgs srcReorderArgs;
        final ExecArgs dstReorderArgs;

        Context() {
            try {
                stream = keep(Stream.create(engine));
                if (padder != null) {
                    padded = ctxArena.allocate(srcUserMd.byteSize(), 64);
                    srcUser = keep(Memory.over(srcUserMd, engine, padded));
                } else {
                    padded = null;
                    srcUser = keep(Memory.unbound(srcUserMd, engine));
                }
                dstUser = keep(Memory.unbound(dstUserMd, engine));
                bias = biasMd == null ? null : keep(Memory.unbound(biasMd, engine));
                Memory w = keep(Memory.over(pd.weightsDesc(), engine, weights));
                Memory src = srcReorder == null ? srcUser : keep(Memory.over(pd.srcDesc(), engine,
                        ctxArena.allocate(pd.srcDesc().byteSize(), 64)));
                Memory dst = dstReorder == null ? dstUser : keep(Memory.over(pd.dstDesc(), engine,
                        ctxArena.allocate(pd.dstDesc().byteSize(), 64)));
                convArgs = new ExecArgs(ctxArena, 5).add(DNNL_ARG_SRC(), src).add(DNNL_ARG_WEIGHTS(), w)
                        .add(DNNL_ARG_DST(), dst);
                if (bias != null) {
                    convArgs.add(DNNL_ARG_BIAS(), bias);
                }
                if (scratchpadBytes > 0) {
                    convArgs.add(DNNL_ARG_SCRATCHPAD(), keep(Memory.over(pd.scratchpadDesc(), engine,
                            ctxArena.allocate(scratchpadBytes, 64))));
                }
                srcReorderArgs = srcReorder == null ? null
                        : new ExecArgs(ctxArena, 2).add(DNNL_ARG_FROM(), srcUser).add(DNNL_ARG_TO(), src);
                dstReorderArgs = dstReorder == null ? null
                        : new ExecArgs(ctxArena, 2).add(DNNL_ARG_FROM(), dst).add(DNNL_ARG_TO(), dstUser);
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private <T extends AutoCloseable> T keep(T t) {
            owned.add(t);
            return t;
        }

        void run(Tensor x, Tensor b, Tensor out) {
            if (padder != null) {
                padder.pad(TENSORS.data(x), srcUserStrides, padded, padStrides);
            } else {
                srcUser.bind(TENSORS.data(x));
            }
            dstUser.bind(TENSORS.data(out));
            if (bias != null) {
                bias.bind(TENSORS.data(b));
            }
            if (srcReorder != null) {
                srcReorder.execute(stream, srcReorderArgs);
            }
            conv.execute(stream, convArgs);
            if (dstReorder != null) {
                dstReorder.execute(stream, dstReorderArgs);
            }
        }

        @Override
        public void close() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing a convolution context", e);
                }
            }
            owned.clear();
            ctxArena.close();
        }
    }

    @Override
    public String toString() {
        return description;
    }

    /** Frees everything; no execution may be running (the owning kernel guarantees it). */
    @Override
    public synchronized void close() {
        for (Context c : contexts) {
            c.close();
        }
        contexts.clear();
        for (int i = 0; i < POOL_SLOTS; i++) {
            idle.set(i, null);
        }
        for (AutoCloseable h : new AutoCloseable[] {weightsReorder, dstReorder, srcReorder, conv, pd, biasMd,
            weightsUserMd, dstUserMd, srcUserMd}) {
            if (h != null) {
                try {
                    h.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + description, e);
                }
            }
        }
        arena.close();
    }
}
