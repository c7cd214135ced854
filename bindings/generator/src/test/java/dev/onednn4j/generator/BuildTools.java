package dev.onednn4j.generator;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * The native tools the generator's tests need beyond a JDK: libclang 14 with clang's builtin headers (to parse
 * the test header) and gcc (to build it, so the generated bindings can be called). A user's machine with only a
 * JDK and Maven does not have them: there the tests are skipped, saying why. CI installs them, so there (the
 * environment variable {@code CI} is set) their absence is a failure, never a silent skip.
 */
final class BuildTools {
    private BuildTools() {}

    static void requireLibclangAndGcc() {
        List<String> missing = new ArrayList<>();
        Path libclang = Path.of(System.getProperty("onednn4j.libclang", Options.DEFAULT_LIBCLANG.toString()));
        if (!Files.isReadable(libclang)) {
            missing.add("libclang 14 (" + libclang + ")");
        }
        if (!builtinHeadersPresent()) {
            missing.add("clang's builtin headers (/usr/lib/llvm-14/lib/clang/*/include/stddef.h)");
        }
        if (!runs("gcc", "--version")) {
            missing.add("gcc");
        }
        if (missing.isEmpty()) {
            return;
        }
        String why = "the bindings generator's tests need " + String.join(", ", missing)
                + ": apt-get install libclang1-14 libclang-common-14-dev gcc (they are needed only to regenerate "
                + "the bindings, not to build or use the library)";
        if (System.getenv("CI") != null) {
            fail(why + ". CI installs them (.ci/run), so here their absence is a failure, not a skip.");
        }
        System.err.println("SKIPPED: " + why);
        Assumptions.abort(why);
    }

    private static boolean builtinHeadersPresent() {
        Path clang = Path.of("/usr/lib/llvm-14/lib/clang");
        if (!Files.isDirectory(clang)) {
            return false;
        }
        try (Stream<Path> versions = Files.list(clang)) {
            return versions.anyMatch(v -> Files.isReadable(v.resolve("include/stddef.h")));
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
