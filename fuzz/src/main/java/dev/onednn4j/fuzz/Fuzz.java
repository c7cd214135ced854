package dev.onednn4j.fuzz;

import dev.onednn4j.OneDnn;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code scripts/fuzz}: random valid and invalid configurations of every layer, each checked (oneDNN against the
 * reference within the library's bound; refusals as clear Java exceptions), run in child JVMs so that a native crash
 * is recorded with its case and the run goes on.
 *
 * <pre>
 * scripts/fuzz [--cases N] [--seed S|random] [--jobs J] [--layers conv,pool,...] [--timeout SECONDS]
 * scripts/fuzz --seed S --case I          one case, in this JVM, verbosely (what a failure's reproduction runs)
 * scripts/fuzz --seed S --list [--cases N]  the cases' descriptions, without running them
 * </pre>
 *
 * <p>Exit status: 0 when every case passed, 1 on any crash, hang, wrong result or unclear error, 2 on a usage error
 * or when no child JVM could run.
 */
public final class Fuzz {
    private Fuzz() {}

    /** The seed when none is given: a fixed one, so that CI runs the same cases every time. */
    public static final long DEFAULT_SEED = 20261128L;

    /** The cases when none is given: a CI-size run of about a minute with one job on two cores. */
    public static final long DEFAULT_CASES = 4000;

    /** Parsed command line. */
    private static final class Options {
        long seed = DEFAULT_SEED;
        boolean randomSeed;
        long cases = DEFAULT_CASES;
        Long single;
        boolean list;
        int jobs = 1;
        Set<String> layers = Set.of();
        Path out = Path.of(System.getProperty("java.io.tmpdir"), "onednn4j-fuzz");
        String source;
        Duration timeout = Duration.ofMinutes(5);
        boolean child;
        long from;
        long to;
        int step = 1;
    }

    /**
     * Runs the fuzzer (see the class documentation).
     *
     * @param args the command line
     * @throws IOException if the report cannot be written or a child JVM started
     */
    public static void main(String[] args) throws IOException {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            if (e.getMessage().equals("help")) {
                System.out.println(USAGE);
                return;
            }
            System.err.println("fuzz: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        if (o.child) {
            child(o);
            return;
        }
        if (o.randomSeed) {
            System.err.println("seed: " + o.seed + " (random; rerun with --seed " + o.seed + ")");
        }
        CaseSource source;
        try {
            source = source(o.source);
        } catch (IllegalArgumentException e) {
            System.err.println("fuzz: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (o.single != null) {
            System.exit(single(o, source) ? 0 : 1);
            return;
        }
        if (o.list) {
            for (long i = 0; i < o.cases; i++) {
                FuzzCase c = source.generate(o.seed, i, o.layers);
                System.out.printf(
                        Locale.ROOT,
                        "%d\t%s\t%s\t%s%n",
                        i,
                        c.layer(),
                        c.valid() ? "valid" : "invalid",
                        c.description());
            }
            return;
        }
        Supervisor.Settings settings = new Supervisor.Settings(
                o.seed,
                o.cases,
                o.layers,
                o.jobs,
                o.out,
                o.source,
                o.timeout,
                System.getProperty("java.class.path"),
                System.err);
        Supervisor.Summary summary;
        try {
            summary = Supervisor.run(settings);
        } catch (Supervisor.FatalException e) {
            System.err.println("fuzz: " + e.getMessage());
            System.exit(2);
            return;
        }
        Path json = Report.write(summary, o.out);
        System.out.print(Report.summary(summary));
        System.out.println("report: " + json + " and " + json.resolveSibling("fuzz-cases.tsv"));
        boolean failed = summary.outcomes().stream().anyMatch(x -> x.status().failed())
                || summary.outcomes().size() < o.cases;
        System.exit(failed ? 1 : 0);
    }

    static final String USAGE = """
            usage: scripts/fuzz [--cases N] [--seed S|random] [--jobs J] [--layers L1,L2,...] [--timeout SECONDS]
                   scripts/fuzz [--seed S] --case I       one case, in this JVM, verbosely
                   scripts/fuzz [--seed S] --list         the cases' descriptions, without running them
              --cases N      how many cases (default %d, about a minute with one job on two cores)
              --seed S       the run's seed (default %d); 'random' picks one and prints it
              --jobs J       child JVMs at once (default 1)
              --layers L     all (default), conv, batchnorm, activation, pool, maxpool, avgpool, adaptiveavgpool,
                             linear, flatten, or an activation's name (relu, gelu, ...)
              --timeout S    seconds one case may run before its JVM is killed and the case counted as a hang (300)
              --out DIR      where fuzz-report.json, fuzz-cases.tsv and hs_err/ go""".formatted(DEFAULT_CASES, DEFAULT_SEED);

    private static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--child" -> o.child = true;
                case "--list" -> o.list = true;
                case "--help", "-h" -> throw new IllegalArgumentException("help");
                default -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("unknown option or missing value: " + a);
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--seed" -> {
                            if (v.equals("random")) {
                                o.seed = new SplittableRandom().nextLong();
                                o.randomSeed = true;
                            } else {
                                o.seed = number(a, v);
                            }
                        }
                        case "--cases" -> o.cases = positive(a, v, 0);
                        case "--case" -> o.single = positive(a, v, 0);
                        case "--jobs" -> o.jobs = Math.toIntExact(positive(a, v, 1));
                        case "--layers" -> o.layers = Layers.parse(v);
                        case "--out" -> o.out = Path.of(v);
                        case "--source" -> o.source = v;
                        case "--timeout" -> o.timeout = Duration.ofSeconds(positive(a, v, 1));
                        case "--from" -> o.from = positive(a, v, 0);
                        case "--to" -> o.to = positive(a, v, 0);
                        case "--step" -> o.step = Math.toIntExact(positive(a, v, 1));
                        default -> throw new IllegalArgumentException("unknown option: " + a);
                    }
                }
            }
        }
        return o;
    }

    private static long number(String option, String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " takes an integer, got '" + v + "'", e);
        }
    }

    private static long positive(String option, String v, long min) {
        long n = number(option, v);
        if (n < min) {
            throw new IllegalArgumentException(option + " must be at least " + min + ", got " + n);
        }
        return n;
    }

    static CaseSource source(String className) {
        if (className == null) {
            return new Generator();
        }
        try {
            return Class.forName(className)
                    .asSubclass(CaseSource.class)
                    .getDeclaredConstructor()
                    .newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalArgumentException("--source " + className + " is not a CaseSource on the class path", e);
        }
    }

    /** One case in this JVM, printing what it does as it goes. Returns whether it passed. */
    private static boolean single(Options o, CaseSource source) {
        long index = o.single;
        FuzzCase c = source.generate(o.seed, index, o.layers);
        PrintStream out = System.out;
        out.printf(
                Locale.ROOT,
                "case %d of seed %d: %s, %s%n  %s%n",
                index,
                o.seed,
                c.layer(),
                c.valid() ? "valid" : "invalid",
                c.description());
        out.printf(Locale.ROOT, "oneDNN %s, OneDnn.cpuIsa() = %s%n", OneDnn.version(), OneDnn.cpuIsa());
        out.flush();
        long t0 = System.nanoTime();
        Verdict v = Execution.run(c, kernel -> {
            out.println("kernel: " + kernel + " (plan built; running it now)");
            out.flush();
        });
        out.printf(
                Locale.ROOT,
                "verdict: %s%s (%.1f ms)%n%s%n",
                v.status(),
                v.nonFinite() ? ", on non-finite input" : "",
                (System.nanoTime() - t0) / 1e6,
                v.detail());
        return v.status() == Status.PASS;
    }

    /** A child JVM: runs cases {@code from, from + step, ...} below {@code to}, printing the protocol. */
    private static void child(Options o) {
        // the protocol owns standard output; anything else printed through System.out goes to standard error
        PrintStream proto = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        CaseSource source = source(o.source);
        proto.println(Protocol.line("hello", OneDnn.version(), OneDnn.cpuIsa()));
        for (long i = o.from; i < o.to; i += o.step) {
            FuzzCase c = source.generate(o.seed, i, o.layers);
            proto.println(Protocol.line("start", i, c.layer(), c.valid() ? "valid" : "invalid", c.description()));
            long index = i;
            long t0 = System.nanoTime();
            Verdict v = Execution.run(c, kernel -> proto.println(Protocol.line("kernel", index, kernel)));
            proto.println(Protocol.line(
                    "end",
                    i,
                    v.status(),
                    v.nonFinite() ? 1 : 0,
                    v.weakEvidence() ? 1 : 0,
                    String.format(Locale.ROOT, "%.3f", (System.nanoTime() - t0) / 1e6),
                    v.detail()));
        }
    }
}
