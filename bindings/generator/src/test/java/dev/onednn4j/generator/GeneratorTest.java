package dev.onednn4j.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generates bindings for tricky.h, compiles them, and checks them against what gcc says about the same
 * header (sizes and offsets reported by tricky.c) and against the values the C source states. Needs libclang and
 * gcc ({@link BuildTools}: skipped with the reason on a machine without them, a failure in CI).
 */
class GeneratorTest {

    private static final String PACKAGE = "tricky.gen";

    @TempDir
    static Path work;

    private static Path headers;
    private static Map<String, String> sources;
    private static ClassLoader loader;

    @BeforeAll
    static void generateCompileAndLoad() throws Exception {
        BuildTools.requireLibclangAndGcc();
        headers = Path.of(GeneratorTest.class.getResource("/tricky/tricky.h").toURI())
                .getParent();
        Path so = work.resolve("libtricky.so");
        Process gcc = new ProcessBuilder(
                        "gcc",
                        "-shared",
                        "-fPIC",
                        "-O1",
                        "-o",
                        so.toString(),
                        headers.resolve("tricky.c").toString())
                .redirectErrorStream(true)
                .start();
        String gccOut = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, gcc.waitFor(), "gcc builds tricky.c (apt-get install gcc): " + gccOut);
        System.setProperty(TrickyLibrary.PROPERTY, so.toString());

