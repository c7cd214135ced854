package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.ExecArgs;
import dev.onednn4j.internal.dnnl.Memory;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.Padder;
import dev.onednn4j.internal.dnnl.PostOps;
import dev.onednn4j.internal.dnnl.Primitive;
import dev.onednn4j.internal.dnnl.PrimitiveAttr;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.dnnl.Stream;
import dev.onednn4j.internal.dnnl.Workspace;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/**
 * Everything oneDNN needs to run one primitive on tensors of given shapes and layouts, built once: the primitive
 * (with its post-ops), a reorder wherever the caller's layout differs from the one the primitive chose, constant
 * arguments (weights, statistics) reordered into the primitive's layout once and again whenever their
 * {@link TensorImpl#version()} changes (one copy per tensor and layout, shared by every plan that needs it: see
 * {@link SharedConstants}), and a user-mode scratchpad.
 *
 * <p>The tensors of a call are of two kinds. <b>Runtime</b> tensors change from call to call (the input, the
 * output) and are passed to {@link #run}, numbered by slot. <b>Constants</b> belong to the layer (its weights) and
 * are given when the plan is built. Every tensor is pinned for the duration of a call (closing it waits), through
 * one helper, the {@link Context}.
 *
 * <p>Memory: what a plan keeps is its primitives and its share of the reordered constants. What a call writes and
 * nobody keeps (scratchpad, reorder and padding buffers) lies in a {@link Workspace} borrowed for the call from a
 * process-wide pool: the memory of temporaries scales with the calls running at once, not with the plans cached.
 *
 * <p>Threads: the primitive, the reordered constants and the descriptors are shared and read-only. All that an
 * execution writes lives in a {@link Context} (stream, memory objects) and in its workspace; a context serves one
 * execution at a time and returns to a pool of fixed slots after it, and a call gets back the workspace it had
 * last, so steady-state execution allocates nothing and rebinds nothing.
 *
 * <p>Lifetime: a plan is reference-counted. Its cache holds one reference, each running call another
 * ({@link #retain()} / {@link #release()}); it is destroyed when the last one is released, so evicting a plan
 * that calls are using frees it when they end.
 */
public final class Plan {
    /** Idle contexts; more concurrent callers than slots get contexts that are closed after their call. */
    private static final int POOL_SLOTS = 64;

    /** What a tensor argument is to the primitive. */
    enum Role {
        INPUT,
        OUTPUT,
        CONSTANT
    }

    /** One argument as the op declared it; the primitive's own layout is known once the descriptor exists. */
    private record Spec(Arg arg, Role role, int slot, TensorImpl constant, MemoryDesc user, Padder padder) {}

    /** One argument with what the plan built for it. */
    private static final class Binding {
        final Spec spec;
        final MemoryDesc primitiveMd; // borrowed from the pd
        final Primitive reorder; // null when the user layout is the primitive's

        Binding(Spec spec, MemoryDesc primitiveMd, Primitive reorder) {
            this.spec = spec;
            this.primitiveMd = primitiveMd;
            this.reorder = reorder;
        }
    }

    private final Engine engine = Engine.cpu();
    private final String description;
    private final PrimitiveDesc pd;
    private final Primitive primitive;
    private final Binding[] bindings;
    private final int slots;
    private final SharedConstants.Reordered[] constants; // per binding: the reordered constant, or null
    private final long scratchpadBytes;
    private final long bytes;
    /** Per binding, where in the workspace its buffers lie: the primitive-layout one, the padded one; -1 if none. */
    private final long[] primOffset;

    private final long[] padOffset;
    private final long scratchpadOffset;
    private final long workspaceBytes;
    private final List<AutoCloseable> owned;
    private final AtomicReferenceArray<Context> idle = new AtomicReferenceArray<>(POOL_SLOTS);
    private final List<Context> contexts = new ArrayList<>();
    private final AtomicInteger references = new AtomicInteger(1);
    private final String implementation;
    private static final System.Logger LOG = System.getLogger("dev.onednn4j");

