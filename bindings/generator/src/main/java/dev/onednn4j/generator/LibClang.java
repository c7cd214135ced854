package dev.onednn4j.generator;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The few libclang 14 calls the generator makes, bound through java.lang.foreign.
 *
 * <p>These are the generator's own bootstrap bindings (a generator cannot generate the bindings it
 * needs to run), kept to the calls used and typed after {@code clang-c/Index.h}. {@code CXCursor},
 * {@code CXType} and {@code CXString} travel by value; by-value returns take the session arena as their
 * allocator. One instance is one session: everything it returns lives until {@link #close()}.
 * Single-threaded, like libclang's index.
 */
final class LibClang implements AutoCloseable {

    static final StructLayout CX_CURSOR = MemoryLayout.structLayout(
            JAVA_INT.withName("kind"),
            JAVA_INT.withName("xdata"),
            MemoryLayout.sequenceLayout(3, ADDRESS).withName("data"));
    static final StructLayout CX_TYPE = MemoryLayout.structLayout(
            JAVA_INT.withName("kind"),
            MemoryLayout.paddingLayout(4),
            MemoryLayout.sequenceLayout(2, ADDRESS).withName("data"));
    static final StructLayout CX_STRING = MemoryLayout.structLayout(
            ADDRESS.withName("data"), JAVA_INT.withName("private_flags"), MemoryLayout.paddingLayout(4));
    static final StructLayout CX_UNSAVED_FILE = MemoryLayout.structLayout(
            ADDRESS.withName("Filename"), ADDRESS.withName("Contents"), JAVA_LONG.withName("Length"));

    // CXCursorKind
    static final int CURSOR_STRUCT_DECL = 2;
    static final int CURSOR_UNION_DECL = 3;
    static final int CURSOR_ENUM_DECL = 5;
    static final int CURSOR_FIELD_DECL = 6;
    static final int CURSOR_ENUM_CONSTANT_DECL = 7;
    static final int CURSOR_FUNCTION_DECL = 8;
    static final int CURSOR_VAR_DECL = 9;
    static final int CURSOR_TYPEDEF_DECL = 20;
    static final int CURSOR_MACRO_DEFINITION = 501;

    // CXTypeKind
    static final int TYPE_INVALID = 0;
    static final int TYPE_VOID = 2;
    static final int TYPE_BOOL = 3;
    static final int TYPE_CHAR_U = 4;
    static final int TYPE_UCHAR = 5;
    static final int TYPE_USHORT = 8;
    static final int TYPE_UINT = 9;
    static final int TYPE_ULONG = 10;
    static final int TYPE_ULONGLONG = 11;
    static final int TYPE_CHAR_S = 13;
    static final int TYPE_SCHAR = 14;
    static final int TYPE_SHORT = 16;
    static final int TYPE_INT = 17;
    static final int TYPE_LONG = 18;
    static final int TYPE_LONGLONG = 19;
    static final int TYPE_FLOAT = 21;
    static final int TYPE_DOUBLE = 22;
    static final int TYPE_POINTER = 101;
    static final int TYPE_RECORD = 105;
    static final int TYPE_ENUM = 106;
    static final int TYPE_FUNCTION_PROTO = 111;
    static final int TYPE_CONSTANT_ARRAY = 112;
    static final int TYPE_INCOMPLETE_ARRAY = 114;

    // CXDiagnosticSeverity
    static final int DIAGNOSTIC_ERROR = 3;

    // CXTranslationUnit_Flags
    static final int TU_DETAILED_PREPROCESSING_RECORD = 0x01;
    static final int TU_SKIP_FUNCTION_BODIES = 0x40;

    // CXEvalResultKind
    static final int EVAL_INT = 1;
    static final int EVAL_FLOAT = 2;

    private static final int VISIT_CONTINUE = 1;

    private final Arena arena = Arena.ofConfined();
    private final Linker linker = Linker.nativeLinker();
    private final SymbolLookup lib;
    private final MemorySegment index;
    private final MemorySegment visitor;
    private List<Cursor> sink;
    private Throwable visitFailure;

    private final MethodHandle createIndex;
    private final MethodHandle disposeIndex;
    private final MethodHandle toggleCrashRecovery;
    private final MethodHandle parseTranslationUnit;
    private final MethodHandle disposeTranslationUnit;
    private final MethodHandle getNumDiagnostics;
    private final MethodHandle getDiagnostic;
    private final MethodHandle getDiagnosticSeverity;
    private final MethodHandle formatDiagnostic;
    private final MethodHandle disposeDiagnostic;
    private final MethodHandle getTranslationUnitCursor;
    private final MethodHandle visitChildren;
    private final MethodHandle getCursorKind;
    private final MethodHandle getCursorSpelling;
    private final MethodHandle getCursorType;
    private final MethodHandle getCursorResultType;
    private final MethodHandle cursorGetNumArguments;
    private final MethodHandle cursorGetArgument;
    private final MethodHandle getTypedefDeclUnderlyingType;
    private final MethodHandle getEnumDeclIntegerType;
    private final MethodHandle getEnumConstantDeclValue;
    private final MethodHandle getEnumConstantDeclUnsignedValue;
    private final MethodHandle cursorGetOffsetOfField;
    private final MethodHandle cursorIsMacroFunctionLike;
    private final MethodHandle cursorIsAnonymous;
    private final MethodHandle cursorEvaluate;
    private final MethodHandle evalGetKind;
    private final MethodHandle evalGetAsLongLong;
    private final MethodHandle evalIsUnsignedInt;
    private final MethodHandle evalGetAsUnsigned;
    private final MethodHandle evalGetAsDouble;
    private final MethodHandle evalDispose;
    private final MethodHandle getCanonicalType;
    private final MethodHandle getPointeeType;
    private final MethodHandle getResultType;
    private final MethodHandle getNumArgTypes;
    private final MethodHandle isFunctionTypeVariadic;
    private final MethodHandle getArrayElementType;
    private final MethodHandle getArraySize;
    private final MethodHandle typeGetSizeOf;
    private final MethodHandle typeGetAlignOf;
    private final MethodHandle getTypeDeclaration;
    private final MethodHandle getTypeSpelling;
    private final MethodHandle getCString;
    private final MethodHandle disposeString;

    /**
     * Opens libclang and an index. libclang's crash recovery installs signal handlers that fight the
     * JVM's (most runs die with SIGSEGV): {@code LIBCLANG_DISABLE_CRASH_RECOVERY=1} is put in the process
     * environment before the index exists, and {@code clang_toggleCrashRecovery(0)} follows, as jextract does.
     */
    LibClang(Path libclang) {
        disableCrashRecovery();
        try {
            lib = SymbolLookup.libraryLookup(libclang, arena);
        } catch (IllegalArgumentException e) {
            throw new GeneratorException(
                    "cannot load libclang from " + libclang
                            + ": install Debian's libclang1-14 (apt-get install libclang1-14 libclang-common-14-dev)",
                    e);
        }
        FunctionDescriptor cursorToInt = FunctionDescriptor.of(JAVA_INT, CX_CURSOR);
        FunctionDescriptor cursorToString = FunctionDescriptor.of(CX_STRING, CX_CURSOR);
        FunctionDescriptor cursorToType = FunctionDescriptor.of(CX_TYPE, CX_CURSOR);
        FunctionDescriptor cursorToLong = FunctionDescriptor.of(JAVA_LONG, CX_CURSOR);
        FunctionDescriptor typeToType = FunctionDescriptor.of(CX_TYPE, CX_TYPE);
        FunctionDescriptor typeToInt = FunctionDescriptor.of(JAVA_INT, CX_TYPE);
        FunctionDescriptor typeToLong = FunctionDescriptor.of(JAVA_LONG, CX_TYPE);
        createIndex = handle("clang_createIndex", FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_INT));
        disposeIndex = handle("clang_disposeIndex", FunctionDescriptor.ofVoid(ADDRESS));
        toggleCrashRecovery = handle("clang_toggleCrashRecovery", FunctionDescriptor.ofVoid(JAVA_INT));
        parseTranslationUnit = handle(
                "clang_parseTranslationUnit",
                FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        disposeTranslationUnit = handle("clang_disposeTranslationUnit", FunctionDescriptor.ofVoid(ADDRESS));
        getNumDiagnostics = handle("clang_getNumDiagnostics", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getDiagnostic = handle("clang_getDiagnostic", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        getDiagnosticSeverity = handle("clang_getDiagnosticSeverity", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        formatDiagnostic = handle("clang_formatDiagnostic", FunctionDescriptor.of(CX_STRING, ADDRESS, JAVA_INT));
        disposeDiagnostic = handle("clang_disposeDiagnostic", FunctionDescriptor.ofVoid(ADDRESS));
        getTranslationUnitCursor = handle("clang_getTranslationUnitCursor", FunctionDescriptor.of(CX_CURSOR, ADDRESS));
        visitChildren = handle("clang_visitChildren", FunctionDescriptor.of(JAVA_INT, CX_CURSOR, ADDRESS, ADDRESS));
        getCursorKind = handle("clang_getCursorKind", cursorToInt);
        getCursorSpelling = handle("clang_getCursorSpelling", cursorToString);
        getCursorType = handle("clang_getCursorType", cursorToType);
        getCursorResultType = handle("clang_getCursorResultType", cursorToType);
        cursorGetNumArguments = handle("clang_Cursor_getNumArguments", cursorToInt);
        cursorGetArgument = handle("clang_Cursor_getArgument", FunctionDescriptor.of(CX_CURSOR, CX_CURSOR, JAVA_INT));
        getTypedefDeclUnderlyingType = handle("clang_getTypedefDeclUnderlyingType", cursorToType);
        getEnumDeclIntegerType = handle("clang_getEnumDeclIntegerType", cursorToType);
        getEnumConstantDeclValue = handle("clang_getEnumConstantDeclValue", cursorToLong);
        getEnumConstantDeclUnsignedValue = handle("clang_getEnumConstantDeclUnsignedValue", cursorToLong);
        cursorGetOffsetOfField = handle("clang_Cursor_getOffsetOfField", cursorToLong);
        cursorIsMacroFunctionLike = handle("clang_Cursor_isMacroFunctionLike", cursorToInt);
        cursorIsAnonymous = handle("clang_Cursor_isAnonymous", cursorToInt);
        cursorEvaluate = handle("clang_Cursor_Evaluate", FunctionDescriptor.of(ADDRESS, CX_CURSOR));
        evalGetKind = handle("clang_EvalResult_getKind", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        evalGetAsLongLong = handle("clang_EvalResult_getAsLongLong", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        evalIsUnsignedInt = handle("clang_EvalResult_isUnsignedInt", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        evalGetAsUnsigned = handle("clang_EvalResult_getAsUnsigned", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        evalGetAsDouble = handle("clang_EvalResult_getAsDouble", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS));
        evalDispose = handle("clang_EvalResult_dispose", FunctionDescriptor.ofVoid(ADDRESS));
        getCanonicalType = handle("clang_getCanonicalType", typeToType);
        getPointeeType = handle("clang_getPointeeType", typeToType);
        getResultType = handle("clang_getResultType", typeToType);
        getNumArgTypes = handle("clang_getNumArgTypes", typeToInt);
        isFunctionTypeVariadic = handle("clang_isFunctionTypeVariadic", typeToInt);
        getArrayElementType = handle("clang_getArrayElementType", typeToType);
        getArraySize = handle("clang_getArraySize", typeToLong);
        typeGetSizeOf = handle("clang_Type_getSizeOf", typeToLong);
        typeGetAlignOf = handle("clang_Type_getAlignOf", typeToLong);
        getTypeDeclaration = handle("clang_getTypeDeclaration", FunctionDescriptor.of(CX_CURSOR, CX_TYPE));
        getTypeSpelling = handle("clang_getTypeSpelling", FunctionDescriptor.of(CX_STRING, CX_TYPE));
        getCString = handle("clang_getCString", FunctionDescriptor.of(ADDRESS, CX_STRING));
        disposeString = handle("clang_disposeString", FunctionDescriptor.ofVoid(CX_STRING));
        try {
            MethodHandle visit = MethodHandles.lookup()
                    .findVirtual(
                            LibClang.class,
                            "visit",
                            MethodType.methodType(
                                    int.class, MemorySegment.class, MemorySegment.class, MemorySegment.class));
            visitor = linker.upcallStub(
                    visit.bindTo(this), FunctionDescriptor.of(JAVA_INT, CX_CURSOR, CX_CURSOR, ADDRESS), arena);
            index = (MemorySegment) createIndex.invokeExact(0, 0);
            toggleCrashRecovery.invokeExact(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void disableCrashRecovery() {
        MemorySegment setenv = linker.defaultLookup()
                .find("setenv")
                .orElseThrow(() -> new GeneratorException("libc does not export setenv"));
        MethodHandle h = linker.downcallHandle(setenv, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (Arena local = Arena.ofConfined()) {
            int rc = (int)
                    h.invokeExact(local.allocateFrom("LIBCLANG_DISABLE_CRASH_RECOVERY"), local.allocateFrom("1"), 1);
            if (rc != 0) {
                throw new GeneratorException("setenv(LIBCLANG_DISABLE_CRASH_RECOVERY) failed");
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private MethodHandle handle(String name, FunctionDescriptor fd) {
        MemorySegment symbol = lib.find(name)
                .orElseThrow(() -> new GeneratorException("libclang does not export " + name + " (need libclang 14)"));
        return linker.downcallHandle(symbol, fd);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** A parsed translation unit. */
    record TranslationUnit(MemorySegment handle) {}

    /**
     * Parses {@code mainFile} given as unsaved content.
     *
     * @param failOnErrors whether an error diagnostic is fatal (it is for the headers themselves)
     */
    TranslationUnit parse(String mainFile, String contents, List<String> args, boolean failOnErrors) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment argv = local.allocate(ADDRESS, args.size());
            for (int i = 0; i < args.size(); i++) {
                argv.setAtIndex(ADDRESS, i, local.allocateFrom(args.get(i)));
            }
            MemorySegment unsaved = local.allocate(CX_UNSAVED_FILE);
            MemorySegment name = local.allocateFrom(mainFile);
            MemorySegment text = local.allocateFrom(contents);
            unsaved.set(ADDRESS, 0, name);
            unsaved.set(ADDRESS, 8, text);
            unsaved.set(JAVA_LONG, 16, text.byteSize() - 1);
            MemorySegment tu = (MemorySegment) parseTranslationUnit.invokeExact(
                    index,
                    name,
                    argv,
                    args.size(),
                    unsaved,
                    1,
                    TU_DETAILED_PREPROCESSING_RECORD | TU_SKIP_FUNCTION_BODIES);
            if (tu.equals(MemorySegment.NULL)) {
                throw new GeneratorException("libclang could not parse " + mainFile + " with " + args);
            }
            if (failOnErrors) {
                List<String> errors = errors(tu);
                if (!errors.isEmpty()) {
                    disposeTranslationUnit.invokeExact(tu);
                    throw new GeneratorException(errors.size() + " error(s) parsing the headers (without clang's "
                            + "builtin headers, size_t silently becomes int; install libclang-common-14-dev):\n  "
                            + String.join("\n  ", errors));
                }
            }
            return new TranslationUnit(tu);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private List<String> errors(MemorySegment tu) throws Throwable {
        List<String> errors = new ArrayList<>();
        int n = (int) getNumDiagnostics.invokeExact(tu);
        for (int i = 0; i < n; i++) {
            MemorySegment d = (MemorySegment) getDiagnostic.invokeExact(tu, i);
            if ((int) getDiagnosticSeverity.invokeExact(d) >= DIAGNOSTIC_ERROR) {
                errors.add(string((MemorySegment)
                        formatDiagnostic.invokeExact((java.lang.foreign.SegmentAllocator) arena, d, 0x1 | 0x2 | 0x4)));
            }
            disposeDiagnostic.invokeExact(d);
        }
        return errors;
    }

    void dispose(TranslationUnit tu) {
        try {
            disposeTranslationUnit.invokeExact(tu.handle());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    Cursor root(TranslationUnit tu) {
        try {
            return new Cursor((MemorySegment)
                    getTranslationUnitCursor.invokeExact((java.lang.foreign.SegmentAllocator) arena, tu.handle()));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Called by libclang for each child; the cursor is valid only during the call, so it is copied. */
    @SuppressWarnings("unused")
    private int visit(MemorySegment cursor, MemorySegment parent, MemorySegment data) {
        try {
            sink.add(new Cursor(arena.allocate(CX_CURSOR).copyFrom(cursor)));
            return VISIT_CONTINUE;
        } catch (Throwable t) {
            // An exception escaping an upcall kills the VM: keep it for after the visit.
            visitFailure = t;
            return 0;
        }
    }

    private String string(MemorySegment cxString) throws Throwable {
        MemorySegment c = (MemorySegment) getCString.invokeExact(cxString);
        String s = c.equals(MemorySegment.NULL)
                ? ""
                : c.reinterpret(Long.MAX_VALUE).getString(0);
        disposeString.invokeExact(cxString);
        return s;
    }

    private java.lang.foreign.SegmentAllocator alloc() {
        return arena;
    }

    /** A copied {@code CXCursor}. */
    final class Cursor {
        private final MemorySegment seg;

        Cursor(MemorySegment seg) {
            this.seg = seg;
        }

        List<Cursor> children() {
            List<Cursor> out = new ArrayList<>();
            sink = out;
            visitFailure = null;
            try {
                int ignored = (int) visitChildren.invokeExact(seg, visitor, MemorySegment.NULL);
            } catch (Throwable t) {
                throw rethrow(t);
            } finally {
                sink = null;
            }
            if (visitFailure != null) {
                throw rethrow(visitFailure);
            }
            return out;
        }

        int kind() {
            try {
                return (int) getCursorKind.invokeExact(seg);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        String spelling() {
            try {
                return string((MemorySegment) getCursorSpelling.invokeExact(alloc(), seg));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        Type type() {
            return type(getCursorType);
        }

        Type resultType() {
            return type(getCursorResultType);
        }

        Type typedefUnderlyingType() {
            return type(getTypedefDeclUnderlyingType);
        }

        Type enumIntegerType() {
            return type(getEnumDeclIntegerType);
        }

        private Type type(MethodHandle h) {
            try {
                return new Type((MemorySegment) h.invokeExact(alloc(), seg));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        int numArguments() {
            try {
                return (int) cursorGetNumArguments.invokeExact(seg);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        Cursor argument(int i) {
            try {
                return new Cursor((MemorySegment) cursorGetArgument.invokeExact(alloc(), seg, i));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        long enumConstantValue() {
            return longOf(getEnumConstantDeclValue);
        }

        long enumConstantUnsignedValue() {
            return longOf(getEnumConstantDeclUnsignedValue);
        }

        /** Offset of a field in bits, or a negative CXTypeLayoutError. */
        long offsetOfField() {
            return longOf(cursorGetOffsetOfField);
        }

        private long longOf(MethodHandle h) {
            try {
                return (long) h.invokeExact(seg);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        boolean isMacroFunctionLike() {
            return intOf(cursorIsMacroFunctionLike) != 0;
        }

        boolean isAnonymous() {
            return intOf(cursorIsAnonymous) != 0;
        }

        private int intOf(MethodHandle h) {
            try {
                return (int) h.invokeExact(seg);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        /** Evaluates an initialised variable; empty if libclang cannot. */
        java.util.Optional<Evaluated> evaluate() {
            try {
                MemorySegment r = (MemorySegment) cursorEvaluate.invokeExact(seg);
                if (r.equals(MemorySegment.NULL)) {
                    return java.util.Optional.empty();
                }
                try {
                    int kind = (int) evalGetKind.invokeExact(r);
                    if (kind == EVAL_INT) {
                        boolean unsigned = (int) evalIsUnsignedInt.invokeExact(r) != 0;
                        long v = unsigned
                                ? (long) evalGetAsUnsigned.invokeExact(r)
                                : (long) evalGetAsLongLong.invokeExact(r);
                        return java.util.Optional.of(new Evaluated.Int(v));
                    }
                    if (kind == EVAL_FLOAT) {
                        return java.util.Optional.of(new Evaluated.Floating((double) evalGetAsDouble.invokeExact(r)));
                    }
                    return java.util.Optional.empty();
                } finally {
                    evalDispose.invokeExact(r);
                }
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** A value {@code clang_Cursor_Evaluate} produced. */
    sealed interface Evaluated {
        record Int(long value) implements Evaluated {}

        record Floating(double value) implements Evaluated {}
    }

    /** A copied {@code CXType}. */
    final class Type {
        private final MemorySegment seg;

        Type(MemorySegment seg) {
            this.seg = seg;
        }

        int kind() {
            return seg.get(JAVA_INT, 0);
        }

        Type canonical() {
            return type(getCanonicalType);
        }

        Type pointee() {
            return type(getPointeeType);
        }

        Type result() {
            return type(getResultType);
        }

        Type arrayElement() {
            return type(getArrayElementType);
        }

        private Type type(MethodHandle h) {
            try {
                return new Type((MemorySegment) h.invokeExact(alloc(), seg));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        int numArgs() {
            return intOf(getNumArgTypes);
        }

        boolean isVariadic() {
            return intOf(isFunctionTypeVariadic) != 0;
        }

        private int intOf(MethodHandle h) {
            try {
                return (int) h.invokeExact(seg);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        long arraySize() {
            return longOf(getArraySize);
        }

        /** Size in bytes, or a negative CXTypeLayoutError. */
        long sizeOf() {
            return longOf(typeGetSizeOf);
        }

        long alignOf() {
            return longOf(typeGetAlignOf);
        }

        private long longOf(MethodHandle h) {
            try {
                return (long) h.invokeExact(seg);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        Cursor declaration() {
            try {
                return new Cursor((MemorySegment) getTypeDeclaration.invokeExact(alloc(), seg));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        String spelling() {
            try {
                return string((MemorySegment) getTypeSpelling.invokeExact(alloc(), seg));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        @Override
        public String toString() {
            return spelling();
        }
    }

    @Override
    public void close() {
        try {
            disposeIndex.invokeExact(index);
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            arena.close();
        }
    }
}
