package dev.onednn4j.benchmarks.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.onednn4j.benchmarks.Ort;
import java.io.IOException;
import java.util.Map;
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
 * ONNX Runtime on the same file and input as {@link OnnxZooCompiled} (CPU execution provider, all graph
 * optimisations, {@code -Dbench.threads} intra-op threads, sequential), its first image's output checked against
 * PyTorch's float64 output first (1e-4 of its scale).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OnnxZooOrt {
    private OrtSession session;
    private OnnxTensor input;
    private Map<String, OnnxTensor> inputs;

    @Setup
    public void setup(ZooModel zoo) throws IOException, OrtException {
        ZooModel.Input in = zoo.input();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        session = Ort.session(env, zoo.file().toString(), Integer.getInteger("bench.threads", 2));
        input = Ort.input(env, in.values(), in.shape());
        inputs = Map.of(session.getInputNames().iterator().next(), input);
        in.check("ONNX Runtime " + zoo.model, Ort.firstOutput(session, inputs), 1e-4);
    }

    @Benchmark
    public void onnxRuntime(Blackhole bh) throws OrtException {
        try (OrtSession.Result r = session.run(inputs)) {
            bh.consume(r);
        }
    }

    @TearDown
    public void tearDown() throws OrtException {
        input.close();
        session.close();
    }
}
