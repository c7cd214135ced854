package dev.onednn4j.fuzz;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a fuzz run's cases in child JVMs, so that a native crash ends only the child: the case it was running (the
 * last {@code start} line without an {@code end}) is recorded as a {@link Status#CRASH}, with the exit code, the
 * JVM's crash summary (signal, problematic frame, hs_err file) and the last lines of the child's output, and a new
 * child goes on from the next case. A case running past the time limit is killed and recorded as a
 * {@link Status#HANG}.
 *
 * <p>With {@code jobs} children at once, child {@code j} runs cases {@code j, j + jobs, j + 2 jobs, ...}. Each
 * child is this JVM's java with its class path, {@code --enable-native-access=ALL-UNNAMED}, its hs_err files sent
 * to {@code <out>/hs_err} and no core dump.
 */
public final class Supervisor {

    /**
     * What a run is.
     *
     * @param seed      the run's seed
     * @param cases     how many cases: indices {@code 0} to {@code cases - 1}
     * @param layers    the layer selection ({@link Layers#parse}); empty for all
     * @param jobs      child JVMs at once
     * @param out       where hs_err files go (and, written by {@link Report}, the report)
     * @param source    the class of the {@link CaseSource}, or null for {@link Generator} (tests name others)
     * @param timeout   how long one case may run before its JVM is killed
     * @param classPath the children's class path
     * @param log       receives progress and each failure as it is found
     */
    public record Settings(
            long seed,
            long cases,
            Set<String> layers,
            int jobs,
            Path out,
            String source,
            Duration timeout,
            String classPath,
            PrintStream log) {

        /**
         * Settings for a run with this JVM's class path, logging to standard error.
         *
         * @param seed   the run's seed
         * @param cases  how many cases
         * @param layers the layer selection; empty for all
         * @param jobs   child JVMs at once
         * @param out    where hs_err files and the report go
         * @return the settings, with a 300 s limit per case and {@link Generator} as the source
         */
        public static Settings of(long seed, long cases, Set<String> layers, int jobs, Path out) {
            return new Settings(
                    seed,
                    cases,
                    layers,
                    jobs,
                    out,
                    null,
                    Duration.ofMinutes(5),
                    System.getProperty("java.class.path"),
                    System.err);
        }

        /**
         * These settings with another case source.
         *
         * @param sourceClass a {@link CaseSource} with a public no-argument constructor, on the class path
         * @return a copy
         */
        public Settings withSource(String sourceClass) {
            return new Settings(seed, cases, layers, jobs, out, sourceClass, timeout, classPath, log);
        }

        /**
         * These settings with another time limit per case.
         *
         * @param limit how long one case may run
         * @return a copy
         */
        public Settings withTimeout(Duration limit) {
            return new Settings(seed, cases, layers, jobs, out, source, limit, classPath, log);
        }

        /**
         * These settings logging elsewhere.
         *
         * @param stream receives progress and failures
         * @return a copy
         */
        public Settings withLog(PrintStream stream) {
            return new Settings(seed, cases, layers, jobs, out, source, timeout, classPath, stream);
        }
    }

    /**
     * A run's results.
     *
     * @param settings      what was run
     * @param outcomes      every case's outcome, by index
     * @param oneDnnVersion the children's oneDNN, e.g. {@code 3.13.0}
     * @param cpuIsa        the ISA oneDNN's kernels use, as {@code OneDnn.cpuIsa()} names it
     * @param wallSeconds   how long the run took
     * @param childStarts   how many child JVMs were started (one plus one per crash or hang, per job)
     */
    public record Summary(
            Settings settings,
            List<Outcome> outcomes,
            String oneDnnVersion,
            String cpuIsa,
            double wallSeconds,
            int childStarts) {

        /**
         * How many cases ended with {@code status}.
         *
         * @param status the status to count
         * @return the number of outcomes with it
         */
        public long count(Status status) {
            return outcomes.stream().filter(o -> o.status() == status).count();
        }
    }

    /** Thrown when children die before running any case: nothing can be fuzzed. */
    public static final class FatalException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FatalException(String message) {
            super(message);
        }
    }

    /** The children running now, destroyed if this JVM exits first (they would otherwise run their range out). */
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "fuzz-children-cleanup"));
    }

    private final Settings s;
    private final Map<Long, Outcome> results = new TreeMap<>();
    private final AtomicLong done = new AtomicLong();
    private volatile String version = "unknown";
    private volatile String isa = "unknown";
    private int childStarts;
    private long lastProgress = System.nanoTime();

    private Supervisor(Settings s) {
        this.s = s;
    }

    /**
     * Runs every case of {@code settings} in child JVMs.
     *
     * @param settings the run
     * @return every outcome, crashes included
     * @throws FatalException if child JVMs die before running a case, three times in a row
     * @throws IOException if a child cannot be started or the output folder created
     */
    public static Summary run(Settings settings) throws IOException {
        return new Supervisor(settings).runAll();
    }

    private Summary runAll() throws IOException {
        Files.createDirectories(s.out().resolve("hs_err"));
        long t0 = System.nanoTime();
        int jobs = (int) Math.max(1, Math.min(s.jobs(), Math.max(1, s.cases())));
        ExecutorService pool = Executors.newFixedThreadPool(jobs);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int j = 0; j < jobs; j++) {
                long first = j;
                workers.add(pool.submit(() -> {
                    worker(first, jobs);
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                try {
                    w.get();
                } catch (ExecutionException e) {
                    for (Future<?> other : workers) {
                        other.cancel(true);
                    }
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    if (e.getCause() instanceof IOException io) {
                        throw io;
                    }
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        List<Outcome> outcomes;
        int starts;
        synchronized (this) {
            outcomes = List.copyOf(results.values());
            starts = childStarts;
        }
        return new Summary(s, outcomes, version, isa, wall, starts);
    }

    /** A case a child has started and not ended. */
    private static final class Pending {
        final long index;
        final String layer;
        final boolean valid;
        final String description;
        final long startNanos = System.nanoTime();
        String kernel;

        Pending(long index, String layer, boolean valid, String description) {
            this.index = index;
            this.layer = layer;
            this.valid = valid;
            this.description = description;
        }
    }

    /** The last lines a child printed outside the protocol (both streams), for a crash report. */
    private static final class Tail implements Consumer<String> {
        private final Deque<String> lines = new ArrayDeque<>();

        @Override
        public void accept(String line) {
            if (!line.equals(EOF)) {
                add(line);
            }
        }

        synchronized void add(String line) {
            lines.addLast(line);
            if (lines.size() > 80) {
                lines.removeFirst();
            }
        }

        synchronized List<String> lines() {
            return List.copyOf(lines);
        }
    }

    /** Runs cases {@code first, first + step, ...} below {@code cases}, a new child after each crash. */
    private void worker(long first, int step) throws IOException, InterruptedException {
        long next = first;
        int deadStarts = 0;
        while (next < s.cases()) {
            Child c = runChild(next, step);
            next = c.next;
            if (c.current != null) {
                Pending dead = c.current;
                record(new Outcome(
                        dead.index,
                        dead.layer,
                        dead.valid,
                        dead.description,
                        c.hung ? Status.HANG : Status.CRASH,
                        death(c.pid, c.exit, c.hung, c.tail.lines(), hsErr(c.pid)),
                        dead.kernel,
                        false,
                        false,
                        (System.nanoTime() - dead.startNanos) / 1e6));
                next = dead.index + step;
                deadStarts = 0;
            } else if (next < s.cases()) {
                // the child ended between cases without finishing its range: it could not start, or was killed
                deadStarts = c.ended > 0 ? 0 : deadStarts + 1;
                if (deadStarts >= 3) {
                    throw new FatalException("child JVMs exit before running any case (exit " + c.exit + "):\n  "
                            + String.join("\n  ", c.tail.lines()));
                }
            }
        }
    }

    /** What one child JVM did, up to its end. */
    private static final class Child {
        final Tail tail = new Tail();
        long pid;
        long next;
        /** The case it started and did not end (it crashed or hung in it), or null. */
        Pending current;

        boolean hung;
        int ended;
        int exit;
    }

    /**
     * Starts a child on cases {@code from, from + step, ...}, records each case it ends, and returns when it exits
     * (killing it first if a case overruns the time limit).
     */
    private Child runChild(long from, int step) throws IOException, InterruptedException {
        Child c = new Child();
        c.next = from;
        Process p = start(from, step);
        c.pid = p.pid();
        Thread drain = drain(p.getErrorStream(), c.tail, "stderr");
        BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
        Thread reader = drain(p.getInputStream(), stdout::add, "stdout");
        try {
            for (String line = nextLine(stdout, c, p); !line.equals(EOF); line = nextLine(stdout, c, p)) {
                List<String> f = Protocol.parse(line);
                if (f == null) {
                    c.tail.add(line);
                    continue;
                }
                switch (f.getFirst()) {
                    case "hello" -> {
                        version = f.get(1);
                        isa = f.get(2);
                    }
                    case "start" ->
                        c.current = new Pending(
                                Long.parseLong(f.get(1)), f.get(2), f.get(3).equals("valid"), f.get(4));
                    case "kernel" -> {
                        if (c.current != null) {
                            c.current.kernel = f.get(2);
                        }
                    }
                    case "end" -> {
                        Pending done = c.current;
                        if (done != null) {
                            record(new Outcome(
                                    done.index,
                                    done.layer,
                                    done.valid,
                                    done.description,
                                    Status.valueOf(f.get(2)),
                                    f.get(6),
                                    done.kernel,
                                    f.get(3).equals("1"),
                                    f.get(4).equals("1"),
                                    Double.parseDouble(f.get(5))));
                            c.next = done.index + step;
                            c.current = null;
                            c.ended++;
                        }
                    }
                    default -> c.tail.add(line);
                }
            }
            c.exit = p.waitFor();
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly(); // interrupted: this run's own child, by its handle
            }
            LIVE.remove(p);
        }
        drain.join(5000);
        reader.join(5000);
        return c;
    }

    /** The child's next line of output, killing it if its current case overruns the time limit; EOF at its end. */
    private String nextLine(BlockingQueue<String> stdout, Child c, Process p) throws InterruptedException {
        for (; ; ) {
            String line = stdout.poll(500, TimeUnit.MILLISECONDS);
            if (line != null) {
                return line;
            }
            if (c.current != null
                    && !c.hung
                    && System.nanoTime() - c.current.startNanos > s.timeout().toNanos()) {
                c.hung = true;
                p.destroyForcibly(); // this run's own child, by its handle
            }
        }
    }

    private static final String EOF = "\u0000EOF";

    private Process start(long from, int step) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Xss4m",
                "-Xmx1g",
                "-XX:+UseSerialGC",
                "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + s.out().resolve("hs_err").toAbsolutePath() + "/hs_err_pid%p.log",
                "-cp",
                s.classPath(),
                Fuzz.class.getName(),
                "--child",
                "--seed",
                Long.toString(s.seed()),
                "--from",
                Long.toString(from),
                "--to",
                Long.toString(s.cases()),
                "--step",
                Integer.toString(step)));
        if (!s.layers().isEmpty()) {
            cmd.addAll(List.of("--layers", Layers.toArgument(s.layers())));
        }
        if (s.source() != null) {
            cmd.addAll(List.of("--source", s.source()));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (System.getenv("OMP_NUM_THREADS") == null) {
            // jobs share the cores: each child's OpenMP team gets its share
            int cores = Runtime.getRuntime().availableProcessors();
            pb.environment().put("OMP_NUM_THREADS", Integer.toString(Math.max(1, cores / Math.max(1, s.jobs()))));
        }
        synchronized (this) {
            childStarts++;
        }
        Process p = pb.start();
        LIVE.add(p);
        return p;
    }

    /** Reads a child's stream line by line into {@code sink}, then {@link #EOF}. */
    private static Thread drain(InputStream in, Consumer<String> sink, String name) {
        return Thread.ofPlatform().daemon().name("fuzz-" + name).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    sink.accept(line);
                }
            } catch (IOException e) {
                sink.accept("(reading the child's output failed: " + e + ")");
            } finally {
                sink.accept(EOF);
            }
        });
    }

    private static final Pattern SIGNAL = Pattern.compile("#\\s+((SIG[A-Z]+|EXCEPTION_[A-Z_]+) \\(0x[0-9a-f]+\\).*)");
    private static final Pattern HS_ERR = Pattern.compile("#\\s+(\\S*hs_err\\S*\\.log)");
    /** A native frame as the JVM prints it: {@code C  [libdnnl.so.3+0x2f9b2e7]  symbol+0xd7}. */
    private static final Pattern FRAME = Pattern.compile("([CJVvj]\\s+\\[[^\\]]+\\].*)");

    /** Where the child's JVM writes its crash report (see {@code -XX:ErrorFile} in {@link #start}). */
    private Path hsErr(long pid) {
        return s.out().resolve("hs_err").resolve("hs_err_pid" + pid + ".log").toAbsolutePath();
    }

    /**
     * What a child's death says: exit code or signal, the JVM's crash summary (signal and problematic frame, read
     * from its hs_err file, whose header other threads do not interleave with, else from its output) and its last
     * lines of output.
     */
    static String death(long pid, int exit, boolean hung, List<String> tail, Path hsErr) {
        StringBuilder s = new StringBuilder();
        if (hung) {
            s.append("killed after the time limit (pid ").append(pid).append(')');
        } else {
            s.append("the child JVM (pid ")
                    .append(pid)
                    .append(") died with exit code ")
                    .append(exit);
            if (exit > 128) {
                s.append(" (signal ")
                        .append(exit - 128)
                        .append(signalName(exit - 128))
                        .append(')');
            }
        }
        List<String> header = tail;
        boolean report = Files.isRegularFile(hsErr);
        if (report) {
            try (var lines = Files.lines(hsErr, StandardCharsets.ISO_8859_1)) {
                header = lines.limit(40).toList();
            } catch (IOException | UncheckedIOException e) {
                report = false;
            }
        }
        String signal = null;
        String frame = null;
        for (int i = 0; i < header.size(); i++) {
            Matcher m = SIGNAL.matcher(header.get(i));
            if (signal == null && m.find()) {
                signal = m.group(1).strip();
            }
            if (frame == null && header.get(i).contains("Problematic frame:")) {
                for (int j = i + 1; j < Math.min(header.size(), i + 4) && frame == null; j++) {
                    Matcher f = FRAME.matcher(header.get(j));
                    if (f.find()) {
                        frame = shorten(f.group(1).strip());
                    }
                }
            }
        }
        if (signal != null) {
            s.append(": ").append(signal);
        }
        if (frame != null) {
            s.append("; problematic frame: ").append(frame);
        }
        if (report) {
            s.append("; hs_err: ").append(hsErr);
        } else {
            for (String line : tail) {
                Matcher h = HS_ERR.matcher(line);
                if (h.find()) {
                    s.append("; hs_err: ").append(h.group(1));
                }
            }
        }
        List<String> last = tail.subList(Math.max(0, tail.size() - 25), tail.size());
        s.append("\nlast lines of the child's output:\n  ").append(String.join("\n  ", last));
        return s.toString();
    }

    private static String signalName(int signal) {
        return switch (signal) {
            case 4 -> ", SIGILL";
            case 6 -> ", SIGABRT";
            case 7 -> ", SIGBUS";
            case 8 -> ", SIGFPE";
            case 9 -> ", SIGKILL";
            case 11 -> ", SIGSEGV";
            case 15 -> ", SIGTERM";
            default -> "";
        };
    }

    /** A C++ frame without its template arguments and parameter lists, which make it hundreds of characters. */
    static String shorten(String frame) {
        String f = frame;
        for (String prev = ""; !prev.equals(f); ) {
            prev = f;
            f = f.replaceAll("<[^<>]*>", "<>").replaceAll("\\([^()]*\\)", "()");
        }
        return f.length() > 300 ? f.substring(0, 300) + "..." : f;
    }

    private void record(Outcome o) {
        long n;
        synchronized (this) {
            results.put(o.index(), o);
            n = done.incrementAndGet();
        }
        PrintStream log = s.log();
        synchronized (log) {
            if (o.status().failed()) {
                log.printf(
                        Locale.ROOT,
                        "%s case %d (%s, %s): %s%n  %s%n  reproduce: %s%n",
                        o.status(),
                        o.index(),
                        o.layer(),
                        o.valid() ? "valid" : "invalid",
                        o.description(),
                        firstLine(o.detail()),
                        Report.reproduce(s, o.index()));
            }
            long now = System.nanoTime();
            if (now - lastProgress > 10_000_000_000L || n == s.cases()) {
                lastProgress = now;
                log.printf(Locale.ROOT, "[fuzz] %d/%d cases%n", n, s.cases());
            }
        }
    }

    static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
