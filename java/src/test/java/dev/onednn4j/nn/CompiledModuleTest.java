package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.OneDnn;
import dev.onednn4j.natives.OpenMp;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.testing.ChildJvm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What compiling does to modules beyond the torchvision models (those are checked against PyTorch in
 * CompiledModelsTest): a user's own module with tensor operations, every kind of step, what tracing refuses, and
 * the compiled module's contract (shapes, formats, threads, concurrency, lifetime).
 */
class CompiledModuleTest {

    /** The seed's residual block, written as a user would: layers plus {@code add_} and {@code relu_}. */
    static final class Residual extends Module {
        final Conv2d conv1;
        final BatchNorm2d bn1;
        final Conv2d conv2;
        final BatchNorm2d bn2;

        @SuppressWarnings("this-escape")
        Residual(int channels) {
            conv1 = registerModule(
                    "conv1",
                    Conv2d.builder(channels, channels, 3).padding(1).bias(false).build());
            bn1 = registerModule("bn1", new BatchNorm2d(channels));
            conv2 = registerModule(
                    "conv2",
                    Conv2d.builder(channels, channels, 3).padding(1).bias(false).build());
            bn2 = registerModule("bn2", new BatchNorm2d(channels));
        }

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor a = conv1.forward(x);
                    Tensor b = bn1.forward(a)) {
                b.relu_();
                try (Tensor c = conv2.forward(b)) {
                    Tensor d = bn2.forward(c);
                    return d.add_(x).relu_();
                }
            }
        }
    }

    /** Random BatchNorm statistics and affine parameters, so that folding them is tested. */
    static void randomize(Module m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (var e : m.stateDict().entrySet()) {
            Tensor t = e.getValue();
            String k = e.getKey();
            if (k.endsWith("num_batches_tracked")) {
                continue;
            }
            float[] v = new float[(int) t.numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (k.endsWith("running_var") ? r.nextDouble(0.2, 2) : r.nextDouble(-0.5, 0.5));
            }
            if (k.endsWith("weight") && t.dim() == 4) {
                for (int i = 0; i < v.length; i++) {
                    v[i] *= (float) (2 / Math.sqrt((double) t.numel() / t.size(0)));
                }
            }
            t.copyFrom(v);
        }
    }

    static Tensor input(long seed, MemoryFormat format, long... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        return Tensor.of(v, format, shape);
    }

    /** max |a - b| / max |b|: float32 paths that sum in different orders agree to a few ulps of the scale. */
    static double relativeError(float[] a, float[] b) {
        double scale = 0;
        double err = 0;
        for (int i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(b[i]));
            err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        assertTrue(scale > 1e-3, "a meaningful scale: " + scale);
        return err / scale;
    }

    /** Compiles {@code net} for {@code shape} and checks it against the eager module, both output paths. */
    static CompiledModule compileAndCheck(Module net, MemoryFormat format, long... shape) {
        net.eval();
        CompiledModule fast = net.compile(CompileOptions.forInput(shape).inputFormat(format));
        try (Tensor x = input(7, format, shape);
                Tensor eager = net.forward(x);
                Tensor y = fast.forward(x);
                Tensor out = Tensor.zeros(y.memoryFormat(), y.shape())) {
            fast.forward(x, out);
            assertArrayEquals(eager.shape(), y.shape());
            double err = relativeError(y.toFloatArray(), eager.toFloatArray());
            assertTrue(err < 1e-5, "compiled against eager: " + err + "\n" + fast);
            assertArrayEquals(y.toFloatArray(), out.toFloatArray(), "forward(x) and forward(x, out)");
        } catch (RuntimeException | Error e) {
            fast.close();
            throw e;
        }
        return fast;
    }

    @ParameterizedTest
    @EnumSource(MemoryFormat.class)
    void aUsersOwnResidualBlockCompilesAndFuses(MemoryFormat format) {
        try (Residual block = new Residual(16)) {
            randomize(block, 3);
            try (CompiledModule fast = compileAndCheck(block, format, 2, 16, 12, 12)) {
                String plan = fast.toString();
                assertTrue(plan.contains("conv1 + bn1 + Tensor.relu_"), "BatchNorm folded, relu_ fused:\n" + plan);
                assertTrue(
                        plan.contains("conv2 + bn2 + add(input) + Tensor.relu_"),
                        "the residual a sum post-op, relu after it:\n" + plan);
            }
        }
    }

    /**
     * {@code x + silu(conv(x))}, with {@code x} made inside the plan (EfficientNetV2's first blocks): the sum post-op
     * must not accumulate into {@code x}'s own buffer while the convolution still reads it. It did, and the compiled
     * EfficientNetV2-S was 3% off.
     */
    static final class OwnInputResidual extends Module {
        final Conv2d stem = registerModule(
                "stem", Conv2d.builder(3, 16, 3).padding(1).seed(1).build());
        final Conv2d conv = registerModule(
                "conv", Conv2d.builder(16, 16, 3).padding(1).seed(2).build());
        final SiLU act = registerModule("act", new SiLU());

        @Override
        public Tensor forward(Tensor x) {
            try (Tensor a = stem.forward(x).relu_(); // [N, 16, H, W], a buffer of the plan
                    Tensor b = conv.forward(a);
                    Tensor c = act.forward(b)) {
                return c.add(a);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(MemoryFormat.class)
    void aResidualThatIsTheConvolutionsOwnInputIsNotOverwrittenWhileRead(MemoryFormat format) {
        try (OwnInputResidual net = new OwnInputResidual();
                CompiledModule fast = compileAndCheck(net, format, 2, 3, 20, 20)) {
            String plan = fast.toString();
            assertTrue(plan.contains("conv + act + add(stem)"), "SiLU and the residual fused:\n" + plan);
            assertTrue(plan.contains("the residual is the step's own input"), "a copy for the sum:\n" + plan);
        }
    }

    @ParameterizedTest
    @EnumSource(MemoryFormat.class)
    void aPreActivationBatchNormAndReluRunInOnePass(MemoryFormat format) {
        // DenseNet's order: BatchNorm -> ReLU -> Conv2d, the BatchNorm reading what no convolution produced here
        try (Sequential net = new Sequential(
                new BatchNorm2d(8), new ReLU(), Conv2d.builder(8, 4, 1).build(), new BatchNorm2d(4), new ReLU())) {
            randomize(net, 11);
            try (CompiledModule fast = compileAndCheck(net, format, 2, 8, 9, 7)) {
                String plan = fast.toString();
                assertTrue(plan.contains("0 + 1 ["), "BatchNorm and ReLU one step:\n" + plan);
                assertTrue(
                        plan.contains("2 + 3 + 4 ["),
                        "the second BatchNorm still folds into the convolution:\n" + plan);
            }
        }
    }

    /**
     * The contract's "allocates nothing per call": after warming up (so that the JIT has compiled the call path), a
     * thousand forward(x, out) calls allocate not one byte on this thread's Java heap. (Native memory is planned at
     * compile time: the slab pool and the primitives, nothing per call.) A count of bytes, not a timing.
     */
    @Test
    void forwardIntoOutAllocatesNothingPerCall() {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        assertTrue(
                threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "this JVM counts each thread's allocation");
        try (Residual block = new Residual(16)) {
            randomize(block, 7);
            try (CompiledModule fast = compileAndCheck(block, MemoryFormat.CHANNELS_LAST, 1, 16, 8, 8);
                    Tensor x = input(8, MemoryFormat.CHANNELS_LAST, 1, 16, 8, 8);
                    Tensor out = Tensor.zeros(MemoryFormat.CHANNELS_LAST, 1, 16, 8, 8)) {
                for (int i = 0; i < 30_000; i++) {
                    fast.forward(x, out);
                }
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 1_000; i++) {
                    fast.forward(x, out);
                }
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                assertEquals(0, allocated, "bytes allocated by 1,000 calls");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(MemoryFormat.class)
    void everyKindOfStepCompiles(MemoryFormat format) {
        // a BatchNorm and an activation with no convolution before them, a max and a ceil-mode average pooling
        // (whose divisor needs the correction post-op), a non-divisible adaptive pooling (a matmul), flatten (a
        // copy for channels-last) and a linear layer with its activation fused
        try (Sequential net = new Sequential(
                new BatchNorm2d(4),
                new LeakyReLU(0.1),
                Conv2d.builder(4, 8, 3).padding(1).build(),
                new ReLU6(),
                MaxPool2d.builder(2).build(),
                AvgPool2d.builder(3).stride(2).padding(1).ceilMode(true).build(),
                new AdaptiveAvgPool2d(3, 3),
                new Flatten(),
                new Linear(72, 10),
                new Hardswish())) {
            randomize(net, 5);
            try (CompiledModule fast = compileAndCheck(net, format, 2, 4, 17, 19)) {
                String plan = fast.toString();
                assertTrue(plan.contains("8 + 9 ["), "Linear + Hardswish fused:\n" + plan);
            }
        }
    }

    @Test
    void anAdditionOfTwoNonConvolutionsIsABinaryStep() {
        Module net = new Module() {
            final ReLU a = registerModule("a", new ReLU());
            final Sigmoid b = registerModule("b", new Sigmoid());

            @Override
            public Tensor forward(Tensor x) {
                try (Tensor p = a.forward(x);
                        Tensor q = b.forward(x)) {
                    return p.add(q);
                }
            }
        };
        try (net;
                CompiledModule fast = compileAndCheck(net, MemoryFormat.CONTIGUOUS, 1, 3, 5, 5)) {
            assertTrue(fast.toString().contains("Tensor.add ["), fast.toString());
        }
    }

    @Test
    void profileTimesEveryStepOfThePlanAndLeavesTheResultsAlone() {
        try (Residual block = new Residual(16)) {
            randomize(block, 6);
            block.eval();
            try (CompiledModule fast = block.compile(2, 16, 12, 12);
                    Tensor x = input(2, MemoryFormat.CONTIGUOUS, 2, 16, 12, 12);
                    Tensor before = fast.forward(x)) {
                List<CompiledModule.StepTime> steps = fast.profile(x, 5);
                String plan = fast.toString();
                assertTrue(steps.size() >= 2, steps.toString());
                for (CompiledModule.StepTime t : steps) {
                    assertTrue(plan.contains(t.step()), t.step() + " is a step of " + plan);
                    assertTrue(t.millis() >= 0 && t.millis() < 10_000, t.toString());
                }
                assertTrue(steps.stream()
                                .mapToDouble(CompiledModule.StepTime::millis)
                                .sum()
                        > 0);
                try (Tensor after = fast.forward(x)) {
                    assertArrayEquals(before.toFloatArray(), after.toFloatArray());
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fast.profile(x, 0));
                assertEquals("runs must be at least 1, got 0", e.getMessage());
                try (Tensor wrong = Tensor.zeros(1, 16, 12, 12)) {
                    assertThrows(IllegalArgumentException.class, () -> fast.profile(wrong, 1));
                }
            }
        }
    }

    @Test
    void kernelsChosenByMeasurementAreRememberedForTheNextCompile(@TempDir Path dir) {
        Path choices = dir.resolve("kernel-choices.txt");
        String old = System.setProperty("onednn4j.kernelCache", choices.toString());
        try (Residual block = new Residual(16)) {
            randomize(block, 5);
            block.eval();
            CompileOptions o = CompileOptions.forInput(2, 16, 12, 12).tuneKernels(true);
            try (CompiledModule first = block.compile(o);
                    CompiledModule second = block.compile(o);
                    Tensor x = input(1, MemoryFormat.CONTIGUOUS, 2, 16, 12, 12);
                    Tensor eager = block.forward(x);
                    Tensor y = second.forward(x)) {
                assertTrue(first.toString().contains("kernels: 2 timed, 0 from " + choices), first.toString());
                assertTrue(second.toString().contains("kernels: 0 timed, 2 from " + choices), second.toString());
                assertTrue(relativeError(y.toFloatArray(), eager.toFloatArray()) < 1e-5);
            }
        } finally {
            if (old == null) {
                System.clearProperty("onednn4j.kernelCache");
            } else {
                System.setProperty("onednn4j.kernelCache", old);
            }
        }
    }

    @Test
    void readingValuesDuringForwardIsRefusedNamingTheOperation() {
        Module net = new Module() {
            final Conv2d conv = registerModule("conv", Conv2d.builder(3, 4, 3).build());

            @Override
            public Tensor forward(Tensor x) {
                Tensor y = conv.forward(x);
                if (y.toFloatArray()[0] > 0) { // data-dependent control flow: not traceable
                    y.relu_();
                }
                return y;
            }
        };
        try (net) {
            net.eval();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> net.compile(1, 3, 8, 8));
            assertTrue(
                    e.getMessage()
                            .startsWith(
                                    "compile: Tensor.toFloatArray reads or writes the values of a traced tensor [1, 4,"
                                            + " 6, 6], which do not exist while tracing (after conv)"),
                    e.getMessage());
        }
    }

    @Test
    void aTensorMadeInsideForwardIsRefused() {
        Module net = new Module() {
            final ReLU relu = registerModule("relu", new ReLU());

            @Override
            public Tensor forward(Tensor x) {
                try (Tensor bias = Tensor.zeros(x.shape())) {
                    return relu.forward(bias);
                }
            }
        };
        try (net) {
            net.eval();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> net.compile(1, 3, 4, 4));
            assertTrue(
                    e.getMessage().contains("relu uses a tensor [1, 3, 4, 4] that no traced operation produced"),
                    e.getMessage());
        }
    }

    @Test
    void theContractIsChecked() {
        try (Sequential net = new Sequential(Conv2d.builder(3, 4, 3).build())) {
            IllegalStateException training = assertThrows(IllegalStateException.class, () -> net.compile(1, 3, 8, 8));
            assertTrue(training.getMessage().contains("training mode"), training.getMessage());
            net.eval();
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> net.compile(3, 8, 8));
            assertEquals(
                    "compile takes a 4-D (N, C, H, W) input shape with every size >= 1, got [3, 8, 8]",
                    shape.getMessage());
            CompiledModule fast = net.compile(1, 3, 8, 8);
            try (fast;
                    Tensor wrong = Tensor.zeros(1, 3, 9, 8);
                    Tensor cl = Tensor.zeros(MemoryFormat.CHANNELS_LAST, 1, 3, 8, 8)) {
                assertEquals(
                        "input is [1, 3, 9, 8] contiguous_format, but this module was compiled for [1, 3, 8, 8] "
                                + "contiguous_format: compile another for that shape, or convert with toMemoryFormat",
                        assertThrows(IllegalArgumentException.class, () -> fast.forward(wrong))
                                .getMessage());
                assertThrows(IllegalArgumentException.class, () -> fast.forward(cl));
                assertArrayEquals(new long[] {1, 4, 6, 6}, fast.outputShape());
                assertEquals(Precision.FP32, fast.precision());
            }
            try (Tensor x = Tensor.zeros(1, 3, 8, 8)) {
                assertThrows(IllegalStateException.class, () -> fast.forward(x), "closed");
            }
        }
    }

    @Test
    void aCompiledModuleRunsWithItsOwnThreadCount() {
        try (Sequential net = new Sequential(Conv2d.builder(8, 8, 3).padding(1).build());
                Tensor x = Tensor.zeros(1, 8, 8, 8);
                Tensor y = Tensor.zeros(1, 8, 8, 8)) {
            net.eval();
            try (CompiledModule fast =
                    net.compile(CompileOptions.forInput(1, 8, 8, 8).numThreads(1))) {
                fast.forward(x, y);
                assertEquals(1, OpenMp.maxThreads(), "the calling thread runs one OpenMP thread");
            }
            assertTrue(OneDnn.info().threads() >= 1);
        }
    }

    @Test
    void concurrentCallsGiveTheSameBits() throws Exception {
        try (Residual block = new Residual(8)) {
            randomize(block, 11);
            block.eval();
            try (CompiledModule fast = block.compile(2, 8, 10, 10);
                    Tensor x = input(3, MemoryFormat.CONTIGUOUS, 2, 8, 10, 10);
                    Tensor first = fast.forward(x)) {
                float[] expected = first.toFloatArray();
                ExecutorService pool = Executors.newFixedThreadPool(4);
                try {
                    List<Future<Boolean>> runs = new ArrayList<>();
                    for (int t = 0; t < 4; t++) {
                        runs.add(pool.submit(() -> {
                            try (Tensor out = Tensor.zeros(2, 8, 10, 10)) {
                                for (int i = 0; i < 25; i++) {
                                    fast.forward(x, out);
                                    if (!java.util.Arrays.equals(expected, out.toFloatArray())) {
                                        return false;
                                    }
                                }
                            }
                            return true;
                        }));
                    }
                    for (Future<Boolean> f : runs) {
                        assertTrue(f.get());
                    }
                } finally {
                    pool.shutdown();
                }
            }
        }
    }

    /** The child JVM of {@link #withoutNativeBf16Bf16IsRefusedAndAutoIsFp32}. */
    public static void main(String[] args) {
        ChildJvm.serve(args, 1, i -> {
            try (Sequential net = new Sequential(Conv2d.builder(3, 4, 3).build())) {
                net.eval();
                String refused;
                try (CompiledModule m =
                        net.compile(CompileOptions.forInput(1, 3, 8, 8).precision(Precision.BF16))) {
                    refused = "compiled " + m.precision();
                } catch (IllegalArgumentException e) {
                    refused = e.getMessage();
                }
                try (CompiledModule auto =
                        net.compile(CompileOptions.forInput(1, 3, 8, 8).precision(Precision.AUTO))) {
                    return OneDnn.cpuIsa() + "|" + refused + "|AUTO=" + auto.precision();
                }
            }
        });
    }

    /** Whatever this machine has, a JVM whose oneDNN is limited to AVX2 shows the fallback and the error. */
    @Test
    void withoutNativeBf16Bf16IsRefusedAndAutoIsFp32() {
        ChildJvm.Report r = ChildJvm.run(CompiledModuleTest.class, 1, List.of(), Map.of("ONEDNN_MAX_CPU_ISA", "AVX2"));
        assertEquals(List.of(), r.crashes());
        String[] v = r.outcomes().getFirst().verdict().split("\\|", -1);
        assertEquals(3, v.length, r.outcomes().getFirst().verdict());
        assertTrue(v[0].startsWith("cpu_isa_avx2"), v[0]);
        assertEquals(
                "bf16 needs a CPU that computes it natively (AVX512_BF16, AVX10 or AMX); oneDNN would emulate it here ("
                        + v[0] + "): compile with Precision.FP32 or AUTO",
                v[1]);
        assertEquals("AUTO=FP32", v[2]);
    }
}
