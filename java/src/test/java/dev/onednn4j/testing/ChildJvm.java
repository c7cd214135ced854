package dev.onednn4j.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Runs a family of cases that might crash the JVM (inside native code) in child JVMs, so that a crash is counted with
 * its case instead of ending the test run. The child's {@code main} calls {@link #serve}; the parent calls
 * {@link #run}, which restarts a child after the case that killed it.
 *
 * <p>Protocol, one line per event on the child's standard output: {@code start <i>} before case {@code i},
 * {@code done <i> <verdict>} after it ({@code ok}, or a one-line description of what went wrong).
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** A case that ended. */
    public record Outcome(int index, String verdict) {
        public boolean ok() {
            return verdict.equals("ok");
        }
    }

    /** A case during which the child JVM died: its exit code and the end of what it printed. */
    public record Crash(int index, int exitCode, String output) {}

    /** Every case's outcome, and the crashes. */
    public record Report(List<Outcome> outcomes, List<Crash> crashes) {
        /** The cases that ended with something other than {@code ok}. */
        public List<Outcome> failures() {
            return outcomes.stream().filter(o -> !o.ok()).toList();
        }
    }

    /**
     * Runs cases {@code [0, count)} of {@code main} (a class with a {@code main(String[])} that calls
     * {@link #serve}) in child JVMs on this JVM's class path, with native access granted.
     *
     * @param jvmArgs more JVM options for the children, e.g. system properties
     */
    public static Report run(Class<?> main, int count, List<String> jvmArgs) {
        return run(main, count, jvmArgs, Map.of());
    }

    /** {@link #run(Class, int, List)} with more environment variables for the children. */
    public static Report run(Class<?> main, int count, List<String> jvmArgs, Map<String, String> env) {
        List<Outcome> outcomes = new ArrayList<>();
        List<Crash> crashes = new ArrayList<>();
        int from = 0;
        try {
            Path errors = Files.createTempDirectory("onednn4j-child-jvm");
            while (from < count) {
                List<String> command = command(main, jvmArgs, errors, Integer.toString(from));
                ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
                pb.environment().putAll(env);
                Process p = pb.start();
                int current = -1;
                List<String> tail = new ArrayList<>();
                try (BufferedReader r =
                        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.startsWith("start ")) {
                            current = Integer.parseInt(line.substring(6));
                            tail.clear();
                        } else if (line.startsWith("done ")) {
                            int space = line.indexOf(' ', 5);
                            outcomes.add(
                                    new Outcome(Integer.parseInt(line.substring(5, space)), line.substring(space + 1)));
                            current = -1;
                        } else {
                            tail.add(line);
                            if (tail.size() > 40) {
                                tail.removeFirst();
                            }
                        }
                    }
                }
                int exit = p.waitFor();
                if (current < 0) {
                    if (exit != 0) {
                        throw new AssertionError("the child JVM failed outside any case (exit " + exit + "):\n"
                                + String.join("\n", tail));
                    }
                    break;
                }
                crashes.add(new Crash(current, exit, String.join("\n", tail)));
                from = current + 1;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
        return new Report(outcomes, crashes);
    }

    /** The child's command line: this JVM's java and class path, native access, crash files in {@code errors}. */
    private static List<String> command(Class<?> main, List<String> jvmArgs, Path errors, String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-XX:ErrorFile=" + errors.resolve("hs_err_%p.log"),
                "-XX:-CreateCoredumpOnCrash"));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return command;
    }

    /** What a child run once did: its exit status and what it printed. */
    public record Result(int exit, List<String> out, String err) {

        /** Fails, showing everything the child printed, unless it exited with status 0. */
        public Result assertSucceeded() {
            if (exit != 0) {
                fail((exit == 134 || exit == 139 ? "the child JVM crashed" : "the child JVM failed")
                        + " (exit status " + exit + ")\n--- stdout\n" + String.join("\n", out) + "\n--- stderr\n"
                        + err);
            }
            return this;
        }

        /** Asserts that the child printed {@code line}, exactly, among its lines. */
        public Result assertPrinted(String line) {
            assertTrue(out.contains(line), "the child printed '" + line + "'; it printed:\n" + String.join("\n", out));
            return this;
        }

        /** The value the child printed on a line {@code key=value}. */
        public String value(String key) {
            for (String l : out) {
                if (l.startsWith(key + "=")) {
                    return l.substring(key.length() + 1);
                }
            }
            fail("the child printed no " + key + "=...; it printed:\n" + String.join("\n", out));
            return null;
        }
    }

    /**
     * Runs {@code main}'s {@code main(args)} once in a new JVM with {@code jvmArgs}, within two minutes: for what
     * could kill a JVM (a SIGBUS in native code) and for what needs system properties of its own.
     *
     * @param main    a class of the tests with a {@code public static void main(String[])}
     * @param jvmArgs options for the child JVM, e.g. {@code -Dname=value}
     * @param args    the arguments of {@code main}
     */
    public static Result run(Class<?> main, List<String> jvmArgs, String... args)
            throws IOException, InterruptedException {
        Path errors = Files.createTempDirectory("onednn4j-child-jvm");
        Path err = errors.resolve("stderr");
        Process p = new ProcessBuilder(command(main, jvmArgs, errors, args))
                .redirectError(err.toFile())
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the child JVM did not finish in two minutes: " + out);
        }
        String stderr = Files.readString(err);
        Files.deleteIfExists(err);
        return new Result(p.exitValue(), out.lines().toList(), stderr);
    }

    /**
     * The child's side: runs cases {@code [from, count)}, announcing each; {@code test} returns {@code "ok"} or
     * what went wrong; an exception it throws is reported as such.
     *
     * @param args the child's arguments: the first case to run
     */
    public static void serve(String[] args, int count, IntFunction<String> test) {
        int from = Integer.parseInt(args[0]);
        PrintStream out = System.out;
        for (int i = from; i < count; i++) {
            out.println("start " + i);
            out.flush();
            String verdict;
            try {
                verdict = test.apply(i);
            } catch (RuntimeException | Error e) {
                verdict = "threw " + e;
            }
            out.println("done " + i + " " + verdict.replace('\n', ' '));
            out.flush();
        }
    }
}
