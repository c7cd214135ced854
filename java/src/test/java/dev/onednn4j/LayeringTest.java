package dev.onednn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package rules, checked on every source file's imports (and fully qualified names in its code):
 * <ul>
 *   <li>{@code java.lang.foreign} stays in the oneDNN wrappers ({@code internal.dnnl}), file mapping and native
 *       allocation ({@code internal.io}), {@link dev.onednn4j.internal.TensorAccess} and {@code Tensor} (which wraps
 *       caller memory: its {@code wrap} and {@code segment} are the public zero-copy entry points);</li>
 *   <li>{@code internal} never uses {@code nn}, {@code io} or {@code vision}: the layers below the modules know
 *       nothing of them;</li>
 *   <li>each internal layer uses only the ones below it: {@code dnnl} (wrappers) &lt; {@code exec} (plans) &lt;
 *       {@code op} (operations) &lt; {@code check} (cross-checks);</li>
 *   <li>{@code io} (the file format) knows nothing of {@code nn}: a module loads a file
 *       ({@code Module.loadSafeTensors}), the file knows only tensors; {@code nn} never uses {@code vision};
 *       {@code tensor} uses nothing above the operations.</li>
 * </ul>
 */
class LayeringTest {

    static final Path ROOT = Path.of("src/main/java/dev/onednn4j");
    static final Pattern USE = Pattern.compile("\\b(java\\.lang\\.foreign|dev\\.onednn4j(?:\\.[a-z]+)+)\\b");

