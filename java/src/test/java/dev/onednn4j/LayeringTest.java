package dev.onednn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * java.lang.foreign stays in the bindings, the native loader and the internal oneDNN layer. The public
 * API uses it only where a method exists to wrap caller memory (Tensor.wrap and Tensor.segment).
 */
class LayeringTest {

    @Test
    void javaLangForeignOnlyWhereAllowed() throws IOException {
        Path root = Path.of("src/main/java/dev/onednn4j");
        assertTrue(Files.isDirectory(root), "run from the java module: " + root.toAbsolutePath());
        List<String> users;
        try (Stream<Path> files = Files.walk(root)) {
            users = files.filter(p -> p.toString().endsWith(".java")).filter(p -> {
                try {
                    return Files.readString(p).contains("java.lang.foreign");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).map(p -> root.relativize(p).toString().replace('\\', '/')).sorted().toList();
        }
        List<String> outsideInternal = users.stream().filter(p -> !p.startsWith("internal/")).toList();
        assertEquals(List.of("tensor/Tensor.java"), outsideInternal,
                "java.lang.foreign outside dev.onednn4j.internal: " + outsideInternal);
        assertTrue(users.stream().noneMatch(p -> p.startsWith("nn/")), users.toString());
    }
}
