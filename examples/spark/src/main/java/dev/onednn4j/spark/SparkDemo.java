package dev.onednn4j.spark;

import dev.onednn4j.OneDnn;
import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.vision.ResNet;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * What {@code scripts/spark-demo} runs: generates a data set of PNG images (and two corrupt files) and a ResNet-18
 * state dict, classifies the images with the plain single-JVM loop and with the Spark job (1 executor of 1 core, then
 * 2 executors of 1 core each), checks that the job's predictions equal the loop's bit for bit and that bad rows are
 * counted, and prints the throughput and the per-image latency of each.
 *
 * <pre>
 * SparkDemo [--images 3000] [--size 128] [--batch 8] [--dir target/spark-demo]
 * </pre>
 *
 * <p>Spark's {@code local-cluster[E,C,MB]} master gives real executors: a standalone Master and E Workers inside
 * this JVM, each Worker starting an executor JVM of C cores, as a cluster does. Its Workers need
 * {@code SPARK_HOME} (the script sets it to a folder this class lays out); without it the demo falls back to
 * {@code local[1]} and {@code local[2]} (task threads in this JVM) and says so.
 */
public final class SparkDemo {
    private static final int CLASSES = 1000;
    private static final int TOP = 5;

    private SparkDemo() {}

    /**
     * Runs the demo.
     *
     * @param args see the class documentation
     * @throws IOException if the data set cannot be written
     */
    public static void main(String[] args) throws IOException {
        int images = 3000;
        int size = 128;
        int batch = 8;
        Path dir = Path.of("target/spark-demo");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--images" -> images = Integer.parseInt(args[i + 1]);
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--dir" -> dir = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(
                Locale.ROOT,
                "oneDNN %s, CPU ISA %s, %d cores, JDK %s%n",
                OneDnn.version(),
                OneDnn.cpuIsa(),
                cores,
                Runtime.version());
        long t0 = System.nanoTime();
        Path weights = dir.resolve("resnet18-" + CLASSES + ".safetensors");
        Path imageDir = dir.resolve("images");
        List<Path> files = dataSet(imageDir, weights, images, size);
        System.out.printf(
                Locale.ROOT,
                "data set: %d files (%d images and 2 corrupt files) of %dx%d-ish PNGs in %s," + " ready in %.1f s%n",
                files.size(),
                images,
                size,
                size,
                imageDir,
                (System.nanoTime() - t0) / 1e9);
        ModelSpec spec = ModelSpec.of("resnet18", CLASSES, weights.toString())
                .withSize(size, size)
                .withBatchSize(batch);
        System.out.printf(Locale.ROOT, "model: %s%n%n", spec);

