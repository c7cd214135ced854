package dev.onednn4j.generator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Command line of the generator: jextract's options and argument-file format, plus four of its own.
 *
 * <p>jextract's: {@code @argfile}, {@code -I dir}, {@code -D name[=value]}, {@code --output dir},
 * {@code -t/--target-package pkg}, {@code --header-class-name name}, {@code --include-function},
 * {@code --include-constant}, {@code --include-struct}, {@code --include-typedef}, and the headers.
 * Ours: {@code --symbol-lookup Class.method} (a static method returning the {@code SymbolLookup} to link
 * against; jextract would take {@code -l/--library} instead), {@code --banner text} (a line for the
 * generated files' banner), {@code --libclang path} and {@code --clang-arg arg} (passed to clang as is).
 */
record Options(
        List<Path> headers,
        List<String> clangArgs,
        Path output,
        String targetPackage,
        String headerClassName,
        Set<String> functions,
        Set<String> constants,
        Set<String> structs,
        Set<String> typedefs,
        String symbolLookup,
        List<String> banner,
        Path libclang) {

    static final Path DEFAULT_LIBCLANG = Path.of("/usr/lib/llvm-14/lib/libclang.so.1");

    static Options parse(List<String> args) {
        List<String> expanded = expand(args);
        List<Path> headers = new ArrayList<>();
        List<String> clangArgs = new ArrayList<>();
        Path output = Path.of(".");
        String pkg = "";
        String headerClass = null;
        Set<String> functions = new LinkedHashSet<>();
        Set<String> constants = new LinkedHashSet<>();
        Set<String> structs = new LinkedHashSet<>();
        Set<String> typedefs = new LinkedHashSet<>();
        String lookup = null;
        List<String> banner = new ArrayList<>();
        Path libclang = DEFAULT_LIBCLANG;
        for (int i = 0; i < expanded.size(); i++) {
            String a = expanded.get(i);
            if (a.startsWith("-I") && a.length() > 2) {
                clangArgs.add(a);
                continue;
            }
            if (a.startsWith("-D") && a.length() > 2) {
                clangArgs.add(a);
                continue;
            }
            switch (a) {
                case "-I" -> clangArgs.add("-I" + value(expanded, ++i, a));
                case "-D" -> clangArgs.add("-D" + value(expanded, ++i, a));
                case "--output" -> output = Path.of(value(expanded, ++i, a));
                case "-t", "--target-package" -> pkg = value(expanded, ++i, a);
                case "--header-class-name" -> headerClass = value(expanded, ++i, a);
                case "--include-function" -> functions.add(value(expanded, ++i, a));
                case "--include-constant" -> constants.add(value(expanded, ++i, a));
                case "--include-struct" -> structs.add(value(expanded, ++i, a));
                case "--include-typedef" -> typedefs.add(value(expanded, ++i, a));
                case "--symbol-lookup" -> lookup = value(expanded, ++i, a);
                case "--banner" -> banner.add(value(expanded, ++i, a));
                case "--libclang" -> libclang = Path.of(value(expanded, ++i, a));
                case "--clang-arg" -> clangArgs.add(value(expanded, ++i, a));
                default -> {
                    if (a.startsWith("-")) {
                        throw new GeneratorException("unknown option " + a);
                    }
                    headers.add(Path.of(a));
                }
            }
        }
        if (headers.isEmpty()) {
            throw new GeneratorException("no header given");
        }
        if (headerClass == null) {
            String file = headers.getFirst().getFileName().toString();
            headerClass = file.replaceAll("\\.h$", "").replaceAll("[^A-Za-z0-9_]", "_") + "_h";
        }
        if (lookup == null) {
            throw new GeneratorException("--symbol-lookup Class.method is required: the static method that returns "
                    + "the SymbolLookup the bindings link against");
        }
        return new Options(
                List.copyOf(headers),
                List.copyOf(clangArgs),
                output,
                pkg,
                headerClass,
                functions,
                constants,
                structs,
                typedefs,
                lookup,
                List.copyOf(banner),
                libclang);
    }

    private static String value(List<String> args, int i, String option) {
        if (i >= args.size()) {
            throw new GeneratorException(option + " needs a value");
        }
        return args.get(i);
    }

    /** Expands {@code @file}: one option per line, blank lines and lines starting with # ignored. */
    private static List<String> expand(List<String> args) {
        List<String> out = new ArrayList<>();
        for (String a : args) {
            if (!a.startsWith("@")) {
                out.add(a);
                continue;
            }
            try {
                for (String line : Files.readAllLines(Path.of(a.substring(1)))) {
                    String t = line.strip();
                    if (t.isEmpty() || t.startsWith("#")) {
                        continue;
                    }
                    int space = t.indexOf(' ');
                    if (t.startsWith("-") && space > 0) {
                        out.add(t.substring(0, space));
                        out.add(t.substring(space + 1).strip());
                    } else {
                        out.add(t);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read argument file " + a.substring(1), e);
            }
        }
        return out;
    }
}
