package dev.onednn4j.generator;

import static dev.onednn4j.generator.LibClang.*;

import dev.onednn4j.generator.LibClang.Cursor;
import dev.onednn4j.generator.LibClang.Evaluated;
import dev.onednn4j.generator.Model.Constant;
import dev.onednn4j.generator.Model.Field;
import dev.onednn4j.generator.Model.Function;
import dev.onednn4j.generator.Model.Param;
import dev.onednn4j.generator.Model.Prim;
import dev.onednn4j.generator.Model.Struct;
import dev.onednn4j.generator.Model.Typedef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Parses the headers with libclang and lowers every allow-listed symbol, or stops on the first it cannot. */
final class Extractor {

    private static final String MAIN_FILE = "onednn4j$bindings.h";
    private static final String MACRO_FILE = "onednn4j$macros.h";
    private static final String MACRO_PREFIX = "jextract$macro$";
    private static final Set<String> JAVA_KEYWORDS = Set.of(
            "abstract",
            "assert",
            "boolean",
            "break",
            "byte",
            "case",
            "catch",
            "char",
            "class",
            "const",
            "continue",
            "default",
            "do",
            "double",
            "else",
            "enum",
            "extends",
            "final",
            "finally",
            "float",
            "for",
            "goto",
            "if",
            "implements",
            "import",
            "instanceof",
            "int",
            "interface",
            "long",
            "native",
            "new",
            "package",
            "private",
            "protected",
            "public",
            "return",
            "short",
            "static",
            "strictfp",
            "super",
            "switch",
            "synchronized",
            "this",
            "throw",
            "throws",
            "transient",
            "try",
            "void",
            "volatile",
            "while",
            "true",
            "false",
            "null",
            "var",
            "yield",
            "record",
            "sealed",
            "permits");

    private record Decl(Cursor cursor, int order) {}

    private record EnumConstant(Cursor cursor, Prim type, boolean unsigned, String enumName, int order) {}

    private final LibClang clang;
    private final Options options;
    private final Map<String, Decl> functions = new HashMap<>();
    private final Map<String, Decl> typedefs = new HashMap<>();
    private final Map<String, Decl> structs = new HashMap<>();
    private final Map<String, Decl> macros = new HashMap<>();
    private final Map<String, EnumConstant> enumConstants = new HashMap<>();
    private int order;

    Extractor(LibClang clang, Options options) {
        this.clang = clang;
        this.options = options;
    }

    Model extract() {
        LibClang.TranslationUnit tu = clang.parse(MAIN_FILE, includes(), clangArgs(), true);
        try {
            for (Cursor c : clang.root(tu).children()) {
                index(c);
            }
            List<Function> fs = new ArrayList<>();
            for (String name : options.functions()) {
                fs.add(function(name));
            }
            List<Struct> ss = new ArrayList<>();
            List<Typedef> ts = new ArrayList<>();
            for (String name : options.structs()) {
                Decl d = structs.get(name);
                if (d == null) {
                    throw new GeneratorException("--include-struct " + name + ": no struct of that name with a body");
                }
                ss.add(struct(name, d.cursor().type(), d.order()));
            }
            for (String name : options.typedefs()) {
                typedef(name, ss, ts);
            }
            List<Constant> cs = constants();
            return new Model(fs, cs, ss, ts);
        } finally {
            clang.dispose(tu);
        }
    }

    private String includes() {
        StringBuilder sb = new StringBuilder();
        for (var h : options.headers()) {
            sb.append("#include \"").append(h).append("\"\n");
        }
        return sb.toString();
    }

    private List<String> clangArgs() {
        List<String> args = new ArrayList<>(List.of("-x", "c", "-std=gnu11"));
        args.addAll(options.clangArgs());
        return args;
    }

