package dev.onednn4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java block of the README and of the guide under {@code docs/} compiles against the library as it is: a block
 * that declares a class is compiled as written; any other is the body of a method, with the public packages imported
 * (as a reader would). Blocks fenced {@code java spark} also import Spark SQL and this module's API: this module's
 * test class path has both, which is why the test lives here. A failure names the page and its line. The guide's
 * chapters must be there (a missing {@code docs/} folder fails, it does not compile nothing), and every relative link
 * between the pages must lead to a file, and to a heading where it names one.
 */
class ReadmeTest {

    static final Path ROOT = Path.of("../..");
    static final Path README = ROOT.resolve("README.md");
    static final Path DOCS = ROOT.resolve("docs");
    /** The guide's pages: each must exist. More pages under {@code docs/} are compiled too. */
    static final List<String> CHAPTERS = List.of(
            "README.md",
            "layers-and-models.md",
            "compiled-inference.md",
            "onnx.md",
            "precision.md",
            "int8.md",
            "memory-and-lifetimes.md",
            "threads-and-latency.md",
            "non-finite-values.md",
            "correctness-and-fuzzing.md",
            "benchmarks.md",
            "spark.md",
            "native-library.md",
            "bindings.md",
            "building.md");

    static final Pattern BLOCK = Pattern.compile("```java( spark)?\\n(.*?)```", Pattern.DOTALL);
    static final Pattern CLASS = Pattern.compile("public class (\\w+)");
    static final Pattern FENCE = Pattern.compile("^\\s*```");
    static final Pattern HEADING = Pattern.compile("^#{1,6} +(.*?)\\s*#*\\s*$");
    static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    static final Pattern WORD = Pattern.compile("[A-Za-z0-9]+");
    static final String IMPORTS = """
            import dev.onednn4j.*;
            import dev.onednn4j.io.*;
            import dev.onednn4j.nn.*;
            import dev.onednn4j.onnx.*;
            import dev.onednn4j.nn.Module; // not java.lang.Module
            import dev.onednn4j.tensor.*;
            import dev.onednn4j.vision.*;
            import java.nio.file.*;
            import java.util.*;
            """;
    static final String SPARK_IMPORTS = """
            import dev.onednn4j.spark.*;
            import org.apache.spark.sql.*;
            """;

    /** A block as javac sees it, and where it came from: its page, and the page's line of the source's line 1. */
    static final class Source extends SimpleJavaFileObject {
        final String code;
        final String page;
        final int firstLine;

        Source(String className, String code, String page, int firstLine) {
            super(URI.create("string:///" + className + ".java"), Kind.SOURCE);
            this.code = code;
            this.page = page;
            this.firstLine = firstLine;
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return code;
        }
    }

    /** README.md and every page under docs/, each by its name relative to the repository. */
    static Map<String, Path> pages() throws IOException {
        assertTrue(
                Files.isDirectory(DOCS),
                "the guide's folder is there: " + DOCS.toAbsolutePath().normalize());
        for (String chapter : CHAPTERS) {
            assertTrue(Files.isRegularFile(DOCS.resolve(chapter)), "docs/" + chapter + " is there");
        }
        Map<String, Path> pages = new LinkedHashMap<>();
        pages.put("README.md", README);
        try (Stream<Path> files = Files.list(DOCS)) {
            files.filter(p -> p.getFileName().toString().endsWith(".md"))
                    .sorted()
                    .forEach(p -> pages.put("docs/" + p.getFileName(), p));
        }
        return pages;
    }

