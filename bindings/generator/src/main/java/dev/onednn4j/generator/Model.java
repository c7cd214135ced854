package dev.onednn4j.generator;

import java.util.List;

/** What the generator extracted from the headers: only the allow-listed symbols, lowered to FFM carriers. */
record Model(List<Function> functions, List<Constant> constants, List<Struct> structs, List<Typedef> typedefs) {

    /** A C scalar as java.lang.foreign sees it on x86-64 Linux (LP64), named as jextract names it. */
    enum Prim {
        BOOL("C_BOOL", "boolean", "OfBoolean", "JAVA_BOOLEAN", 1),
        CHAR("C_CHAR", "byte", "OfByte", "JAVA_BYTE", 1),
        SHORT("C_SHORT", "short", "OfShort", "JAVA_SHORT", 2),
        INT("C_INT", "int", "OfInt", "JAVA_INT", 4),
        LONG("C_LONG", "long", "OfLong", "JAVA_LONG", 8),
        LONG_LONG("C_LONG_LONG", "long", "OfLong", "JAVA_LONG", 8),
        FLOAT("C_FLOAT", "float", "OfFloat", "JAVA_FLOAT", 4),
        DOUBLE("C_DOUBLE", "double", "OfDouble", "JAVA_DOUBLE", 8),
        POINTER("C_POINTER", "MemorySegment", "AddressLayout", "ADDRESS", 8);

        final String layout;
        final String carrier;
        final String layoutType;
        final String valueLayout;
        final long size;

        Prim(String layout, String carrier, String layoutType, String valueLayout, long size) {
            this.layout = layout;
            this.carrier = carrier;
            this.layoutType = layoutType;
            this.valueLayout = valueLayout;
            this.size = size;
        }
    }

    /** Every declaration keeps its position in the headers, so the output follows their order. */
    interface Ordered {
        int order();
    }

    /** @param ret null for void; {@code signature} is the C declaration, for the javadoc */
    record Function(String name, Prim ret, List<Param> params, String signature, int order) implements Ordered {}

    record Param(String name, Prim type) {}

    /**
     * An enum constant or an object-like macro.
     *
     * @param bits  the integer value, or the address of a pointer-valued macro
     * @param fp    the value of a floating-point macro
     * @param cText how the C source states it, for the javadoc
     */
    record Constant(String name, Prim type, long bits, double fp, String cText, int order) implements Ordered {}

    /** @param count 0 for a scalar field, else the length of a fixed array field */
    record Field(String name, Prim type, long count, long offset) {
        long byteSize() {
            return type.size * Math.max(count, 1);
        }
    }

    record Struct(String name, long size, List<Field> fields, int order) implements Ordered {}

    /** A typedef of a pointer or scalar: emitted as a layout constant of the header class. */
    record Typedef(String name, Prim type, String cText, int order) implements Ordered {}
}
