package dev.onednn4j.vision;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * One whole network shared by threads, as a server shares one model: every call gets exactly what a call alone
 * gets, whatever else runs, and closing the network while calls run ends them with an exception, never a crash or
 * a wrong result.
 */
class ModelConcurrencyTest {

    static final int THREADS = 4;
    static final int CALLS = 20;
    static final long[] SHAPE = {1, 3, 64, 64};

    /** Seeded weights for every tensor of {@code net}, as a trained state dict would bring: BatchNorm not trivial. */
    static void loadGeneratedWeights(Module net, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> dict = new LinkedHashMap<>();
        try {
            for (var e : net.stateDict().entrySet()) {
                String k = e.getKey();
                long[] shape = e.getValue().shape();
                if (e.getValue().dtype() == DType.INT64) {
                    dict.put(k, Tensor.of(new long[] {r.nextLong(0, 1000)}));
                    continue;
                }
                float[] v = new float[Math.toIntExact(e.getValue().numel())];
                double lo;
                double hi;
                if (k.endsWith("running_var")) {
                    lo = 0.5;
                    hi = 1.5;
                } else if (shape.length == 1 && k.endsWith("weight")) {
                    lo = 0.5;
                    hi = 1.5;
                } else if (shape.length == 1) {
                    lo = -0.1;
                    hi = 0.1;
                } else {
                    double bound = Math.sqrt(6.0 * shape[0] / v.length); // He uniform over the fan-in
                    lo = -bound;
                    hi = bound;
                }
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) r.nextDouble(lo, hi);
                }
                dict.put(k, Tensor.of(v, shape));
            }
            Module.LoadResult result = net.loadStateDict(dict, true);
            assertEquals(List.of(), result.missingKeys());
        } finally {
            dict.values().forEach(Tensor::close);
        }
    }

    static float[][] inputs(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] in = new float[count][(int) (SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3])];
        for (float[] a : in) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextDouble(-2, 2);
            }
        }
        return in;
    }

    static MemoryFormat formatOf(int input) {
        return input % 2 == 0 ? MemoryFormat.CONTIGUOUS : MemoryFormat.CHANNELS_LAST;
    }

    static float[] run(Module net, float[] input, MemoryFormat format) {
        try (Tensor x = Tensor.of(input, format, SHAPE);
                Tensor y = net.forward(x)) {
            return y.toFloatArray();
        }
    }

    @Test
    void fourThreadsShareOneResNetAndGetSingleThreadedResults() throws Exception {
        float[][] data = inputs(4, 7);
        try (ResNet net = Models.resnet18(10)) {
            loadGeneratedWeights(net, 2026);
            net.eval();
            float[][] expected = new float[data.length][];
            for (int i = 0; i < data.length; i++) {
                expected[i] = run(net, data[i], formatOf(i));
                assertEquals(10, expected[i].length);
                for (float v : expected[i]) {
                    assertTrue(Float.isFinite(v), "finite logits");
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                CountDownLatch start = new CountDownLatch(1);
                AtomicInteger calls = new AtomicInteger();
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        for (int c = 0; c < CALLS; c++) {
                            int i = (thread + c) % data.length;
                            assertArrayEquals(
                                    expected[i],
                                    run(net, data[i], formatOf(i)),
                                    "thread " + thread + ", call " + c + ", input " + i + " (" + formatOf(i) + ")");
                            calls.incrementAndGet();
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : futures) {
                    f.get(300, TimeUnit.SECONDS);
                }
                assertEquals(THREADS * CALLS, calls.get());
            } finally {
                pool.shutdownNow();
            }
            for (int i = 0; i < data.length; i++) {
                assertArrayEquals(expected[i], run(net, data[i], formatOf(i)), "alone again, input " + i);
            }
        }
    }

    /** Each call either completes with the single-threaded result or throws IllegalStateException. */
    @Test
    void closingTheModelWhileCallsRunIsSafe() throws Exception {
        float[][] data = inputs(2, 11);
        ResNet net = Models.resnet18(10);
        loadGeneratedWeights(net, 7);
        net.eval();
        float[][] expected = {run(net, data[0], formatOf(0)), run(net, data[1], formatOf(1))};
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            AtomicInteger completed = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int c = 0; ; c++) {
                        int i = (thread + c) % 2;
                        float[] got;
                        try {
                            got = run(net, data[i], formatOf(i));
                        } catch (IllegalStateException closed) {
                            refused.incrementAndGet();
                            return null;
                        }
                        assertArrayEquals(expected[i], got, "a call that completes is right");
                        completed.incrementAndGet();
                    }
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (completed.get() < THREADS && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(completed.get() >= THREADS, "calls ran before the close: " + completed.get());
            net.close();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS); // rethrows anything but IllegalStateException
            }
            assertEquals(THREADS, refused.get(), "every thread ended on IllegalStateException");
        } finally {
            pool.shutdownNow();
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> run(net, data[0], formatOf(0)));
        assertEquals("ResNet() is closed", e.getMessage());
        net.close(); // twice: nothing
    }
}
