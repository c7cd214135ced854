package dev.onednn4j.benchmarks.networks;

import dev.onednn4j.OneDnn;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.vision.Models;
import java.util.List;
import java.util.Locale;

/**
 * Where compiled ResNet-50's time goes ({@code scripts/bench --profile}): {@link CompiledModule#profile} at batch 8,
 * 224x224, grouped by kind of convolution (the 7x7 stem, the 3x3 ones, the 1x1 ones and the projections), with the
 * GFLOP/s each kind reaches. Its arithmetic comes from torchvision's ResNet-50 (v1.5: the stride in the 3x3).
 *
 * <pre>StepProfile [FP32|BF16 ...]</pre>
 */
public final class StepProfile {
    private static final int BATCH = 8;
    private static final int RUNS = 5;

    private StepProfile() {}

    public static void main(String[] args) {
        List<String> precisions = args.length == 0 ? List.of("FP32") : List.of(args);
        double[] flops = flops();
        System.out.printf(
                Locale.ROOT,
                "ResNet-50, batch %d, 224x224, %d threads, oneDNN ISA %s; GFLOP per call: stem %.2f, 3x3 %.2f,"
                        + " 1x1 %.2f%n",
                BATCH,
                Network.threads(),
                OneDnn.cpuIsa(),
                flops[0] / 1e9,
                flops[1] / 1e9,
                flops[2] / 1e9);
        for (String p : precisions) {
            try (Module net = Models.resnet50().eval();
                    CompiledModule c = net.compile(CompileOptions.forInput(BATCH, 3, 224, 224)
                            .inputFormat(MemoryFormat.CHANNELS_LAST)
                            .precision(Precision.valueOf(p))
                            .numThreads(Network.threads()));
                    Tensor x = Tensor.zeros(MemoryFormat.CHANNELS_LAST, BATCH, 3, 224, 224)) {
                for (int i = 0; i < 3; i++) {
                    c.forward(x).close();
                }
                for (int rep = 0; rep < 2; rep++) {
                    double[] ms = new double[4]; // stem, 3x3, 1x1, everything else
                    for (CompiledModule.StepTime s : c.profile(x, RUNS)) {
                        ms[kind(s.step())] += s.millis();
                    }
                    double total = ms[0] + ms[1] + ms[2] + ms[3];
                    System.out.printf(
                            Locale.ROOT,
                            "%s: %.1f ms per call, %.0f GFLOP/s; stem %.1f ms (%.0f GFLOP/s), 3x3 %.1f ms (%.0f),"
                                    + " 1x1 %.1f ms (%.0f), the rest %.1f ms%n",
                            p,
                            total,
                            (flops[0] + flops[1] + flops[2]) / total / 1e6,
                            ms[0],
                            flops[0] / ms[0] / 1e6,
                            ms[1],
                            flops[1] / ms[1] / 1e6,
                            ms[2],
                            flops[2] / ms[2] / 1e6,
                            ms[3]);
                }
            }
        }
    }

    /** 0: the stem, 1: a 3x3 convolution, 2: a 1x1 one (projections included), 3: anything else. */
    static int kind(String step) {
        if (step.startsWith("conv1 ")) {
            return 0;
        }
        if (step.startsWith("layer")) {
            String first = step.substring(0, step.indexOf(' '));
            if (first.endsWith(".conv2")) {
                return 1;
            }
            if (first.endsWith(".conv1") || first.endsWith(".conv3") || first.contains(".downsample")) {
                return 2;
            }
        }
        return 3;
    }

    /** FLOPs per call (2 per multiply-add) of the stem, the 3x3 and the 1x1 convolutions of torchvision's ResNet-50. */
    static double[] flops() {
        double stem = 64.0 * 3 * 7 * 7 * 112 * 112;
        double k3 = 0;
        double k1 = 0;
        int size = 56;
        int in = 64;
        int[][] stages = {{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}}; // width, blocks, first stride
        for (int[] st : stages) {
            for (int b = 0; b < st[1]; b++) {
                int out = b == 0 ? size / st[2] : size;
                k1 += (double) in * st[0] * size * size; // conv1, at the input's size
                k3 += 9.0 * st[0] * st[0] * out * out; // conv2, strided
                k1 += 4.0 * st[0] * st[0] * out * out; // conv3
                if (b == 0) {
                    k1 += 4.0 * in * st[0] * out * out; // downsample
                }
                in = 4 * st[0];
                size = out;
            }
        }
        return new double[] {2 * BATCH * stem, 2 * BATCH * k3, 2 * BATCH * k1};
    }
}
