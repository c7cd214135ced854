package dev.onednn4j.generator;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;

/** The symbol lookup the bindings generated in {@link GeneratorTest} link against: tricky.c, built by gcc. */
public final class TrickyLibrary {
    static final String PROPERTY = "onednn4j.test.tricky.library";

    private TrickyLibrary() {}

    public static SymbolLookup lookup() {
        return SymbolLookup.libraryLookup(Path.of(System.getProperty(PROPERTY)), Arena.global());
    }
}
