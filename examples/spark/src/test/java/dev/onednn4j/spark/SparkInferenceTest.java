package dev.onednn4j.spark;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Module;
import dev.onednn4j.tensor.Tensor;
import dev.onednn4j.vision.ResNet;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job in Spark's local mode ({@code local[2]}: two tasks at once, one oneDNN thread each) on generated PNGs
 * and float arrays: its predictions equal the library's own single-JVM predictions for the same rows, bit for bit,
 * however the rows are partitioned; bad rows come out with an error, none is lost.
 */
class SparkInferenceTest {
    static final int IMAGES = 21; // 5 batches of 4 and a partial one, before any repartitioning
    static final int TOP = 3;

    @TempDir
    static Path dir;

    static Path images;
    static ModelSpec spec;
    static SparkSession spark;
    /** The single-JVM answer for each good image, by id: top classes and their scores. */
    static Map<String, Expected> expected;
    /** Each good image's preprocessed floats, by id. */
    static Map<String, float[]> inputs;

    record Expected(List<Integer> classes, float[] scores) {}

    @BeforeAll
    static void dataModelAndSpark() throws IOException {
        Path weights = dir.resolve("resnet18-10.safetensors");
        try (ResNet net =
                new ResNet(ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, 10, BatchNorm2d::new, new SplittableRandom(3))) {
            net.saveSafeTensors(weights);
        }
        spec = ModelSpec.of("resnet18", 10, weights.toString()).withSize(64, 64).withBatchSize(4);
        images = Files.createDirectory(dir.resolve("images"));
        for (int i = 0; i < IMAGES; i++) {
            Files.write(images.resolve(String.format("img-%02d.png", i)), SparkDemo.png(i, 64));
        }
        byte[] noise = new byte[512];
        new SplittableRandom(5).nextBytes(noise);
        Files.write(images.resolve("corrupt.jpg"), noise);
        byte[] good = SparkDemo.png(99, 64);
        Files.write(images.resolve("truncated.png"), Arrays.copyOf(good, good.length / 2));
        // (An empty file is no row at all: Spark's file sources skip zero-length files.)
        Files.writeString(images.resolve("notes.png"), "not a picture");
        singleJvmReference();
        spark = ThreadBudget.configure(SparkSession.builder(), 1)
                .master("local[2]")
                .appName("SparkInferenceTest")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        ExecutorModels.closeAll();
    }

    /**
     * The library on its own, as a single-JVM user calls it, without this module's batching: the same model and
     * batch size, the good images in file order, four at a time (the last batch padded with zeros).
     */
    static void singleJvmReference() throws IOException {
        List<Path> good;
        try (Stream<Path> s = Files.list(images)) {
            good = s.filter(p -> p.getFileName().toString().startsWith("img-"))
                    .sorted()
                    .toList();
        }
        inputs = new HashMap<>();
        expected = new HashMap<>();
        int n = spec.rowLength();
        try (Module net = spec.newModule();
                Arena arena = Arena.ofConfined()) {
            net.loadSafeTensors(Path.of(spec.weights()), true);
            net.eval();
            try (CompiledModule model = net.compile(spec.compileOptions())) {
                MemorySegment slot = arena.allocate((long) n * Float.BYTES, 64);
                for (int start = 0; start < good.size(); start += 4) {
                    float[] batch = new float[4 * n];
                    for (int i = 0; i < 4 && start + i < good.size(); i++) {
                        Path p = good.get(start + i);
                        try {
                            Decoders.image(Files.readAllBytes(p), 64, 64, slot);
                        } catch (RowDecoder.BadRowException e) {
                            throw new AssertionError(e);
                        }
                        float[] row = slot.toArray(ValueLayout.JAVA_FLOAT);
                        inputs.put(Decoders.id(p), row);
                        System.arraycopy(row, 0, batch, i * n, n);
                    }
                    float[] logits;
                    try (Tensor x = Tensor.of(batch, 4, 3, 64, 64);
                            Tensor y = model.forward(x)) {
                        logits = y.toFloatArray();
                    }
                    for (int i = 0; i < 4 && start + i < good.size(); i++) {
                        float[] p = BatchPredictor.softmax(Arrays.copyOfRange(logits, i * 10, i * 10 + 10));
                        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
                        order.sort((a, b) -> Float.compare(p[b], p[a]));
                        float[] scores = new float[TOP];
                        for (int k = 0; k < TOP; k++) {
                            scores[k] = p[order.get(k)];
                        }
                        expected.put(Decoders.id(good.get(start + i)), new Expected(order.subList(0, TOP), scores));
                    }
                }
            }
        }
        assertEquals(IMAGES, expected.size());
    }

    /** Every good row's prediction equals the reference bit for bit; returns the rows with an error, by id. */
    static Map<String, String> assertMatchesReference(List<Row> rows) {
        Map<String, String> errors = new HashMap<>();
        int good = 0;
        for (Row r : rows) {
            String id = r.getString(0);
            if (!r.isNullAt(3)) {
                assertNull(r.get(1), id);
                assertNull(r.get(2), id);
                errors.put(id, r.getString(3));
                continue;
            }
            Expected e = expected.get(id);
            assertNotNull(e, "no reference for " + id);
            assertEquals(e.classes(), r.getList(1), id);
            List<Float> scores = r.getList(2);
            for (int k = 0; k < TOP; k++) {
                assertEquals(
                        Float.floatToIntBits(e.scores()[k]),
                        Float.floatToIntBits(scores.get(k)),
                        id + " score " + k + ": " + e.scores()[k] + " vs " + scores.get(k));
            }
            good++;
        }
        assertEquals(IMAGES, good);
        return errors;
    }