    private Plan(String description, PrimitiveDesc pd, List<Spec> specs, List<AutoCloseable> owned) {
        this.description = description;
        this.pd = pd;
        this.owned = owned;
        this.primitive = track(Primitive.create(pd));
        this.implementation = pd.implementation();
        this.bindings = new Binding[specs.size()];
        this.constants = new SharedConstants.Reordered[specs.size()];
        this.primOffset = new long[specs.size()];
        this.padOffset = new long[specs.size()];
        int maxSlot = -1;
        long constantBytes = 0;
        long workspace = 0;
        for (int i = 0; i < bindings.length; i++) {
            Spec s = specs.get(i);
            MemoryDesc prim = pd.query(s.arg());
            if (prim == null) {
                throw new IllegalStateException(s.arg() + " is not an argument of " + description);
            }
            boolean same = s.user() == null || s.user().sameBytesAs(prim);
            Primitive reorder = null;
            if (!same) {
                reorder = track(
                        s.role() == Role.OUTPUT ? reorderPrimitive(prim, s.user()) : reorderPrimitive(s.user(), prim));
            }
            bindings[i] = new Binding(s, prim, reorder);
            primOffset[i] = -1;
            padOffset[i] = -1;
            if (s.role() == Role.CONSTANT) {
                if (reorder != null) {
                    SharedConstants.Reordered r = SharedConstants.acquire(s.constant(), prim, engine);
                    owned.add(() -> SharedConstants.release(r));
                    constants[i] = r;
                    constantBytes += r.bytes;
                }
            } else {
                maxSlot = Math.max(maxSlot, s.slot());
                if (s.padder() != null) {
                    padOffset[i] = workspace;
                    workspace = pageAligned(workspace + s.user().byteSize());
                }
                if (reorder != null) {
                    primOffset[i] = workspace;
                    workspace = pageAligned(workspace + prim.byteSize());
                }
            }
        }
        this.slots = maxSlot + 1;
        this.scratchpadBytes = pd.scratchpadDesc().byteSize();
        this.scratchpadOffset = scratchpadBytes > 0 ? workspace : -1;
        this.workspaceBytes = workspace + scratchpadBytes;
        this.bytes = constantBytes;
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "plan built: {0}; {1} bytes of reordered constants, {2} bytes of workspace per call",
                    this,
                    bytes,
                    workspaceBytes);
        }
    }

    private static long pageAligned(long offset) {
        return (offset + Workspace.ALIGNMENT - 1) & -Workspace.ALIGNMENT;
    }

    private <T extends AutoCloseable> T track(T t) {
        owned.add(t);
        return t;
    }

    private Primitive reorderPrimitive(MemoryDesc from, MemoryDesc to) {
        try (PrimitiveDesc rpd = PrimitiveDesc.reorder(engine, from, to, null)) {
            return Primitive.create(rpd);
        }
    }

    // ---- building ------------------------------------------------------------------------------

    /** Starts a plan; {@code description} names the operation and shapes in messages. */
    public static Builder builder(String description) {
        return new Builder(description);
    }

    /**
     * Declares a primitive's tensor arguments, then {@linkplain #build builds} the primitive descriptor with
     * attributes that carry a user-mode scratchpad and the given post-ops. Memory descriptors handed to the
     * builder belong to it (and then to the plan); on failure everything is freed.
     */
    public static final class Builder {
        private final String description;
        private final List<Spec> specs = new ArrayList<>();
        private final List<AutoCloseable> owned = new ArrayList<>();
        private PostOps postOps;

        private Builder(String description) {
            this.description = description;
        }

        private MemoryDesc add(Spec s) {
            specs.add(s);
            if (s.user() != null) {
                owned.add(s.user());
            }
            return s.user();
        }

        /**
         * Runtime tensor number {@code slot} is read as {@code arg}, laid out as {@code user} (null: already in
         * the primitive's layout). Returns {@code user}.
         */
        public MemoryDesc input(Arg arg, int slot, MemoryDesc user) {
            return add(new Spec(arg, Role.INPUT, slot, null, user, null));
        }

        /**
         * Runtime tensor number {@code slot} is padded by {@code padder} into a buffer laid out as {@code padded},
         * which the primitive reads as {@code arg}. Returns {@code padded}.
         */
        public MemoryDesc paddedInput(Arg arg, int slot, MemoryDesc padded, Padder padder) {
            return add(new Spec(arg, Role.INPUT, slot, null, padded, padder));
        }

        /** Runtime tensor number {@code slot} receives {@code arg}, laid out as {@code user}. Returns {@code user}. */
        public MemoryDesc output(Arg arg, int slot, MemoryDesc user) {
            return add(new Spec(arg, Role.OUTPUT, slot, null, user, null));
        }

        /** {@code tensor}, laid out as {@code user}, is {@code arg} of every call. Returns {@code user}. */
        public MemoryDesc constant(Arg arg, TensorImpl tensor, MemoryDesc user) {
            return add(new Spec(arg, Role.CONSTANT, -1, tensor, user, null));
        }

        /** Fuses {@code postOps}, which the builder now owns. */
        public Builder postOps(PostOps postOps) {
            owned.add(postOps);
            this.postOps = postOps;
            return this;
        }

        /** Something the plan owns, closed when it is destroyed (e.g. a constant tensor it computed itself). */
        public <T extends AutoCloseable> T owned(T resource) {
            owned.add(resource);
            return resource;
        }

        /** A descriptor the builder owns until the plan is built (e.g. an {@code any} layout): freed after. */
        public MemoryDesc temporary(MemoryDesc md) {
            temporaries.add(md);
            return md;
        }

        private final List<MemoryDesc> temporaries = new ArrayList<>();

        /** Creates the primitive descriptor through {@code descriptor} and everything the plan needs. */
        public Plan build(Function<PrimitiveAttr, PrimitiveDesc> descriptor) {
            List<AutoCloseable> all = new ArrayList<>(owned);
            try {
                PrimitiveDesc pd;
                try (PrimitiveAttr attr = PrimitiveAttr.create().userScratchpad()) {
                    if (postOps != null) {
                        attr.postOps(postOps);
                    }
                    pd = descriptor.apply(attr);
                }
                all.add(pd);
                return new Plan(description, pd, specs, all);
            } catch (RuntimeException | Error e) {
                closeAll(all, e);
                throw e;
            } finally {
                for (MemoryDesc t : temporaries) {
                    t.close();
                }
            }
        }
    }

    /** Closes {@code all} in reverse order, adding what their closing throws to {@code failure}. */
    static void closeAll(List<AutoCloseable> all, Throwable failure) {
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (Exception suppressed) {
                failure.addSuppressed(suppressed);
            }
        }
    }

    // ---- facts ---------------------------------------------------------------------------------

    /** The implementation oneDNN picked, e.g. {@code brg_conv_fwd:avx2}. */
    public String implementation() {
        return implementation;
    }

    /** Whether runtime tensor {@code slot} is padded in Java into a buffer before every call. */
    public boolean padsInJava(int slot) {
        for (Binding b : bindings) {
            if (b.spec.slot() == slot && b.spec.role() != Role.CONSTANT) {
                return b.spec.padder() != null;
            }
        }
        throw new IllegalArgumentException("no runtime slot " + slot + " in " + description);
    }

    /** Whether runtime tensor {@code slot} is reordered (in or out) around the primitive on every call. */
    public boolean reorders(int slot) {
        for (Binding b : bindings) {
            if (b.spec.slot() == slot && b.spec.role() != Role.CONSTANT) {
                return b.reorder != null;
            }
        }
        throw new IllegalArgumentException("no runtime slot " + slot + " in " + description);
    }

    /** Bytes of scratchpad each concurrent call uses. */
    public long scratchpadBytes() {
        return scratchpadBytes;
    }

    /**
     * Native bytes of the reordered constants the plan uses (a copy shared with other plans counts in each); what
     * its calls write lies in a borrowed workspace (see {@link #workspaceBytes()}), its primitives' generated code
     * is oneDNN's and not counted.
     */
    public long bytes() {
        return bytes;
    }

    /** Bytes of workspace each call borrows: scratchpad, reorder and padding buffers. */
    public long workspaceBytes() {
        return workspaceBytes;
    }

    /** The reordered constants this plan shares, or null for constants it reads in place; per binding. */
    SharedConstants.Reordered[] constants() {
        return constants;
    }

    /**
     * The operation, the implementation and each argument's layout, e.g.
     * {@code ... : brg_conv_fwd:avx2, src acdb, weights Acdb8a (from abcd), dst acdb}.
     */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(description).append(": ").append(implementation);
        for (Binding b : bindings) {
            s.append(", ").append(b.spec.arg()).append(' ').append(b.primitiveMd.layout());
            if (b.reorder != null) {
                s.append(b.spec.role() == Role.OUTPUT ? " (to " : " (from ")
                        .append(b.spec.user().layout())
                        .append(')');
            }
            if (b.spec.padder() != null) {
                s.append(" (padded in Java)");
            }
        }
        return s.toString();
    }

    // ---- lifetime ------------------------------------------------------------------------------

    /** Takes a reference for a call; false if the plan is already destroyed (evicted and idle). */
    public boolean retain() {
        for (; ; ) {
            int r = references.get();
            if (r == 0) {
                return false;
            }
            if (references.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /** Drops a reference; the last one destroys the plan. */
    public void release() {
        if (references.decrementAndGet() == 0) {
            destroy();
        }
    }

    private synchronized void destroy() {
        for (Context c : contexts) {
            c.close();
        }
        contexts.clear();
        for (int i = 0; i < POOL_SLOTS; i++) {
            idle.set(i, null);
        }
        IllegalStateException failure = new IllegalStateException("closing " + description);
        closeAll(owned, failure);
        if (failure.getSuppressed().length > 0) {
            throw failure;
        }
    }

    // ---- running -------------------------------------------------------------------------------

    /** Runs with runtime tensors {@code t0} and {@code t1} (e.g. input and output). Allocates nothing. */
    public void run(TensorImpl t0, TensorImpl t1) {
        Context c = acquire();
        try {
            c.bind(0, t0);
            c.bind(1, t1);
            c.execute();
        } finally {
            c.unpinAll();
            release(c);
        }
    }

    /** Runs with runtime tensors {@code t0}, {@code t1} and {@code t2} (e.g. two inputs and the output). */
    public void run(TensorImpl t0, TensorImpl t1, TensorImpl t2) {
        Context c = acquire();
        try {
            c.bind(0, t0);
            c.bind(1, t1);
            c.bind(2, t2);
            c.execute();
        } finally {
            c.unpinAll();
            release(c);
        }
    }

    /** Runs with runtime tensors {@code t} in slot order (e.g. the inputs of a concatenation, then the output). */
    public void run(TensorImpl... t) {
        Context c = acquire();
        try {
            for (int i = 0; i < t.length; i++) {
                c.bind(i, t[i]);
            }
            c.execute();
        } finally {
            c.unpinAll();
            release(c);
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

    private synchronized Context newContext() {
        Context c = new Context();
        contexts.add(c);
        return c;
    }

    /**
     * Reorders constant {@code i} into the primitive's layout: on first use and after every change (unless another
     * plan sharing the copy just did). A file-backed constant is read through a Java copy (see
     * {@link Context#readable}).
     */
    private void refresh(int i, TensorImpl t, Stream stream) {
        TensorImpl src = t.fileBacked() ? t.stage() : t;
        try {
            constants[i].refresh(bindings[i].reorder, bindings[i].spec.user(), src, engine, stream);
        } finally {
            if (src != t) {
                src.close();
            }
        }
    }

    /** What one execution writes, and the pins it holds: never shared between two executions at once. */
    private final class Context implements AutoCloseable {
        final List<AutoCloseable> mine = new ArrayList<>();
        final Stream stream;
        final Memory[] user = new Memory[bindings.length]; // the caller's tensor, rebound per call
        final ExecArgs[] reorderArgs = new ExecArgs[bindings.length];
        final ExecArgs args;
        /** Memory objects over the workspace, and where each lies in it; the scratchpad's among them. */
        final Memory[] temps;

        final long[] tempOffsets;
        int tempCount;
        /** The workspace of the last call, asked back first so that the temporaries stay bound. */
        Workspace lastWorkspace;

        final TensorImpl[] runtime = new TensorImpl[slots];
        final TensorImpl[] pinned = new TensorImpl[bindings.length + slots];
        final long[] stamps = new long[bindings.length + slots];
        int pins;
        /** Java copies of file-backed tensors that this call reads (or writes) instead of the mapping; usually none. */
        final List<TensorImpl> staged = new ArrayList<>(0);
        /** Per runtime slot: the staged copy an output is written to, copied back after the call; usually null. */
        final TensorImpl[] stagedOutputs = new TensorImpl[slots];

        Context() {
            temps = new Memory[2 * bindings.length + 1];
            tempOffsets = new long[temps.length];
            try {
                stream = keep(Stream.create(engine));
                args = keep(new ExecArgs(bindings.length + 1));
                for (int i = 0; i < bindings.length; i++) {
                    Binding b = bindings[i];
                    Spec s = b.spec;
                    Memory prim;
                    if (s.role() == Role.CONSTANT) {
                        if (b.reorder != null) {
                            prim = constants[i].buffer;
                        } else {
                            prim = user[i] = keep(Memory.unbound(b.primitiveMd, engine));
                        }
                    } else if (s.padder() != null) {
                        user[i] = temp(s.user(), padOffset[i]);
                        if (b.reorder != null) {
                            prim = temp(b.primitiveMd, primOffset[i]);
                        } else { // the same bytes, seen as the primitive sees them where the dims differ
                            prim = s.user().sameAs(b.primitiveMd) ? user[i] : temp(b.primitiveMd, padOffset[i]);
                        }
                    } else {
                        user[i] = keep(Memory.unbound(b.reorder == null ? b.primitiveMd : s.user(), engine));
                        prim = b.reorder == null ? user[i] : temp(b.primitiveMd, primOffset[i]);
                    }
                    if (s.role() != Role.CONSTANT && b.reorder != null) {
                        reorderArgs[i] = keep(new ExecArgs(2));
                        if (s.role() == Role.OUTPUT) {
                            reorderArgs[i].add(Arg.FROM, prim).add(Arg.TO, user[i]);
                        } else {
                            reorderArgs[i].add(Arg.FROM, user[i]).add(Arg.TO, prim);
                        }
                    }
                    args.add(s.arg(), prim);
                }
                if (scratchpadBytes > 0) {
                    args.add(Arg.SCRATCHPAD, temp(pd.scratchpadDesc(), scratchpadOffset));
                }
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private <T extends AutoCloseable> T keep(T t) {
            mine.add(t);
            return t;
        }

        /** A memory object of {@code md} over the workspace at {@code offset}, bound at each call. */
        private Memory temp(MemoryDesc md, long offset) {
            Memory m = keep(Memory.unbound(md, engine));
            temps[tempCount] = m;
            tempOffsets[tempCount++] = offset;
            return m;
        }

        void bind(int slot, TensorImpl t) {
            if (slot < slots) {
                runtime[slot] = t;
            }
        }

        /** Pins every tensor of the call through this one place; each is unpinned by {@link #unpinAll}. */
        private void pin(TensorImpl t) {
            stamps[pins] = t.pin();
            pinned[pins++] = t;
        }

        /**
         * What native code may read for {@code t}: {@code t} itself, or for a tensor whose memory maps a file, a Java
         * copy of it. Native code never touches a mapping: if the file shrinks, a native read of a page it no longer
         * has is a SIGBUS that kills the JVM, where the Java copy gets an exception naming the file.
         */
        TensorImpl readable(TensorImpl t) {
            if (!t.fileBacked()) {
                return t;
            }
            TensorImpl copy = t.stage();
            staged.add(copy);
            return copy;
        }

        void unpinAll() {
            if (!staged.isEmpty()) {
                for (TensorImpl t : staged) {
                    t.close();
                }
                staged.clear();
                java.util.Arrays.fill(stagedOutputs, null);
            }
            while (pins > 0) {
                pins--;
                pinned[pins].unpin(stamps[pins]);
                pinned[pins] = null;
            }
            for (int i = 0; i < slots; i++) {
                runtime[i] = null;
            }
        }

        void execute() {
            Workspace w = workspaceBytes == 0 ? null : Workspace.acquire(workspaceBytes, lastWorkspace);
            try {
                if (w != null) {
                    for (int k = 0; k < tempCount; k++) {
                        temps[k].bindAt(w, tempOffsets[k]);
                    }
                    lastWorkspace = w;
                }
                executeIn();
            } finally {
                if (w != null) {
                    Workspace.release(w);
                }
            }
        }

        private void executeIn() {
            for (int i = 0; i < slots; i++) {
                pin(runtime[i]);
            }
            for (int i = 0; i < bindings.length; i++) {
                Spec s = bindings[i].spec;
                if (s.role() == Role.CONSTANT) {
                    pin(s.constant());
                }
            }
            for (int i = 0; i < bindings.length; i++) {
                Binding b = bindings[i];
                Spec s = b.spec;
                if (s.role() == Role.CONSTANT) {
                    if (b.reorder != null) {
                        if (!constants[i].current()) {
                            refresh(i, s.constant(), stream);
                        }
                    } else {
                        user[i].bind(readable(s.constant()).data());
                    }
                } else if (s.padder() != null) {
                    s.padder().pad(readable(runtime[s.slot()]), user[i]);
                } else if (s.role() == Role.OUTPUT && runtime[s.slot()].fileBacked()) {
                    TensorImpl out = readable(runtime[s.slot()]);
                    stagedOutputs[s.slot()] = out;
                    user[i].bind(out.data());
                } else {
                    user[i].bind(readable(runtime[s.slot()]).data());
                }
            }
            for (int i = 0; i < bindings.length; i++) {
                Binding b = bindings[i];
                if (b.reorder != null && b.spec.role() == Role.INPUT) {
                    b.reorder.execute(stream, reorderArgs[i]);
                }
            }
            primitive.execute(stream, args);
            for (int i = 0; i < bindings.length; i++) {
                Binding b = bindings[i];
                if (b.spec.role() == Role.OUTPUT) {
                    if (b.reorder != null) {
                        b.reorder.execute(stream, reorderArgs[i]);
                    }
                    TensorImpl staging = stagedOutputs[b.spec.slot()];
                    if (staging != null) {
                        runtime[b.spec.slot()].unstage(staging); // in Java: a fault becomes an exception
                    }
                    // a write like any other: a layer holding a derived copy of this tensor (reordered
                    // weights) must see it
                    runtime[b.spec.slot()].markModified();
                }
            }
        }

        @Override
        public void close() {
            IllegalStateException failure = new IllegalStateException("closing an execution context of " + description);
            closeAll(mine, failure);
            mine.clear();
            if (failure.getSuppressed().length > 0) {
                throw failure;
            }
        }
    }
}
