package dev.onednn4j;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@code main} of the test classes in a fresh JVM: for what could kill a JVM (a SIGBUS in native code), so
 * that a regression is a failed test rather than a dead test JVM, and for what needs system properties of its own.
 * The child has the tests' class path and native access; it reports through its standard output.
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** What the child did: its exit status and what it printed. */
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
     * Runs {@code main}'s {@code main(args)} in a new JVM with {@code jvmArgs}, within two minutes.
     *
     * @param main    a class of the tests with a {@code public static void main(String[])}
     * @param jvmArgs options for the child JVM, e.g. {@code -Dname=value}
     * @param args    the arguments of {@code main}
     */
    public static Result run(Class<?> main, List<String> jvmArgs, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/onednn4j-child-hs_err_%p.log");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile("onednn4j-child", ".stderr");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("the child JVM did not finish in two minutes: " + out);
            }
            return new Result(p.exitValue(), out.lines().toList(), Files.readString(err));
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
