package dev.onednn4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java block of the README compiles against the library as it is: a block that declares a class is compiled
 * as written; any other is the body of a method, with the public packages imported (as a reader would). Blocks fenced
 * {@code java spark} also import Spark SQL and this module's API: this module's test class path has both, which is
 * why the test lives here.
 */
class ReadmeTest {

    static final Path README = Path.of("../../README.md");
    static final Pattern BLOCK = Pattern.compile("```java( spark)?\\n(.*?)```", Pattern.DOTALL);
    static final Pattern CLASS = Pattern.compile("public class (\\w+)");
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

    static final class Source extends SimpleJavaFileObject {
        final String code;

        Source(String className, String code) {
            super(java.net.URI.create("string:///" + className + ".java"), Kind.SOURCE);
            this.code = code;
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return code;
        }
    }

    @Test
    void everyJavaBlockOfTheReadmeCompiles(@TempDir Path out) throws IOException {
        Matcher m = BLOCK.matcher(Files.readString(README));
        List<Source> sources = new ArrayList<>();
        while (m.find()) {
            String block = m.group(2);
            String imports = m.group(1) != null ? IMPORTS + SPARK_IMPORTS : IMPORTS;
            Matcher cls = CLASS.matcher(block);
            if (cls.find()) {
                sources.add(new Source(cls.group(1), block));
            } else {
                String name = "ReadmeBlock" + sources.size();
                sources.add(new Source(
                        name, imports + "class " + name + " {\n void run() throws Exception {\n" + block + "\n}\n}\n"));
            }
        }
        assertTrue(sources.size() >= 3, "the README's Java blocks were found: " + sources.size());
        assertTrue(
                sources.stream().anyMatch(s -> s.code.contains("class GettingStarted")),
                "the getting-started " + "program is there");
        assertTrue(
                sources.stream().anyMatch(s -> s.code.contains("SparkInference.classifyImages")),
                "the Spark example is there");
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
        List<String> errors = diagnostics.getDiagnostics().stream()
                .map(d -> d.getSource().getName() + ":" + d.getLineNumber() + ": " + d.getMessage(Locale.ROOT))
                .toList();
        assertEquals(List.of(), errors);
        assertTrue(ok);
    }
}
