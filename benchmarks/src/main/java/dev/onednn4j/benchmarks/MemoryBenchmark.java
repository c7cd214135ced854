package dev.onednn4j.benchmarks;

import dev.onednn4j.OneDnn;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What onednn4j's memory does over long runs, measured as the process's resident set (VmRSS in
 * {@code /proc/self/status}, Linux only), in a fresh JVM ({@code scripts/bench --memory}):
 *
 * <ol>
 *   <li>2,000 distinct input shapes on one module (Conv2d 64 -> 64, 3x3, padding 1, N = 1, H and W from 8 to 60 in
 *       shuffled pairs), NCHW, then the same on a second module in channels-last. Goal: RSS grows by less than
 *       64 MB in each (the plan cache keeps 32 plans; what the other 1,968 left must be given back).</li>
 *   <li>1,000,000 {@code forward(x)} calls on a tiny shape (Conv2d 8 -> 8, 3x3, padding 1, on 1x8x8x8) whose
 *       outputs are never closed. Goal: bounded, defined as RSS growing by less than 16 MB over the second half of
 *       the calls (the first half may reach the level at which freeing keeps pace).</li>
 *   <li>The same with every output closed. Same goal.</li>
 * </ol>
 *
 * <p>Each of the four runs in a JVM of its own, started with this JVM's options and class path, so that none
 * inherits what another left in the C allocator or in oneDNN's caches. Run it with a fixed, pre-touched heap
 * ({@code -Xms} = {@code -Xmx}, {@code -XX:+AlwaysPreTouch}), so that the Java heap growing does not count as
 * native growth; it says so when the heap is not fixed. Exits with status 1 if a goal is missed.
 *
 * <pre>MemoryBenchmark [shapes] [calls]</pre>
 * (defaults 2000 and 1000000; smaller numbers for a smoke run, whose verdicts then mean little).
 */
public final class MemoryBenchmark {

    static final long MB = 1_000_000;
    static final long SHAPES_GOAL = 64 * MB;
    static final long BOUNDED_GOAL = 16 * MB;