        Options options = options();
        sources = Generator.generate(options);
        Path src = work.resolve("src");
        Generator.run(new Options(
                options.headers(),
                options.clangArgs(),
                src,
                options.targetPackage(),
                options.headerClassName(),
                options.functions(),
                options.constants(),
                options.structs(),
                options.typedefs(),
                options.symbolLookup(),
                options.banner(),
                options.libclang()));
        Path classes = Files.createDirectories(work.resolve("classes"));
        List<String> javac = new ArrayList<>(List.of(
                "-d",
                classes.toString(),
                "-proc:none",
                "-cp",
                Path.of(TrickyLibrary.class
                                .getProtectionDomain()
                                .getCodeSource()
                                .getLocation()
                                .toURI())
                        .toString()));
        try (Stream<Path> files = Files.walk(src)) {
            files.filter(p -> p.toString().endsWith(".java")).forEach(p -> javac.add(p.toString()));
        }
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        assertEquals(0, compiler.run(null, null, null, javac.toArray(String[]::new)), "generated code compiles");
        loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, GeneratorTest.class.getClassLoader());
    }

    private static Options options(String... extra) {
        List<String> args = new ArrayList<>(List.of(
                "-I",
                headers.toString(),
                "-t",
                PACKAGE,
                "--header-class-name",
                "tricky_h",
                "--symbol-lookup",
                TrickyLibrary.class.getName() + ".lookup",
                "--banner",
                "test banner line",
                "--libclang",
                System.getProperty("onednn4j.libclang", Options.DEFAULT_LIBCLANG.toString())));
        args.addAll(List.of(extra));
        if (extra.length == 0) {
            args.add("@" + headers.resolve("tricky.args"));
            args.add("tricky.h");
        }
        return Options.parse(args);
    }

    private static Object call(String cls, String method, Object... args) throws Exception {
        for (Method m : loader.loadClass(PACKAGE + "." + cls).getMethods()) {
            if (m.getName().equals(method) && m.getParameterCount() == args.length) {
                try {
                    return m.invoke(null, args);
                } catch (InvocationTargetException e) {
                    throw (Exception) e.getCause();
                }
            }
        }
        throw new AssertionError("no method " + cls + "." + method + "/" + args.length);
    }

    private static Object h(String method, Object... args) throws Exception {
        return call("tricky_h", method, args);
    }

    @Test
    void sizeTIsEightBytesAndArrayParametersArePointers() throws Exception {
        FunctionDescriptor d = (FunctionDescriptor) h("tricky_sum$descriptor");
        assertEquals(
                ValueLayout.JAVA_LONG.withoutName(),
                ((ValueLayout) d.returnLayout().orElseThrow()).withoutName());
        assertInstanceOf(AddressLayout.class, d.argumentLayouts().get(0), "const tricky_dims_t decays to a pointer");
        assertEquals(8, d.argumentLayouts().get(1).byteSize(), "size_t");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dims = arena.allocateFrom(ValueLayout.JAVA_LONG, 1, 2, 3, 4_000_000_000L);
            assertEquals(4_000_000_006L, h("tricky_sum", dims, 4L));
        }
    }

    @Test
    void everyScalarKindIsPassedWithItsOwnWidth() throws Exception {
        FunctionDescriptor d = (FunctionDescriptor) h("tricky_mix$descriptor");
        List<Long> sizes =
                d.argumentLayouts().stream().map(MemoryLayout::byteSize).toList();
        assertEquals(List.of(1L, 2L, 4L, 8L, 4L, 8L), sizes);
        long expected = 200 - 3 * 10 + 5 * 100 + 7L * 1000 + (long) (1.5f * 10000) + (long) (0.25 * 100000);
        assertEquals(expected, h("tricky_mix", (byte) 200, (short) -3, 5, 7L, 1.5f, 0.25));
    }

    @Test
    void macrosAndEnumConstantsHaveTheirCValues() throws Exception {
        assertEquals(7, h("TRICKY_BASE"));
        assertEquals(7, h("TRICKY_ALIAS"), "macro defined as another macro");
        assertEquals(112, h("TRICKY_SHIFTED"));
        assertEquals(1L << 32, h("TRICKY_BIG"));
        assertEquals(-1, h("TRICKY_UNSIGNED_MAX"), "0xffffffffu as a Java int");
        assertEquals(0.5, h("TRICKY_HALF"));
        assertEquals(-1L, ((MemorySegment) h("TRICKY_ALLOCATE")).address(), "pointer-valued macro");
        assertEquals(0L, ((MemorySegment) h("TRICKY_NONE")).address());
        assertEquals(1, h("tricky_red"));
        assertEquals(0x1fff0, h("tricky_green"));
        assertEquals(0x1fff1, h("tricky_blue"), "implicit value after an explicit one");
        assertEquals(-3, h("tricky_neg"));
    }

    @Test
    void structLayoutsMatchWhatTheCCompilerSays() throws Exception {
        GroupLayout padded = (GroupLayout) call("tricky_padded_t", "layout");
        assertEquals(h("tricky_sizeof_padded"), padded.byteSize());
        assertEquals(24L, padded.byteSize());
        assertEquals(h("tricky_offsetof_value"), call("tricky_padded_t", "value$offset"));
        assertEquals(h("tricky_offsetof_count"), call("tricky_padded_t", "count$offset"));
        assertInstanceOf(PaddingLayout.class, padded.memberLayouts().get(1), "7 bytes after char tag");
        assertEquals(7L, padded.memberLayouts().get(1).byteSize());
        assertInstanceOf(PaddingLayout.class, padded.memberLayouts().getLast(), "tail padding");

        GroupLayout withArray = (GroupLayout) call("tricky_with_array_t", "layout");
        assertEquals(h("tricky_sizeof_with_array"), withArray.byteSize());
        assertEquals(h("tricky_offsetof_name"), call("tricky_with_array_t", "name$offset"));
        assertEquals(h("tricky_offsetof_small"), call("tricky_with_array_t", "small$offset"));
        assertEquals(32L, ((MemoryLayout) call("tricky_with_array_t", "dims$layout")).byteSize());
    }

    @Test
    void structAccessorsReadWhatCWrote() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = (MemorySegment) call("tricky_padded_t", "allocate", (SegmentAllocator) arena);
            h("tricky_fill", p, (byte) 'x', 2.75, 42);
            assertEquals((byte) 'x', call("tricky_padded_t", "tag", p));
            assertEquals(2.75, call("tricky_padded_t", "value", p));
            assertEquals(42, call("tricky_padded_t", "count", p));
            call("tricky_padded_t", "count", p, 43);
            assertEquals(43, p.get(ValueLayout.JAVA_INT, 16));
            MemorySegment array =
                    (MemorySegment) call("tricky_padded_t", "allocateArray", 3L, (SegmentAllocator) arena);
            assertEquals(72L, array.byteSize());
        }
    }

    @Test
    void pointersStringsAndTypedefs() throws Exception {
        MemorySegment name = (MemorySegment) h("tricky_color_name", h("tricky_green"));
        assertEquals("green", name.getString(0));
        assertTrue(((MemorySegment) h("tricky_handle")).address() != 0);
        Class<?> header = loader.loadClass(PACKAGE + ".tricky_h");
        assertInstanceOf(AddressLayout.class, header.getField("tricky_handle_t").get(null));
        assertEquals(ValueLayout.JAVA_INT, header.getField("tricky_color_t").get(null), "enum typedef is an int");
    }

    @Test
    void outputIsDeterministicAndCarriesTheBanner() {
        assertEquals(sources, Generator.generate(options()));
        String header = sources.get("tricky_h.java");
        assertTrue(
                header.startsWith("// Generated by onednn4j-bindings-generator (libclang 14) from tricky.h. "
                        + "DO NOT EDIT.\n// test banner line\n"),
                header.substring(0, 200));
        assertEquals(
                List.of("tricky_h.java", "tricky_padded_t.java", "tricky_with_array_t.java"),
                List.copyOf(sources.keySet()));
    }

    @Test
    void aMissingSymbolStopsGeneration() {
        var e = assertThrows(
                GeneratorException.class,
                () -> Generator.generate(options("--include-function", "tricky_nonexistent", "tricky.h")));
        assertTrue(e.getMessage().contains("tricky_nonexistent"), e.getMessage());
        var c = assertThrows(
                GeneratorException.class,
                () -> Generator.generate(options("--include-constant", "TRICKY_NOPE", "tricky.h")));
        assertTrue(c.getMessage().contains("TRICKY_NOPE"), c.getMessage());
    }

    @Test
    void whatCannotBeLoweredStopsGeneration() {
        var variadic = assertThrows(
                GeneratorException.class,
                () -> Generator.generate(options("--include-function", "tricky_variadic", "tricky.h")));
        assertTrue(variadic.getMessage().contains("variadic"), variadic.getMessage());
        var fnMacro = assertThrows(
                GeneratorException.class,
                () -> Generator.generate(options("--include-constant", "TRICKY_TWICE", "tricky.h")));
        assertTrue(fnMacro.getMessage().contains("function-like macro"), fnMacro.getMessage());
        var empty = assertThrows(
                GeneratorException.class,
                () -> Generator.generate(options("--include-constant", "TRICKY_API", "tricky.h")));
        assertTrue(empty.getMessage().contains("TRICKY_API"), empty.getMessage());
    }

    /** Without the compiler's builtin headers, stddef.h is missing and size_t would silently become int. */
    @Test
    void anErrorDiagnosticStopsGeneration() {
        var e = assertThrows(
                GeneratorException.class,
                () -> Generator.generate(
                        options("--clang-arg", "-nobuiltininc", "--include-function", "tricky_sum", "tricky.h")));
        assertTrue(e.getMessage().contains("error(s) parsing the headers"), e.getMessage());
        assertTrue(e.getMessage().contains("stddef.h"), e.getMessage());
    }

    @Test
    void theArgumentFileFollowsJextractsFormat(@TempDir Path tmp) throws IOException {
        Path args = Files.writeString(tmp.resolve("a.args"), """
                # comment

                --include-function f
                --include-constant C
                --include-typedef T
                --include-struct S
                """);
        Options o = Options.parse(List.of("--symbol-lookup", "x.Y.z", "@" + args, "h.h"));
        assertEquals(List.of("f"), List.copyOf(o.functions()));
        assertEquals(List.of("C"), List.copyOf(o.constants()));
        assertEquals(List.of("T"), List.copyOf(o.typedefs()));
        assertEquals(List.of("S"), List.copyOf(o.structs()));
        assertEquals("h_h", o.headerClassName());
        assertThrows(GeneratorException.class, () -> Options.parse(List.of("--bogus", "h.h")));
    }
}
