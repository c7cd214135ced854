package dev.onednn4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** tasks per executor x oneDNN threads per task &le; cores, without a Spark context. */
class ThreadBudgetTest {

    @Test
    void configurationsWithinTheCoresPass() {
        ThreadBudget.check(2, 1, 1, 2); // 2 tasks x 1 thread
        ThreadBudget.check(2, 2, 2, 2); // 1 task x 2 threads
        ThreadBudget.check(8, 2, 2, 8); // 4 tasks x 2 threads
        ThreadBudget.check(4, 2, 1, 4); // 2 tasks x 1 thread: cores left idle, allowed
    }

    @Test
    void tooManyThreadsFailWithTheNumbers() {
        assertEquals(
                "4 tasks per executor (4 executor cores / spark.task.cpus=1) x 1 oneDNN threads per task = 4 threads,"
                        + " more than the machine's 2 cores: give the executor at most 2 cores",
                assertThrows(IllegalArgumentException.class, () -> ThreadBudget.check(4, 1, 1, 2))
                        .getMessage());
        assertEquals(
                "3 oneDNN threads per task but spark.task.cpus=2: Spark would run 4 tasks at once on 8 executor cores,"
                        + " 12 threads; set spark.task.cpus=3",
                assertThrows(IllegalArgumentException.class, () -> ThreadBudget.check(8, 2, 3, 8))
                        .getMessage());
        assertEquals(
                "spark.task.cpus=4 is more than the executor's 2 cores: no task could run",
                assertThrows(IllegalArgumentException.class, () -> ThreadBudget.check(2, 4, 1, 2))
                        .getMessage());
    }

    @Test
    void executorCoresFollowTheMaster() {
        assertEquals(3, ThreadBudget.executorCores(new SparkConf(false).setMaster("local[3]"), 8));
        assertEquals(8, ThreadBudget.executorCores(new SparkConf(false).setMaster("local[*]"), 8));
        assertEquals(2, ThreadBudget.executorCores(new SparkConf(false).setMaster("local[2,4]"), 8));
        assertEquals(1, ThreadBudget.executorCores(new SparkConf(false).setMaster("local"), 8));
        assertEquals(1, ThreadBudget.executorCores(new SparkConf(false).setMaster("local-cluster[2,1,1024]"), 8));
        assertEquals(8, ThreadBudget.executorCores(new SparkConf(false).setMaster("spark://host:7077"), 8));
        assertEquals(
                4,
                ThreadBudget.executorCores(
                        new SparkConf(false).setMaster("spark://host:7077").set("spark.executor.cores", "4"), 8));
    }
}
