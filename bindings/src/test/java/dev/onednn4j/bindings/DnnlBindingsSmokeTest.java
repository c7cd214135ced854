package dev.onednn4j.bindings;

import static dev.onednn4j.bindings.dnnl_h.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The generated bindings alone (no wrapper layer) against the loaded libdnnl.so.3. */
class DnnlBindingsSmokeTest {

    private static void ok(int status, String call) {
        assertEquals(
                dnnl_success(),
                status,
                () -> call + " returned " + dnnl_status2str(status).getString(0));
    }

    @Test
    void libraryReportsVersion313() {
        MemorySegment v = dnnl_version().reinterpret(dnnl_version_t.sizeof());
        assertEquals(3, dnnl_version_t.major(v));
        assertEquals(13, dnnl_version_t.minor(v));
        assertEquals(DNNL_VERSION_MAJOR(), dnnl_version_t.major(v), "headers and library agree");
        assertEquals(DNNL_VERSION_MINOR(), dnnl_version_t.minor(v), "headers and library agree");
        assertEquals(DNNL_RUNTIME_OMP(), dnnl_version_t.cpu_runtime(v));
        assertEquals(
                "invalid_arguments", dnnl_status2str(dnnl_invalid_arguments()).getString(0));
        String isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()).getString(0);
        assertNotEquals("", isa);
    }

    @Test
    void constantsHaveTheValuesOfTheCHeaders() {
        // Values checked by hand against oneDNN 3.13's headers (see the shared oneDNN notes).
        assertEquals(1, DNNL_ARG_SRC());
        assertEquals(17, DNNL_ARG_DST());
        assertEquals(33, DNNL_ARG_WEIGHTS());
        assertEquals(41, DNNL_ARG_BIAS());
        assertEquals(80, DNNL_ARG_SCRATCHPAD());
        assertEquals(12, DNNL_MAX_NDIMS());
        assertEquals(-1L, DNNL_MEMORY_ALLOCATE().address());
        assertEquals(3, dnnl_f32());
        assertEquals(2, dnnl_bf16());
        assertEquals(1, dnnl_format_tag_any());
        assertEquals(5, dnnl_nchw());
        assertEquals(22, dnnl_nhwc());
        assertEquals(96, dnnl_forward_inference());
        assertEquals(0x1fff0, dnnl_binary_add());
        assertEquals(136, dnnl_query_scratchpad_md());
        assertEquals(16, dnnl_exec_arg_t.sizeof());
        assertEquals(8, dnnl_exec_arg_t.memory$offset());
        assertEquals(32, dnnl_version_t.sizeof());
    }

    @Test
    void engineAndStreamAreCreatedAndDestroyed() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pEngine = arena.allocate(dnnl_engine_t);
            ok(dnnl_engine_create(pEngine, dnnl_cpu(), 0), "dnnl_engine_create");
            MemorySegment engine = pEngine.get(dnnl_engine_t, 0);
            MemorySegment pStream = arena.allocate(dnnl_stream_t);
            ok(dnnl_stream_create(pStream, engine, dnnl_stream_default_flags()), "dnnl_stream_create");
            MemorySegment stream = pStream.get(dnnl_stream_t, 0);
            ok(dnnl_stream_wait(stream), "dnnl_stream_wait");
            ok(dnnl_stream_destroy(stream), "dnnl_stream_destroy");
            ok(dnnl_engine_destroy(engine), "dnnl_engine_destroy");
        }
    }

    /** The seed's 5x5 vertical-edge image, kernel [[1,0,-1]] x 3, padding 1: its known output, exactly. */
    @Test
    void convolutionOfTheSeedEdgeImageGivesTheSeedOutput() {
        float[] image = new float[25];
        for (int r = 0; r < 5; r++) {
            image[r * 5 + 3] = 10;
            image[r * 5 + 4] = 10;
        }
        float[] kernel = {1, 0, -1, 1, 0, -1, 1, 0, -1};
        float[] expected = {
            0, 0, -20, -20, 20,
            0, 0, -30, -30, 30,
            0, 0, -30, -30, 30,
            0, 0, -30, -30, 30,
            0, 0, -20, -20, 20
        };

        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(C_POINTER);
            ok(dnnl_engine_create(p, dnnl_cpu(), 0), "dnnl_engine_create");
            MemorySegment engine = p.get(C_POINTER, 0);
            ok(dnnl_stream_create(p, engine, dnnl_stream_default_flags()), "dnnl_stream_create");
            MemorySegment stream = p.get(C_POINTER, 0);

            MemorySegment srcMd = md(arena, dnnl_nchw(), 1, 1, 5, 5);
            MemorySegment weightsMd = md(arena, dnnl_oihw(), 1, 1, 3, 3);
            MemorySegment dstMd = md(arena, dnnl_nchw(), 1, 1, 5, 5);
            MemorySegment ones = arena.allocateFrom(ValueLayout.JAVA_LONG, 1, 1);
            MemorySegment zeros = arena.allocateFrom(ValueLayout.JAVA_LONG, 0, 0); // oneDNN dilation 0 = none
            ok(
                    dnnl_convolution_forward_primitive_desc_create(
                            p,
                            engine,
                            dnnl_forward_inference(),
                            dnnl_convolution_direct(),
                            srcMd,
                            weightsMd,
                            MemorySegment.NULL,
                            dstMd,
                            ones,
                            zeros,
                            ones,
                            ones,
                            MemorySegment.NULL),
                    "dnnl_convolution_forward_primitive_desc_create");
            MemorySegment pd = p.get(C_POINTER, 0);
            ok(dnnl_primitive_create(p, pd), "dnnl_primitive_create");
            MemorySegment conv = p.get(C_POINTER, 0);
            ok(dnnl_primitive_desc_destroy(pd), "dnnl_primitive_desc_destroy");

            MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_FLOAT, image);
            MemorySegment weights = arena.allocateFrom(ValueLayout.JAVA_FLOAT, kernel);
            MemorySegment dst = arena.allocate(ValueLayout.JAVA_FLOAT, 25);
            MemorySegment args = dnnl_exec_arg_t.allocateArray(3, arena);
            MemorySegment[] mems = {
                memory(arena, srcMd, engine, src),
                memory(arena, weightsMd, engine, weights),
                memory(arena, dstMd, engine, dst)
            };
            int[] ids = {DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_DST()};
            for (int i = 0; i < 3; i++) {
                MemorySegment a = dnnl_exec_arg_t.asSlice(args, i);
                dnnl_exec_arg_t.arg(a, ids[i]);
                dnnl_exec_arg_t.memory(a, mems[i]);
            }
            ok(dnnl_primitive_execute(conv, stream, 3, args), "dnnl_primitive_execute");
            ok(dnnl_stream_wait(stream), "dnnl_stream_wait");

            assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_FLOAT));

            for (MemorySegment m : mems) {
                ok(dnnl_memory_destroy(m), "dnnl_memory_destroy");
            }
            ok(dnnl_primitive_destroy(conv), "dnnl_primitive_destroy");
            for (MemorySegment md : new MemorySegment[] {srcMd, weightsMd, dstMd}) {
                ok(dnnl_memory_desc_destroy(md), "dnnl_memory_desc_destroy");
            }
            ok(dnnl_stream_destroy(stream), "dnnl_stream_destroy");
            ok(dnnl_engine_destroy(engine), "dnnl_engine_destroy");
        }
    }

    private static MemorySegment md(Arena arena, int tag, long... dims) {
        MemorySegment p = arena.allocate(C_POINTER);
        ok(
                dnnl_memory_desc_create_with_tag(
                        p, dims.length, arena.allocateFrom(ValueLayout.JAVA_LONG, dims), dnnl_f32(), tag),
                "dnnl_memory_desc_create_with_tag");
        MemorySegment md = p.get(C_POINTER, 0);
        assertEquals(4L * java.util.Arrays.stream(dims).reduce(1, (a, b) -> a * b), dnnl_memory_desc_get_size(md));
        return md;
    }

    private static MemorySegment memory(Arena arena, MemorySegment md, MemorySegment engine, MemorySegment data) {
        MemorySegment p = arena.allocate(C_POINTER);
        ok(dnnl_memory_create(p, md, engine, data), "dnnl_memory_create");
        return p.get(C_POINTER, 0);
    }
}