    /** Source file (relative to dev/onednn4j) -> every package it names. */
    static Map<String, List<String>> uses() throws IOException {
        assertTrue(Files.isDirectory(ROOT), "run from the java module: " + ROOT.toAbsolutePath());
        Map<String, List<String>> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(ROOT)) {
            files.filter(p -> p.toString().endsWith(".java")).forEach(p -> {
                String text;
                try {
                    text = Files.readString(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                text = text.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", ""); // code, not comments
                List<String> used = new ArrayList<>();
                Matcher m = USE.matcher(text);
                while (m.find()) {
                    used.add(m.group(1));
                }
                out.put(ROOT.relativize(p).toString().replace('\\', '/'), used);
            });
        }
        assertTrue(out.size() > 40, "found the sources: " + out.keySet());
        return out;
    }

    static List<String> violations(String fromPrefix, String... forbidden) throws IOException {
        List<String> bad = new ArrayList<>();
        for (var e : uses().entrySet()) {
            if (!e.getKey().startsWith(fromPrefix)) {
                continue;
            }
            for (String used : e.getValue()) {
                for (String f : forbidden) {
                    if (used.equals(f) || used.startsWith(f + ".")) {
                        bad.add(e.getKey() + " uses " + used);
                    }
                }
            }
        }
        return bad;
    }

    @Test
    void javaLangForeignOnlyWhereAllowed() throws IOException {
        List<String> users = uses().entrySet().stream()
                .filter(e -> e.getValue().contains("java.lang.foreign"))
                .map(Map.Entry::getKey)
                .toList();
        List<String> outside = users.stream()
                .filter(p -> !p.startsWith("internal/dnnl/")
                        && !p.startsWith("internal/io/")
                        && !p.equals("internal/TensorAccess.java")
                        && !p.equals("tensor/Tensor.java"))
                .toList();
        assertEquals(List.of(), outside, "java.lang.foreign outside the wrapper layer");
        assertTrue(users.contains("internal/dnnl/Memory.java"), "the check sees the wrappers: " + users);
    }

    @Test
    void internalNeverUsesTheModulesOrTheFileFormats() throws IOException {
        assertEquals(List.of(), violations("internal/", "dev.onednn4j.nn", "dev.onednn4j.io", "dev.onednn4j.vision"));
    }

    @Test
    void eachInternalLayerUsesOnlyTheLayersBelow() throws IOException {
        assertEquals(
                List.of(),
                violations(
                        "internal/dnnl/",
                        "dev.onednn4j.internal.exec",
                        "dev.onednn4j.internal.op",
                        "dev.onednn4j.internal.check"));
        assertEquals(
                List.of(), violations("internal/exec/", "dev.onednn4j.internal.op", "dev.onednn4j.internal.check"));
        assertEquals(List.of(), violations("internal/op/", "dev.onednn4j.internal.check"));
        assertEquals(
                List.of(),
                violations(
                        "internal/io/",
                        "dev.onednn4j.internal.exec",
                        "dev.onednn4j.internal.op",
                        "dev.onednn4j.internal.dnnl"));
    }

    @Test
    void modulesNeverUseTheFileFormatsOrTheModels() throws IOException {
        // the layers never use the cross-checks, except Reference: their public face, deliberately
        assertEquals(
                List.of(),
                violations("nn/", "dev.onednn4j.vision", "dev.onednn4j.internal.check").stream()
                        .filter(v -> !v.equals("nn/Reference.java uses dev.onednn4j.internal.check"))
                        .toList());
        assertEquals(
                List.of(),
                violations(
                        "tensor/",
                        "dev.onednn4j.nn",
                        "dev.onednn4j.io",
                        "dev.onednn4j.vision",
                        "dev.onednn4j.internal.exec",
                        "dev.onednn4j.internal.dnnl",
                        "dev.onednn4j.internal.check"));
        assertEquals(
                List.of(),
                violations(
                        "io/",
                        "dev.onednn4j.nn",
                        "dev.onednn4j.vision",
                        "dev.onednn4j.internal.dnnl",
                        "dev.onednn4j.internal.exec",
                        "dev.onednn4j.internal.op"));
    }

    @Test
    void theOnnxReaderAndOpSetSitInTheirOwnPackages() throws IOException {
        // the reader knows the file format and the graph it builds, nothing of operations, plans or oneDNN
        assertEquals(
                List.of(),
                violations(
                        "internal/onnx/",
                        "dev.onednn4j.internal.dnnl",
                        "dev.onednn4j.internal.exec",
                        "dev.onednn4j.internal.op",
                        "dev.onednn4j.internal.graph",
                        "dev.onednn4j.onnx"));
        // the op set maps nodes onto the public layers and the operations (running their plans as the layers do);
        // it never reaches the oneDNN wrappers themselves
        assertEquals(
                List.of(),
                violations(
                        "onnx/",
                        "dev.onednn4j.io",
                        "dev.onednn4j.vision",
                        "dev.onednn4j.internal.dnnl",
                        "dev.onednn4j.internal.check"));
        // and the layers, tensors and file formats know nothing of ONNX
        for (String p : new String[] {"nn/", "tensor/", "io/", "vision/", "internal/op/", "internal/graph/"}) {
            assertEquals(List.of(), violations(p, "dev.onednn4j.onnx", "dev.onednn4j.internal.onnx"));
        }
    }

    /**
     * The benchmarks, the demo and the examples show what a user can do: they use only the packages the module
     * exports (a reference or bound they need is public API: {@code nn.Reference}), never the internals. One
     * exception: the raw-oneDNN baseline ({@code benchmarks.dnnl}) calls the generated bindings, as a C program
     * would call oneDNN, to measure what the library adds.
     */
    @Test
    void theBenchmarksDemoAndExamplesUseOnlyTheExportedPackages() throws IOException {
        List<String> bad = new ArrayList<>();
        int files = 0;
        for (String dir : new String[] {
            "demo/src/main/java", "../benchmarks/src", "../examples/src/main/java", "../examples/spark/src/main/java"
        }) {
            Path root = Path.of(dir);
            assertTrue(Files.isDirectory(root), "found " + root.toAbsolutePath());
            try (Stream<Path> paths = Files.walk(root)) {
                for (Path p : paths.filter(f ->
                                f.toString().endsWith(".java") && !f.toString().contains("/benchmarks/dnnl/"))
                        .toList()) {
                    files++;
                    String code = Files.readString(p)
                            .replaceAll("(?s)/\\*.*?\\*/", "")
                            .replaceAll("//[^\n]*", "");
                    Matcher m = Pattern.compile("dev\\.onednn4j\\.(internal|bindings|natives)\\b")
                            .matcher(code);
                    if (m.find()) {
                        bad.add(p + " uses " + m.group());
                    }
                }
            }
        }
        assertTrue(files > 30, "found the sources: " + files);
        assertEquals(List.of(), bad);
    }

    @Test
    void theRulesCatchAViolation() throws IOException {
        // the check is not vacuous: the modules do use the operations, and Tensor the element-wise ones
        assertTrue(violations("nn/", "dev.onednn4j.internal.op").size() > 3);
        assertEquals(
                List.of("tensor/Tensor.java uses dev.onednn4j.internal.op"),
                violations("tensor/", "dev.onednn4j.internal.op"));
    }
}