    private MemoryBenchmark() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length == 3 && args[0].equals("--phase")) {
            int n = Integer.parseInt(args[2]);
            boolean pass = switch (args[1]) {
                case "nchw" -> shapes(MemoryFormat.CONTIGUOUS, n);
                case "channels-last" -> shapes(MemoryFormat.CHANNELS_LAST, n);
                case "unclosed" -> calls(false, n);
                case "closed" -> calls(true, n);
                default -> throw new IllegalArgumentException("no phase " + args[1]);
            };
            System.exit(pass ? 0 : 1);
        }
        int shapes = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        System.out.println("onednn4j memory benchmark: " + OneDnn.version() + ", CPU ISA " + OneDnn.cpuIsa() + ", "
                + OneDnn.info().threads() + " threads per call, JDK " + Runtime.version());
        List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
        System.out.println("JVM options: " + String.join(" ", jvm));
        if (jvm.stream().noneMatch(a -> a.startsWith("-Xms")) || !jvm.contains("-XX:+AlwaysPreTouch")) {
            System.out.println("note: the heap is not fixed and pre-touched (-Xms = -Xmx, -XX:+AlwaysPreTouch): its "
                    + "growth counts in the RSS below");
        }
        boolean ok = true;
        ok &= phase(jvm, "nchw", shapes);
        ok &= phase(jvm, "channels-last", shapes);
        ok &= phase(jvm, "unclosed", calls);
        ok &= phase(jvm, "closed", calls);
        System.out.println(ok ? "all goals met" : "GOALS MISSED");
        if (!ok) {
            System.exit(1);
        }
    }

    /** Runs one phase in a new JVM with {@code jvm} options and this class path; whether its goal was met. */
    static boolean phase(List<String> jvm, String name, int n) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvm);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MemoryBenchmark.class.getName());
        cmd.addAll(List.of("--phase", name, Integer.toString(n)));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        return p.waitFor() == 0;
    }

    /** (a) {@code n} distinct shapes on one new module in {@code format}. */
    static boolean shapes(MemoryFormat format, int n) throws IOException {
        List<int[]> pairs = new ArrayList<>();
        for (int h = 8; h <= 60; h++) {
            for (int w = 8; w <= 60; w++) {
                pairs.add(new int[] {h, w});
            }
        }
        SplittableRandom r = new SplittableRandom(2026);
        for (int i = pairs.size() - 1; i > 0; i--) { // Fisher-Yates: the same shuffle every run
            int j = r.nextInt(i + 1);
            int[] t = pairs.get(i);
            pairs.set(i, pairs.get(j));
            pairs.set(j, t);
        }
        if (n > pairs.size()) {
            throw new IllegalArgumentException("at most " + pairs.size() + " distinct shapes");
        }
        long start;
        long end;
        long elapsed;
        try (Conv2d conv = Conv2d.builder(64, 64, 3).padding(1).seed(1).build()) {
            try (Tensor x = Tensor.zeros(format, 1, 64, 20, 20);
                    Tensor y = conv.forward(x)) {
                y.get(0, 0, 0, 0); // the first plan and oneDNN's own start-up are not what is measured
            }
            start = rss();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                int[] p = pairs.get(i);
                try (Tensor x = Tensor.zeros(format, 1, 64, p[0], p[1]);
                        Tensor y = conv.forward(x)) {
                    y.get(0, 0, 0, 0);
                }
                if ((i + 1) % 500 == 0) {
                    System.out.printf(
                            Locale.ROOT, "  %s: %d shapes, RSS %+.1f MB%n", format, i + 1, (rss() - start) / 1e6);
                }
            }
            elapsed = System.nanoTime() - t0;
            end = rss();
        }
        long growth = end - start;
        boolean pass = growth < SHAPES_GOAL;
        System.out.printf(
                Locale.ROOT,
                "(a) %d distinct shapes, Conv2d 64->64 3x3, %s: RSS %.1f -> %.1f MB, grew %.1f MB (goal < %d MB): "
                        + "%s (%.1f s)%n",
                n,
                format,
                start / 1e6,
                end / 1e6,
                growth / 1e6,
                SHAPES_GOAL / MB,
                pass ? "PASS" : "FAIL",
                elapsed / 1e9);
        return pass;
    }

    /** (b) and (c): {@code n} forward(x) calls on a tiny shape, outputs closed or not. */
    static boolean calls(boolean close, int n) throws IOException {
        long start;
        long half = 0;
        long end;
        long peak = 0;
        long elapsed;
        try (Conv2d conv = Conv2d.builder(8, 8, 3).padding(1).seed(1).build();
                Tensor x = Tensor.zeros(1, 8, 8, 8)) {
            for (int i = 0; i < 10_000; i++) { // warm-up: plans, JIT, the allocator's first pages
                conv.forward(x).close();
            }
            start = rss();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                Tensor y = conv.forward(x);
                if (close) {
                    y.close();
                }
                if ((i + 1) % 50_000 == 0) {
                    long now = rss();
                    peak = Math.max(peak, now);
                    if (i + 1 == n / 2) {
                        half = now;
                    }
                }
            }
            elapsed = System.nanoTime() - t0;
            end = rss();
        }
        if (half == 0) {
            half = start;
        }
        long secondHalf = end - half;
        boolean pass = secondHalf < BOUNDED_GOAL;
        System.out.printf(
                Locale.ROOT,
                "(%s) %d forward(x) calls %s, Conv2d 8->8 3x3 on 1x8x8x8: RSS %.1f -> %.1f (half-way) -> %.1f MB, "
                        + "peak %.1f MB; grew %.1f MB in all, %.1f MB over the second half (goal < %d MB): %s "
                        + "(%.2f us per call)%n",
                close ? "c" : "b",
                n,
                close ? "closing each output" : "never closing the outputs",
                start / 1e6,
                half / 1e6,
                end / 1e6,
                Math.max(peak, end) / 1e6,
                (end - start) / 1e6,
                secondHalf / 1e6,
                BOUNDED_GOAL / MB,
                pass ? "PASS" : "FAIL",
                elapsed / 1e3 / n);
        return pass;
    }

    /** The resident set size, in bytes (VmRSS of /proc/self/status). */
    static long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS in /proc/self/status (the memory benchmark needs Linux)");
    }
}
