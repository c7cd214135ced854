package dev.onednn4j.internal.exec;

import dev.onednn4j.internal.dnnl.Dnnl;
import dev.onednn4j.internal.dnnl.Threads;
import dev.onednn4j.natives.DnnlLibrary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Choices made by measurement (which kernel, which layouts), remembered across JVMs so that a choice is timed once
 * per machine: a text file of {@code key<TAB>value} lines, read once per process and appended to as choices are
 * made (a later line wins). Every key starts with {@link #machine}: oneDNN's version, the CPU ISA oneDNN uses and
 * the thread count, so a choice made on another machine or under another setting is never reused.
 *
 * <p>Bounded: at most {@link #MAX_ENTRIES} choices are kept (the oldest go first); once the file holds twice as many
 * lines it is rewritten with the kept ones (a temporary file renamed over it). An unreadable file is ignored with a
 * warning, an unwritable one keeps the choices in memory only.
 */
public final class Choices {
    private static final System.Logger LOG = System.getLogger("dev.onednn4j");
    /** Choices kept per file. */
    static final int MAX_ENTRIES = 4096;

    /** One instance per file, so that choices made by one layer are seen by the next (and appended once). */
    private static final Map<Path, Choices> OPEN = new HashMap<>();

    private static final Choices IN_MEMORY = new Choices(null);

    private final Path file;
    private final LinkedHashMap<String, String> entries = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > MAX_ENTRIES;
        }
    };
    /**
     * Lines in the file (read and appended): beyond twice {@link #MAX_ENTRIES}, it is rewritten (an unreadable file
     * counts as full, so the next choice replaces it).
     */
    private int lines;

    Choices(Path file) {
        this.file = file;
        if (file != null && Files.isRegularFile(file)) {
            try {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    int tab = line.indexOf('\t');
                    if (tab > 0 && !line.startsWith("#")) {
                        entries.remove(line.substring(0, tab)); // a later line is the newer choice
                        entries.put(line.substring(0, tab), line.substring(tab + 1));
                    }
                    lines++;
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "ignoring the unreadable choices in " + file + ": " + e);
                entries.clear();
                lines = 2 * MAX_ENTRIES; // the next choice rewrites the file
            }
            if (lines > 2 * MAX_ENTRIES) {
                rewrite();
            }
        }
    }

    /**
     * The choices in {@code file} (null: kept in memory only, for this process).
     *
     * @param file a file that may not exist yet
     */
    public static Choices at(Path file) {
        if (file == null) {
            return IN_MEMORY;
        }
        Path key = file.toAbsolutePath().normalize();
        synchronized (OPEN) {
            return OPEN.computeIfAbsent(key, Choices::new);
        }
    }

    /**
     * The file of the process's choices: {@code -Donednn4j.kernelCache} (a path, or {@code off} for none), else
     * {@code kernel-choices.txt} beside the extracted native library, or null when there is no such folder.
     */
    public static Path defaultFile() {
        String setting = System.getProperty("onednn4j.kernelCache");
        if ("off".equals(setting)) {
            return null;
        }
        if (setting != null) {
            return Path.of(setting);
        }
        Path dir = DnnlLibrary.load().cacheDir();
        return dir == null ? null : dir.resolve("kernel-choices.txt");
    }

    /** The process's choices ({@link #defaultFile()}). */
    public static Choices standard() {
        return at(defaultFile());
    }

    /**
     * The start of every key: oneDNN's version, the CPU ISA oneDNN uses and the thread count its primitives run
     * with, e.g. {@code 3.13.0|cpu_isa_avx2|2}.
     *
     * @param threads a thread count, or 0 for the count in effect on the calling thread
     */
    public static String machine(int threads) {
        int effective = threads != 0 ? threads : Threads.current();
        return DnnlLibrary.load().version().number() + "|" + Dnnl.effectiveCpuIsa() + "|" + effective;
    }

    /** The file, or null when the choices live in memory only. */
    public Path file() {
        return file;
    }

    /** The value chosen for {@code key}, or null. */
    public synchronized String get(String key) {
        return entries.get(clean(key));
    }

    /** Remembers {@code value} for {@code key}, in memory and at the end of the file. */
    public synchronized void put(String key, String value) {
        String k = clean(key);
        String v = clean(value);
        entries.remove(k);
        entries.put(k, v);
        if (file == null) {
            return;
        }
        if (lines + 1 > 2 * MAX_ENTRIES) {
            rewrite();
            return;
        }
        try {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
            Files.writeString(
                    file,
                    k + '\t' + v + '\n',
                    StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
            lines++;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot save a measured choice to " + file + ": " + e);
        }
    }

    /** How many choices are kept. */
    public synchronized int size() {
        return entries.size();
    }

    /** Writes the kept choices over the file (a temporary file renamed over it). */
    private void rewrite() {
        List<String> out = new ArrayList<>(entries.size() + 1);
        out.add("# onednn4j: choices made by measurement (oneDNN version|CPU ISA|threads|what <TAB> choice)");
        for (Map.Entry<String, String> e : entries.entrySet()) {
            out.add(e.getKey() + '\t' + e.getValue());
        }
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "kernel-choices", ".tmp");
            Files.write(tmp, out, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            lines = out.size();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot rewrite the choices in " + file + ": " + e);
        }
    }

    /** A key or value on one line: tabs and line breaks become spaces. */
    private static String clean(String s) {
        return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }
}
