package dev.onednn4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.Module;
import dev.onednn4j.nn.Sequential;
import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
        data.putFloat(1.5f).putFloat(-2f);                                    // a: F32 [2]
        data.putShort(Float.floatToFloat16(0.25f)).putShort(Float.floatToFloat16(-3f)); // b: F16 [2]
        data.putShort((short) (Float.floatToIntBits(7f) >>> 16)).putShort((short) (Float.floatToIntBits(-0.5f) >>> 16));
        data.putDouble(1.0 / 3);                                              // d: F64 [1]
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
        try (Conv2d conv = Conv2d.builder(1, 1, 1).bias(false).build(); Tensor x = Tensor.zeros(1, 1, 1, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> conv.forward(x, w.view(1, 1, 1, 2)));
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
        try (Sequential net = new Sequential(Conv2d.builder(3, 8, 3).padding(1).seed(1).build(),
                Conv2d.builder(8, 8, 3).padding(1).seed(2).build());
             Sequential copy = new Sequential(Conv2d.builder(3, 8, 3).padding(1).seed(3).build(),
                     Conv2d.builder(8, 8, 3).padding(1).seed(4).build())) {
            Path p = dir.resolve("net.safetensors");
            SafeTensors.saveModel(net, p);
            byte[] bytes = Files.readAllBytes(p);
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(0, (8 + n) % 8, "data start 8-byte aligned");
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"0.bias\":"), header);
            assertEquals(header, header.stripLeading(), "no leading whitespace");
            assertTrue(header.stripTrailing().endsWith("}") && header.substring(header.stripTrailing().length())
                    .chars().allMatch(ch -> ch == ' '), "padded with trailing spaces: [" + header + "]");
            try (SafeTensors f = SafeTensors.load(p)) {
                assertEquals(List.of("0.bias", "0.weight", "1.bias", "1.weight"), List.copyOf(f.entries().keySet()));
                long expected = 0;
                for (SafeTensors.Entry e : f.entries().values()) {
                    assertEquals(expected, e.begin(), "tensors follow each other in name order");
                    expected = e.end();
                }
                Module.LoadResult r = copy.loadStateDict(f.tensors(), true);
                assertEquals(List.of(), r.missingKeys());
            }
            for (var e : net.stateDict().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), copy.stateDict().get(e.getKey()).toFloatArray(),
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
        IOException e = assertThrows(IOException.class, () -> SafeTensors.load(p).close());
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
        refused("huge", file(Long.MAX_VALUE, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
                "header length 9223372036854775807 exceeds the limit of 100000000 bytes");
        refused("negative", file(-1, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
                "header length 18446744073709551615 exceeds the limit");
        refused("over-limit", file(100_000_001L, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
                "exceeds the limit of 100000000 bytes");
        refused("past-file", file(4096, ONE.getBytes(StandardCharsets.UTF_8), floats(1, 2)),
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
        refused("deep", file("{\"w\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}", new byte[0]),
                "tensor 'w' must be an object");
        refused("deep-shape", file("{\"w\":{\"dtype\":\"F32\",\"shape\":" + "[".repeat(10_000) + "]".repeat(10_000)
                + ",\"data_offsets\":[0,0]}}", new byte[0]), "shape of tensor 'w' must hold integers");
        refused("metadata", file("{\"__metadata__\":{\"a\":1}}", new byte[0]), "__metadata__ value of 'a' must be a string");
    }

    @Test
    void badEntries() throws IOException {
        refused("dtype", file(ONE.replace("F32", "F33"), floats(1, 2)), "unknown dtype 'F33' for tensor 'w'");
        refused("negative-dim", file(ONE.replace("[2]", "[-2]"), floats(1, 2)), "holds -2, not a non-negative integer");
        refused("fraction", file(ONE.replace("[2]", "[1.5]"), floats(1, 2)), "holds 1.5, not a non-negative integer");
        refused("missing", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", floats(1, 2)), "tensor 'w' lacks data_offsets");
        refused("duplicate", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", floats(1, 2)), "duplicate name 'w'");
        refused("huge-shape", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4000000000,4000000000,4000000000],"
                + "\"data_offsets\":[0,8]}}", floats(1, 2)), "too large to count");
    }

    @Test
    void badOffsets() throws IOException {
        refused("size", file(ONE.replace("[0,8]", "[0,4]"), floats(1)), "spans 4 bytes, but F32 [2] needs 8");
        refused("order", file(ONE.replace("[0,8]", "[8,0]"), floats(1, 2)), "out of order");
        refused("past-end", file(ONE.replace("[0,8]", "[4,12]"), floats(1, 2)), "a hole in the data: bytes [0, 4)");
        refused("overlap", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", floats(1, 2)), "overlaps");
        refused("hole", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", floats(1, 2, 3)), "a hole");
        refused("extra-data", file(ONE, floats(1, 2, 3)), "the data buffer is 12 bytes, but the tensors cover 8");
    }

    @Test
    void aMissingFileIsAnIoException() {
        Path p = dir.resolve("nope.safetensors");
        IOException e = assertThrows(IOException.class, () -> SafeTensors.load(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }
}
