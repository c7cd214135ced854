package dev.onednn4j.benchmarks;

import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * onednn4j's Conv2d as users call it: NCHW into a preallocated output, NCHW allocating, channels-last into a
 * preallocated output and allocating; and the same layer compiled ({@link CompiledModule}), channels-last in and out,
 * with oneDNN's first choice of kernel and with kernel choice by measurement
 * ({@link CompileOptions#tuneKernels(boolean)}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OneDnn4jBenchmark {

    private Conv2d conv;
    private Tensor x;
    private Tensor out;
    private Tensor xChannelsLast;
    private Tensor outChannelsLast;
    private CompiledModule compiled;
    private CompiledModule tuned;
    private Tensor outCompiled;
    private Tensor outTuned;

    @Setup
    public void setup(Suite suite) {
        Shape s = suite.shape();
        Workload d = Workload.of(s);
        conv = s.conv2d();
        conv.weight().copyFrom(d.weights());
        conv.bias().copyFrom(d.bias());
        x = Tensor.of(d.input(), s.inputShape());
        out = Tensor.zeros(s.outputShape());
        xChannelsLast = x.toMemoryFormat(MemoryFormat.CHANNELS_LAST);
        outChannelsLast = Tensor.zeros(MemoryFormat.CHANNELS_LAST, s.outputShape());
        conv.forward(x, out);
        d.check("onednn4j NCHW", out.toFloatArray());
        conv.forward(xChannelsLast, outChannelsLast);
        d.check("onednn4j channels-last", outChannelsLast.toFloatArray());
        try (Tensor y = conv.forward(x)) {
            d.check("onednn4j NCHW allocating", y.toFloatArray());
        }
        conv.eval();
        compiled = conv.compile(compileOptions(s).tuneKernels(false));
        // the first fork times oneDNN's implementations here and saves its choice; later forks read it
        tuned = conv.compile(compileOptions(s).tuneKernels(true));
        outCompiled = Tensor.zeros(MemoryFormat.CHANNELS_LAST, s.outputShape());
        outTuned = Tensor.zeros(MemoryFormat.CHANNELS_LAST, s.outputShape());
        compiled.forward(xChannelsLast, outCompiled);
        d.check("onednn4j compiled", outCompiled.toFloatArray());
        tuned.forward(xChannelsLast, outTuned);
        d.check("onednn4j compiled, kernels tuned", outTuned.toFloatArray());
    }

    private static CompileOptions compileOptions(Shape s) {
        return CompileOptions.forInput(s.inputShape())
                .inputFormat(MemoryFormat.CHANNELS_LAST)
                .outputFormat(MemoryFormat.CHANNELS_LAST);
    }

    /** NCHW in, NCHW out, into the caller's tensor: allocates nothing. */
    @Benchmark
    public void nchwPreallocated() {
        conv.forward(x, out);
    }

    /** NCHW in, a new NCHW output each call, closed after. */
    @Benchmark
    public void nchwAllocating(Blackhole bh) {
        try (Tensor y = conv.forward(x)) {
            bh.consume(y);
        }
    }

    /** Channels-last in and out: no reorder on either side. */
    @Benchmark
    public void channelsLast() {
        conv.forward(xChannelsLast, outChannelsLast);
    }

    /**
     * Channels-last, a new output each call, closed after: against {@link #channelsLast()}, what allocating and
     * freeing a tensor costs (the goal: within 2x on the smallest shapes).
     */
    @Benchmark
    public void channelsLastAllocating(Blackhole bh) {
        try (Tensor y = conv.forward(xChannelsLast)) {
            bh.consume(y);
        }
    }

    /** Compiled (one layer: oneDNN's first choice of kernel), channels-last in and out, into a preallocated output. */
    @Benchmark
    public void channelsLastCompiled() {
        compiled.forward(xChannelsLast, outCompiled);
    }

    /** As {@link #channelsLastCompiled()}, with kernel choice by measurement. */
    @Benchmark
    public void channelsLastTuned() {
        tuned.forward(xChannelsLast, outTuned);
    }

    @TearDown
    public void tearDown() {
        compiled.close();
        tuned.close();
        outCompiled.close();
        outTuned.close();
        conv.close();
        x.close();
        out.close();
        xChannelsLast.close();
        outChannelsLast.close();
    }
}
