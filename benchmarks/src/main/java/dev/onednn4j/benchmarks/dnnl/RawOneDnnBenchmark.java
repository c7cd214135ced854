package dev.onednn4j.benchmarks.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_BIAS;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_DST;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_FROM;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_SCRATCHPAD;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_SRC;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_TO;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_WEIGHTS;
import static dev.onednn4j.bindings.dnnl_h.dnnl_aBcd16b;
import static dev.onednn4j.bindings.dnnl_h.dnnl_aBcd8b;
import static dev.onednn4j.bindings.dnnl_h.dnnl_blocked;
import static dev.onednn4j.bindings.dnnl_h.dnnl_convolution_direct;
import static dev.onednn4j.bindings.dnnl_h.dnnl_convolution_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu;
import static dev.onednn4j.bindings.dnnl_h.dnnl_engine_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_engine_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_f32;
import static dev.onednn4j.bindings.dnnl_h.dnnl_format_tag_any;
import static dev.onednn4j.bindings.dnnl_h.dnnl_forward_inference;
import static dev.onednn4j.bindings.dnnl_h.dnnl_goihw;
import static dev.onednn4j.bindings.dnnl_h.dnnl_last_impl_reached;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_clone;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_create_with_tag;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_equal;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_get_size;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_query;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_nchw;
import static dev.onednn4j.bindings.dnnl_h.dnnl_nhwc;
import static dev.onednn4j.bindings.dnnl_h.dnnl_oihw;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_next_impl;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_query;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_query_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_execute;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_dst_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_format_kind;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_impl_info_str;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_inner_blks;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_inner_idxs;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_inner_nblks_s32;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_ndims_s32;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_scratchpad_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_src_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_strides;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_weights_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_reorder_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_status2str;
import static dev.onednn4j.bindings.dnnl_h.dnnl_stream_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_stream_default_flags;
import static dev.onednn4j.bindings.dnnl_h.dnnl_stream_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_stream_wait;
import static dev.onednn4j.bindings.dnnl_h.dnnl_success;
import static dev.onednn4j.bindings.dnnl_h.dnnl_x;

