package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.dnnl.Arg;
import dev.onednn4j.internal.dnnl.Engine;
import dev.onednn4j.internal.dnnl.ExecArgs;
import dev.onednn4j.internal.dnnl.Memory;
import dev.onednn4j.internal.dnnl.MemoryDesc;
import dev.onednn4j.internal.dnnl.Primitive;
import dev.onednn4j.internal.dnnl.PrimitiveDesc;
import dev.onednn4j.internal.dnnl.Stream;
import dev.onednn4j.internal.dnnl.Threads;
import dev.onednn4j.internal.memory.TensorImpl;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A whole network's worth of primitives, run in order on one input: what a compiled module executes. Its buffers
 * are of three kinds: the caller's input and output tensors (bound on every call, never copied unless a layout
 * differs), planned buffers (every intermediate activation, placed by lifetime into one slab per execution context,
 * so that buffers whose lives do not overlap share memory), and views (another shape over a buffer's memory).
 * Constants (weights, in the layouts the primitives chose) are reordered once when the program is built and
 * belong to it. All primitives share one user-mode scratchpad per context.
 *
 * <p>Threads: everything but the contexts is read-only after {@link Builder#build}; a context (stream, slab,
 * scratchpad, memory objects and argument arrays) serves one call at a time and returns to a pool, so steady-state
 * calls allocate nothing, and concurrent calls each get their own.
 */
public final class Program implements AutoCloseable {
    private static final int POOL_SLOTS = 16;
    private static final long ALIGN = 64;

    private enum Kind {
        INPUT,
        OUTPUT,
        PLANNED,
        VIEW,
        /** A copy of an intermediate value kept whole after the call, for the caller to read: calibration. */
        PROBE
    }

    /** A buffer: its descriptor, kind, and once planned, its place in the slab; a view's base. */
    private static final class Buffer {
        final MemoryDesc md;
        final Kind kind;
        final int base; // for a view, the buffer it views (never itself a view)
        long offset = -1;
        int first = Integer.MAX_VALUE;
        int last = -1;

        Buffer(MemoryDesc md, Kind kind, int base) {
            this.md = md;
            this.kind = kind;
            this.base = base;
        }

        boolean external(List<Buffer> all) {
            Kind k = kind == Kind.VIEW ? all.get(base).kind : kind;
            return k == Kind.INPUT || k == Kind.OUTPUT;
        }
    }

    /** One primitive's execution: each argument a buffer (index) or a constant (memory). */
    @SuppressWarnings("ArrayRecordComponent") // built once, read by index, never compared
    private record Step(String description, Primitive primitive, Arg[] args, int[] buffers, Memory[] constants) {}

    private final Engine engine = Engine.cpu();
    private final String description;
    private final List<Buffer> buffers;
    private final Step[] steps;
    private final long slabBytes;
    private final long scratchpadBytes;
    private final long constantBytes;
    private final int threads;
    private final List<AutoCloseable> owned;
    private final AtomicReferenceArray<Context> idle = new AtomicReferenceArray<>(POOL_SLOTS);
    private final List<Context> contexts = new ArrayList<>();
    private boolean closed;

    private Program(Builder b, int threads) {
        this.description = b.notes.isEmpty() ? b.description : b.description + "\n" + String.join("\n", b.notes);
        this.buffers = b.buffers;
        this.steps = b.steps.toArray(new Step[0]);
        this.scratchpadBytes = b.scratchpadBytes;
        this.constantBytes = b.constantBytes;
        this.threads = threads;
        this.owned = b.owned;
        this.slabBytes = plan();
    }

    /**
     * Places every planned buffer in the slab: lifetimes from the steps that use them (a view extends its base's),
     * then largest first at the lowest offset that overlaps no buffer alive at the same time. Returns the slab size.
     */
    private long plan() {
        for (int s = 0; s < steps.length; s++) {
            for (int id : steps[s].buffers()) {
                if (id >= 0) {
                    Buffer b = buffers.get(id);
                    Buffer root = b.kind == Kind.VIEW ? buffers.get(b.base) : b;
                    root.first = Math.min(root.first, s);
                    root.last = Math.max(root.last, s);
                }
            }
        }
        List<Buffer> planned = new ArrayList<>();
        for (Buffer b : buffers) {
            if (b.kind == Kind.PLANNED && b.last >= 0) {
                planned.add(b);
            }
        }
        planned.sort(Comparator.comparingLong((Buffer b) -> -b.md.byteSize()));
        List<Buffer> placed = new ArrayList<>();
        long total = 0;
        for (Buffer b : planned) {
            long size = align(b.md.byteSize());
            List<Buffer> live = new ArrayList<>();
            for (Buffer p : placed) {
                if (p.first <= b.last && b.first <= p.last) {
                    live.add(p);
                }
            }
            live.sort(Comparator.comparingLong(p -> p.offset));
            long offset = 0;
            for (Buffer p : live) {
                if (offset + size <= p.offset) {
                    break;
                }
                offset = Math.max(offset, p.offset + align(p.md.byteSize()));
            }
            b.offset = offset;
            placed.add(b);
            total = Math.max(total, offset + size);
        }
        return total;
    }

    private static long align(long bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }

    // ---- building ------------------------------------------------------------------------------

    /** Starts a program; {@code description} names it in messages. */
    public static Builder builder(String description) {
        return new Builder(description);
    }

    /**
     * Declares buffers, constants and steps in execution order. Descriptors given to it become the program's; on
     * failure, {@link #abandon} frees everything.
     */
    public static final class Builder {
        private final String description;
        private final List<Buffer> buffers = new ArrayList<>();
        private final List<Step> steps = new ArrayList<>();
        private final List<AutoCloseable> owned = new ArrayList<>();
        private final List<String> notes = new ArrayList<>();
        private final Engine engine = Engine.cpu();
        private int input = -1;
        private int output = -1;
        private long scratchpadBytes;
        private long constantBytes;
        private Stream stream;

        private Builder(String description) {
            this.description = description;
        }

        /** Adds a line to the program's description (e.g. how its kernels were chosen). */
        public void note(String line) {
            notes.add(line);
        }

        /** Keeps {@code resource} alive as long as the program, and closes it with the program. */
        public <T extends AutoCloseable> T own(T resource) {
            owned.add(resource);
            return resource;
        }

        private int add(MemoryDesc md, Kind kind, int base) {
            buffers.add(new Buffer(md, kind, base));
            return buffers.size() - 1;
        }

        /** The caller's input tensor, laid out as {@code md} (owned from now on). */
        public int input(MemoryDesc md) {
            input = add(own(md), Kind.INPUT, -1);
            return input;
        }

        /** The caller's output tensor, laid out as {@code md} (owned from now on). */
        public int output(MemoryDesc md) {
            output = add(own(md), Kind.OUTPUT, -1);
            return output;
        }

        /** An intermediate buffer of {@code md}, which must outlive the program (a pd's, or owned). */
        public int buffer(MemoryDesc md) {
            return add(md, Kind.PLANNED, -1);
        }

        /**
         * A copy of buffer {@code from} as {@code to} (a plain float32 layout, owned from now on) that outlives the
         * call: {@link #runAndRead} returns it. Probes have their own memory, never shared with another buffer.
         */
        public int probe(int from, MemoryDesc to) {
            int p = add(own(to), Kind.PROBE, -1);
            reorderInto(from, p, "kept for calibration");
            return p;
        }

        /** Buffer {@code of}'s memory seen as {@code md} (same bytes; owned from now on). */
        public int view(int of, MemoryDesc md) {
            Buffer b = buffers.get(of);
            return add(own(md), Kind.VIEW, b.kind == Kind.VIEW ? b.base : of);
        }

        /** The descriptor of buffer {@code id}. */
        public MemoryDesc md(int id) {
            return buffers.get(id).md;
        }

        /** Which buffer a view sees, or the buffer itself. */
        public int root(int id) {
            Buffer b = buffers.get(id);
            return b.kind == Kind.VIEW ? b.base : id;
        }

        /** Whether buffer {@code id} is (a view of) the caller's input or output. */
        public boolean external(int id) {
            return buffers.get(id).external(buffers);
        }

        /**
         * A constant in the layout {@code target} (a pd's), filled now from {@code source}'s values laid out as
         * {@code sourceMd} (converting the data type where they differ).
         */
        public Memory constant(MemoryDesc target, TensorImpl source, MemoryDesc sourceMd) {
            own(sourceMd);
            Memory m = own(Memory.allocate(target, engine));
            constantBytes += target.byteSize();
            if (stream == null) {
                stream = own(Stream.create(engine));
            }
            // the source seen with the target's dims where they differ only in rank (a row-major reshape)
            MemoryDesc seen = sourceMd.dims().length != target.dims().length ? sourceMd.reshape(target.dims()) : null;
            MemoryDesc from = seen != null ? own(seen) : sourceMd;
            long stamp = source.pin();
            try (Memory in = Memory.over(from, engine, source.data());
                    PrimitiveDesc rpd = PrimitiveDesc.reorder(engine, from, target, null);
                    Primitive r = Primitive.create(rpd);
                    ExecArgs args = new ExecArgs(2).add(Arg.FROM, in).add(Arg.TO, m)) {
                r.execute(stream, args);
                stream.await();
            } finally {
                source.unpin(stamp);
            }
            return m;
        }

        /**
         * Runs {@code pd}'s primitive ({@code pd} must be {@linkplain #own owned}: buffers may use its descriptors)
         * with arguments given in pairs: an {@link Arg} and then either a buffer index ({@link Integer}) or a
         * constant ({@link Memory}).
         */
        public void step(String what, PrimitiveDesc pd, Object... args) {
            Primitive p = own(Primitive.create(pd));
            int n = args.length / 2;
            Arg[] a = new Arg[n];
            int[] b = new int[n];
            Memory[] c = new Memory[n];
            for (int i = 0; i < n; i++) {
                a[i] = (Arg) args[2 * i];
                Object v = args[2 * i + 1];
                if (v instanceof Integer id) {
                    b[i] = id;
                } else {
                    b[i] = -1;
                    c[i] = (Memory) v;
                }
            }
            scratchpadBytes = Math.max(scratchpadBytes, pd.scratchpadDesc().byteSize());
            steps.add(new Step(what + ": " + pd.implementation(), p, a, b, c));
        }

        /** Copies buffer {@code from} into a new buffer laid out as {@code to} (owned from now on); returns it. */
        public int reorder(int from, MemoryDesc to, String why) {
            int out = add(own(to), Kind.PLANNED, -1);
            reorderInto(from, out, why);
            return out;
        }

        /** Copies buffer {@code from} into buffer {@code to}, converting the layout (and data type). */
        public void reorderInto(int from, int to, String why) {
            PrimitiveDesc pd = own(PrimitiveDesc.reorder(engine, md(from), md(to), null));
            step(
                    "reorder " + md(from).layout() + " -> " + md(to).layout() + " (" + why + ")",
                    pd,
                    Arg.FROM,
                    from,
                    Arg.TO,
                    to);
        }

        /** The program, whose primitives run with {@code threads} OpenMP threads (0: the process setting). */
        public Program build(int threads) {
            if (input < 0 || output < 0) {
                throw new IllegalStateException("a program needs an input and an output");
            }
            return new Program(this, threads);
        }

        /** Frees everything built so far, after a failure. */
        public void abandon(Throwable failure) {
            Plan.closeAll(owned, failure);
        }
    }

    // ---- facts ---------------------------------------------------------------------------------

    /** Bytes one execution context holds: the planned activations and the scratchpad. */
    public long contextBytes() {
        return slabBytes + scratchpadBytes;
    }

    /** Bytes of constants (weights in the primitives' layouts), shared by all contexts. */
    public long constantBytes() {
        return constantBytes;
    }

    /** Primitives run per call, reorders included. */
    public int steps() {
        return steps.length;
    }

    /** Each step, one per line: what it computes, oneDNN's implementation, layouts. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(description);
        s.append(String.format(
                Locale.ROOT,
                "%n%d steps; activations %.1f MiB per concurrent call (planned by lifetime), scratchpad %.1f MiB, "
                        + "constants %.1f MiB",
                steps.length,
                slabBytes / 1048576.0,
                scratchpadBytes / 1048576.0,
                constantBytes / 1048576.0));
        for (int i = 0; i < steps.length; i++) {
            s.append(String.format(Locale.ROOT, "%n  %3d  %s", i, steps[i].description()));
        }
        return s.toString();
    }

    // ---- running -------------------------------------------------------------------------------

    /** Computes {@code out} from {@code in}: tensors of the shapes and layouts the program was built for. */
    public void run(TensorImpl in, TensorImpl out) {
        run(in, out, 1, null, null, null);
    }

    /**
     * Runs {@code runs} times as {@link #run} does, timing each step: milliseconds per run of every step, in order (a
     * CPU stream runs each primitive to its end before {@code execute} returns).
     */
    public double[] profile(TensorImpl in, TensorImpl out, int runs) {
        long[] nanos = new long[steps.length];
        run(in, out, runs, nanos, null, null);
        double[] ms = new double[steps.length];
        for (int i = 0; i < ms.length; i++) {
            ms[i] = nanos[i] / 1e6 / runs;
        }
        return ms;
    }

    /**
     * {@code runs} calls with both tensors pinned and one context; with {@code nanos}, each step's time added; with
     * {@code probes}, their values after the last call copied into {@code values}.
     */
    private void run(TensorImpl in, TensorImpl out, int runs, long[] nanos, int[] probes, float[][] values) {
        Threads.applyToCallingThread(threads);
        Context c = acquire();
        long inStamp = in.pin();
        try {
            long outStamp = out.pin();
            try {
                for (int r = 0; r < runs; r++) {
                    c.execute(in, out, nanos);
                }
            } finally {
                out.unpin(outStamp);
            }
            out.markModified();
            for (int i = 0; probes != null && i < probes.length; i++) {
                values[i] = c.memory[probes[i]].readFloats();
            }
        } finally {
            in.unpin(inStamp);
            release(c);
        }
    }

    /**
     * Computes {@code out} from {@code in} once and returns the values of the {@link Builder#probe probes} asked
     * for, in their order.
     */
    public float[][] runAndRead(TensorImpl in, TensorImpl out, int[] probes) {
        for (int p : probes) {
            if (buffers.get(p).kind != Kind.PROBE) {
                throw new IllegalArgumentException("buffer " + p + " is not a probe");
            }
        }
        float[][] values = new float[probes.length][];
        run(in, out, 1, null, probes, values);
        return values;
    }

    /**
     * What each step computes, in order, as {@link #toString()} lists them.
     *
     * @return one description per step
     */
    public List<String> stepDescriptions() {
        List<String> d = new ArrayList<>(steps.length);
        for (Step s : steps) {
            d.add(s.description());
        }
        return d;
    }

    private Context acquire() {
        for (int i = 0; i < POOL_SLOTS; i++) {
            Context c = idle.get(i);
            if (c != null && idle.compareAndSet(i, c, null)) {
                return c;
            }
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the compiled module is closed");
            }
            Context c = new Context();
            contexts.add(c);
            return c;
        }
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

    /** Frees everything. The caller makes sure no call is running (a module closes after its calls end). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Context c : contexts) {
            c.close();
        }
        contexts.clear();
        IllegalStateException failure = new IllegalStateException("closing " + description);
        Plan.closeAll(owned, failure);
        if (failure.getSuppressed().length > 0) {
            throw failure;
        }
    }

    /** What one call writes: never shared between two calls at once. */
    private final class Context implements AutoCloseable {
        final List<AutoCloseable> mine = new ArrayList<>();
        final Stream stream;
        final Memory[] memory = new Memory[buffers.size()];
        final ExecArgs[] args = new ExecArgs[steps.length];
        final int[] inputs; // buffers bound to the caller's input
        final int[] outputs; // and output

        Context() {
            try {
                stream = keep(Stream.create(engine));
                Memory slab = slabBytes > 0 ? keep(Memory.slab(slabBytes, engine)) : null;
                Memory scratchpad = scratchpadBytes > 0 ? keep(Memory.slab(scratchpadBytes, engine)) : null;
                List<Integer> in = new ArrayList<>();
                List<Integer> out = new ArrayList<>();
                for (int i = 0; i < buffers.size(); i++) {
                    Buffer b = buffers.get(i);
                    Buffer root = b.kind == Kind.VIEW ? buffers.get(b.base) : b;
                    if (root.kind == Kind.INPUT || root.kind == Kind.OUTPUT) {
                        memory[i] = keep(Memory.unbound(b.md, engine));
                        (root.kind == Kind.INPUT ? in : out).add(i);
                    } else if (root.kind == Kind.PROBE) {
                        memory[i] = keep(Memory.allocate(b.md, engine));
                    } else if (root.last >= 0) {
                        memory[i] = keep(Memory.within(slab, root.offset, b.md, engine));
                    }
                }
                inputs = in.stream().mapToInt(Integer::intValue).toArray();
                outputs = out.stream().mapToInt(Integer::intValue).toArray();
                for (int s = 0; s < steps.length; s++) {
                    Step step = steps[s];
                    ExecArgs a = keep(new ExecArgs(step.args().length + 1));
                    for (int k = 0; k < step.args().length; k++) {
                        a.add(step.args()[k], step.buffers()[k] >= 0 ? memory[step.buffers()[k]] : step.constants()[k]);
                    }
                    if (scratchpad != null) {
                        a.add(Arg.SCRATCHPAD, scratchpad);
                    }
                    args[s] = a;
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

        /** Runs every step; with {@code nanos}, adds each step's time to its element. */
        void execute(TensorImpl in, TensorImpl out, long[] nanos) {
            for (int i : inputs) {
                memory[i].bind(in.data());
            }
            for (int i : outputs) {
                memory[i].bind(out.data());
            }
            if (nanos == null) {
                for (int s = 0; s < steps.length; s++) {
                    steps[s].primitive().execute(stream, args[s]);
                }
                return;
            }
            for (int s = 0; s < steps.length; s++) {
                long t0 = System.nanoTime();
                steps[s].primitive().execute(stream, args[s]);
                stream.await();
                nanos[s] += System.nanoTime() - t0;
            }
        }

        @Override
        public void close() {
            IllegalStateException failure = new IllegalStateException("closing an execution context of " + description);
            Plan.closeAll(mine, failure);
            if (failure.getSuppressed().length > 0) {
                throw failure;
            }
        }
    }
}
