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
 *       allocation ({@code internal.io}), the tensors' memory ({@code internal.memory}) and {@code Tensor} (which
 *       wraps caller memory: its {@code wrap} and {@code segment} are the public zero-copy entry points);</li>
 *   <li>floors: nothing under {@code internal} names the public {@code tensor} package (the machinery works on
 *       {@code internal.memory.TensorImpl}; {@code Tensor} is a face over one), and the packages' import graph has
 *       no cycle at all;</li>
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
                        && !p.startsWith("internal/memory/")
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
    void theMachineryNeverSeesThePublicTensor() throws IOException {
        assertEquals(List.of(), violations("internal/", "dev.onednn4j.tensor"));
        // the ground floor: memory and lifetimes know nothing above them but the native allocator
        assertEquals(
                List.of(),
                violations(
                        "internal/memory/",
                        "dev.onednn4j.internal.dnnl",
                        "dev.onednn4j.internal.exec",
                        "dev.onednn4j.internal.op",
                        "dev.onednn4j.internal.graph",
                        "dev.onednn4j.internal.check",
                        "dev.onednn4j.internal.onnx"));
    }

    /** Package of a source file relative to dev/onednn4j ("tensor/Tensor.java" -> "dev.onednn4j.tensor"). */
    static String packageOf(String file) {
        int slash = file.lastIndexOf('/');
        return "dev.onednn4j" + (slash < 0 ? "" : "." + file.substring(0, slash).replace('/', '.'));
    }

    /**
     * A class named by its package and simple name ({@code dev.onednn4j.internal.op.Nd}, {@code dev.onednn4j.OneDnn}),
     * or a whole package imported ({@code dev.onednn4j.internal.op.*}).
     */
    static final Pattern CLASS_USE = Pattern.compile("\\bdev\\.onednn4j((?:\\.[a-z]\\w*)*)\\.(?:[A-Z]\\w*|\\*)");

    /**
     * Package-level import graph of this module: package -> the packages of this module whose classes it names (by
     * import or in code; its own excluded). Names of the other modules (bindings, natives, onnxproto) are not edges.
     */
    static Map<String, java.util.Set<String>> packageGraph() throws IOException {
        Map<String, java.util.Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(ROOT)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String file = ROOT.relativize(p).toString().replace('\\', '/');
                String from = packageOf(file);
                java.util.Set<String> to = graph.computeIfAbsent(from, k -> new java.util.TreeSet<>());
                String code =
                        Files.readString(p).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
                Matcher m = CLASS_USE.matcher(code);
                while (m.find()) {
                    String pkg = "dev.onednn4j" + m.group(1);
                    if (!pkg.equals(from) && isPackage(pkg)) {
                        to.add(pkg);
                    }
                }
            }
        }
        return graph;
    }

    static boolean isPackage(String name) {
        String rel = name.equals("dev.onednn4j")
                ? ""
                : name.substring("dev.onednn4j.".length()).replace('.', '/');
        return Files.isDirectory(ROOT.resolve(rel));
    }

    /** The packages that lie on some cycle of {@code graph}: those that reach themselves again. */
    static java.util.Set<String> onCycles(Map<String, java.util.Set<String>> graph) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (String p : graph.keySet()) {
            java.util.Deque<String> todo = new java.util.ArrayDeque<>(graph.get(p));
            java.util.Set<String> seen = new java.util.HashSet<>();
            while (!todo.isEmpty()) {
                String q = todo.pop();
                if (q.equals(p)) {
                    out.add(p);
                    break;
                }
                if (seen.add(q)) {
                    todo.addAll(graph.getOrDefault(q, java.util.Set.of()));
                }
            }
        }
        return out;
    }

    /**
     * The public tensor, the machinery and the layers stand on one-way floors: no package is on an import cycle but
     * the root package, the oneDNN wrappers and the plans. The root package holds both the facts facade
     * ({@code OneDnn}, which reads the thread setting from the wrappers and the plan cache's limits from the plans)
     * and {@code OneDnnException}, which the wrappers throw: a leaf class, named back and naming nothing.
     */
    @Test
    void thePackagesImportGraphHasNoCycleThroughTheFloors() throws IOException {
        Map<String, java.util.Set<String>> graph = packageGraph();
        assertTrue(graph.get("dev.onednn4j.tensor").contains("dev.onednn4j.internal.memory"), graph.toString());
        assertTrue(graph.get("dev.onednn4j.nn").contains("dev.onednn4j.internal.op"), graph.toString());
        assertTrue(graph.get("dev.onednn4j.internal.dnnl").contains("dev.onednn4j"), "sees the root's classes too");
        assertEquals(
                java.util.Set.of("dev.onednn4j", "dev.onednn4j.internal.dnnl", "dev.onednn4j.internal.exec"),
                onCycles(graph),
                "packages on an import cycle; the graph: " + graph);
        // the check finds a cycle where there is one
        Map<String, java.util.Set<String>> bent = new TreeMap<>(graph);
        bent.put("dev.onednn4j.internal.memory", java.util.Set.of("dev.onednn4j.tensor"));
        assertTrue(
                onCycles(bent).contains("dev.onednn4j.tensor"), onCycles(bent).toString());
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
                List.of("tensor/Tensor.java uses dev.onednn4j.internal.graph"),
                violations("tensor/", "dev.onednn4j.internal.graph").stream()
                        .distinct()
                        .toList());
        assertTrue(
                violations("internal/", "dev.onednn4j.internal.memory").size() > 10, "the machinery uses TensorImpl");
    }
}
