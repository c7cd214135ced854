package dev.onednn4j.benchmarks.networks;

import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
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
 * onednn4j's eager path on a whole torchvision network, as users call it: {@code Models.resnet18()} etc. with the
 * exported model's weights, {@code eval()}, {@code forward(x)} returning a new tensor that is closed after, on an
 * NCHW input (reordered in by the first layer) and on a channels-last one (no reorder). Threads per call:
 * {@code -Dbench.threads} through {@code Module.numThreads}.
 *
 * <p>The whole-network classes are named {@code *Networks}, not {@code *Benchmark}: scripts/bench runs them in a
 * step of their own, and its shape-suite steps select the {@code *Benchmark} classes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 4, time = 3, timeUnit = TimeUnit.SECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OneDnn4jNetworks {

    private Module net;
    private Tensor x;
    private Tensor xChannelsLast;

    @Setup
    public void setup(Network network) throws IOException {
        NetworkReference ref = network.reference();
        net = ref.build();
        net.numThreads(Network.threads());
        x = Tensor.of(ref.input(), ref.inputShape());
        xChannelsLast = x.toMemoryFormat(MemoryFormat.CHANNELS_LAST);
        try (Tensor y = net.forward(x)) {
            ref.check("onednn4j NCHW", y.toFloatArray());
        }
        try (Tensor y = net.forward(xChannelsLast)) {
            ref.check("onednn4j channels-last", y.toFloatArray());
        }
    }

    /** NCHW in: the first convolution reorders it into oneDNN's layout; a new output each call, closed after. */
    @Benchmark
    public void nchw(Blackhole bh) {
        try (Tensor y = net.forward(x)) {
            bh.consume(y);
        }
    }

    /** Channels-last in, the layout oneDNN's kernels work in: no reorder on the way in. */
    @Benchmark
    public void channelsLast(Blackhole bh) {
        try (Tensor y = net.forward(xChannelsLast)) {
            bh.consume(y);
        }
    }

    @TearDown
    public void tearDown() {
        x.close();
        xChannelsLast.close();
        net.close();
    }
}
