package dev.onednn4j.generator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Generates java.lang.foreign bindings from C headers, the way jextract does, by driving libclang 14.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... dev.onednn4j.generator.Generator \
 *     --symbol-lookup my.pkg.Lib.lookup -I include -t my.pkg --header-class-name foo_h \
 *     --output src/main/java @foo.args foo.h
 * </pre>
 *
 * Exit status 0 on success; 1 with a message on standard error when a header has an error, or an
 * allow-listed symbol is missing or cannot be lowered; 2 on a bad command line.
 */
public final class Generator {

    private Generator() {}

    public static void main(String[] args) {
        try {
            Map<String, Path> written = run(Options.parse(Arrays.asList(args)));
            System.out.println("wrote " + written.size() + " files: " + written.values());
        } catch (GeneratorException e) {
            System.err.println("generator: " + e.getMessage());
            System.exit(1);
        }
    }

    /** Generates the files and returns them by name. */
    static Map<String, Path> run(Options options) {
        Map<String, String> files = generate(options);
        Path dir = options.output();
        if (!options.targetPackage().isEmpty()) {
            dir = dir.resolve(options.targetPackage().replace('.', '/'));
        }
        try {
            Files.createDirectories(dir);
            Map<String, Path> written = new java.util.LinkedHashMap<>();
            for (var e : files.entrySet()) {
                Path p = dir.resolve(e.getKey());
                Files.writeString(p, e.getValue(), StandardCharsets.UTF_8);
                written.put(e.getKey(), p);
            }
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** File name to source text. */
    static Map<String, String> generate(Options options) {
        try (LibClang clang = new LibClang(options.libclang())) {
            Model model = new Extractor(clang, options).extract();
            return new Emitter(options).emit(model);
        }
    }
}