        List<String> table = new ArrayList<>();
        // The plain loop: one JVM, one thread calling the model, no Spark.
        Map<String, Prediction> reference = singleJvm(spec, files, table);
        if (cores > 1) {
            singleJvm(spec.withThreadsPerTask(cores), files, table); // the whole machine for one caller
        }
        boolean cluster = sparkHomeReady();
        if (!cluster) {
            System.out.println("SPARK_HOME is not set: Spark runs in local[N] mode (N task threads in this JVM)"
                    + " instead of local-cluster (N executor JVMs)");
        }
        boolean allEqual = true;
        for (int executors : new int[] {1, 2}) {
            String master = cluster ? "local-cluster[" + executors + ",1,1024]" : "local[" + executors + "]";
            String label = cluster
                    ? executors + " executor" + (executors == 1 ? "" : "s") + " x 1 core (" + master + ")"
                    : executors + " task slot" + (executors == 1 ? "" : "s") + " x 1 thread (" + master + ")";
            allEqual &= spark(label, master, executors, cluster, spec, imageDir, dir, files.size(), reference, table);
        }
        System.out.println();
        System.out.println("| run | images/s | wall s | latency per image, ms (p50 / p90 / p99 / max) |");
        System.out.println("|---|---:|---:|---|");
        table.forEach(System.out::println);
        System.out.printf(
                Locale.ROOT,
                "%nSpark's predictions equal the single-JVM loop's, bit for bit: %s%n",
                allEqual ? "yes" : "NO");
        System.out.printf(Locale.ROOT, "demo done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        if (!allEqual) {
            System.exit(1);
        }
    }

    /** The single-JVM loop over the files, in order; its predictions by id. */
    private static Map<String, Prediction> singleJvm(ModelSpec spec, List<Path> files, List<String> table) {
        String label = "single JVM, plain loop, " + spec.threadsPerTask() + " oneDNN thread"
                + (spec.threadsPerTask() == 1 ? "" : "s");
        long start = System.nanoTime();
        Map<String, Prediction> out = new HashMap<>();
        List<Double> latencies = new ArrayList<>();
        int bad = 0;
        CompiledModule model = ExecutorModels.get(spec);
        try (BatchPredictor<Path> p = new BatchPredictor<>(model, Decoders.files(spec), files.iterator(), TOP)) {
            while (p.hasNext()) {
                Prediction r = p.next();
                out.put(r.id(), r);
                if (r.ok()) {
                    latencies.add(r.latencyMs());
                } else {
                    bad++;
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Percentiles lat = Percentiles.of(
                latencies.stream().mapToDouble(Double::doubleValue).toArray());
        System.out.printf(
                Locale.ROOT,
                "== %s%nrows in %d, rows out %d, bad rows %d%n%.1f s (model load included),"
                        + " %.1f images/s%nlatency per image (ms): %s%n%n",
                label,
                files.size(),
                out.size(),
                bad,
                seconds,
                out.size() / seconds,
                lat);
        table.add(row(label, out.size() / seconds, seconds, lat));
        ExecutorModels.closeAll();
        return out;
    }

    /** One Spark run; whether its predictions equal the reference's. */
    private static boolean spark(
            String label,
            String master,
            int executors,
            boolean cluster,
            ModelSpec spec,
            Path imageDir,
            Path dir,
            int files,
            Map<String, Prediction> reference,
            List<String> table) {
        System.out.printf(Locale.ROOT, "== Spark, %s%n", label);
        long start = System.nanoTime();
        SparkSession.Builder b = ThreadBudget.configure(SparkSession.builder(), spec.threadsPerTask())
                .master(master)
                .appName("onednn4j SparkDemo")
                .config("spark.ui.enabled", "false")
                // Four partitions per task slot: few tasks (each writes a Parquet file of its own), the slots still
                // kept busy to the end. Spark's defaults would cut ~100 partitions of ~31 small files.
                .config("spark.sql.files.maxPartitionBytes", String.valueOf(1 + totalSize(imageDir) / (4L * executors)))
                .config("spark.sql.files.openCostInBytes", "0");
        if (cluster) {
            // The executors are JVMs of their own: they get this JVM's class path (a cluster gets the jars from
            // spark-submit) and Spark adds its own --add-opens and native-access flags to their command line.
            b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                    .config("spark.executor.memory", "1g");
        }
        SparkSession spark = b.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            waitForExecutors(spark, cluster ? executors : 0);
            System.out.printf(Locale.ROOT, "Spark up in %.1f s%n", (System.nanoTime() - start) / 1e9);
            Path output = dir.resolve("predictions-" + executors + (cluster ? "-executors" : "-slots") + ".parquet");
            ClassifyJob.Options o = new ClassifyJob.Options(
                    imageDir.toString(), output.toString(), false, "id", "features", spec, TOP, master);
            ClassifyJob.Report report = ClassifyJob.run(spark, o);
            System.out.println(report.describe() + " (model load in each executor included)");
            table.add(row("Spark, " + label, report.imagesPerSecond(), report.seconds(), report.latencyMs()));
            List<Row> rows = spark.read().parquet(output.toString()).collectAsList();
            int equal = 0;
            for (Row r : rows) {
                Prediction want = reference.get(r.getString(0));
                if (want != null && same(want, r)) {
                    equal++;
                }
            }
            boolean ok = equal == rows.size() && rows.size() == files && report.rowsIn() == files;
            System.out.printf(
                    Locale.ROOT,
                    "equal to the single-JVM loop, bit for bit: %d of %d rows%s%n%n",
                    equal,
                    rows.size(),
                    ok ? "" : " (MISMATCH)");
            return ok;
        } finally {
            spark.stop();
            ExecutorModels.closeAll(); // local[N]: the next run loads its model again, as a new executor would
        }
    }

    /** Same classes, same score bits, same error (null or not). */
    static boolean same(Prediction want, Row got) {
        if (!want.ok()) {
            return !got.isNullAt(3) && got.isNullAt(1);
        }
        if (!got.isNullAt(3)) {
            return false;
        }
        List<Integer> classes = got.getList(1);
        List<Float> scores = got.getList(2);
        if (!classes.equals(want.classes()) || scores.size() != want.scores().size()) {
            return false;
        }
        for (int i = 0; i < scores.size(); i++) {
            if (Float.floatToIntBits(scores.get(i))
                    != Float.floatToIntBits(want.scores().get(i))) {
                return false;
            }
        }
        return true;
    }

    private static String row(String label, double perSecond, double seconds, Percentiles lat) {
        return String.format(
                Locale.ROOT,
                "| %s | %.1f | %.1f | %.1f / %.1f / %.1f / %.1f |",
                label,
                perSecond,
                seconds,
                lat.p50(),
                lat.p90(),
                lat.p99(),
                lat.max());
    }

    private static void waitForExecutors(SparkSession spark, int executors) {
        long deadline = System.nanoTime() + 120_000_000_000L;
        // getExecutorInfos lists the driver too
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < executors + 1) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the executors did not start within 2 minutes");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    private static long totalSize(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The local-cluster master's Workers build each executor's command from {@code SPARK_HOME}: a Spark
     * distribution's layout ({@code RELEASE}, {@code jars/}); the executors' own class path is set by the job. Lays
     * out that skeleton in the folder {@code SPARK_HOME} names, unless it is a real Spark already.
     */
    private static boolean sparkHomeReady() throws IOException {
        String home = System.getenv("SPARK_HOME");
        if (home == null || home.isBlank()) {
            return false;
        }
        Path h = Path.of(home);
        Files.createDirectories(h.resolve("jars"));
        if (!Files.exists(h.resolve("RELEASE"))) {
            Files.writeString(h.resolve("RELEASE"), "onednn4j SparkDemo: the skeleton local-cluster's Workers need\n");
        }
        return true;
    }

    /**
     * The images (created once: kept while their count and size match) and the weights: a ResNet-18 of fixed
     * seed, as a user's trained model would be, saved as safetensors.
     */
    static List<Path> dataSet(Path imageDir, Path weights, int images, int size) throws IOException {
        Files.createDirectories(imageDir);
        if (!Files.exists(weights)) {
            try (ResNet net = new ResNet(
                    ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, CLASSES, BatchNorm2d::new, new SplittableRandom(18))) {
                net.saveSafeTensors(weights);
            }
        }
        Path stamp = imageDir.resolve(".generated-" + images + "-" + size);
        if (!Files.exists(stamp)) {
            try (Stream<Path> old = Files.list(imageDir)) {
                for (Path p : old.toList()) {
                    Files.delete(p);
                }
            }
            IntStream.range(0, images).parallel().forEach(i -> {
                try {
                    Files.write(imageDir.resolve(String.format(Locale.ROOT, "img-%05d.png", i)), png(i, size));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            byte[] good = png(images, size);
            Files.write(imageDir.resolve("corrupt-truncated.png"), Arrays.copyOf(good, good.length / 3));
            byte[] noise = new byte[4096];
            new SplittableRandom(1).nextBytes(noise);
            Files.write(imageDir.resolve("corrupt-noise.jpg"), noise);
            Files.createFile(stamp);
        }
        try (Stream<Path> s = Files.list(imageDir)) {
            return s.filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList();
        }
    }

    /** A PNG of a little more than {@code size} pixels (so it is resized and cropped), its content seeded by i. */
    static byte[] png(int i, int size) throws IOException {
        SplittableRandom r = new SplittableRandom(i);
        int w = size + 16 + r.nextInt(48);
        int h = size + 16 + r.nextInt(48);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int fx = 1 + r.nextInt(7);
        int fy = 1 + r.nextInt(7);
        int tint = r.nextInt(0x1000000);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = (x * fx * 255 / w) << 16 | (y * fy * 255 / h) << 8 | ((x * y + i) & 0xff);
                img.setRGB(x, y, (v ^ tint) & 0xffffff);
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bytes);
        return bytes.toByteArray();
    }
}
