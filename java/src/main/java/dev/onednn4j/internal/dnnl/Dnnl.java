package dev.onednn4j.internal.dnnl;

import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu_isa2str;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu_isa_avx2_vnni;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu_isa_avx512_core;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu_isa_avx512_core_bf16;
import static dev.onednn4j.bindings.dnnl_h.dnnl_cpu_isa_avx512_core_vnni;
import static dev.onednn4j.bindings.dnnl_h.dnnl_get_effective_cpu_isa;
import static dev.onednn4j.bindings.dnnl_h.dnnl_status2str;
import static dev.onednn4j.bindings.dnnl_h.dnnl_success;

import dev.onednn4j.OneDnnException;
import dev.onednn4j.natives.DnnlLibrary;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/** The one place where a failed {@code dnnl_*} status becomes an exception. */
public final class Dnnl {
    private Dnnl() {}

    /**
     * Loads the library (with the loader's clear error on failure) before any binding is touched.
     * Every wrapper's factory calls this first.
     */
    public static void ensureLoaded() {
        DnnlLibrary.load();
    }

    /** Throws {@link OneDnnException} unless {@code status} is {@code dnnl_success}. */
    public static void check(int status, String operation, Supplier<String> context) {
        if (status != dnnl_success()) {
            throw new OneDnnException(status, statusName(status), operation, context.get());
        }
    }

    /** As above, with a context computed in advance: the form for hot paths, which allocates nothing. */
    public static void check(int status, String operation, String context) {
        if (status != dnnl_success()) {
            throw new OneDnnException(status, statusName(status), operation, context);
        }
    }

    static void check(int status, String operation) {
        check(status, operation, "");
    }

    /** oneDNN's name of the instruction set its kernels use here, e.g. {@code Intel AVX-512 ...}. */
    public static String effectiveCpuIsa() {
        ensureLoaded();
        MemorySegment s = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
        return s.equals(MemorySegment.NULL) ? "unknown" : s.getString(0);
    }

    /** Whether oneDNN's kernels here use AVX-512 (its ISA mask contains AVX512_CORE's). */
    public static boolean avx512() {
        ensureLoaded();
        int avx512 = dnnl_cpu_isa_avx512_core();
        return (dnnl_get_effective_cpu_isa() & avx512) == avx512;
    }

    /**
     * Whether oneDNN's kernels here compute bf16 natively (AVX512_BF16, AVX10 or AMX, whose ISA masks contain
     * AVX512_BF16's), rather than emulating it in fp32.
     */
    public static boolean nativeBf16() {
        ensureLoaded();
        int bf16 = dnnl_cpu_isa_avx512_core_bf16();
        return (dnnl_get_effective_cpu_isa() & bf16) == bf16;
    }

    /**
     * Whether the CPU multiplies int8 vectors without an int16 intermediate (AVX512_VNNI, AVX_VNNI, AMX): without
     * it, oneDNN's u8 x s8 products pass through {@code vpmaddubsw}, which saturates pairs of products at 32767
     * unless the weights keep to 7 bits.
     */
    public static boolean int8Vnni() {
        ensureLoaded();
        int isa = dnnl_get_effective_cpu_isa();
        int avx512 = dnnl_cpu_isa_avx512_core_vnni();
        int avx2 = dnnl_cpu_isa_avx2_vnni();
        return (isa & avx512) == avx512 || (isa & avx2) == avx2;
    }

    static String statusName(int status) {
        MemorySegment s = dnnl_status2str(status);
        return s.equals(MemorySegment.NULL) ? "unknown" : s.getString(0);
    }
}
