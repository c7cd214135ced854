package dev.onednn4j.internal.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The remembered choices: read back by the next process, the newest line winning, bounded, robust to bad files. */
class ChoicesTest {

    @Test
    void aChoiceIsReadBackFromTheFileByTheNextProcess(@TempDir Path dir) {
        Path file = dir.resolve("sub/kernel-choices.txt");
        Choices first = new Choices(file);
        assertNull(first.get("a|b"));
        first.put("a|b", "one");
        first.put("a|c", "two");
        first.put("a|b", "three"); // chosen again: the newer line wins
        first.put("tab\there", "line\nbreak");
        Choices next = new Choices(file); // what another JVM reads
        assertEquals("three", next.get("a|b"));
        assertEquals("two", next.get("a|c"));
        assertEquals("line break", next.get("tab here"), "a value stays on its line");
        assertEquals(3, next.size());
    }

    @Test
    void theFileAndTheMemoryAreBounded(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("kernel-choices.txt");
        Choices c = new Choices(file);
        int n = 2 * Choices.MAX_ENTRIES + 100;
        for (int i = 0; i < n; i++) {
            c.put("key " + i, "value " + i);
        }
        assertEquals(Choices.MAX_ENTRIES, c.size());
        long lines = Files.readAllLines(file, StandardCharsets.UTF_8).size();
        assertTrue(lines <= 2 * Choices.MAX_ENTRIES + 1, lines + " lines");
        Choices next = new Choices(file);
        assertEquals(Choices.MAX_ENTRIES, next.size());
        assertEquals("value " + (n - 1), next.get("key " + (n - 1)), "the newest choice is kept");
        assertNull(next.get("key 0"), "the oldest choice went first");
    }

    @Test
    void anUnreadableFileIsIgnoredAndReplaced(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("kernel-choices.txt");
        Files.write(file, new byte[] {'k', '\t', (byte) 0xff, (byte) 0xfe, '\n'}); // not UTF-8
        Choices c = new Choices(file);
        assertEquals(0, c.size());
        c.put("k", "v");
        assertEquals("v", new Choices(file).get("k"));
    }
}