    @Test
    void imagesEqualTheSingleJvmPredictionsWhateverThePartitioning() {
        Dataset<Row> files = SparkInference.readImages(spark, images.toString());
        long in = files.count();
        assertEquals(IMAGES + 3, in);
        for (int partitions : new int[] {1, 3, 7}) {
            List<Row> rows = SparkInference.classifyImages(files.repartition(partitions), spec, TOP)
                    .collectAsList();
            assertEquals(in, rows.size(), "rows in = rows out, " + partitions + " partitions");
            Map<String, String> errors = assertMatchesReference(rows);
            assertEquals(3, errors.size(), errors.toString());
        }
    }

    @Test
    void badImagesAreReportedInTheErrorColumn() {
        Dataset<Row> out =
                SparkInference.classifyImages(SparkInference.readImages(spark, images.toString()), spec, TOP);
        Map<String, String> errors = assertMatchesReference(out.collectAsList());
        String corrupt = errors.get(Decoders.id(images.resolve("corrupt.jpg")));
        assertTrue(corrupt.startsWith("not an image ImageIO can read (512 bytes, starting "), corrupt);
        String text = errors.get(Decoders.id(images.resolve("notes.png")));
        assertTrue(text.startsWith("not an image ImageIO can read (13 bytes, starting 6e 6f 74"), text);
        assertNotNull(errors.get(Decoders.id(images.resolve("truncated.png"))));
        SparkInference.Summary s = SparkInference.summarize(out);
        assertEquals(new SparkInference.Summary(IMAGES + 3, 3), s);
    }

    @Test
    void floatArraysFromParquetEqualTheSingleJvmPredictions() {
        StructType schema = new StructType()
                .add("key", DataTypes.LongType)
                .add("pixels", DataTypes.createArrayType(DataTypes.FloatType, true));
        List<Row> rows = new ArrayList<>();
        Map<String, String> idOf = new HashMap<>();
        long key = 0;
        for (Map.Entry<String, float[]> e : inputs.entrySet()) {
            idOf.put(Long.toString(key), e.getKey());
            rows.add(RowFactory.create(key++, boxed(e.getValue())));
        }
        rows.add(RowFactory.create(1000L, boxed(new float[10])));
        rows.add(RowFactory.create(1001L, null));
        List<Float> withNull = new ArrayList<>(boxed(new float[spec.rowLength()]));
        withNull.set(7, null);
        rows.add(RowFactory.create(1002L, withNull));
        Path parquet = dir.resolve("arrays.parquet");
        spark.createDataFrame(rows, schema).write().parquet(parquet.toString());

        Dataset<Row> input = spark.read().parquet(parquet.toString()).repartition(3);
        List<Row> out =
                SparkInference.classifyArrays(input, "key", "pixels", spec, TOP).collectAsList();
        assertEquals(rows.size(), out.size());
        List<Row> renamed = new ArrayList<>();
        Map<String, String> errors = new HashMap<>();
        for (Row r : out) {
            if (r.isNullAt(3)) {
                renamed.add(RowFactory.create(idOf.get(r.getString(0)), r.get(1), r.get(2), null, r.get(4)));
            } else {
                errors.put(r.getString(0), r.getString(3));
            }
        }
        assertMatchesReference(renamed);
        assertEquals(
                Map.of(
                        "1000", "features has 10 floats, expected 12288 = 3 x 64 x 64 (C, H, W)",
                        "1001", "features is null",
                        "1002", "features has null elements"),
                errors);
    }

    @Test
    void theJobWritesParquetAndCountsBadRows() {
        Path output = dir.resolve("predictions.parquet");
        ClassifyJob.Options o = ClassifyJob.Options.parse(
                "--input", images.toString(),
                "--output", output.toString(),
                "--weights", spec.weights(),
                "--classes", "10",
                "--size", "64",
                "--batch", "4",
                "--top", "3");
        assertEquals(spec, o.spec());
        ClassifyJob.Report r = ClassifyJob.run(spark, o);
        assertEquals(IMAGES + 3, r.rowsIn());
        assertEquals(IMAGES + 3, r.rowsOut());
        assertEquals(3, r.badRows());
        assertTrue(
                r.latencyMs().p50() > 0 && r.latencyMs().p50() <= r.latencyMs().max(), r.describe());
        Dataset<Row> written = spark.read().parquet(output.toString());
        assertEquals(
                SparkInference.OUTPUT_SCHEMA.fieldNames().length,
                written.schema().fieldNames().length);
        assertMatchesReference(written.collectAsList());
        assertEquals(3, written.where(col("error").isNotNull()).count());
    }

    @Test
    void theModelIsLoadedOncePerExecutorJvm() {
        Dataset<Row> files = SparkInference.readImages(spark, images.toString());
        SparkInference.classifyImages(files, spec, TOP).count(); // loaded by now, if no test did before
        int loads = ExecutorModels.loads();
        SparkInference.classifyImages(files.repartition(5), spec, TOP).collectAsList();
        assertEquals(loads, ExecutorModels.loads(), "five tasks on two task threads reuse the executor's model");
    }

    @Test
    void threadsBeyondTheTaskCpusFailOnTheDriverWithTheNumbers() {
        Dataset<Row> files = SparkInference.readImages(spark, images.toString());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> SparkInference.classifyImages(files, spec.withThreadsPerTask(2), TOP));
        assertEquals(
                "2 oneDNN threads per task but spark.task.cpus=1: Spark would run 2 tasks at once on 2 executor cores,"
                        + " 4 threads; set spark.task.cpus=2",
                e.getMessage());
    }

    static List<Float> boxed(float[] a) {
        List<Float> l = new ArrayList<>(a.length);
        for (float v : a) {
            l.add(v);
        }
        return l;
    }
}
