package dev.onednn4j.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.exists;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import dev.onednn4j.nn.CompiledModule;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.TaskCompletionListener;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Batch classification as Dataset functions. Each partition's task takes its executor's model from
 * {@link ExecutorModels} (loaded once per executor JVM), batches its rows with a {@link BatchPredictor} and emits
 * one output row per input row, in the schema {@link #OUTPUT_SCHEMA}:
 *
 * <pre>
 * id STRING, classes ARRAY&lt;INT&gt;, scores ARRAY&lt;FLOAT&gt;, error STRING, latency_ms DOUBLE
 * </pre>
 *
 * <p>A row that cannot be classified (a corrupt image, an array of the wrong length) has null classes and scores
 * and says why in {@code error}; it does not fail the job, and the output has as many rows as the input.
 *
 * <pre>{@code
 * ModelSpec spec = ModelSpec.of("resnet18", 1000, "/shared/resnet18.safetensors");
 * SparkSession spark = ThreadBudget.configure(SparkSession.builder(), spec.threadsPerTask()).getOrCreate();
 * Dataset<Row> out = SparkInference.classifyImages(SparkInference.readImages(spark, "/data/images"), spec, 5);
 * out.write().parquet("/data/predictions.parquet");
 * }</pre>
 */
public final class SparkInference {
    /** The output's columns. */
    public static final StructType OUTPUT_SCHEMA = new StructType()
            .add("id", DataTypes.StringType, true)
            .add("classes", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
            .add("scores", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("error", DataTypes.StringType, true)
            .add("latency_ms", DataTypes.DoubleType, false);

    private SparkInference() {}

    /**
     * The files under a folder (recursively) as Spark's {@code binaryFile} source reads them: {@code path,
     * modificationTime, length, content}.
     *
     * @param spark  the session
     * @param folder a folder, local or on any file system Spark reads
     * @return one row per file
     */
    public static Dataset<Row> readImages(SparkSession spark, String folder) {
        return spark.read()
                .format("binaryFile")
                .option("recursiveFileLookup", "true")
                .load(folder);
    }

    /**
     * Classifies encoded images.
     *
     * @param files rows whose {@code path} column is the id and {@code content} the image's bytes (as
     *              {@link #readImages} gives)
     * @param spec  the model
     * @param topK  classes per prediction
     * @return one row per input row, in {@link #OUTPUT_SCHEMA}
     */
    public static Dataset<Row> classifyImages(Dataset<Row> files, ModelSpec spec, int topK) {
        Objects.requireNonNull(spec, "spec");
        ThreadBudget.checkDriver(files.sparkSession(), spec);
        RowDecoder<Row> decoder = Decoders.binaryFileRows(spec);
        return files.select(col("path"), col("content"))
                .mapPartitions(partition(spec, decoder, topK), Encoders.row(OUTPUT_SCHEMA));
    }

    /**
     * Classifies preprocessed float arrays: 3 x height x width floats per row, in (C, H, W) order (PyTorch's).
     * A double array is rounded to float; a null array, one with null elements or one of another length is a bad
     * row.
     *
     * @param rows     the input
     * @param idColumn the column that identifies a row (any type; written as a string)
     * @param features the array column
     * @param spec     the model
     * @param topK     classes per prediction
     * @return one row per input row, in {@link #OUTPUT_SCHEMA}
     */
    public static Dataset<Row> classifyArrays(
            Dataset<Row> rows, String idColumn, String features, ModelSpec spec, int topK) {
        Objects.requireNonNull(spec, "spec");
        ThreadBudget.checkDriver(rows.sparkSession(), spec);
        Column f = col(features).cast(DataTypes.createArrayType(DataTypes.FloatType));
        Column hasNull = exists(f, Column::isNull);
        return rows.select(
                        col(idColumn).cast(DataTypes.StringType).as("id"),
                        when(hasNull, lit(null)).otherwise(f).as("features"),
                        when(hasNull, lit(true)).otherwise(lit(false)).as("nullElements"))
                .as(Encoders.bean(FloatRow.class))
                .mapPartitions(partition(spec, Decoders.floatRows(spec), topK), Encoders.row(OUTPUT_SCHEMA));
    }

    /** A partition's work: the executor's model, a batch predictor over the rows, freed when the task ends. */
    private static <T> MapPartitionsFunction<T, Row> partition(ModelSpec spec, RowDecoder<T> decoder, int topK) {
        return rows -> {
            ThreadBudget.checkTask(spec);
            CompiledModule model = ExecutorModels.get(spec);
            BatchPredictor<T> predictor = new BatchPredictor<>(model, decoder, rows, topK);
            TaskContext task = TaskContext.get();
            if (task != null) {
                task.addTaskCompletionListener(
                        (TaskCompletionListener) t -> predictor.close()); // also when the task fails or is killed
            }
            return new Iterator<Row>() {
                @Override
                public boolean hasNext() {
                    return predictor.hasNext();
                }

                @Override
                public Row next() {
                    return toRow(predictor.next());
                }
            };
        };
    }

    /**
     * A prediction as an output row.
     *
     * @param p a prediction
     * @return the row, in {@link #OUTPUT_SCHEMA}
     */
    public static Row toRow(Prediction p) {
        return RowFactory.create(p.id(), seq(p.classes()), seq(p.scores()), p.error(), p.latencyMs());
    }

    /** An external row's array is a Scala sequence. */
    private static Object seq(List<?> list) {
        return list == null ? null : CollectionConverters.asScala(list).toSeq();
    }

    /**
     * Counts an output's rows and bad rows (one pass over it).
     *
     * @param predictions an output of this class
     * @return the counts
     */
    public static Summary summarize(Dataset<Row> predictions) {
        Row r = predictions.agg(count(lit(1)), count(col("error"))).first();
        return new Summary(r.getLong(0), r.getLong(1));
    }

    /**
     * What a job's output holds.
     *
     * @param rows    output rows (as many as input rows)
     * @param badRows rows with an error
     */
    public record Summary(long rows, long badRows) {}
}
