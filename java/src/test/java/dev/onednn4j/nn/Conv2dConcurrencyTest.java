package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** One Conv2d shared by many threads: each gets exactly what one thread alone gets. */
class Conv2dConcurrencyTest {

    static final int THREADS = 8;
    static final int ROUNDS = 25;

    @Test
    void eightThreadsShareOneConv2dAndGetSingleThreadedResults() throws Exception {
        // two input shapes and both layouts, so plans are also built concurrently
        long[][] shapes = {{2, 16, 20, 20}, {1, 16, 13, 17}};
        int inputs = 8;
        try (Conv2d conv = Conv2d.builder(16, 32, 3).padding(1).seed(11).build()) {
            float[][] data = new float[inputs][];
            long[][] shapeOf = new long[inputs][];
            MemoryFormat[] formatOf = new MemoryFormat[inputs];
            float[][] expected = new float[inputs][];
            SplittableRandom rnd = new SplittableRandom(99);
            for (int i = 0; i < inputs; i++) {
                shapeOf[i] = shapes[i % 2];
                formatOf[i] = i % 4 < 2 ? MemoryFormat.CONTIGUOUS : MemoryFormat.CHANNELS_LAST;
                long n = 1;
                for (long d : shapeOf[i]) {
                    n *= d;
                }
                data[i] = new float[(int) n];
                for (int k = 0; k < n; k++) {
                    data[i][k] = (float) rnd.nextDouble(-1, 1);
                }
            }
            // the single-threaded answers come from a separate, identical layer, so the shared one starts cold
            try (Conv2d alone = Conv2d.builder(16, 32, 3).padding(1).seed(11).build()) {
                for (int i = 0; i < inputs; i++) {
                    try (Tensor x = Tensor.of(data[i], formatOf[i], shapeOf[i]);
                            Tensor y = alone.forward(x)) {
                        expected[i] = y.toFloatArray();
                    }
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            CountDownLatch start = new CountDownLatch(1);
            AtomicInteger calls = new AtomicInteger();
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int r = 0; r < ROUNDS; r++) {
                        int i = (thread + r) % inputs;
                        try (Tensor x = Tensor.of(data[i], formatOf[i], shapeOf[i])) {
                            float[] got;
                            if (r % 2 == 0) {
                                try (Tensor y = conv.forward(x)) {
                                    got = y.toFloatArray();
                                }
                            } else {
                                try (Tensor y = Tensor.zeros(formatOf[i], conv.outputShape(shapeOf[i]))) {
                                    conv.forward(x, y);
                                    got = y.toFloatArray();
                                }
                            }
                            assertArrayEquals(expected[i], got, "thread " + thread + ", round " + r + ", input " + i);
                            calls.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(THREADS * ROUNDS, calls.get());
        }
    }

    /** Closing a layer while other threads run it ends their calls with an exception, never a crash. */
    @Test
    void closingWhileOtherThreadsRunIsSafe() throws Exception {
        Conv2d conv = Conv2d.builder(8, 8, 3).padding(1).build();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch running = new CountDownLatch(4);
        AtomicInteger done = new AtomicInteger();
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            futures.add(pool.submit(() -> {
                running.countDown();
                try (Tensor x = Tensor.zeros(MemoryFormat.CHANNELS_LAST, 1, 8, 32, 32)) {
                    while (true) {
                        try (Tensor _ = conv.forward(x)) {
                            done.incrementAndGet();
                        } catch (IllegalStateException closed) {
                            return null;
                        }
                    }
                }
            }));
        }
        running.await();
        // until some calls are done: a fixed sleep is too short where a busy machine builds the plan slowly
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (done.get() < 4 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        conv.close();
        for (Future<?> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertTrue(done.get() > 0, "calls ran before the close");
    }
}
