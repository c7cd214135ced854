package dev.onednn4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Sequential;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Round trips, the layout the format requires, and hostile files. */
class SafeTensorsTest {

    @TempDir
    Path dir;

    /** A file: 8-byte little-endian header length, the header, then the data bytes. */
    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return file(h.length, h, data);
    }

    /** The header padded with spaces so the data starts 8-byte aligned, as the reference writer does. */
    static String aligned(String header) {
        return header + " ".repeat((8 - header.length() % 8) % 8);
    }

    static byte[] file(long headerLength, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(header).put(data);
        return b.array();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    @Test
    void readsF32ZeroCopyAndConvertsF16Bf16F64OnRequest() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(8 + 4 + 4 + 16).order(ByteOrder.LITTLE_ENDIAN);
        data.putFloat(1.5f).putFloat(-2f); // a: F32 [2]
        data.putShort(Float.floatToFloat16(0.25f)).putShort(Float.floatToFloat16(-3f)); // b: F16 [2]
        data.putShort((short) (Float.floatToIntBits(7f) >>> 16)).putShort((short) (Float.floatToIntBits(-0.5f) >>> 16));
        data.putDouble(1.0 / 3); // d: F64 [1]
        // 8 bytes of doubles at the end: pad the layout to the sizes above
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]},"
                + "\"__metadata__\":{\"format\":\"pt\"}}";
        byte[] bytes = java.util.Arrays.copyOf(data.array(), 24);
        Path p = write("mixed.safetensors", file(header, bytes));
        try (SafeTensors f = SafeTensors.load(p)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            Map<String, Tensor> stored = f.tensors(); // each in its own dtype
            assertEquals(DType.FLOAT32, stored.get("a").dtype());
            assertEquals(DType.FLOAT16, stored.get("b").dtype());
            assertEquals(DType.BFLOAT16, stored.get("c").dtype());
            assertEquals(DType.FLOAT64, stored.get("d").dtype());
            assertArrayEquals(new float[] {0.25f, -3f}, stored.get("b").toFloatArray());
            Map<String, Tensor> t = f.tensorsAsFloat32();
            assertArrayEquals(new float[] {1.5f, -2f}, t.get("a").toFloatArray());
            assertArrayEquals(new float[] {0.25f, -3f}, t.get("b").toFloatArray());
            assertArrayEquals(new float[] {7f, -0.5f}, t.get("c").toFloatArray());
            assertArrayEquals(new float[] {(float) (1.0 / 3)}, t.get("d").toFloatArray());
        }
    }

    @Test
    void closingTheFileClosesItsTensors() throws IOException {
        Path p = write("one.safetensors", file(aligned(ONE), floats(1, 2)));
        SafeTensors f = SafeTensors.load(p);
        Tensor w = f.tensors().get("w");
        assertArrayEquals(new float[] {1, 2}, w.toFloatArray());
        UnsupportedOperationException ro = assertThrows(UnsupportedOperationException.class, () -> w.set(5f, 0));
        assertTrue(ro.getMessage().contains("read-only"), ro.getMessage());
        assertTrue(w.isReadOnly(), "a zero-copy view of the read-only mapping");
        try (Conv2d conv = Conv2d.builder(1, 1, 1).bias(false).build();
                Tensor x = Tensor.zeros(1, 1, 1, 2)) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> conv.forward(x, w.view(1, 1, 1, 2)));
            assertTrue(e.getMessage().startsWith("out is read-only"), e.getMessage());
            try (Tensor y = conv.forward(w.view(1, 1, 1, 2))) { // as an input it is read in place
                assertEquals(2, y.numel());
            }
        }
        f.close();
        f.close();
        assertTrue(w.isClosed());
        assertThrows(IllegalStateException.class, w::toFloatArray);
        assertThrows(IllegalStateException.class, f::tensors);
        try (SafeTensors again = SafeTensors.load(p)) {
            assertArrayEquals(new float[] {1, 2}, again.tensors().get("w").toFloatArray());
        }
    }

    @Test
    void unalignedOffsetsAreCopied() throws IOException {
        // a 1-byte U8 tensor first puts the F32 tensor at an odd offset: still read, by copying
        String header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5]}}";
        byte[] data = new byte[5];
        System.arraycopy(floats(3.25f), 0, data, 1, 4);
        Path p = write("unaligned.safetensors", file(header, data));
        try (SafeTensors f = SafeTensors.load(p)) {
            assertEquals(SafeTensors.DType.U8, f.entries().get("a").dtype());
            assertThrows(IllegalStateException.class, f::tensorsAsFloat32, "U8 does not convert");
        }
    }

    @Test
    void aStateDictRoundTripsWithTheRequiredLayout() throws IOException {
        try (Sequential net = new Sequential(
                        Conv2d.builder(3, 8, 3).padding(1).seed(1).build(),
                        Conv2d.builder(8, 8, 3).padding(1).seed(2).build());
                Sequential copy = new Sequential(
                        Conv2d.builder(3, 8, 3).padding(1).seed(3).build(),
                        Conv2d.builder(8, 8, 3).padding(1).seed(4).build())) {
            Path p = dir.resolve("net.safetensors");
            net.saveSafeTensors(p);
            byte[] bytes = Files.readAllBytes(p);
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(0, (8 + n) % 8, "data start 8-byte aligned");
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"0.bias\":"), header);
            assertEquals(header, header.stripLeading(), "no leading whitespace");
            assertTrue(
                    header.stripTrailing().endsWith("}")
                            && header.substring(header.stripTrailing().length())
                                    .chars()
                                    .allMatch(ch -> ch == ' '),
                    "padded with trailing spaces: [" + header + "]");
            try (SafeTensors f = SafeTensors.load(p)) {
                assertEquals(
                        List.of("0.bias", "0.weight", "1.bias", "1.weight"),
                        List.copyOf(f.entries().keySet()));
                long expected = 0;
                for (SafeTensors.Entry e : f.entries().values()) {
                    assertEquals(expected, e.begin(), "tensors follow each other in name order");
                    expected = e.end();
                }
                Module.LoadResult r = copy.loadStateDict(f.tensors(), true);
                assertEquals(List.of(), r.missingKeys());
            }
            for (var e : net.stateDict().entrySet()) {
                assertArrayEquals(
                        e.getValue().toFloatArray(),
                        copy.stateDict().get(e.getKey()).toFloatArray(),
                        e.getKey());
            }
        }
        try (Tensor cl = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, MemoryFormat.CHANNELS_LAST, 1, 2, 2, 2)) {
            Path p = dir.resolve("cl.safetensors");
            SafeTensors.save(Map.of("x", cl), Map.of("note", "channels-last is written in logical order"), p);
            try (SafeTensors f = SafeTensors.load(p)) {
                assertArrayEquals(cl.toFloatArray(), f.tensors().get("x").toFloatArray());
                assertArrayEquals(new long[] {1, 2, 2, 2}, f.tensors().get("x").shape());
            }
        }
    }

    // ---- hostile files ---------------------------------------------------------------------------

    void refused(String name, byte[] bytes, String problem) throws IOException {
        Path p = write(name, bytes);
        IOException e =
                assertThrows(IOException.class, () -> SafeTensors.load(p).close());
        assertTrue(e.getMessage().startsWith(p + ": not a valid safetensors file: "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), "expected \"" + problem + "\" in: " + e.getMessage());
    }

    static final String ONE = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    @Test
    void truncatedFiles() throws IOException {
        refused("empty", new byte[0], "shorter than the 8-byte header length");
        refused("five", new byte[5], "shorter than the 8-byte header length");
        byte[] whole = file(ONE, floats(1, 2));
        refused("cut-header", java.util.Arrays.copyOf(whole, 20), "exceeds the 12 bytes that follow it");
        refused("cut-data", java.util.Arrays.copyOf(whole, whole.length - 3), "past the end of the 5-byte data buffer");
    }

    @Test
    void lyingHeaderLengths() throws IOException {
        refused(
                "huge",
                file(Long.MAX_VALUE, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
                "header length 9223372036854775807 exceeds the limit of 100000000 bytes");
        refused(
                "negative",
                file(-1, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
                "header length 18446744073709551615 exceeds the limit");
        refused(
                "over-limit",
                file(100_000_001L, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
                "exceeds the limit of 100000000 bytes");
        refused(
                "past-file",
                file(4096, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
                "header length 4096 exceeds the");
    }

    @Test
    void malformedHeaders() throws IOException {
        refused("utf8", file(3, new byte[] {(byte) 0xff, (byte) 0xfe, (byte) 0xfd}, new byte[0]), "not valid UTF-8");
        refused("not-object", file("[1,2]", new byte[0]), "does not start with '{'");
        refused("leading-space", file(" " + ONE, floats(1, 2)), "does not start with '{'");
        refused("bad-json", file("{\"w\": }", new byte[0]), "not valid JSON");
        refused("unterminated", file("{\"w\":{\"dtype\":\"F32\"", new byte[0]), "JSON ends early");
        refused("trailing", file(ONE + "x", floats(1, 2)), "not valid JSON");
        refused(
                "deep",
                file("{\"w\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}", new byte[0]),
                "tensor 'w' must be an object");
        refused(
                "deep-shape",
                file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":" + "[".repeat(10_000) + "]".repeat(10_000)
                                + ",\"data_offsets\":[0,0]}}",
                        new byte[0]),
                "shape of tensor 'w' must hold integers");
        refused(
                "metadata",
                file("{\"__metadata__\":{\"a\":1}}", new byte[0]),
                "__metadata__ value of 'a' must be a string");
    }

    @Test
    void badEntries() throws IOException {
        refused("dtype", file(ONE.replace("F32", "F33"), floats(1, 2)), "unknown dtype 'F33' for tensor 'w'");
        refused("negative-dim", file(ONE.replace("[2]", "[-2]"), floats(1, 2)), "holds -2, not a non-negative integer");
        refused("fraction", file(ONE.replace("[2]", "[1.5]"), floats(1, 2)), "holds 1.5, not a non-negative integer");
        refused(
                "missing",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", floats(1, 2)),
                "tensor 'w' lacks data_offsets");
        refused(
                "duplicate",
                file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        floats(1, 2)),
                "duplicate name 'w'");
        refused(
                "huge-shape",
                file(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4000000000,4000000000,4000000000],"
                                + "\"data_offsets\":[0,8]}}",
                        floats(1, 2)),
                "too large to count");
    }

    @Test
    void badOffsets() throws IOException {
        refused("size", file(ONE.replace("[0,8]", "[0,4]"), floats(1)), "spans 4 bytes, but F32 [2] needs 8");
        refused("order", file(ONE.replace("[0,8]", "[8,0]"), floats(1, 2)), "out of order");
        refused("past-end", file(ONE.replace("[0,8]", "[4,12]"), floats(1, 2)), "a hole in the data: bytes [0, 4)");
        refused(
                "overlap",
                file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        floats(1, 2)),
                "overlaps");
        refused(
                "hole",
                file(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                        floats(1, 2, 3)),
                "a hole");
        refused("extra-data", file(ONE, floats(1, 2, 3)), "the data buffer is 12 bytes, but the tensors cover 8");
    }

    @Test
    void aMissingFileIsAnIoException() {
        Path p = dir.resolve("nope.safetensors");
        IOException e = assertThrows(IOException.class, () -> SafeTensors.load(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    // ---- every dtype ---------------------------------------------------------------------------------

    /** The data of {@link #EVERY_DTYPE}, laid out as the reference writer lays it out: dtype descending, then name. */
    static byte[] everyDtypeData() {
        ByteBuffer b = ByteBuffer.allocate(81).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(-1).putLong(0).putLong(Long.MAX_VALUE); // ids I64 [3]   [0, 24)
        b.putLong(123_456_789_012L); // n   I64 []    [24, 32)
        b.putDouble(0.1).putDouble(-1e300); // d   F64 [2]   [32, 48)
        b.putFloat(1.5f).putFloat(-0f); // f   F32 [2]   [48, 56)
        b.putInt(-7).putInt(Integer.MAX_VALUE).putInt(0); // i   I32 [3]   [56, 68)
        b.putShort((short) 0x3F80).putShort((short) 0xC040); // bf  BF16 [2]  [68, 72)
        b.putShort(Float.floatToFloat16(0.25f)).putShort(Float.floatToFloat16(-65504f)); // h F16 [2] [72, 76)
        b.put((byte) 0).put((byte) 200).put((byte) 255); // u   U8 [3]    [76, 79)
        b.put((byte) 1).put((byte) 0); // b   BOOL [2]  [79, 81)
        return b.array();
    }

    static final String EVERY_DTYPE = "{"
            + "\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
            + "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]},"
            + "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[32,48]},"
            + "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]},"
            + "\"i\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[56,68]},"
            + "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[68,72]},"
            + "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[72,76]},"
            + "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[76,79]},"
            + "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[79,81]}}";

    @Test
    void everyDtypeLoadsAsItselfZeroCopy() throws IOException {
        Path p = write("every.safetensors", file(aligned(EVERY_DTYPE), everyDtypeData()));
        try (SafeTensors f = SafeTensors.load(p)) {
            Map<String, Tensor> t = f.tensors();
            assertEquals(List.of("ids", "n", "d", "f", "i", "bf", "h", "u", "b"), List.copyOf(t.keySet()));
            for (var e : t.entrySet()) {
                assertTrue(e.getValue().isReadOnly(), e.getKey() + ": aligned, so a view of the read-only mapping");
            }
            assertEquals(DType.INT64, t.get("ids").dtype());
            assertArrayEquals(new long[] {3}, t.get("ids").shape());
            assertArrayEquals(new long[] {-1, 0, Long.MAX_VALUE}, t.get("ids").toLongArray());
            Tensor n = t.get("n");
            assertEquals(DType.INT64, n.dtype());
            assertArrayEquals(new long[0], n.shape(), "0-d stays 0-d");
            assertEquals(123_456_789_012L, n.getLong());
            assertEquals(DType.FLOAT64, t.get("d").dtype());
            assertArrayEquals(new double[] {0.1, -1e300}, t.get("d").toDoubleArray());
            assertEquals(DType.FLOAT32, t.get("f").dtype());
            assertEquals(
                    Float.floatToRawIntBits(-0f),
                    Float.floatToRawIntBits(t.get("f").get(1)));
            assertArrayEquals(new float[] {1.5f, -0f}, t.get("f").toFloatArray());
            assertEquals(DType.INT32, t.get("i").dtype());
            assertArrayEquals(new long[] {-7, Integer.MAX_VALUE, 0}, t.get("i").toLongArray());
            assertEquals(DType.BFLOAT16, t.get("bf").dtype());
            assertArrayEquals(new float[] {1f, -3f}, t.get("bf").toFloatArray());
            assertEquals(DType.FLOAT16, t.get("h").dtype());
            assertArrayEquals(new float[] {0.25f, -65504f}, t.get("h").toFloatArray());
            assertEquals(DType.UINT8, t.get("u").dtype());
            assertArrayEquals(new long[] {0, 200, 255}, t.get("u").toLongArray());
            assertEquals(DType.BOOL, t.get("b").dtype());
            assertArrayEquals(new long[] {1, 0}, t.get("b").toLongArray());
            UnsupportedOperationException ro = assertThrows(
                    UnsupportedOperationException.class, () -> t.get("ids").setLong(5, 0));
            assertTrue(ro.getMessage().contains("read-only"), ro.getMessage());
        }
    }

    @Test
    void unalignedIntegersAreCopies() throws IOException {
        String header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[1,9]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[9,17]}}";
        ByteBuffer data = ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN);
        data.put((byte) 9).putLong(-42).putInt(7).putInt(-8);
        Path p = write("unaligned-ints.safetensors", file(aligned(header), data.array()));
        try (SafeTensors f = SafeTensors.load(p)) {
            Map<String, Tensor> t = f.tensors();
            assertTrue(t.get("a").isReadOnly(), "a byte is always aligned");
            assertFalse(t.get("n").isReadOnly(), "at an odd offset: a copy");
            assertFalse(t.get("i").isReadOnly(), "at an odd offset: a copy");
            assertEquals(-42L, t.get("n").getLong());
            assertArrayEquals(new long[0], t.get("n").shape());
            assertArrayEquals(new long[] {7, -8}, t.get("i").toLongArray());
            assertEquals(9L, t.get("a").getLong(0));
        }
    }

    @Test
    void float32ViewsRefuseIntegerTensorsPointingToTensors() throws IOException {
        Path p = write("every.safetensors", file(aligned(EVERY_DTYPE), everyDtypeData()));
        try (SafeTensors f = SafeTensors.load(p)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, f::tensorsAsFloat32);
            assertEquals(
                    p + ": tensor 'ids' is I64, not a floating-point type; tensors() gives it as it is stored",
                    e.getMessage());
            assertEquals(DType.INT64, f.tensors().get("ids").dtype(), "tensors() still works");
        }
        String bool = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]}}";
        Path q = write("bool.safetensors", file(aligned(bool), new byte[] {1}));
        try (SafeTensors f = SafeTensors.load(q)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, f::tensorsAsFloat32);
            assertEquals(
                    q + ": tensor 'm' is BOOL, not a floating-point type; tensors() gives it as it is stored",
                    e.getMessage());
        }
    }

    /** A new tensor of {@code dtype} holding {@code values}, converted. */
    static Tensor of(DType dtype, long[] values, long... shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        t.copyFrom(values);
        return t;
    }

    /** A new tensor of {@code dtype} holding {@code values}, converted. */
    static Tensor of(DType dtype, float[] values, long... shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        t.copyFrom(values);
        return t;
    }

    @Test
    void saveWritesEveryDtypeInTheReferenceWritersOrder() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>(); // insertion order: not the order in the file
        try (Tensor b = of(DType.BOOL, new long[] {1, 0}, 2);
                Tensor n = Tensor.of(new long[] {123_456_789_012L});
                Tensor f = Tensor.of(new float[] {1.5f, -0f}, 2);
                Tensor u = of(DType.UINT8, new long[] {0, 200, 255}, 3);
                Tensor h = of(DType.FLOAT16, new float[] {0.25f, -65504f}, 2);
                Tensor ids = Tensor.of(new long[] {-1, 0, Long.MAX_VALUE}, 3);
                Tensor bf = of(DType.BFLOAT16, new float[] {1f, -3f}, 2);
                Tensor i = of(DType.INT32, new long[] {-7, Integer.MAX_VALUE, 0}, 3);
                Tensor d = Tensor.zeros(DType.FLOAT64, 2);
                Tensor s = of(DType.INT16, new long[] {-300, 300}, 2);
                Tensor c = of(DType.INT8, new long[] {-128}, 1)) {
            MemorySegment.copy(new double[] {0.1, -1e300}, 0, d.segment(), ValueLayout.JAVA_DOUBLE, 0, 2);
            tensors.put("b", b);
            tensors.put("n", n);
            tensors.put("f", f);
            tensors.put("u", u);
            tensors.put("s", s);
            tensors.put("h", h);
            tensors.put("ids", ids);
            tensors.put("c", c);
            tensors.put("bf", bf);
            tensors.put("i", i);
            tensors.put("d", d);
            Path p = dir.resolve("every-saved.safetensors");
            SafeTensors.save(tensors, p);
            byte[] bytes = Files.readAllBytes(p);
            long len = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            String header = new String(bytes, 8, (int) len, StandardCharsets.UTF_8);
            assertTrue(
                    header.startsWith("{\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
                            + "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]},"),
                    header);
            try (SafeTensors file = SafeTensors.load(p)) {
                assertEquals(
                        List.of("ids", "n", "d", "f", "i", "bf", "h", "s", "c", "u", "b"),
                        List.copyOf(file.entries().keySet()),
                        "dtype descending (I64 F64 F32 I32 BF16 F16 I16 I8 U8 " + "BOOL), then name");
                long expected = 0;
                for (SafeTensors.Entry e : file.entries().values()) {
                    assertEquals(expected, e.begin(), e.name() + " follows the tensor before it");
                    expected = e.end();
                }
                assertEquals(SafeTensors.DType.I16, file.entries().get("s").dtype());
                assertEquals(SafeTensors.DType.BOOL, file.entries().get("b").dtype());
                Map<String, Tensor> back = file.tensors();
                for (var e : tensors.entrySet()) {
                    Tensor want = e.getValue();
                    Tensor got = back.get(e.getKey());
                    assertEquals(want.dtype(), got.dtype(), e.getKey());
                    assertArrayEquals(want.shape(), got.shape(), e.getKey());
                    assertEquals(-1, want.segment().mismatch(got.segment()), e.getKey() + ": the same bytes");
                }
                assertEquals(123_456_789_012L, back.get("n").getLong());
                assertArrayEquals(new double[] {0.1, -1e300}, back.get("d").toDoubleArray());
                assertArrayEquals(new long[] {-300, 300}, back.get("s").toLongArray());
                assertArrayEquals(new long[] {-128}, back.get("c").toLongArray());
            }
        }
    }

    @Test
    void aModelWithBatchNormRoundTripsThroughLoadModelAndSaveModel() throws IOException {
        try (Sequential net = new Sequential(Conv2d.builder(3, 4, 3).seed(1).build(), new BatchNorm2d(4));
                Sequential copy = new Sequential(Conv2d.builder(3, 4, 3).seed(2).build(), new BatchNorm2d(4))) {
            BatchNorm2d bn = (BatchNorm2d) net.getSubmodule("1");
            bn.weight().copyFrom(new float[] {0.5f, 1, 1.5f, 2});
            bn.bias().copyFrom(new float[] {-1, 0, 1, 2});
            bn.runningMean().copyFrom(new float[] {0.1f, 0.2f, -0.3f, 0});
            bn.runningVar().copyFrom(new float[] {1, 2, 0.5f, 4});
            net.stateDict().get("1.num_batches_tracked").setLong(17);
            Path p = dir.resolve("bn.safetensors");
            net.saveSafeTensors(p);
            try (SafeTensors f = SafeTensors.load(p)) {
                assertEquals(Map.of("format", "pt"), f.metadata());
                SafeTensors.Entry e = f.entries().get("1.num_batches_tracked");
                assertEquals(SafeTensors.DType.I64, e.dtype());
                assertArrayEquals(new long[0], e.shape());
                assertEquals(0, e.begin(), "the only I64 tensor comes first");
            }
            Module.LoadResult r = copy.loadSafeTensors(p, true);
            assertEquals(List.of(), r.missingKeys());
            assertEquals(List.of(), r.unexpectedKeys());
            Map<String, Tensor> want = net.stateDict();
            Map<String, Tensor> got = copy.stateDict();
            assertEquals(List.copyOf(want.keySet()), List.copyOf(got.keySet()));
            for (String k : want.keySet()) {
                assertEquals(want.get(k).dtype(), got.get(k).dtype(), k);
                assertEquals(-1, want.get(k).segment().mismatch(got.get(k).segment()), k);
            }
            assertEquals(DType.INT64, got.get("1.num_batches_tracked").dtype());
            assertEquals(17L, got.get("1.num_batches_tracked").getLong());
            net.eval();
            copy.eval();
            float[] in = new float[2 * 3 * 6 * 6];
            for (int k = 0; k < in.length; k++) {
                in[k] = (float) Math.sin(k);
            }
            try (Tensor x = Tensor.of(in, 2, 3, 6, 6);
                    Tensor a = net.forward(x);
                    Tensor b = copy.forward(x)) {
                assertArrayEquals(a.toFloatArray(), b.toFloatArray(), "the same model computes the same");
            }
        }
    }

    @Test
    void aTorchSaveFileIsRefusedWithHowToConvertIt() throws IOException {
        Path p = dir.resolve("model.pt");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(p))) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(new byte[] {(byte) 0x80, 2, '}', 'q', 0, '.'});
            zip.closeEntry();
        }
        byte[] bytes = Files.readAllBytes(p);
        assertEquals("PK\3\4", new String(bytes, 0, 4, StandardCharsets.ISO_8859_1), "a zip archive, as torch.save's");
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        IOException e =
                assertThrows(IOException.class, () -> SafeTensors.load(p).close());
        assertEquals(
                p + ": not a valid safetensors file: header length " + Long.toUnsignedString(n) + " exceeds the "
                        + "limit of 100000000 bytes: this is a zip archive, as torch.save writes (.pt, .pth): it is not "
                        + "safetensors. Convert it in Python: safetensors.torch.save_file(torch.load(path), "
                        + "\"model.safetensors\")",
                e.getMessage());
        assertTrue(e instanceof SafeTensors.InvalidSafeTensorsException);
        IOException m = assertThrows(IOException.class, () -> new Sequential().loadSafeTensors(p, true));
        assertEquals(e.getMessage(), m.getMessage(), "loadSafeTensors refuses it the same way");
        Path old = write("old.pt", new byte[] {(byte) 0x80, 2, '}', 'q', 0, '(', 'X', 1, 0, 0, 0, 'a', '.'});
        IOException pickle =
                assertThrows(IOException.class, () -> SafeTensors.load(old).close());
        assertTrue(
                pickle.getMessage()
                        .endsWith(": this is a Python pickle (an old torch.save file): it is not "
                                + "safetensors. Convert it in Python: safetensors.torch.save_file(torch.load(path), "
                                + "\"model.safetensors\")"),
                pickle.getMessage());
    }

    @Test
    void aFailedSaveLeavesNoPartialFileBehind() throws IOException {
        Path target = dir.resolve("taken");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep"), "a non-empty directory cannot be replaced by a file");
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            assertThrows(IOException.class, () -> SafeTensors.save(Map.of("t", t), target));
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(target), files.toList(), "only the directory that was there before");
        }
    }
}