    private void index(Cursor c) {
        int kind = c.kind();
        int at = order++;
        switch (kind) {
            case CURSOR_FUNCTION_DECL -> functions.putIfAbsent(c.spelling(), new Decl(c, at));
            case CURSOR_TYPEDEF_DECL -> typedefs.putIfAbsent(c.spelling(), new Decl(c, at));
            case CURSOR_STRUCT_DECL -> {
                if (!c.isAnonymous() && c.type().sizeOf() > 0) {
                    structs.putIfAbsent(c.spelling(), new Decl(c, at));
                }
            }
            case CURSOR_MACRO_DEFINITION -> macros.put(c.spelling(), new Decl(c, at));
            case CURSOR_ENUM_DECL -> {
                Prim type = lower(c.enumIntegerType(), "enum " + c.spelling());
                boolean unsigned = isUnsigned(c.enumIntegerType().canonical().kind());
                String enumName = c.isAnonymous() ? "<anonymous>" : c.spelling();
                for (Cursor k : c.children()) {
                    if (k.kind() == CURSOR_ENUM_CONSTANT_DECL) {
                        enumConstants.putIfAbsent(k.spelling(), new EnumConstant(k, type, unsigned, enumName, order++));
                    }
                }
            }
            default -> {}
        }
    }

    private static boolean isUnsigned(int kind) {
        return kind == TYPE_UCHAR
                || kind == TYPE_CHAR_U
                || kind == TYPE_USHORT
                || kind == TYPE_UINT
                || kind == TYPE_ULONG
                || kind == TYPE_ULONGLONG
                || kind == TYPE_BOOL;
    }

    private Function function(String name) {
        Decl d = functions.get(name);
        if (d == null) {
            throw new GeneratorException("--include-function " + name + ": no such function in " + options.headers());
        }
        Cursor c = d.cursor();
        LibClang.Type fn = c.type();
        if (fn.kind() != TYPE_FUNCTION_PROTO) {
            throw new GeneratorException(name + ": declared without a prototype (" + fn + "); cannot lower");
        }
        if (fn.isVariadic()) {
            throw new GeneratorException(name + ": variadic functions are not supported (" + fn + ")");
        }
        LibClang.Type result = c.resultType();
        Prim ret = result.canonical().kind() == TYPE_VOID ? null : lower(result, "result of " + name);
        List<Param> params = new ArrayList<>();
        List<String> cParams = new ArrayList<>();
        int n = c.numArguments();
        for (int i = 0; i < n; i++) {
            Cursor a = c.argument(i);
            String pname = a.spelling();
            LibClang.Type t = a.type();
            params.add(new Param(
                    javaName(pname.isEmpty() ? "x" + i : pname),
                    lower(t, "parameter " + i + " (" + pname + ") of " + name)));
            cParams.add(t.spelling() + (pname.isEmpty() ? "" : " " + pname));
        }
        String signature = result.spelling() + " " + name + "(" + (n == 0 ? "void" : String.join(", ", cParams)) + ")";
        return new Function(name, ret, params, signature.replace("* ", "*"), d.order());
    }

    private static String javaName(String name) {
        return JAVA_KEYWORDS.contains(name) ? name + "_" : name;
    }

