package dev.onednn4j.benchmarks.dnnl;

import static dev.onednn4j.bindings.dnnl_h.C_POINTER;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_BIAS;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_DST;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_FROM;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_SRC;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_TO;
import static dev.onednn4j.bindings.dnnl_h.DNNL_ARG_WEIGHTS;
import static dev.onednn4j.bindings.dnnl_h.dnnl_convolution_direct;
import static dev.onednn4j.bindings.dnnl_h.dnnl_convolution_forward_primitive_desc_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu;
import static dev.onednn4j.bindings.dnnl_h.dnnl_engine_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_engine_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_f32;
import static dev.onednn4j.bindings.dnnl_h.dnnl_format_tag_any;
import static dev.onednn4j.bindings.dnnl_h.dnnl_forward_inference;
import static dev.onednn4j.bindings.dnnl_h.dnnl_goihw;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_create_with_tag;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_desc_get_size;
import static dev.onednn4j.bindings.dnnl_h.dnnl_memory_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_nchw;
import static dev.onednn4j.bindings.dnnl_h.dnnl_oihw;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_create;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_desc_query_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_destroy;
import static dev.onednn4j.bindings.dnnl_h.dnnl_primitive_execute;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_dst_md;
import static dev.onednn4j.bindings.dnnl_h.dnnl_query_src_md;
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
import java.util.List;
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
 * The ceiling: oneDNN called through the generated bindings alone, no onednn4j in between. The
 * primitive picks its layouts ({@code any}); input and weights are reordered into them once, in setup.
 * {@code executeOnly} times the convolution alone (what a channels-last caller can reach);
 * {@code withReorders} adds the reorder of an NCHW input in and of the output back to NCHW (what an NCHW
 * caller can reach). Default scratchpad mode; one stream; one thread calling.
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

    private final Arena arena = Arena.ofShared();
    private final List<MemorySegment> memories = new ArrayList<>();
    private final List<MemorySegment> primitives = new ArrayList<>();
    private MemorySegment engine;
    private MemorySegment stream;
    private MemorySegment conv;
    private MemorySegment srcReorder;
    private MemorySegment dstReorder;
    private MemorySegment convArgs;
    private MemorySegment srcReorderArgs;
    private MemorySegment dstReorderArgs;
    private MemorySegment userDst;

    private static void ok(int status, String call) {
        if (status != dnnl_success()) {
            throw new IllegalStateException(
                    call + " failed: " + dnnl_status2str(status).getString(0));
        }
    }

    private MemorySegment out() {
        return arena.allocate(C_POINTER);
    }

    private MemorySegment md(int tag, long... dims) {
        MemorySegment p = out();
        ok(
                dnnl_memory_desc_create_with_tag(
                        p, dims.length, arena.allocateFrom(ValueLayout.JAVA_LONG, dims), dnnl_f32(), tag),
                "dnnl_memory_desc_create_with_tag");
        return p.get(C_POINTER, 0);
    }

    private MemorySegment memory(MemorySegment md, MemorySegment buffer) {
        MemorySegment p = out();
        ok(dnnl_memory_create(p, md, engine, buffer), "dnnl_memory_create");
        MemorySegment m = p.get(C_POINTER, 0);
        memories.add(m);
        return m;
    }

    private MemorySegment buffer(MemorySegment md) {
        return arena.allocate(Math.max(dnnl_memory_desc_get_size(md), 4), 64);
    }

    private MemorySegment primitive(MemorySegment pd) {
        MemorySegment p = out();
        ok(dnnl_primitive_create(p, pd), "dnnl_primitive_create");
        ok(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy");
        MemorySegment prim = p.get(C_POINTER, 0);
        primitives.add(prim);
        return prim;
    }

    private MemorySegment reorder(MemorySegment from, MemorySegment to) {
        MemorySegment p = out();
        ok(
                dnnl_reorder_primitive_desc_create(p, from, engine, to, engine, MemorySegment.NULL),
                "dnnl_reorder_primitive_desc_create");
        return primitive(p.get(C_POINTER, 0));
    }

    private MemorySegment args(List<Integer> ids, List<MemorySegment> mems) {
        MemorySegment a = dnnl_exec_arg_t.allocateArray(ids.size(), arena);
        for (int i = 0; i < ids.size(); i++) {
            MemorySegment slot = dnnl_exec_arg_t.asSlice(a, i);
            dnnl_exec_arg_t.arg(slot, ids.get(i));
            dnnl_exec_arg_t.memory(slot, mems.get(i));
        }
        return a;
    }

    private void run(MemorySegment prim, MemorySegment args) {
        ok(
                dnnl_primitive_execute(prim, stream, (int) (args.byteSize() / dnnl_exec_arg_t.sizeof()), args),
                "dnnl_primitive_execute");
        ok(dnnl_stream_wait(stream), "dnnl_stream_wait");
    }

    @Setup
    public void setup(Suite suite) {
        Shape s = suite.shape();
        Workload d = Workload.of(s);
        MemorySegment p = out();
        ok(dnnl_engine_create(p, dnnl_cpu(), 0), "dnnl_engine_create");
        engine = p.get(C_POINTER, 0);
        ok(dnnl_stream_create(p, engine, dnnl_stream_default_flags()), "dnnl_stream_create");
        stream = p.get(C_POINTER, 0);

        long[] wDims = s.groups() == 1
                ? s.weightShape()
                : new long[] {s.groups(), s.outC() / s.groups(), s.c() / s.groups(), s.kernel(), s.kernel()};
        MemorySegment userSrcMd = md(dnnl_nchw(), s.inputShape());
        MemorySegment userWMd = md(s.groups() == 1 ? dnnl_oihw() : dnnl_goihw(), wDims);
        MemorySegment biasMd = md(dnnl_x(), s.outC());
        MemorySegment userDstMd = md(dnnl_nchw(), s.outputShape());
        MemorySegment srcAny = md(dnnl_format_tag_any(), s.inputShape());
        MemorySegment wAny = md(dnnl_format_tag_any(), wDims);
        MemorySegment dstAny = md(dnnl_format_tag_any(), s.outputShape());
        long[] two = {s.stride(), s.stride()};
        ok(
                dnnl_convolution_forward_primitive_desc_create(
                        p,
                        engine,
                        dnnl_forward_inference(),
                        dnnl_convolution_direct(),
                        srcAny,
                        wAny,
                        biasMd,
                        dstAny,
                        arena.allocateFrom(ValueLayout.JAVA_LONG, two),
                        arena.allocateFrom(ValueLayout.JAVA_LONG, s.dilation() - 1, s.dilation() - 1),
                        arena.allocateFrom(ValueLayout.JAVA_LONG, s.pad(), s.pad()),
                        arena.allocateFrom(ValueLayout.JAVA_LONG, s.pad(), s.pad()),
                        MemorySegment.NULL),
                "dnnl_convolution_forward_primitive_desc_create");
        MemorySegment pd = p.get(C_POINTER, 0);
        // descriptors queried from the pd belong to it: use them before the pd goes with primitive()
        MemorySegment srcMd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md(), 0);
        MemorySegment wMd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md(), 0);
        MemorySegment dstMd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md(), 0);

        MemorySegment userSrc = memory(userSrcMd, arena.allocateFrom(ValueLayout.JAVA_FLOAT, d.input()));
        MemorySegment userW = memory(userWMd, arena.allocateFrom(ValueLayout.JAVA_FLOAT, d.weights()));
        MemorySegment bias = memory(biasMd, arena.allocateFrom(ValueLayout.JAVA_FLOAT, d.bias()));
        MemorySegment userDstBuffer =
                arena.allocate(ValueLayout.JAVA_FLOAT, (long) s.n() * s.outC() * s.outH() * s.outW());
        userDst = memory(userDstMd, userDstBuffer);
        MemorySegment src = memory(srcMd, buffer(srcMd));
        MemorySegment w = memory(wMd, buffer(wMd));
        MemorySegment dst = memory(dstMd, buffer(dstMd));
        MemorySegment wReorder = reorder(userWMd, wMd);
        srcReorder = reorder(userSrcMd, srcMd);
        dstReorder = reorder(dstMd, userDstMd);
        conv = primitive(pd);
        for (MemorySegment md : new MemorySegment[] {userSrcMd, userWMd, biasMd, userDstMd, srcAny, wAny, dstAny}) {
            ok(dnnl_memory_desc_destroy(md), "dnnl_memory_desc_destroy");
        }

        run(wReorder, args(List.of(DNNL_ARG_FROM(), DNNL_ARG_TO()), List.of(userW, w)));
        srcReorderArgs = args(List.of(DNNL_ARG_FROM(), DNNL_ARG_TO()), List.of(userSrc, src));
        dstReorderArgs = args(List.of(DNNL_ARG_FROM(), DNNL_ARG_TO()), List.of(dst, userDst));
        convArgs = args(
                List.of(DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_BIAS(), DNNL_ARG_DST()),
                List.of(src, w, bias, dst));
        withReorders();
        d.check("raw oneDNN", userDstBuffer.toArray(ValueLayout.JAVA_FLOAT));
    }

    /** The convolution alone, input and weights already in the primitive's layouts. */
    @Benchmark
    public void executeOnly() {
        run(conv, convArgs);
    }

    /** NCHW in, NCHW out: reorder the input in, convolve, reorder the output back. */
    @Benchmark
    public void withReorders() {
        run(srcReorder, srcReorderArgs);
        run(conv, convArgs);
        run(dstReorder, dstReorderArgs);
    }

    @TearDown
    public void tearDown() {
        for (MemorySegment prim : primitives) {
            ok(dnnl_primitive_destroy(prim), "dnnl_primitive_destroy");
        }
        for (MemorySegment m : memories) {
            ok(dnnl_memory_destroy(m), "dnnl_memory_destroy");
        }
        ok(dnnl_stream_destroy(stream), "dnnl_stream_destroy");
        ok(dnnl_engine_destroy(engine), "dnnl_engine_destroy");
        arena.close();
    }
}
