package dev.onednn4j.io;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import com.google.gson.stream.MalformedJsonException;
import dev.onednn4j.internal.io.MappedFile;
import dev.onednn4j.internal.memory.ElementType;
import dev.onednn4j.internal.memory.Faces;
import dev.onednn4j.tensor.Tensor;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The safetensors format, PyTorch's weight file of choice: an 8-byte little-endian header length N, N
 * bytes of UTF-8 JSON ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 * "__metadata__": {..}}}), then the data, little-endian and row-major.
 *
 * <pre>{@code
 * try (Sequential net = ...; SafeTensors file = SafeTensors.load(Path.of("net.safetensors"))) {
 *     net.loadStateDict(file.tensors(), true);
 * }
 * SafeTensors.save(net.stateDict(), Path.of("copy.safetensors"));
 * }</pre>
 *
 * <h2>Reading</h2>
 * {@link #load} memory-maps the file read-only (its zero-copy tensors refuse writes) and checks
 * the header as the reference reader does, refusing with an {@link IOException} that names the file and
 * the problem: a header over 100,000,000 bytes or longer than the file, invalid UTF-8 or JSON, a header
 * not starting with <code>&#123;</code>, an unknown dtype, a negative or non-integer dimension, duplicate names,
 * offsets out of order, overlapping, with holes or past the data, and {@code end - begin} other than the
 * element count times the dtype's size. Nothing is allocated in proportion to what a header claims.
 *
 * <h2>Ownership</h2>
 * The tensors of {@link #tensors()} and {@link #tensorsAsFloat32()} belong to this object: float32 data
 * at 4-byte aligned offsets are views of the mapping (no copy), the rest copies. {@link #close()} closes
 * them all and unmaps the file (after any running operation that uses them ends); do not close them
 * yourself, and copy what must outlive the file ({@code Module.loadStateDict} copies).
 *
 * <h2>A file changed while mapped</h2>
 * The zero-copy tensors read the file's pages as they are now. If another process truncates the file, reading a
 * page it lost is a fault: native code never reads these tensors (a layer reads a Java copy of them), and every Java
 * access, {@code loadStateDict} included, turns the fault into an {@link java.io.UncheckedIOException} naming the
 * file, instead of the JVM crash a native read would be. A {@code loadStateDict} interrupted so may have copied
 * some tensors already. Replace weight files by writing a new file and renaming it over the old one (as
 * {@link #save} does), which leaves existing mappings intact.
 */
public final class SafeTensors implements AutoCloseable {
    private static final Faces.Face<Tensor> FACE = Faces.of(Tensor.class);

    /** The reference reader's limit on the header's length. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final String METADATA = "__metadata__";
    private static final int NESTING_LIMIT = 8;

    /** safetensors' dtypes and their sizes in bytes. */
    public enum DType {
        /** Boolean, one byte holding 0 or 1: read as {@link dev.onednn4j.tensor.DType#BOOL}. */
        BOOL(1),
        /** Unsigned 8-bit integer: read as {@link dev.onednn4j.tensor.DType#UINT8}. */
        U8(1),
        /** Signed 8-bit integer: read as {@link dev.onednn4j.tensor.DType#INT8}. */
        I8(1),
        /** 8-bit float with 5 exponent and 2 mantissa bits, {@code torch.float8_e5m2}: not held by a tensor. */
        F8_E5M2(1),
        /** 8-bit float with 4 exponent and 3 mantissa bits, {@code torch.float8_e4m3fn}: not held by a tensor. */
        F8_E4M3(1),
        /** Signed 16-bit integer: read as {@link dev.onednn4j.tensor.DType#INT16}. */
        I16(2),
        /** Unsigned 16-bit integer: not held by a tensor. */
        U16(2),
        /** IEEE 754 binary16: read as {@link dev.onednn4j.tensor.DType#FLOAT16}. */
        F16(2),
        /** bfloat16: read as {@link dev.onednn4j.tensor.DType#BFLOAT16}. */
        BF16(2),
        /** Signed 32-bit integer: read as {@link dev.onednn4j.tensor.DType#INT32}. */
        I32(4),
        /** Unsigned 32-bit integer: not held by a tensor. */
        U32(4),
        /** IEEE 754 binary32: read as {@link dev.onednn4j.tensor.DType#FLOAT32}, without copying where aligned. */
        F32(4),
        /** IEEE 754 binary64: read as {@link dev.onednn4j.tensor.DType#FLOAT64}. */
        F64(8),
        /** Signed 64-bit integer: read as {@link dev.onednn4j.tensor.DType#INT64}. */
        I64(8),
        /** Unsigned 64-bit integer: not held by a tensor. */
        U64(8);

        private final int size;

        DType(int size) {
            this.size = size;
        }

        /**
         * Bytes per element.
         *
         * @return the size of one element in bytes: 1, 2, 4 or 8
         */
        public int size() {
            return size;
        }
    }

    /** One tensor's header entry: its name, dtype, shape and where its bytes are in the data buffer. */
    public static final class Entry {
        private final String name;
        private final DType dtype;
        private final long[] shape;
        private final long begin;
        private final long end;

        Entry(String name, DType dtype, long[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape.clone();
            this.begin = begin;
            this.end = end;
        }

        /**
         * The tensor's name, the state-dict key.
         *
         * @return the name, e.g. {@code layer1.0.conv1.weight}
         */
        public String name() {
            return name;
        }

        /**
         * The dtype as the file names it.
         *
         * @return the header's {@code dtype}, e.g. {@link DType#F32}
         */
        public DType dtype() {
            return dtype;
        }

        /**
         * The shape ({@code []} for a 0-d tensor). A copy.
         *
         * @return a new array of the header's {@code shape}
         */
        public long[] shape() {
            return shape.clone();
        }

        /**
         * Offset of the first byte in the data buffer.
         *
         * @return the first of the header's {@code data_offsets}, in bytes from the start of the data (after the
         *     header)
         */
        public long begin() {
            return begin;
        }

        /**
         * Offset past the last byte.
         *
         * @return the second of the header's {@code data_offsets}: {@code begin() + numel() * dtype().size()}
         */
        public long end() {
            return end;
        }

        /**
         * Number of elements.
         *
         * @return the product of the shape; 1 for a 0-d tensor
         */
        public long numel() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
        }
    }

    private final Path path;
    private final MappedFile mapping; // every zero-copy tensor is a view of it
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private final List<Tensor> handedOut = new ArrayList<>();
    private Map<String, Tensor> float32;
    private Map<String, Tensor> asStored;
    private boolean closed;

    private SafeTensors(
            Path path, MappedFile mapping, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.mapping = mapping;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    // ---- reading ---------------------------------------------------------------------------------

    /**
     * Maps {@code path} and checks its header.
     *
     * @param path the {@code .safetensors} file
     * @return the open file, which the caller closes (closing its tensors too)
     * @throws IOException naming the file and the problem if it cannot be read or is not valid safetensors
     */
    public static SafeTensors load(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        MappedFile file = MappedFile.map(path);
        try {
            long size = file.size();
            if (size < 8) {
                throw problem(path, "the file is " + size + " bytes, shorter than the 8-byte header length");
            }
            long n = file.int64(0);
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw problem(
                        path,
                        "header length " + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER_BYTES
                                + " bytes" + whatItIs(file));
            }
            if (n > size - 8) {
                throw problem(
                        path,
                        "header length " + n + " exceeds the " + (size - 8) + " bytes that follow it in the file");
            }
            String header = decodeUtf8(path, file.bytes(8, n));
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parseHeader(path, header, metadata);
            long dataStart = 8 + n;
            validateOffsets(path, entries, size - dataStart);
            return new SafeTensors(
                    path, file, dataStart, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    /**
     * A hint at what a file that does not start with a safetensors header is: PyTorch's own {@code torch.save}
     * format (a zip archive) is the usual mistake.
     */
    private static String whatItIs(MappedFile file) {
        ByteBuffer b = file.bytes(0, Math.min(8, file.size()));
        byte[] start = new byte[b.remaining()];
        b.get(start);
        if (start.length >= 4 && start[0] == 'P' && start[1] == 'K' && start[2] == 3 && start[3] == 4) {
            return ": this is a zip archive, as torch.save writes (.pt, .pth): it is not safetensors. Convert it in "
                    + "Python: safetensors.torch.save_file(torch.load(path), \"model.safetensors\")";
        }
        if (start.length >= 2 && (start[0] & 0xff) == 0x80 && start[1] >= 2 && start[1] <= 5) {
            return ": this is a Python pickle (an old torch.save file): it is not safetensors. Convert it in Python: "
                    + "safetensors.torch.save_file(torch.load(path), \"model.safetensors\")";
        }
        return ": the file does not start with a safetensors header (8-byte little-endian length, then JSON)";
    }

    private static IOException problem(Path path, String what) {
        return new InvalidSafeTensorsException(path, what);
    }

    /** A file that is not valid safetensors: the message names the file and the problem. */
    public static final class InvalidSafeTensorsException extends IOException {
        private static final long serialVersionUID = 1L;

        InvalidSafeTensorsException(Path path, String what) {
            super(path + ": not a valid safetensors file: " + what);
        }
    }

    private static String decodeUtf8(Path path, ByteBuffer bytes) throws IOException {
        try {
            CharBuffer chars = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes);
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw problem(path, "the header is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }

    private static Map<String, Entry> parseHeader(Path path, String header, Map<String, String> metadata)
            throws IOException {
        if (!header.startsWith("{")) {
            throw problem(path, "the header does not start with '{'");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        try (JsonReader r = new JsonReader(new StringReader(header))) {
            r.setStrictness(com.google.gson.Strictness.STRICT);
            r.setNestingLimit(NESTING_LIMIT);
            r.beginObject();
            while (r.hasNext()) {
                String name = r.nextName();
                if (entries.containsKey(name) || (name.equals(METADATA) && !metadata.isEmpty())) {
                    throw problem(path, "duplicate name '" + name + "' in the header");
                }
                if (name.equals(METADATA)) {
                    readMetadata(path, r, metadata);
                } else {
                    entries.put(name, readEntry(path, r, name));
                }
            }
            r.endObject();
            if (r.peek() != JsonToken.END_DOCUMENT) {
                throw problem(path, "content after the header's JSON object");
            }
        } catch (MalformedJsonException | IllegalStateException | NumberFormatException e) {
            throw problem(path, "the header is not valid JSON: " + e.getMessage());
        } catch (java.io.EOFException e) {
            throw problem(path, "the header's JSON ends early: " + e.getMessage());
        }
        return entries;
    }

    private static void readMetadata(Path path, JsonReader r, Map<String, String> metadata) throws IOException {
        if (r.peek() != JsonToken.BEGIN_OBJECT) {
            throw problem(path, "__metadata__ must be an object of strings, got " + r.peek());
        }
        r.beginObject();
        while (r.hasNext()) {
            String key = r.nextName();
            if (r.peek() != JsonToken.STRING) {
                throw problem(path, "__metadata__ value of '" + key + "' must be a string, got " + r.peek());
            }
            if (metadata.put(key, r.nextString()) != null) {
                throw problem(path, "duplicate key '" + key + "' in __metadata__");
            }
        }
        r.endObject();
    }

    private static Entry readEntry(Path path, JsonReader r, String name) throws IOException {
        if (r.peek() != JsonToken.BEGIN_OBJECT) {
            throw problem(path, "tensor '" + name + "' must be an object, got " + r.peek());
        }
        r.beginObject();
        DType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (r.hasNext()) {
            String key = r.nextName();
            switch (key) {
                case "dtype" -> {
                    if (r.peek() != JsonToken.STRING) {
                        throw problem(path, "dtype of tensor '" + name + "' must be a string, got " + r.peek());
                    }
                    String d = r.nextString();
                    try {
                        dtype = DType.valueOf(d);
                    } catch (IllegalArgumentException e) {
                        throw problem(path, "unknown dtype '" + d + "' for tensor '" + name + "'");
                    }
                }
                case "shape" -> shape = readInts(path, r, name, "shape", -1);
                case "data_offsets" -> offsets = readInts(path, r, name, "data_offsets", 2);
                default -> throw problem(path, "unknown key '" + key + "' in tensor '" + name + "'");
            }
        }
        r.endObject();
        if (dtype == null || shape == null || offsets == null) {
            throw problem(
                    path,
                    "tensor '" + name + "' lacks "
                            + (dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets"));
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    /** An array of non-negative integers; {@code length} -1 for any length (at most DNNL-like 64 dims). */
    private static long[] readInts(Path path, JsonReader r, String name, String what, int length) throws IOException {
        if (r.peek() != JsonToken.BEGIN_ARRAY) {
            throw problem(path, what + " of tensor '" + name + "' must be an array, got " + r.peek());
        }
        List<Long> values = new ArrayList<>();
        r.beginArray();
        while (r.hasNext()) {
            if (r.peek() != JsonToken.NUMBER) {
                throw problem(path, what + " of tensor '" + name + "' must hold integers, got " + r.peek());
            }
            String text = r.nextString();
            long v;
            try {
                v = Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw problem(path, what + " of tensor '" + name + "' holds " + text + ", not a non-negative integer");
            }
            if (v < 0) {
                throw problem(path, what + " of tensor '" + name + "' holds " + v + ", not a non-negative integer");
            }
            values.add(v);
            if (values.size() > 64) {
                throw problem(path, what + " of tensor '" + name + "' has more than 64 entries");
            }
        }
        r.endArray();
        if (length >= 0 && values.size() != length) {
            throw problem(
                    path, what + " of tensor '" + name + "' must have " + length + " entries, got " + values.size());
        }
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    /** Offsets must tile the data buffer exactly: in order, no overlap, no hole, nothing past its end. */
    private static void validateOffsets(Path path, Map<String, Entry> entries, long dataBytes) throws IOException {
        List<Entry> byBegin = new ArrayList<>(entries.values());
        byBegin.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        for (Entry e : byBegin) {
            if (e.begin() > e.end()) {
                throw problem(
                        path,
                        "tensor '" + e.name() + "' has data_offsets [" + e.begin() + ", " + e.end() + "] out of order");
            }
            if (e.begin() < expected) {
                throw problem(
                        path,
                        "tensor '" + e.name() + "' at [" + e.begin() + ", " + e.end()
                                + ") overlaps the tensor before it, which ends at " + expected);
            }
            if (e.begin() > expected) {
                throw problem(
                        path,
                        "a hole in the data: bytes [" + expected + ", " + e.begin() + ") belong to no tensor (next: '"
                                + e.name() + "')");
            }
            long numel;
            try {
                numel = e.numel();
                Math.multiplyExact(numel, (long) e.dtype().size());
            } catch (ArithmeticException overflow) {
                throw problem(
                        path,
                        "tensor '" + e.name() + "' has a shape " + Arrays.toString(e.shape()) + " too large to count");
            }
            if (e.end() - e.begin() != numel * e.dtype().size()) {
                throw problem(
                        path,
                        String.format(
                                Locale.ROOT,
                                "tensor '%s' spans %d bytes, but %s %s needs %d " + "(%d elements x %d bytes)",
                                e.name(),
                                e.end() - e.begin(),
                                e.dtype(),
                                Arrays.toString(e.shape()),
                                numel * e.dtype().size(),
                                numel,
                                e.dtype().size()));
            }
            if (e.end() > dataBytes) {
                throw problem(
                        path,
                        "tensor '" + e.name() + "' ends at byte " + e.end() + ", past the end of the " + dataBytes
                                + "-byte data buffer");
            }
            expected = e.end();
        }
        if (expected != dataBytes) {
            throw problem(path, "the data buffer is " + dataBytes + " bytes, but the tensors cover " + expected);
        }
    }

    // ---- access ----------------------------------------------------------------------------------

    /**
     * The file's tensors as header entries, in header order.
     *
     * @return an unmodifiable map of names to entries; usable after {@link #close()} too
     */
    public Map<String, Entry> entries() {
        return entries;
    }

    /**
     * The {@code __metadata__} strings.
     *
     * @return an unmodifiable map, empty when the header has none ({@code Module.saveSafeTensors} writes
     *     {@code {"format": "pt"}})
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The file this object maps.
     *
     * @return the path given to {@link #load}
     */
    public Path path() {
        return path;
    }

    /**
     * Every tensor by name, each in its own dtype (F32 as {@link dev.onednn4j.tensor.DType#FLOAT32}, I64 as
     * {@link dev.onednn4j.tensor.DType#INT64}, ...; a 0-d tensor stays 0-d), owned by this object (see the class
     * documentation): views of the mapping where aligned, copies where not.
     *
     * @return an unmodifiable map, in header order, of names to tensors that this object closes; the same map on
     *     every call
     * @throws IllegalStateException for a dtype onednn4j's tensors do not hold (U16, U32, U64, F8), naming it
     */
    public synchronized Map<String, Tensor> tensors() {
        ensureOpen();
        if (asStored == null) {
            asStored = collect(this::stored);
        }
        return asStored;
    }

    /**
     * Every tensor as float32, owned by this object: F32 without copying where aligned, F16, BF16 and F64
     * converted into new tensors.
     *
     * @return an unmodifiable map, in header order, of names to float32 tensors that this object closes; the same
     *     map on every call
     * @throws IllegalStateException for an integer or bool tensor (use {@link #tensors()}, which keeps its dtype)
     */
    public synchronized Map<String, Tensor> tensorsAsFloat32() {
        ensureOpen();
        if (float32 == null) {
            float32 = collect(this::toFloat32);
        }
        return float32;
    }

    private Map<String, Tensor> collect(java.util.function.Function<Entry, Tensor> read) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (Entry e : entries.values()) {
                out.put(e.name(), read.apply(e));
            }
        } catch (RuntimeException ex) {
            out.values().forEach(Tensor::close);
            throw ex;
        }
        handedOut.addAll(out.values());
        return Collections.unmodifiableMap(out);
    }

    private Tensor stored(Entry e) {
        return FACE.of(mapping.tensor(
                dataStart + e.begin(), ElementType.valueOf(tensorType(e).name()), e.shape()));
    }

    private dev.onednn4j.tensor.DType tensorType(Entry e) {
        return switch (e.dtype()) {
            case F32 -> dev.onednn4j.tensor.DType.FLOAT32;
            case F64 -> dev.onednn4j.tensor.DType.FLOAT64;
            case F16 -> dev.onednn4j.tensor.DType.FLOAT16;
            case BF16 -> dev.onednn4j.tensor.DType.BFLOAT16;
            case I64 -> dev.onednn4j.tensor.DType.INT64;
            case I32 -> dev.onednn4j.tensor.DType.INT32;
            case I16 -> dev.onednn4j.tensor.DType.INT16;
            case I8 -> dev.onednn4j.tensor.DType.INT8;
            case U8 -> dev.onednn4j.tensor.DType.UINT8;
            case BOOL -> dev.onednn4j.tensor.DType.BOOL;
            default ->
                throw new IllegalStateException(path + ": tensor '" + e.name() + "' is " + e.dtype()
                        + ", which onednn4j's tensors do not hold (they hold the dtypes of PyTorch 1.13: F32, F64, F16, "
                        + "BF16, I64, I32, I16, I8, U8, BOOL); convert it when saving");
        };
    }

    private Tensor toFloat32(Entry e) {
        if (!tensorType(e).isFloatingPoint()) {
            throw new IllegalStateException(path + ": tensor '" + e.name() + "' is " + e.dtype()
                    + ", not a floating-point type; tensors() gives it as it is stored");
        }
        Tensor stored = stored(e);
        if (stored.dtype() == dev.onednn4j.tensor.DType.FLOAT32) {
            return stored;
        }
        try (stored) {
            return stored.to(dev.onednn4j.tensor.DType.FLOAT32);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("SafeTensors(" + path + ") is closed");
        }
    }

    /** Closes every tensor handed out and unmaps the file, once no running operation uses them. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Tensor t : handedOut) {
            t.close();
        }
        mapping.close();
    }

    // ---- writing ---------------------------------------------------------------------------------

    /**
     * Writes {@code tensors} (a state dict), each in its dtype, without metadata.
     *
     * @param tensors the tensors by name, e.g. {@code module.stateDict()}; read, not closed
     * @param path    the file to write, replaced if it exists
     * @throws IOException if the file cannot be written; {@code path} is never left half-written
     */
    public static void save(Map<String, Tensor> tensors, Path path) throws IOException {
        save(tensors, Map.of(), path);
    }

    /**
     * Writes {@code tensors}, each in its own dtype (int64 as I64, a 0-d tensor with shape {@code []}), with
     * {@code metadata} as {@code __metadata__}, laid out as the reference writer lays them out: tensors sorted by
     * dtype (larger types first, in the format's order), then name; the header padded with spaces so the data starts
     * 8-byte aligned. Written to a temporary file, then renamed into place.
     *
     * @param tensors  the tensors by name, e.g. {@code module.stateDict()}; read, not closed
     * @param metadata strings to store as {@code __metadata__}; empty for none
     * @param path     the file to write, replaced if it exists
     * @throws IOException if the file cannot be written; {@code path} is never left half-written
     * @throws IllegalArgumentException if a tensor is named {@code __metadata__}
     */
    public static void save(Map<String, Tensor> tensors, Map<String, String> metadata, Path path) throws IOException {
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        if (tensors.containsKey(METADATA)) {
            throw new IllegalArgumentException("'" + METADATA + "' is reserved and cannot name a tensor");
        }
        List<Map.Entry<String, Tensor>> sorted = new ArrayList<>(tensors.entrySet());
        sorted.sort(Comparator.comparing(
                        (Map.Entry<String, Tensor> e) -> fileType(e.getValue().dtype()), Comparator.reverseOrder())
                .thenComparing(Map.Entry::getKey));
        StringWriter json = new StringWriter();
        long offset = 0;
        try (JsonWriter w = new JsonWriter(json)) {
            w.beginObject();
            if (!metadata.isEmpty()) {
                w.name(METADATA).beginObject();
                for (var m : new TreeMap<>(metadata).entrySet()) {
                    w.name(m.getKey()).value(m.getValue());
                }
                w.endObject();
            }
            for (var e : sorted) {
                Tensor t = e.getValue();
                long bytes = Math.multiplyExact(t.numel(), (long) t.dtype().byteSize());
                w.name(e.getKey()).beginObject();
                w.name("dtype").value(fileType(t.dtype()).name());
                w.name("shape").beginArray();
                for (long d : t.shape()) {
                    w.value(d);
                }
                w.endArray();
                w.name("data_offsets")
                        .beginArray()
                        .value(offset)
                        .value(offset + bytes)
                        .endArray();
                w.endObject();
                offset += bytes;
            }
            w.endObject();
        }
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 8 + 7) / 8 * 8 - 8;
        byte[] head = new byte[8 + padded];
        ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        System.arraycopy(header, 0, head, 8, header.length);
        Arrays.fill(head, 8 + header.length, head.length, (byte) ' ');

        Path dir = path.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, path.getFileName().toString(), ".partial");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(head));
            for (var e : sorted) {
                Tensor t = e.getValue();
                if (t.memoryFormat() == dev.onednn4j.tensor.MemoryFormat.CONTIGUOUS) {
                    writeFully(ch, t.readOnlySegment().asByteBuffer());
                } else {
                    try (Tensor c = t.toMemoryFormat(dev.onednn4j.tensor.MemoryFormat.CONTIGUOUS)) {
                        writeFully(ch, c.readOnlySegment().asByteBuffer());
                    }
                }
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp); // a failed rename (say, path is a directory) leaves no .partial
            throw e;
        }
    }

    private static DType fileType(dev.onednn4j.tensor.DType t) {
        return switch (t) {
            case FLOAT32 -> DType.F32;
            case FLOAT64 -> DType.F64;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            case INT64 -> DType.I64;
            case INT32 -> DType.I32;
            case INT16 -> DType.I16;
            case INT8 -> DType.I8;
            case UINT8 -> DType.U8;
            case BOOL -> DType.BOOL;
        };
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
