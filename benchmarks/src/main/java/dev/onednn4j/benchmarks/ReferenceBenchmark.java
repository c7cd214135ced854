package dev.onednn4j.benchmarks;

import dev.onednn4j.nn.Backend;
import dev.onednn4j.nn.Conv2d;
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

/**
 * The pure-Java reference loop (single-threaded, summing in double), through Conv2d on
 * {@link Backend#REFERENCE}. Time-capped: an iteration lasts one second or one call, whichever is longer,
 * so on shapes where a call takes seconds each iteration is a single call.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 2, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class ReferenceBenchmark {

    private Conv2d conv;
    private Tensor x;
    private Tensor out;

    @Setup
    public void setup(Suite suite) {
        Shape s = suite.shape();
        Workload d = Workload.of(s);
        conv = s.conv2d();
        conv.to(Backend.REFERENCE);
        conv.weight().copyFrom(d.weights());
        conv.bias().copyFrom(d.bias());
        x = Tensor.of(d.input(), s.inputShape());
        out = Tensor.zeros(s.outputShape());
        conv.forward(x, out);
        d.check("reference", out.toFloatArray());
    }

    @Benchmark
    public void reference() {
        conv.forward(x, out);
    }

    @TearDown
    public void tearDown() {
        conv.close();
        x.close();
        out.close();
    }
}