    static int lineOf(String text, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    static int lines(String text) {
        return (int) text.chars().filter(c -> c == '\n').count();
    }

    /** A class-name prefix unique to the page: ReadmeBlock for README.md, DocsOnnxBlock for docs/onnx.md. */
    static String prefix(String page) {
        if (page.equals("README.md")) {
            return "ReadmeBlock";
        }
        String stem = page.substring("docs/".length(), page.length() - ".md".length());
        return "Docs"
                + WORD.matcher(stem)
                        .results()
                        .map(w -> Character.toUpperCase(w.group().charAt(0))
                                + w.group().substring(1))
                        .collect(Collectors.joining())
                + "Block";
    }

    @Test
    void everyJavaBlockOfTheReadmeAndTheGuideCompiles(@TempDir Path out) throws IOException {
        List<Source> sources = new ArrayList<>();
        Map<String, String> publicClasses = new HashMap<>();
        List<String> conflicts = new ArrayList<>();
        for (Map.Entry<String, Path> page : pages().entrySet()) {
            String text = Files.readString(page.getValue());
            Matcher m = BLOCK.matcher(text);
            int n = 0;
            while (m.find()) {
                String block = m.group(2);
                int firstLine = lineOf(text, m.start(2));
                String imports = m.group(1) != null ? IMPORTS + SPARK_IMPORTS : IMPORTS;
                Matcher cls = CLASS.matcher(block);
                if (cls.find()) {
                    String earlier = publicClasses.putIfAbsent(cls.group(1), page.getKey());
                    if (earlier != null) {
                        conflicts.add("public class " + cls.group(1) + " is declared in " + earlier + " and in "
                                + page.getKey() + ":" + firstLine + ": rename one");
                    }
                    sources.add(new Source(cls.group(1), block, page.getKey(), firstLine));
                } else {
                    String name = prefix(page.getKey()) + n++;
                    String head = imports + "class " + name + " {\n void run() throws Exception {\n";
                    sources.add(new Source(name, head + block + "\n}\n}\n", page.getKey(), firstLine - lines(head)));
                }
            }
        }
        assertEquals(List.of(), conflicts);
        assertTrue(sources.size() >= 9, "the Java blocks of the README and the guide were found: " + sources.size());
        assertTrue(
                sources.stream().anyMatch(s -> s.page.equals("README.md") && s.code.contains("class GettingStarted")),
                "the getting-started program is in the README");
        assertTrue(
                sources.stream().anyMatch(s -> s.code.contains("SparkInference.classifyImages")),
                "the Spark example is there");
        Set<String> pagesWithCode = new HashSet<>();
        sources.forEach(s -> pagesWithCode.add(s.page));
        for (String page : List.of(
                "README.md",
                "docs/layers-and-models.md",
                "docs/compiled-inference.md",
                "docs/onnx.md",
                "docs/threads-and-latency.md",
                "docs/spark.md")) {
            assertTrue(pagesWithCode.contains(page), page + " has its Java blocks: " + pagesWithCode);
        }

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        boolean ok = javac.getTask(
                        null,
                        null,
                        diagnostics,
                        List.of("-cp", System.getProperty("java.class.path"), "-d", out.toString()),
                        null,
                        sources)
                .call();
        List<String> errors =
                diagnostics.getDiagnostics().stream().map(ReadmeTest::describe).toList();
        assertEquals(List.of(), errors);
        assertTrue(ok);
    }

    /** page:line: message, the line being the page's, for a diagnostic in a block. */
    static String describe(Diagnostic<? extends JavaFileObject> d) {
        String message = d.getMessage(Locale.ROOT);
        if (!(d.getSource() instanceof Source s)) {
            return message;
        }
        long line = d.getLineNumber();
        return line > 0 && s.firstLine + line - 1 > 0
                ? s.page + ":" + (s.firstLine + line - 1) + ": " + message
                : s.page + ": " + message;
    }

    @Test
    void everyRelativeLinkOfTheReadmeAndTheGuideLeadsSomewhere() throws IOException {
        Map<String, Path> pages = pages();
        Map<Path, Set<String>> anchors = new HashMap<>();
        List<String> broken = new ArrayList<>();
        int links = 0;
        for (Map.Entry<String, Path> page : pages.entrySet()) {
            List<String> text = Files.readAllLines(page.getValue());
            boolean inCode = false;
            for (int i = 0; i < text.size(); i++) {
                String line = text.get(i);
                if (FENCE.matcher(line).find()) {
                    inCode = !inCode;
                    continue;
                }
                if (inCode) {
                    continue;
                }
                Matcher m = LINK.matcher(line);
                while (m.find()) {
                    String target = m.group(1);
                    if (target.matches("^[a-z]+:.*")) {
                        continue; // https:, mailto:
                    }
                    links++;
                    int hash = target.indexOf('#');
                    String file = hash < 0 ? target : target.substring(0, hash);
                    Path resolved = file.isEmpty()
                            ? page.getValue()
                            : page.getValue().getParent().resolve(file).normalize();
                    String where = page.getKey() + ":" + (i + 1) + ": " + target;
                    if (!Files.exists(resolved)) {
                        broken.add(where + " (no such file)");
                    } else if (hash >= 0 && resolved.toString().endsWith(".md")) {
                        Set<String> known = anchors.computeIfAbsent(resolved, ReadmeTest::headingAnchors);
                        if (!known.contains(target.substring(hash + 1))) {
                            broken.add(where + " (no such heading)");
                        }
                    }
                }
            }
        }
        assertTrue(links >= 20, "the pages' relative links were found: " + links);
        assertEquals(List.of(), broken);
    }

    /** The anchors GitHub gives a page's headings: lower case, no punctuation, spaces as hyphens, -1 on a repeat. */
    static Set<String> headingAnchors(Path page) {
        List<String> text;
        try {
            text = Files.readAllLines(page);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Set<String> anchors = new HashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        boolean inCode = false;
        for (String line : text) {
            if (FENCE.matcher(line).find()) {
                inCode = !inCode;
                continue;
            }
            Matcher h = HEADING.matcher(line);
            if (inCode || !h.matches()) {
                continue;
            }
            String slug = h.group(1)
                    .toLowerCase(Locale.ROOT)
                    .replaceAll("[^\\p{L}\\p{N} _-]", "")
                    .replace(' ', '-');
            int repeat = seen.merge(slug, 1, Integer::sum) - 1;
            anchors.add(repeat == 0 ? slug : slug + "-" + repeat);
        }
        return anchors;
    }
}