import dev.onednn4j.benchmarks.Shape;
import dev.onednn4j.benchmarks.Suite;
import dev.onednn4j.benchmarks.Workload;
import dev.onednn4j.bindings.dnnl_exec_arg_t;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The ceiling: oneDNN called through the generated bindings alone, no onednn4j in between. Default scratchpad mode;
 * one stream; one thread calling.
 *
 * <p>oneDNN's first choice: the primitive picks its layouts ({@code any}); input and weights are reordered into them
 * once, in setup. {@code executeOnly} times the convolution alone (what a channels-last caller can reach);
 * {@code withReorders} adds the reorder of an NCHW input in and of the output back to NCHW (what an NCHW caller can
 * reach).
 *
 * <p>The best raw oneDNN implementation for a layout pair, reorders included: {@code bestNchw} for a caller whose
 * input and output are NCHW, {@code bestChannelsLast} for NHWC. Setup walks every implementation oneDNN offers
 * ({@code dnnl_primitive_desc_next_impl}, reference ones left out) for several layout requests (the caller's layout,
 * {@code any}, nhwc, channels in blocks of 16 and of 8, and the caller's on one side with {@code any} on the other;
 * weights {@code any}), times each
 * with the reorders its layouts need from and to the caller's, keeps the fastest and prints it; the benchmark runs
 * it: reorder in, convolution, reorder out, each where needed.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class RawOneDnnBenchmark {

    private Handles h;
    private MemorySegment conv;
    private MemorySegment srcReorder;
    private MemorySegment dstReorder;
    private MemorySegment convArgs;
    private MemorySegment srcReorderArgs;
    private MemorySegment dstReorderArgs;

    @Setup
    public void setup(Suite suite) {
        Shape s = suite.shape();
        Workload d = Workload.of(s);
        h = Handles.open();
        User u = new User(h, s, d, false);
        MemorySegment p = h.out();
        ok(
                h.convolution(
                        p,
                        s,
                        h.md(dnnl_format_tag_any(), s.inputShape()),
                        h.md(dnnl_format_tag_any(), u.wDims),
                        u.biasMd,
                        h.md(dnnl_format_tag_any(), s.outputShape())),
                "dnnl_convolution_forward_primitive_desc_create");
        MemorySegment pd = p.get(C_POINTER, 0);
        // descriptors queried from the pd belong to it: use them before the pd goes with primitive()
        MemorySegment srcMd = query(pd, dnnl_query_src_md());
        MemorySegment wMd = query(pd, dnnl_query_weights_md());
        MemorySegment dstMd = query(pd, dnnl_query_dst_md());

        MemorySegment src = h.memory(srcMd);
        MemorySegment w = h.reordered(u.w, u.wMd, wMd);
        MemorySegment dst = h.memory(dstMd);
        srcReorder = h.reorder(u.srcMd, srcMd);
        dstReorder = h.reorder(dstMd, u.dstMd);
        conv = h.primitive(pd);

        srcReorderArgs = h.reorderArgs(u.src, src);
        dstReorderArgs = h.reorderArgs(dst, u.dst);
        convArgs = h.args(
                List.of(DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_BIAS(), DNNL_ARG_DST()),
                List.of(src, w, u.bias, dst));
        withReorders();
        d.check("raw oneDNN", u.output());
    }

    /** The convolution alone, input and weights already in the primitive's layouts. */
    @Benchmark
    public void executeOnly() {
        h.run(conv, convArgs);
    }

    /** NCHW in, NCHW out: reorder the input in, convolve, reorder the output back. */
    @Benchmark
    public void withReorders() {
        h.run(srcReorder, srcReorderArgs);
        h.run(conv, convArgs);
        h.run(dstReorder, dstReorderArgs);
    }

    /** NCHW in, NCHW out: the fastest raw oneDNN implementation with the reorders its layouts need. */
    @Benchmark
    public void bestNchw(BestNchw s) {
        s.best.run();
    }

    /** NHWC in, NHWC out: the fastest raw oneDNN implementation with the reorders its layouts need. */
    @Benchmark
    public void bestChannelsLast(BestChannelsLast s) {
        s.best.run();
    }

    @TearDown
    public void tearDown() {
        h.close();
    }

    /** The best for NCHW input and output: chosen only in the forks of the row that runs it. */
    @State(Scope.Benchmark)
    public static class BestNchw {
        Best best;

        @Setup
        public void setup(Suite suite) {
            best = new Best(suite.shape(), false);
        }

        @TearDown
        public void tearDown() {
            best.close();
        }
    }

    /** The best for NHWC input and output: chosen only in the forks of the row that runs it. */
    @State(Scope.Benchmark)
    public static class BestChannelsLast {
        Best best;

        @Setup
        public void setup(Suite suite) {
            best = new Best(suite.shape(), true);
        }

        @TearDown
        public void tearDown() {
            best.close();
        }
    }

    private static void ok(int status, String call) {
        if (status != dnnl_success()) {
            throw new IllegalStateException(
                    call + " failed: " + dnnl_status2str(status).getString(0));
        }
    }

    /** The descriptor {@code pd} holds for {@code what} (e.g. {@code dnnl_query_src_md()}): it belongs to the pd. */
    private static MemorySegment query(MemorySegment pd, int what) {
        return dnnl_primitive_desc_query_md(pd, what, 0);
    }

    /** Whether both describe the same dims, data type and layout. */
    private static boolean equal(MemorySegment md, MemorySegment other) {
        return dnnl_memory_desc_equal(md, other) == 1;
    }

    /** The implementation {@code pd} is at, e.g. {@code brg_conv_fwd:avx512_core}. */
    private static String implementation(MemorySegment pd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(C_POINTER);
            ok(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str(), 0, p), "dnnl_primitive_desc_query");
            return p.get(C_POINTER, 0).getString(0);
        }
    }

    /**
     * Moves {@code pd} to the next implementation oneDNN offers; false (and unchanged) when it was the last.
     * Descriptors queried before belong to the previous implementation: query again.
     */
    private static boolean next(MemorySegment pd) {
        int status = dnnl_primitive_desc_next_impl(pd);
        if (status == dnnl_last_impl_reached()) {
            return false;
        }
        ok(status, "dnnl_primitive_desc_next_impl");
        return true;
    }

    /**
     * The layout as oneDNN's verbose output names it: dims from outermost to innermost, a capital letter for a
     * blocked dim and its block after, e.g. {@code abcd} (NCHW), {@code acdb} (NHWC), {@code aBcd16b} (NCHW with
     * channels in blocks of 16); {@code opaque} for layouts without a name.
     */
    private static String layout(MemorySegment md) {
        try (Arena a = Arena.ofConfined()) {
            if (intQuery(a, md, dnnl_query_format_kind()) != dnnl_blocked()) {
                return "opaque";
            }
            int n = intQuery(a, md, dnnl_query_ndims_s32());
            int blocks = intQuery(a, md, dnnl_query_inner_nblks_s32());
            long[] strides = dimsQuery(a, md, dnnl_query_strides(), n);
            long[] sizes = dimsQuery(a, md, dnnl_query_inner_blks(), blocks);
            long[] idxs = dimsQuery(a, md, dnnl_query_inner_idxs(), blocks);
            boolean[] blocked = new boolean[n];
            for (long i : idxs) {
                blocked[(int) i] = true;
            }
            Integer[] order = new Integer[n];
            Arrays.setAll(order, i -> i);
            // outermost first: the largest stride, the dims' own order among equal ones
            Comparator<Integer> outermostFirst =
                    Comparator.comparingLong((Integer i) -> -strides[i]).thenComparingInt(i -> i);
            Arrays.sort(order, outermostFirst);
            StringBuilder s = new StringBuilder();
            for (int i : order) {
                char c = (char) ('a' + i);
                s.append(blocked[i] ? Character.toUpperCase(c) : c);
            }
            for (int b = 0; b < blocks; b++) {
                s.append(sizes[b]).append((char) ('a' + idxs[b]));
            }
            return s.toString();
        }
    }

    /** A memory descriptor query whose result is an int. */
    private static int intQuery(Arena a, MemorySegment md, int what) {
        MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
        ok(dnnl_memory_desc_query(md, what, v), "dnnl_memory_desc_query");
        return v.get(ValueLayout.JAVA_INT, 0);
    }

    /** A memory descriptor query whose result is a pointer to a {@code dnnl_dims_t} owned by the descriptor. */
    private static long[] dimsQuery(Arena a, MemorySegment md, int what, int count) {
        MemorySegment p = a.allocate(C_POINTER);
        ok(dnnl_memory_desc_query(md, what, p), "dnnl_memory_desc_query");
        return p.get(C_POINTER, 0).asSlice(0, 8L * count).toArray(ValueLayout.JAVA_LONG);
    }

    /**
     * {@code x} of logical dims (N, C, H, W) from NCHW to NHWC order ({@code toNhwc}), or from NHWC to NCHW order.
     */
    static float[] permute(float[] x, long[] dims, boolean toNhwc) {
        int n = Math.toIntExact(dims[0]);
        int c = Math.toIntExact(dims[1]);
        int hh = Math.toIntExact(dims[2]);
        int ww = Math.toIntExact(dims[3]);
        float[] y = new float[x.length];
        for (int in = 0; in < n; in++) {
            for (int ic = 0; ic < c; ic++) {
                for (int ih = 0; ih < hh; ih++) {
                    for (int iw = 0; iw < ww; iw++) {
                        int nchw = ((in * c + ic) * hh + ih) * ww + iw;
                        int nhwc = ((in * hh + ih) * ww + iw) * c + ic;
                        if (toNhwc) {
                            y[nhwc] = x[nchw];
                        } else {
                            y[nchw] = x[nhwc];
                        }
                    }
                }
            }
        }
        return y;
    }

    /**
     * oneDNN objects made through the bindings and the native memory they use, all freed by {@link #close()}; with
     * them the engine and stream for one made by {@link #open()}, not for a {@link #child()}, which uses its parent's
     * and is closed before it.
     */
    static final class Handles implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        private final MemorySegment engine;
        private final MemorySegment stream;
        private final boolean ownsEngine;
        private final List<MemorySegment> descs = new ArrayList<>();
        private final List<MemorySegment> memories = new ArrayList<>();
        private final List<MemorySegment> primitives = new ArrayList<>();

        private Handles(MemorySegment engine, MemorySegment stream, boolean ownsEngine) {
            this.engine = engine;
            this.stream = stream;
            this.ownsEngine = ownsEngine;
        }

        /** A new CPU engine and a stream on it. */
        static Handles open() {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(C_POINTER);
                ok(dnnl_engine_create(p, dnnl_cpu(), 0), "dnnl_engine_create");
                MemorySegment engine = p.get(C_POINTER, 0);
                ok(dnnl_stream_create(p, engine, dnnl_stream_default_flags()), "dnnl_stream_create");
                return new Handles(engine, p.get(C_POINTER, 0), true);
            }
        }

        /** Objects on this engine and stream that can be freed before this one's. */
        Handles child() {
            return new Handles(engine, stream, false);
        }

        /** A slot for a handle a {@code dnnl_*_create} call returns. */
        MemorySegment out() {
            return arena.allocate(C_POINTER);
        }

        /** An f32 descriptor of a format tag ({@code dnnl_format_tag_any()} for the primitive to choose). */
        MemorySegment md(int tag, long... dims) {
            MemorySegment p = out();
            ok(
                    dnnl_memory_desc_create_with_tag(
                            p, dims.length, arena.allocateFrom(ValueLayout.JAVA_LONG, dims), dnnl_f32(), tag),
                    "dnnl_memory_desc_create_with_tag");
            MemorySegment md = p.get(C_POINTER, 0);
            descs.add(md);
            return md;
        }

        /** A copy of {@code md} of our own, e.g. of one a primitive descriptor holds. */
        MemorySegment copy(MemorySegment md) {
            MemorySegment p = out();
            ok(dnnl_memory_desc_clone(p, md), "dnnl_memory_desc_clone");
            MemorySegment copy = p.get(C_POINTER, 0);
            descs.add(copy);
            return copy;
        }

        /** A memory of {@code md} over {@code buffer}. */
        MemorySegment memory(MemorySegment md, MemorySegment buffer) {
            MemorySegment p = out();
            ok(dnnl_memory_create(p, md, engine, buffer), "dnnl_memory_create");
            MemorySegment m = p.get(C_POINTER, 0);
            memories.add(m);
            return m;
        }

        /** A memory of its own buffer. */
        MemorySegment memory(MemorySegment md) {
            return memory(md, arena.allocate(Math.max(dnnl_memory_desc_get_size(md), 4), 64));
        }

        /** The primitive of {@code pd}, which it destroys (and with it the descriptors queried from it). */
        MemorySegment primitive(MemorySegment pd) {
            MemorySegment p = out();
            ok(dnnl_primitive_create(p, pd), "dnnl_primitive_create");
            ok(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy");
            MemorySegment prim = p.get(C_POINTER, 0);
            primitives.add(prim);
            return prim;
        }

        /** A reorder primitive from layout {@code from} to layout {@code to}. */
        MemorySegment reorder(MemorySegment from, MemorySegment to) {
            MemorySegment p = out();
            ok(
                    dnnl_reorder_primitive_desc_create(p, from, engine, to, engine, MemorySegment.NULL),
                    "dnnl_reorder_primitive_desc_create");
            return primitive(p.get(C_POINTER, 0));
        }

        /** A new memory of {@code toMd} holding {@code from} (of {@code fromMd}), reordered into it now. */
        MemorySegment reordered(MemorySegment from, MemorySegment fromMd, MemorySegment toMd) {
            MemorySegment to = memory(toMd);
            run(reorder(fromMd, toMd), reorderArgs(from, to));
            return to;
        }

        /** A reorder's arguments: {@code from} to {@code to}. */
        MemorySegment reorderArgs(MemorySegment from, MemorySegment to) {
            return args(List.of(DNNL_ARG_FROM(), DNNL_ARG_TO()), List.of(from, to));
        }

        /** An execution's arguments: each id ({@code DNNL_ARG_*}) with its memory. */
        MemorySegment args(List<Integer> ids, List<MemorySegment> mems) {
            MemorySegment a = dnnl_exec_arg_t.allocateArray(ids.size(), arena);
            for (int i = 0; i < ids.size(); i++) {
                MemorySegment slot = dnnl_exec_arg_t.asSlice(a, i);
                dnnl_exec_arg_t.arg(slot, ids.get(i));
                dnnl_exec_arg_t.memory(slot, mems.get(i));
            }
            return a;
        }

        /**
         * Creates the shape's forward-inference direct convolution descriptor for these layouts into {@code out};
         * returns the status (not success when oneDNN has no implementation for them).
         */
        int convolution(
                MemorySegment out, Shape s, MemorySegment src, MemorySegment w, MemorySegment bias, MemorySegment dst) {
            long[] two = {s.stride(), s.stride()};
            return dnnl_convolution_forward_primitive_desc_create(
                    out,
                    engine,
                    dnnl_forward_inference(),
                    dnnl_convolution_direct(),
                    src,
                    w,
                    bias,
                    dst,
                    arena.allocateFrom(ValueLayout.JAVA_LONG, two),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, s.dilation() - 1, s.dilation() - 1),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, s.pad(), s.pad()),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, s.pad(), s.pad()),
                    MemorySegment.NULL);
        }

        /** Executes {@code prim} and waits for it. */
        void run(MemorySegment prim, MemorySegment args) {
            ok(
                    dnnl_primitive_execute(prim, stream, (int) (args.byteSize() / dnnl_exec_arg_t.sizeof()), args),
                    "dnnl_primitive_execute");
            ok(dnnl_stream_wait(stream), "dnnl_stream_wait");
        }

        @Override
        public void close() {
            for (MemorySegment prim : primitives) {
                ok(dnnl_primitive_destroy(prim), "dnnl_primitive_destroy");
            }
            for (MemorySegment m : memories) {
                ok(dnnl_memory_destroy(m), "dnnl_memory_destroy");
            }
            for (MemorySegment md : descs) {
                ok(dnnl_memory_desc_destroy(md), "dnnl_memory_desc_destroy");
            }
            if (ownsEngine) {
                ok(dnnl_stream_destroy(stream), "dnnl_stream_destroy");
                ok(dnnl_engine_destroy(engine), "dnnl_engine_destroy");
            }
            arena.close();
        }
    }

    /**
     * The caller's tensors: input and output in NCHW or NHWC, weights oihw (goihw when grouped), bias x; their
     * descriptors, and memories holding the workload.
     */
    static final class User {
        /** The input and output's format tag: nchw or nhwc. */
        final int tag;

        final long[] wDims;
        final MemorySegment srcMd;
        final MemorySegment wMd;
        final MemorySegment biasMd;
        final MemorySegment dstMd;
        final MemorySegment src;
        final MemorySegment w;
        final MemorySegment bias;
        final MemorySegment dst;
        private final MemorySegment dstBuffer;
        private final Shape shape;
        private final boolean channelsLast;

        User(Handles h, Shape s, Workload d, boolean channelsLast) {
            this.shape = s;
            this.channelsLast = channelsLast;
            tag = channelsLast ? dnnl_nhwc() : dnnl_nchw();
            wDims = s.groups() == 1
                    ? s.weightShape()
                    : new long[] {s.groups(), s.outC() / s.groups(), s.c() / s.groups(), s.kernel(), s.kernel()};
            srcMd = h.md(tag, s.inputShape());
            wMd = h.md(s.groups() == 1 ? dnnl_oihw() : dnnl_goihw(), wDims);
            biasMd = h.md(dnnl_x(), s.outC());
            dstMd = h.md(tag, s.outputShape());
            float[] input = channelsLast ? permute(d.input(), s.inputShape(), true) : d.input();
            src = h.memory(srcMd, h.arena.allocateFrom(ValueLayout.JAVA_FLOAT, input));
            w = h.memory(wMd, h.arena.allocateFrom(ValueLayout.JAVA_FLOAT, d.weights()));
            bias = h.memory(biasMd, h.arena.allocateFrom(ValueLayout.JAVA_FLOAT, d.bias()));
            dstBuffer = h.arena.allocate(ValueLayout.JAVA_FLOAT, (long) s.n() * s.outC() * s.outH() * s.outW());
            dst = h.memory(dstMd, dstBuffer);
        }

        /** The output, (N, outC, outH, outW) in NCHW order whatever the caller's layout. */
        float[] output() {
            float[] y = dstBuffer.toArray(ValueLayout.JAVA_FLOAT);
            return channelsLast ? permute(y, shape.outputShape(), false) : y;
        }

        /** Zeroes the output, so that a check after one call sees that call's work. */
        void clearOutput() {
            dstBuffer.fill((byte) 0);
        }
    }

    /**
     * The fastest raw oneDNN implementation for a caller whose input and output are NCHW, or NHWC, reorders
     * included: chosen by measurement among every implementation of every layout request, its answer checked
     * against the reference.
     */
    static final class Best implements AutoCloseable {
        /** Timed rounds; each candidate's best round counts. */
        private static final int ROUNDS = 5;
        /** How long each candidate runs back to back in a round, at least. */
        private static final long ROUND_NANOS = 2_000_000;

        private final Handles h;
        private final Candidate chosen;

        Best(Shape s, boolean channelsLast) {
            String pair = channelsLast ? "NHWC" : "NCHW";
            Workload d = Workload.of(s);
            h = Handles.open();
            User u = new User(h, s, d, channelsLast);
            int user = u.tag;
            int any = dnnl_format_tag_any();
            Set<Request> requests = new LinkedHashSet<>(List.of(
                    new Request(user, user),
                    new Request(any, any),
                    new Request(dnnl_nhwc(), dnnl_nhwc()),
                    new Request(dnnl_aBcd16b(), dnnl_aBcd16b()),
                    new Request(dnnl_aBcd8b(), dnnl_aBcd8b()),
                    new Request(user, any),
                    new Request(any, user)));
            List<Candidate> candidates = new ArrayList<>();
            for (Found f : implementations(h, s, u, requests)) {
                candidates.add(new Candidate(h, s, u, f));
            }
            if (candidates.isEmpty()) {
                throw new IllegalStateException("no oneDNN implementation other than a reference one for " + s);
            }
            double[] ms = time(candidates);
            int best = 0;
            for (int i = 1; i < ms.length; i++) {
                best = ms[i] < ms[best] ? i : best;
            }
            chosen = candidates.get(best);
            for (int i = 0; i < candidates.size(); i++) {
                if (i != best) {
                    candidates.get(i).close();
                }
            }
            System.err.println(String.format(
                    Locale.ROOT,
                    "raw oneDNN best for %s %s: %s src %s dst %s %.4g ms (of %d candidates)",
                    s.name(),
                    pair,
                    chosen.found.impl(),
                    layout(chosen.found.srcMd()),
                    layout(chosen.found.dstMd()),
                    ms[best],
                    candidates.size()));
            u.clearOutput();
            run();
            d.check("raw oneDNN best " + pair, u.output());
        }

        /** A layout request: the source and destination format tags the descriptor is created with. */
        private record Request(int srcTag, int dstTag) {}

        /**
         * An implementation found: the request that offers it, its name, and (copies of) the source and destination
         * layouts it chose.
         */
        private record Found(Request request, String impl, MemorySegment srcMd, MemorySegment dstMd) {}

        /** Every implementation of every request that oneDNN can create, reference ones left out, each kernel once. */
        private static List<Found> implementations(Handles h, Shape s, User u, Set<Request> requests) {
            List<Found> found = new ArrayList<>();
            for (Request r : requests) {
                MemorySegment p = h.out();
                int status = h.convolution(
                        p,
                        s,
                        h.md(r.srcTag(), s.inputShape()),
                        h.md(dnnl_format_tag_any(), u.wDims),
                        u.biasMd,
                        h.md(r.dstTag(), s.outputShape()));
                if (status != dnnl_success()) {
                    continue; // oneDNN has no implementation for these layouts
                }
                MemorySegment pd = p.get(C_POINTER, 0);
                try {
                    do {
                        String impl = implementation(pd);
                        MemorySegment src = query(pd, dnnl_query_src_md());
                        MemorySegment dst = query(pd, dnnl_query_dst_md());
                        boolean known = found.stream()
                                .anyMatch(f -> f.impl().equals(impl) && equal(f.srcMd(), src) && equal(f.dstMd(), dst));
                        if (!impl.startsWith("ref") && !known) {
                            found.add(new Found(r, impl, h.copy(src), h.copy(dst)));
                        }
                    } while (next(pd));
                } finally {
                    ok(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy");
                }
            }
            return found;
        }

        /**
         * Milliseconds per call of each candidate: two warm-up calls each, then {@link #ROUNDS} rounds in which each
         * in turn runs back to back for {@link #ROUND_NANOS} at least; the mean of its best round.
         */
        private static double[] time(List<Candidate> candidates) {
            for (Candidate c : candidates) {
                c.run();
                c.run();
            }
            double[] ms = new double[candidates.size()];
            Arrays.fill(ms, Double.POSITIVE_INFINITY);
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < ms.length; i++) {
                    Candidate c = candidates.get(i);
                    long calls = 0;
                    long start = System.nanoTime();
                    long elapsed;
                    do {
                        c.run();
                        calls++;
                        elapsed = System.nanoTime() - start;
                    } while (elapsed < ROUND_NANOS);
                    ms[i] = Math.min(ms[i], elapsed / 1e6 / calls);
                }
            }
            return ms;
        }

        /** The chosen implementation once: reorder in, convolution, reorder out, each where needed. */
        void run() {
            chosen.run();
        }

        @Override
        public void close() {
            chosen.close();
            h.close();
        }

        /**
         * One implementation ready to run on the caller's tensors: the reorders from and to the caller's layouts where
         * its own differ, the convolution, and its weights, reordered once. Its objects are its own, freed by
         * {@link #close()}, before those of the parent it shares the caller's tensors with.
         */
        private static final class Candidate implements AutoCloseable {
            final Found found;
            private final Handles h;
            private final MemorySegment conv;
            private final MemorySegment convArgs;
            private final MemorySegment srcReorder;
            private final MemorySegment srcReorderArgs;
            private final MemorySegment dstReorder;
            private final MemorySegment dstReorderArgs;

            /** Recreates the descriptor of {@code f}'s request and walks it to {@code f}'s implementation. */
            Candidate(Handles parent, Shape s, User u, Found f) {
                this.found = f;
                h = parent.child();
                MemorySegment p = h.out();
                ok(
                        h.convolution(
                                p,
                                s,
                                h.md(f.request().srcTag(), s.inputShape()),
                                h.md(dnnl_format_tag_any(), u.wDims),
                                u.biasMd,
                                h.md(f.request().dstTag(), s.outputShape())),
                        "dnnl_convolution_forward_primitive_desc_create");
                MemorySegment pd = p.get(C_POINTER, 0);
                // walk to the implementation found before (by name and layouts: the walk is not always the same)
                while (!(implementation(pd).equals(f.impl())
                        && equal(query(pd, dnnl_query_src_md()), f.srcMd())
                        && equal(query(pd, dnnl_query_dst_md()), f.dstMd()))) {
                    if (!next(pd)) {
                        ok(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy");
                        throw new IllegalStateException("oneDNN no longer offers " + f.impl() + " for " + s);
                    }
                }
                // descriptors queried from the pd belong to it: use them before the pd goes with primitive()
                MemorySegment srcMd = query(pd, dnnl_query_src_md());
                MemorySegment wMd = query(pd, dnnl_query_weights_md());
                MemorySegment dstMd = query(pd, dnnl_query_dst_md());
                MemorySegment scratchpadMd = query(pd, dnnl_query_scratchpad_md());
                boolean reorderIn = !equal(srcMd, u.srcMd);
                boolean reorderOut = !equal(dstMd, u.dstMd);
                MemorySegment src = reorderIn ? h.memory(srcMd) : u.src;
                MemorySegment dst = reorderOut ? h.memory(dstMd) : u.dst;
                MemorySegment w = h.reordered(u.w, u.wMd, wMd);
                srcReorder = reorderIn ? h.reorder(u.srcMd, srcMd) : null;
                srcReorderArgs = reorderIn ? h.reorderArgs(u.src, src) : null;
                dstReorder = reorderOut ? h.reorder(dstMd, u.dstMd) : null;
                dstReorderArgs = reorderOut ? h.reorderArgs(dst, u.dst) : null;
                List<Integer> ids =
                        new ArrayList<>(List.of(DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_BIAS(), DNNL_ARG_DST()));
                List<MemorySegment> mems = new ArrayList<>(List.of(src, w, u.bias, dst));
                // zero bytes in the default scratchpad mode, where oneDNN keeps the scratchpad itself
                if (!scratchpadMd.equals(MemorySegment.NULL) && dnnl_memory_desc_get_size(scratchpadMd) > 0) {
                    ids.add(DNNL_ARG_SCRATCHPAD());
                    mems.add(h.memory(scratchpadMd));
                }
                convArgs = h.args(ids, mems);
                conv = h.primitive(pd);
            }

            /** Reorder in, convolution, reorder out, each where needed, each waited for. */
            void run() {
                if (srcReorder != null) {
                    h.run(srcReorder, srcReorderArgs);
                }
                h.run(conv, convArgs);
                if (dstReorder != null) {
                    h.run(dstReorder, dstReorderArgs);
                }
            }

            @Override
            public void close() {
                h.close();
            }
        }
    }
}
