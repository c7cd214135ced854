package dev.onednn4j.spark;

import static org.apache.spark.sql.functions.col;

import dev.onednn4j.OneDnn;
import dev.onednn4j.nn.Precision;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The batch job: classifies every image in a folder, or every float-array row of a Parquet data set, and writes the
 * predictions as Parquet ({@link SparkInference#OUTPUT_SCHEMA}). Submit it with {@code spark-submit --class
 * dev.onednn4j.spark.ClassifyJob} (see docs/spark.md), or run it with {@code java} and {@code --master}.
 *
 * <pre>
 * ClassifyJob --input DIR|PARQUET --output PARQUET --weights FILE.safetensors
 *             [--format images|parquet] [--id-column id] [--features-column features]
 *             [--model resnet18|resnet34|resnet50|mobilenet_v2] [--classes 1000] [--width-mult 1.0]
 *             [--size 224] [--batch 8] [--precision fp32|bf16|auto] [--threads 1] [--top 5] [--master URL]
 * </pre>
 */
public final class ClassifyJob {
    private ClassifyJob() {}

    /**
     * The command line, parsed.
     *
     * @param input          the images' folder or the Parquet input
     * @param output         where the Parquet output goes (replaced)
     * @param parquet        true for float-array rows, false for image files
     * @param idColumn       the Parquet input's id column
     * @param featuresColumn the Parquet input's array column
     * @param spec           the model
     * @param topK           classes per prediction
     * @param master         the Spark master, or null for spark-submit's
     */
    public record Options(
            String input,
            String output,
            boolean parquet,
            String idColumn,
            String featuresColumn,
            ModelSpec spec,
            int topK,
            String master) {

        /**
         * Parses the arguments.
         *
         * @param args the command line
         * @return the options
         * @throws IllegalArgumentException on a missing or unknown option
         */
        public static Options parse(String... args) {
            String input = null;
            String output = null;
            String format = "images";
            String id = "id";
            String features = "features";
            String model = "resnet18";
            int classes = 1000;
            double widthMult = 1.0;
            String weights = null;
            int size = 224;
            int batch = 8;
            Precision precision = Precision.FP32;
            int threads = 1;
            int top = 5;
            String master = null;
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String v = args[i + 1];
                switch (args[i]) {
                    case "--input" -> input = v;
                    case "--output" -> output = v;
                    case "--format" -> format = v;
                    case "--id-column" -> id = v;
                    case "--features-column" -> features = v;
                    case "--model" -> model = v;
                    case "--classes" -> classes = Integer.parseInt(v);
                    case "--width-mult" -> widthMult = Double.parseDouble(v);
                    case "--weights" -> weights = v;
                    case "--size" -> size = Integer.parseInt(v);
                    case "--batch" -> batch = Integer.parseInt(v);
                    case "--precision" -> precision = Precision.valueOf(v.toUpperCase(Locale.ROOT));
                    case "--threads" -> threads = Integer.parseInt(v);
                    case "--top" -> top = Integer.parseInt(v);
                    case "--master" -> master = v;
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (input == null || output == null || weights == null) {
                throw new IllegalArgumentException("usage: ClassifyJob --input DIR|PARQUET --output PARQUET "
                        + "--weights FILE.safetensors [--format images|parquet] [--model resnet18] [--classes N] "
                        + "[--size 224] [--batch 8] [--precision fp32] [--threads 1] [--top 5] [--master URL]");
            }
            if (!format.equals("images") && !format.equals("parquet")) {
                throw new IllegalArgumentException("--format is images or parquet, got " + format);
            }
            ModelSpec spec = new ModelSpec(model, classes, widthMult, weights, batch, size, size, precision, threads);
            return new Options(input, output, format.equals("parquet"), id, features, spec, top, master);
        }
    }

    /**
     * What a run did.
     *
     * @param rowsIn     input rows
     * @param rowsOut    output rows
     * @param badRows    output rows with an error
     * @param seconds    the job's wall time (reading, classifying, writing), Spark's start-up excluded
     * @param latencyMs  per-image latency of the classified rows
     */
    public record Report(long rowsIn, long rowsOut, long badRows, double seconds, Percentiles latencyMs) {
        /**
         * Rows per second.
         *
         * @return output rows / seconds
         */
        public double imagesPerSecond() {
            return rowsOut / seconds;
        }

        /**
         * The report as lines.
         *
         * @return a human-readable summary
         */
        public String describe() {
            return String.format(
                    Locale.ROOT,
                    "rows in %d, rows out %d, bad rows %d%n%.1f s, %.1f images/s%n" + "latency per image (ms): %s",
                    rowsIn,
                    rowsOut,
                    badRows,
                    seconds,
                    imagesPerSecond(),
                    latencyMs);
        }
    }

    /**
     * Runs the job.
     *
     * @param args see the class documentation
     */
    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        SparkSession.Builder builder = ThreadBudget.configure(
                        SparkSession.builder(), o.spec().threadsPerTask())
                .appName("onednn4j ClassifyJob");
        if (o.master() != null) {
            builder.master(o.master());
        }
        SparkSession spark = builder.getOrCreate();
        try {
            System.out.printf(Locale.ROOT, "oneDNN %s, %s; %s%n", OneDnn.version(), OneDnn.cpuIsa(), o.spec());
            System.out.println(run(spark, o).describe());
        } finally {
            spark.stop();
        }
    }

    /**
     * Reads the input, classifies it, writes the output and reads back its counts.
     *
     * @param spark the session
     * @param o     the options
     * @return what happened
     */
    public static Report run(SparkSession spark, Options o) {
        long start = System.nanoTime();
        Dataset<Row> input =
                o.parquet() ? spark.read().parquet(o.input()) : SparkInference.readImages(spark, o.input());
        Dataset<Row> out = o.parquet()
                ? SparkInference.classifyArrays(input, o.idColumn(), o.featuresColumn(), o.spec(), o.topK())
                : SparkInference.classifyImages(input, o.spec(), o.topK());
        out.write().mode(SaveMode.Overwrite).parquet(o.output());
        double seconds = (System.nanoTime() - start) / 1e9;
        long rowsIn = input.count();
        Dataset<Row> written = spark.read().parquet(o.output());
        SparkInference.Summary s = SparkInference.summarize(written);
        // Quantiles within 0.1% of rank: a pass over the output, whatever its size.
        double[] q = written.where(col("error").isNull())
                .stat()
                .approxQuantile("latency_ms", new double[] {0.5, 0.9, 0.99, 1.0}, 0.001);
        Percentiles latency = q.length == 4
                ? new Percentiles(q[0], q[1], q[2], q[3])
                : new Percentiles(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        return new Report(rowsIn, s.rows(), s.badRows(), seconds, latency);
    }
}
