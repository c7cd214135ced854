package dev.onednn4j.benchmarks;

import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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

    @Setup
    public void setup(Suite suite) {
        Shape s = suite.shape();
        Workload d = Workload.of(s);
        conv = layer(s, d);
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
        recordPlan(s, "NCHW", conv.oneDnnPlan(MemoryFormat.CONTIGUOUS, s.inputShape()));
        recordPlan(s, "channels-last", conv.oneDnnPlan(MemoryFormat.CHANNELS_LAST, s.inputShape()));
    }

    /**
     * Appends what the layer runs for the shape and layout ({@link Conv2d.OneDnnPlan#description()}: the
     * implementation and layouts layout choice by measurement kept) to the file the environment variable
     * {@code BENCH_PLANS} names, for the report (not a system property: a longer fork command line crashes ONNX
     * Runtime's forks here); prints it when there is no such file.
     */
    static void recordPlan(Shape s, String layout, Conv2d.OneDnnPlan plan) {
        String line = s.name() + "\t" + layout + "\t" + plan.description() + "\n";
        String file = System.getenv("BENCH_PLANS");
        if (file == null) {
            System.err.print(line);
            return;
        }
        try {
            Files.writeString(
                    Path.of(file), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The shape's layer with the workload's weights and bias. */
    static Conv2d layer(Shape s, Workload d) {
        Conv2d conv = s.conv2d();
        conv.weight().copyFrom(d.weights());
        conv.bias().copyFrom(d.bias());
        return conv;
    }

    /** NCHW in, NCHW out, into the caller's tensor: allocates nothing. */
    @Benchmark
    public void nchwPreallocated() {
        conv.forward(x, out);
    }

    /**
     * As {@link #nchwPreallocated()}, the layer's plan built with layout choice by measurement off
     * ({@code -Donednn4j.layoutChoice=first}: oneDNN's default layouts, reorders around them): what the choice buys.
     */
    @Benchmark
    public void nchwDefaultLayouts(DefaultLayouts d) {
        d.conv.forward(d.x, d.out);
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
    public void channelsLastCompiled(Compiled c) {
        c.layer.forward();
    }

    /** As {@link #channelsLastCompiled}, with kernel choice by measurement. */
    @Benchmark
    public void channelsLastTuned(Tuned t) {
        t.layer.forward();
    }

    @TearDown
    public void tearDown() {
        conv.close();
        x.close();
        out.close();
        xChannelsLast.close();
        outChannelsLast.close();
    }

    /** The layer with its NCHW plan built under {@code -Donednn4j.layoutChoice=first}, in the forks of its row only. */
    @State(Scope.Benchmark)
    public static class DefaultLayouts {
        Conv2d conv;
        Tensor x;
        Tensor out;

        @Setup
        public void setup(Suite suite) {
            Shape s = suite.shape();
            Workload d = Workload.of(s);
            conv = layer(s, d);
            x = Tensor.of(d.input(), s.inputShape());
            out = Tensor.zeros(s.outputShape());
            System.setProperty("onednn4j.layoutChoice", "first");
            try {
                conv.forward(x, out); // builds the plan the layer keeps for this shape and layout
            } finally {
                System.clearProperty("onednn4j.layoutChoice");
            }
            d.check("onednn4j NCHW, oneDNN's default layouts", out.toFloatArray());
        }

        @TearDown
        public void tearDown() {
            conv.close();
            x.close();
            out.close();
        }
    }

    /** The layer compiled with oneDNN's first kernel: built only in the forks of the row that runs it. */
    @State(Scope.Benchmark)
    public static class Compiled {
        CompiledLayer layer;

        @Setup
        public void setup(Suite suite) {
            layer = new CompiledLayer(suite.shape(), false);
        }

        @TearDown
        public void tearDown() {
            layer.close();
        }
    }

    /**
     * The layer compiled with kernel choice by measurement: the first fork times oneDNN's implementations and saves
     * its choice (in the file {@code -Donednn4j.kernelCache} names), later forks read it.
     */
    @State(Scope.Benchmark)
    public static class Tuned {
        CompiledLayer layer;

        @Setup
        public void setup(Suite suite) {
            layer = new CompiledLayer(suite.shape(), true);
        }

        @TearDown
        public void tearDown() {
            layer.close();
        }
    }

    /** A shape's layer compiled for channels-last input and output, its answer checked against the reference. */
    static final class CompiledLayer implements AutoCloseable {
        private final Conv2d conv;
        private final CompiledModule module;
        private final Tensor x;
        private final Tensor out;

        CompiledLayer(Shape s, boolean tune) {
            Workload d = Workload.of(s);
            conv = layer(s, d);
            conv.eval();
            module = conv.compile(CompileOptions.forInput(s.inputShape())
                    .inputFormat(MemoryFormat.CHANNELS_LAST)
                    .outputFormat(MemoryFormat.CHANNELS_LAST)
                    .tuneKernels(tune));
            try (Tensor nchw = Tensor.of(d.input(), s.inputShape())) {
                x = nchw.toMemoryFormat(MemoryFormat.CHANNELS_LAST);
            }
            out = Tensor.zeros(MemoryFormat.CHANNELS_LAST, s.outputShape());
            forward();
            d.check(tune ? "onednn4j compiled, kernels tuned" : "onednn4j compiled", out.toFloatArray());
        }

        void forward() {
            module.forward(x, out);
        }

        @Override
        public void close() {
            module.close();
            conv.close();
            x.close();
            out.close();
        }
    }
}
