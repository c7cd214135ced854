package dev.onednn4j.benchmarks.onnx;

import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.onnx.OnnxModel;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * onednn4j on an ONNX file, as a user runs it: {@code OnnxModel.load(file).compile(CompileOptions.forInput(shape)
 * .precision(p))}, then {@code forward(x, out)} on a contiguous (NCHW) input, as ONNX Runtime gets it. The first
 * image's output is checked against PyTorch's float64 output (1e-4 of its scale in fp32, 3e-2 in bf16) first.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OnnxZooCompiled {
    /** The compiled arithmetic. */
    @Param({"FP32", "BF16"})
    public String precision;

    private OnnxModel model;
    private CompiledModule compiled;
    private Tensor x;
    private Tensor out;

    @Setup
    public void setup(ZooModel zoo) throws IOException {
        ZooModel.Input in = zoo.input();
        model = OnnxModel.load(zoo.file());
        Precision p = Precision.valueOf(precision);
        compiled = model.compile(
                CompileOptions.forInput(in.shape()).precision(p).numThreads(Integer.getInteger("bench.threads", 2)));
        x = Tensor.of(in.values(), in.shape());
        out = Tensor.zeros(compiled.outputShape());
        compiled.forward(x, out);
        in.check(
                "onednn4j compiled " + precision + " " + zoo.model,
                out.toFloatArray(),
                p == Precision.FP32 ? 1e-4 : 3e-2);
    }

    @Benchmark
    public Tensor compiled() {
        compiled.forward(x, out);
        return out;
    }

    @TearDown
    public void tearDown() {
        out.close();
        x.close();
        compiled.close();
        model.close();
    }
}
