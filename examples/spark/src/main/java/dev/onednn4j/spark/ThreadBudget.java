package dev.onednn4j.spark;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;

/**
 * The rule that keeps Spark and oneDNN from fighting over cores: <b>tasks per executor x oneDNN threads per task
 * &le; cores</b>. Spark runs {@code executorCores / spark.task.cpus} tasks at once in an executor; each task's model
 * calls use {@link ModelSpec#threadsPerTask()} OpenMP threads. The job sets {@code spark.task.cpus} to the threads
 * per task ({@link #configure}), so Spark itself never starts more tasks than the executor has cores for; the checks
 * here fail fast, with the numbers, when a configuration breaks the rule.
 */
public final class ThreadBudget {
    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+|\\*)(?:,\\d+)?]");
    private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[\\d+,\\s*(\\d+),\\s*\\d+]");

    private ThreadBudget() {}

    /**
     * Sets {@code spark.task.cpus} to the threads per task: Spark then runs at most {@code executorCores /
     * threadsPerTask} tasks per executor.
     *
     * @param builder        the session being built
     * @param threadsPerTask oneDNN threads per task
     * @return the builder
     */
    public static SparkSession.Builder configure(SparkSession.Builder builder, int threadsPerTask) {
        return builder.config("spark.task.cpus", threadsPerTask);
    }

    /**
     * Checks the rule for a configuration.
     *
     * @param executorCores  cores an executor may use ({@code spark.executor.cores}, or N of {@code local[N]})
     * @param taskCpus       {@code spark.task.cpus}
     * @param threadsPerTask oneDNN threads per task
     * @param machineCores   the cores of the executor's machine
     * @throws IllegalArgumentException with the numbers, if tasks x threads exceeds the cores
     */
    public static void check(int executorCores, int taskCpus, int threadsPerTask, int machineCores) {
        if (threadsPerTask > taskCpus) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%d oneDNN threads per task but spark.task.cpus=%d: Spark would run %d tasks at once on %d"
                            + " executor cores, %d threads; set spark.task.cpus=%d",
                    threadsPerTask,
                    taskCpus,
                    executorCores / taskCpus,
                    executorCores,
                    executorCores / taskCpus * threadsPerTask,
                    threadsPerTask));
        }
        int tasks = executorCores / taskCpus;
        if (tasks < 1) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "spark.task.cpus=%d is more than the executor's %d cores: no task could run",
                    taskCpus,
                    executorCores));
        }
        if (tasks * threadsPerTask > machineCores) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "%d tasks per executor (%d executor cores / spark.task.cpus=%d) x %d oneDNN threads per task ="
                            + " %d threads, more than the machine's %d cores: give the executor at most %d cores",
                    tasks,
                    executorCores,
                    taskCpus,
                    threadsPerTask,
                    tasks * threadsPerTask,
                    machineCores,
                    machineCores));
        }
    }

    /**
     * The cores an executor of this configuration uses: {@code spark.executor.cores} if set, else N of
     * {@code local[N]} (all cores for {@code local[*]}, 1 for {@code local}), C of {@code local-cluster[E,C,M]},
     * else all the machine's (a standalone worker's default).
     *
     * @param conf         the application's configuration
     * @param machineCores the cores of the machine
     * @return cores per executor
     */
    public static int executorCores(SparkConf conf, int machineCores) {
        if (conf.contains("spark.executor.cores")) {
            return conf.getInt("spark.executor.cores", machineCores);
        }
        String master = conf.get("spark.master", "");
        Matcher m = LOCAL.matcher(master);
        if (m.matches()) {
            return m.group(1).equals("*") ? machineCores : Integer.parseInt(m.group(1));
        }
        if (master.equals("local")) {
            return 1;
        }
        Matcher c = LOCAL_CLUSTER.matcher(master);
        if (c.matches()) {
            return Integer.parseInt(c.group(1));
        }
        return machineCores;
    }

    /**
     * Checks the rule on the driver, before a job runs.
     *
     * @param spark the session
     * @param spec  the model
     * @throws IllegalArgumentException if the configuration breaks the rule
     */
    public static void checkDriver(SparkSession spark, ModelSpec spec) {
        SparkConf conf = spark.sparkContext().getConf();
        int cores = Runtime.getRuntime().availableProcessors();
        int taskCpus = conf.getInt("spark.task.cpus", 1);
        String master = conf.get("spark.master", "");
        // The driver's machine is the executors' only in local modes; elsewhere each executor checks its own, and
        // without spark.executor.cores the driver cannot know an executor's cores (the cluster manager decides).
        boolean local = master.startsWith("local");
        if (!local && !conf.contains("spark.executor.cores")) {
            if (spec.threadsPerTask() > taskCpus) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "%d oneDNN threads per task but spark.task.cpus=%d: Spark would run more tasks at once than"
                                + " an executor has cores for their threads; set spark.task.cpus=%d",
                        spec.threadsPerTask(),
                        taskCpus,
                        spec.threadsPerTask()));
            }
            return; // the rest is checked in each task, on the executor's machine
        }
        check(executorCores(conf, cores), taskCpus, spec.threadsPerTask(), local ? cores : Integer.MAX_VALUE);
    }

    /**
     * Checks the rule inside a task, on the executor's own machine.
     *
     * @param spec the model
     * @throws IllegalArgumentException if the configuration breaks the rule
     */
    public static void checkTask(ModelSpec spec) {
        TaskContext task = TaskContext.get();
        SparkEnv env = SparkEnv.get();
        if (task == null || env == null) {
            return; // not in Spark
        }
        int cores = Runtime.getRuntime().availableProcessors();
        check(executorCores(env.conf(), cores), task.cpus(), spec.threadsPerTask(), cores);
    }
}
