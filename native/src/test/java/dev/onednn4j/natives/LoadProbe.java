package dev.onednn4j.natives;

import java.nio.file.Files;
import java.nio.file.Path;

/** A child JVM for {@link NativeLibraryTest}: waits for a start signal, loads oneDNN, reports. */
public final class LoadProbe {
    private LoadProbe() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            Path go = Path.of(args[0]);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.exists(go)) {
                if (System.nanoTime() > deadline) {
                    System.err.println("no start signal at " + go);
                    System.exit(4);
                }
                Thread.onSpinWait();
            }
        }
        try {
            DnnlLibrary.LoadedLibrary lib = DnnlLibrary.load();
            System.out.println("loaded " + lib.source() + " " + lib.version().number() + " " + lib.path());
        } catch (UnsatisfiedLinkError e) {
            System.err.println(e.getMessage());
            System.exit(3);
        }
    }
}
