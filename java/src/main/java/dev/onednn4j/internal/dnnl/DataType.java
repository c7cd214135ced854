package dev.onednn4j.internal.dnnl;

import dev.onednn4j.bindings.dnnl_h;
import dev.onednn4j.internal.memory.ElementType;
import java.util.function.IntSupplier;

/** oneDNN's {@code dnnl_data_type_t}, typed. */
public enum DataType {
    F32(dnnl_h::dnnl_f32),
    F64(dnnl_h::dnnl_f64),
    F16(dnnl_h::dnnl_f16),
    BF16(dnnl_h::dnnl_bf16),
    S64(dnnl_h::dnnl_s64),
    S32(dnnl_h::dnnl_s32),
    S8(dnnl_h::dnnl_s8),
    U8(dnnl_h::dnnl_u8),
    BOOLEAN(dnnl_h::dnnl_boolean);

    private final int value;

    DataType(IntSupplier value) {
        this.value = value.getAsInt();
    }

    /** The C enum's value. */
    public int value() {
        return value;
    }

    /** The oneDNN type holding a tensor's elements. */
    public static DataType of(ElementType dtype) {
        return switch (dtype) {
            case FLOAT32 -> F32;
            case FLOAT64 -> F64;
            case FLOAT16 -> F16;
            case BFLOAT16 -> BF16;
            case INT64 -> S64;
            case INT32 -> S32;
            case INT8 -> S8;
            case UINT8 -> U8;
            case BOOL -> BOOLEAN;
            case INT16 -> throw new IllegalArgumentException("oneDNN has no int16 data type");
        };
    }
}
