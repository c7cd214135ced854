package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.TensorAccess;
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
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/**
 * Everything oneDNN needs to run one primitive on tensors of given shapes and layouts, built once: the primitive
 * (with its post-ops), a reorder wherever the caller's layout differs from the one the primitive chose, constant
 * arguments (weights, statistics) reordered into the primitive's layout once and again whenever their
 * {@link Tensor#version()} changes, and a user-mode scratchpad.
 *
 * <p>The tensors of a call are of two kinds. <b>Runtime</b> tensors change from call to call (the input, the
 * output) and are passed to {@link #run}, numbered by slot. <b>Constants</b> belong to the layer (its weights) and
 * are given when the plan is built. Every tensor is pinned for the duration of a call (closing it waits), through
 * one helper, the {@link Context}.
 *
 * <p>Threads: the primitive, the reordered constants and the descriptors are shared and read-only. All that an
 * execution writes (stream, memory objects, scratchpad, reorder and padding buffers) lives in a {@link Context};
 * a context serves one execution at a time and returns to a pool of fixed slots after it, so steady-state
 * execution allocates nothing.
 *
 * <p>Lifetime: a plan is reference-counted. Its cache holds one reference, each running call another
 * ({@link #retain()} / {@link #release()}); it is destroyed when the last one is released, so evicting a plan
 * that calls are using frees it when they end.
 */
public final class Plan {

    private static final TensorAccess TENSORS = TensorAccess.get();
    /** Idle contexts; more concurrent callers than slots get contexts that are closed after their call. */
    private static final int POOL_SLOTS = 64;

    /** What a tensor argument is to the primitive. */
    enum Role {
        INPUT,
        OUTPUT,
        CONSTANT
    }

    /** One argument as the op declared it; the primitive's own layout is known once the descriptor exists. */
    private record Spec(Arg arg, Role role, int slot, Tensor constant, MemoryDesc user, Padder padder) {}

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
    private final Memory[] constantBuffers; // per binding: the reordered constant, or null
    private final long[] constantVersions;
    private final long scratchpadBytes;
    private final long bytes;
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
        this.constantBuffers = new Memory[specs.size()];
        this.constantVersions = new long[specs.size()];
        int maxSlot = -1;
        long constantBytes = 0;
        for (int i = 0; i < bindings.length; i++) {
            Spec s = specs.get(i);
            MemoryDesc prim = pd.query(s.arg());
            if (prim == null) {
                throw new IllegalStateException(s.arg() + " is not an argument of " + description);
            }
            boolean same = s.user() == null || s.user().sameAs(prim);
            Primitive reorder = null;
            if (!same) {
                reorder = track(
                        s.role() == Role.OUTPUT ? reorderPrimitive(prim, s.user()) : reorderPrimitive(s.user(), prim));
            }
            bindings[i] = new Binding(s, prim, reorder);
            if (s.role() == Role.CONSTANT) {
                constantVersions[i] = Long.MIN_VALUE;
                if (reorder != null) {
                    constantBuffers[i] = track(Memory.allocate(prim, engine));
                    constantBytes += prim.byteSize();
                }
            } else {
                maxSlot = Math.max(maxSlot, s.slot());
            }
        }
        this.slots = maxSlot + 1;
        this.scratchpadBytes = pd.scratchpadDesc().byteSize();
        this.bytes = constantBytes + contextBytes();
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
            LOG.log(System.Logger.Level.DEBUG, "plan built: {0}; {1} bytes", this, bytes);
        }
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

    private long contextBytes() {
        long b = scratchpadBytes;
        for (Binding x : bindings) {
            if (x.spec.role() != Role.CONSTANT && x.reorder != null) {
                b += x.primitiveMd.byteSize();
            }
            if (x.spec.padder() != null) {
                b += x.spec.user().byteSize();
            }
        }
        return b;
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
        public MemoryDesc constant(Arg arg, Tensor tensor, MemoryDesc user) {
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

    private static void closeAll(List<AutoCloseable> all, Throwable failure) {
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

    /** Native bytes the plan holds for one call: reordered constants, scratchpad, reorder and padding buffers. */
    public long bytes() {
        return bytes;
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
    public void run(Tensor t0, Tensor t1) {
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
    public void run(Tensor t0, Tensor t1, Tensor t2) {
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

    /** Reorders constant {@code i} into the primitive's layout: on first use and after every change. */
    private synchronized void refresh(int i, Tensor t, Stream stream) {
        long version = t.version();
        if (version == constantVersions[i]) {
            return;
        }
        Binding b = bindings[i];
        try (Memory from = Memory.over(b.spec.user(), engine, TENSORS.data(t));
                ExecArgs args = new ExecArgs(2).add(Arg.FROM, from).add(Arg.TO, constantBuffers[i])) {
            b.reorder.execute(stream, args);
        }
        constantVersions[i] = version;
    }

    /** What one execution writes, and the pins it holds: never shared between two executions at once. */
    private final class Context implements AutoCloseable {
        final List<AutoCloseable> mine = new ArrayList<>();
        final Stream stream;
        final Memory[] user = new Memory[bindings.length]; // the caller's tensor, rebound per call
        final ExecArgs[] reorderArgs = new ExecArgs[bindings.length];
        final ExecArgs args;
        final Tensor[] runtime = new Tensor[slots];
        final Tensor[] pinned = new Tensor[bindings.length + slots];
        final long[] stamps = new long[bindings.length + slots];
        int pins;

        Context() {
            try {
                stream = keep(Stream.create(engine));
                args = keep(new ExecArgs(bindings.length + 1));
                for (int i = 0; i < bindings.length; i++) {
                    Binding b = bindings[i];
                    Spec s = b.spec;
                    Memory prim;
                    if (s.role() == Role.CONSTANT) {
                        if (b.reorder != null) {
                            prim = constantBuffers[i];
                        } else {
                            prim = user[i] = keep(Memory.unbound(b.primitiveMd, engine));
                        }
                    } else if (s.padder() != null) {
                        user[i] = keep(Memory.allocate(s.user(), engine));
                        prim = b.reorder == null ? user[i] : keep(Memory.allocate(b.primitiveMd, engine));
                    } else {
                        user[i] = keep(Memory.unbound(s.user() == null ? b.primitiveMd : s.user(), engine));
                        prim = b.reorder == null ? user[i] : keep(Memory.allocate(b.primitiveMd, engine));
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
                    args.add(Arg.SCRATCHPAD, keep(Memory.allocate(pd.scratchpadDesc(), engine)));
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

        void bind(int slot, Tensor t) {
            if (slot < slots) {
                runtime[slot] = t;
            }
        }

        /** Pins every tensor of the call through this one place; each is unpinned by {@link #unpinAll}. */
        private void pin(Tensor t) {
            stamps[pins] = TENSORS.pin(t);
            pinned[pins++] = t;
        }

        void unpinAll() {
            while (pins > 0) {
                pins--;
                TENSORS.unpin(pinned[pins], stamps[pins]);
                pinned[pins] = null;
            }
            for (int i = 0; i < slots; i++) {
                runtime[i] = null;
            }
        }

        void execute() {
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
                        if (s.constant().version() != constantVersions[i]) {
                            refresh(i, s.constant(), stream);
                        }
                    } else {
                        user[i].bind(TENSORS.data(s.constant()));
                    }
                } else if (s.padder() != null) {
                    s.padder().pad(runtime[s.slot()], user[i]);
                } else {
                    user[i].bind(TENSORS.data(runtime[s.slot()]));
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