    /** Lowers a C type to the carrier FFM passes it as; arrays (as parameters) decay to pointers. */
    private Prim lower(LibClang.Type t, String what) {
        LibClang.Type c = t.canonical();
        Prim p = switch (c.kind()) {
            case TYPE_BOOL -> Prim.BOOL;
            case TYPE_CHAR_U, TYPE_UCHAR, TYPE_CHAR_S, TYPE_SCHAR -> Prim.CHAR;
            case TYPE_SHORT, TYPE_USHORT -> Prim.SHORT;
            case TYPE_INT, TYPE_UINT -> Prim.INT;
            case TYPE_LONG, TYPE_ULONG -> Prim.LONG;
            case TYPE_LONGLONG, TYPE_ULONGLONG -> Prim.LONG_LONG;
            case TYPE_FLOAT -> Prim.FLOAT;
            case TYPE_DOUBLE -> Prim.DOUBLE;
            case TYPE_POINTER, TYPE_CONSTANT_ARRAY, TYPE_INCOMPLETE_ARRAY -> Prim.POINTER;
            case TYPE_ENUM -> lower(c.declaration().enumIntegerType(), what);
            case TYPE_RECORD ->
                throw new GeneratorException(
                        what + ": " + t + " is a struct passed by value, which this generator does not lower");
            default ->
                throw new GeneratorException(what + ": cannot lower type " + t + " (CXTypeKind " + c.kind() + ")");
        };
        boolean array = c.kind() == TYPE_CONSTANT_ARRAY || c.kind() == TYPE_INCOMPLETE_ARRAY;
        if (!array && c.sizeOf() != p.size) {
            throw new GeneratorException(String.format(
                    Locale.ROOT, "%s: %s is %d bytes, but %s is %d", what, t, c.sizeOf(), p.layout, p.size));
        }
        return p;
    }

    private void typedef(String name, List<Struct> structsOut, List<Typedef> typedefsOut) {
        Decl d = typedefs.get(name);
        if (d == null) {
            throw new GeneratorException("--include-typedef " + name + ": no such typedef in " + options.headers());
        }
        LibClang.Type underlying = d.cursor().typedefUnderlyingType();
        LibClang.Type c = underlying.canonical();
        if (c.kind() == TYPE_RECORD) {
            structsOut.add(struct(name, c, d.order()));
        } else {
            typedefsOut.add(new Typedef(
                    name,
                    lower(underlying, "typedef " + name),
                    "typedef " + underlying.spelling() + " " + name,
                    d.order()));
        }
    }

    private Struct struct(String name, LibClang.Type type, int at) {
        LibClang.Type c = type.canonical();
        Cursor decl = c.declaration();
        if (decl.kind() != CURSOR_STRUCT_DECL) {
            throw new GeneratorException(name + ": only structs are supported, not " + c);
        }
        long size = c.sizeOf();
        if (size <= 0) {
            throw new GeneratorException(name + ": incomplete type, no layout");
        }
        List<Field> fields = new ArrayList<>();
        for (Cursor f : decl.children()) {
            if (f.kind() != CURSOR_FIELD_DECL) {
                continue;
            }
            String fname = f.spelling();
            long bits = f.offsetOfField();
            if (bits < 0 || bits % 8 != 0) {
                throw new GeneratorException(name + "." + fname + ": bit-fields are not supported");
            }
            LibClang.Type ft = f.type().canonical();
            String what = "field " + name + "." + fname;
            if (ft.kind() == TYPE_CONSTANT_ARRAY) {
                LibClang.Type element = ft.arrayElement();
                if (element.canonical().kind() == TYPE_CONSTANT_ARRAY) {
                    throw new GeneratorException(what + ": multi-dimensional arrays are not supported");
                }
                fields.add(new Field(fname, lower(element, what), ft.arraySize(), bits / 8));
            } else {
                fields.add(new Field(fname, lower(ft, what), 0, bits / 8));
            }
        }
        return new Struct(name, size, fields, at);
    }

    private List<Constant> constants() {
        List<Constant> out = new ArrayList<>();
        Map<String, Decl> wantedMacros = new LinkedHashMap<>();
        for (String name : options.constants()) {
            EnumConstant e = enumConstants.get(name);
            if (e != null) {
                long v = e.unsigned()
                        ? e.cursor().enumConstantUnsignedValue()
                        : e.cursor().enumConstantValue();
                out.add(new Constant(name, e.type(), v, 0, "enum " + e.enumName() + "." + name + " = " + v, e.order()));
                continue;
            }
            Decl m = macros.get(name);
            if (m == null) {
                throw new GeneratorException("--include-constant " + name + ": neither an enum constant nor a macro in "
                        + options.headers());
            }
            if (m.cursor().isMacroFunctionLike()) {
                throw new GeneratorException(
                        "--include-constant " + name + ": a function-like macro is not a constant");
            }
            wantedMacros.put(name, m);
        }
        if (!wantedMacros.isEmpty()) {
            out.addAll(macros(wantedMacros));
        }
        return out;
    }

    /**
     * Evaluates object-like macros as jextract does: a second translation unit declares
     * {@code __auto_type jextract$macro$NAME = NAME;} for each, and libclang evaluates the variables.
     * Pointer-valued macros get a second round, cast to {@code long long}.
     */
    private List<Constant> macros(Map<String, Decl> wanted) {
        Map<String, MacroValue> values = evaluateMacros(wanted.keySet(), "");
        List<Constant> out = new ArrayList<>();
        List<String> pointers = new ArrayList<>();
        for (var e : wanted.entrySet()) {
            String name = e.getKey();
            MacroValue v = values.get(name);
            if (v == null) {
                throw new GeneratorException(
                        "--include-constant " + name + ": the macro does not expand to an expression");
            }
            if (v.type() == Prim.POINTER) {
                pointers.add(name);
                continue;
            }
            out.add(constant(name, v, e.getValue().order()));
        }
        if (!pointers.isEmpty()) {
            Map<String, MacroValue> casts = evaluateMacros(pointers, "(long long)");
            for (String name : pointers) {
                MacroValue v = casts.get(name);
                if (v == null || !(v.value() instanceof Evaluated.Int i)) {
                    throw new GeneratorException(
                            "--include-constant " + name + ": libclang cannot evaluate the pointer-valued macro");
                }
                out.add(new Constant(
                        name,
                        Prim.POINTER,
                        i.value(),
                        0,
                        "#define " + name + " ((void *)" + i.value() + ")",
                        wanted.get(name).order()));
            }
        }
        return out;
    }

    private static Constant constant(String name, MacroValue v, int at) {
        return switch (v.value()) {
            case Evaluated.Int i -> new Constant(name, v.type(), i.value(), 0, "#define " + name + " " + i.value(), at);
            case Evaluated.Floating f ->
                new Constant(name, v.type(), 0, f.value(), "#define " + name + " " + f.value(), at);
            case null ->
                throw new GeneratorException("--include-constant " + name + ": libclang cannot evaluate the macro");
        };
    }

    /** @param type the lowered type of the macro's value; value is null for pointers and what cannot be evaluated */
    private record MacroValue(Prim type, Evaluated value) {}

    private Map<String, MacroValue> evaluateMacros(Iterable<String> names, String cast) {
        StringBuilder src = new StringBuilder(includes());
        for (String n : names) {
            src.append("__auto_type ")
                    .append(MACRO_PREFIX)
                    .append(n)
                    .append(" = ")
                    .append(cast)
                    .append('(')
                    .append(n)
                    .append(");\n");
        }
        List<String> args = new ArrayList<>(clangArgs());
        args.add("-ferror-limit=0");
        LibClang.TranslationUnit tu = clang.parse(MACRO_FILE, src.toString(), args, false);
        try {
            // Cursors point into the unit: evaluate before it is disposed.
            Map<String, MacroValue> values = new HashMap<>();
            for (Cursor c : clang.root(tu).children()) {
                if (c.kind() != CURSOR_VAR_DECL || !c.spelling().startsWith(MACRO_PREFIX)) {
                    continue;
                }
                String name = c.spelling().substring(MACRO_PREFIX.length());
                LibClang.Type t = c.type().canonical();
                if (t.kind() == TYPE_POINTER && cast.isEmpty()) {
                    values.put(name, new MacroValue(Prim.POINTER, null));
                } else {
                    values.put(
                            name,
                            new MacroValue(
                                    lower(t, "macro " + name), c.evaluate().orElse(null)));
                }
            }
            return values;
        } finally {
            clang.dispose(tu);
        }
    }
}
