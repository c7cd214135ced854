package dev.onednn4j.fuzz;

import dev.onednn4j.internal.op.Operation;
import dev.onednn4j.nn.Conv2d;
import dev.onednn4j.nn.FuzzBridge;
import dev.onednn4j.nn.ReLU;
import dev.onednn4j.tensor.Tensor;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Set;

/**
 * Case sources for the supervisor's tests, which child JVMs load by class name (test classes are on their class
 * path). Only tests reach them: the fuzzer's own {@link Generator} never crashes on purpose.
 */
public final class TestSources {
    private TestSources() {}

    /** A case that passes, for filler. */
    static FuzzCase passing(long seed, long index) {
        return new FuzzCase(seed, index, "ReLU", true, "a passing case", trace -> Verdict.pass("fine"));
    }

    /** Kills this JVM with {@code abort()}: SIGABRT, which the JVM does not catch (no hs_err file). */
    static void abort() {
        Linker linker = Linker.nativeLinker();
        MethodHandle abort =
                linker.downcallHandle(linker.defaultLookup().find("abort").orElseThrow(), FunctionDescriptor.ofVoid());
        try {
            abort.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Kills this JVM with {@code raise(SIGSEGV)}: the JVM's crash handler writes its hs_err report and exits. */
    static void segfault() {
        Linker linker = Linker.nativeLinker();
        MethodHandle raise = linker.downcallHandle(
                linker.defaultLookup().find("raise").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        int result;
        try {
            result = (int) raise.invokeExact(11);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        throw new IllegalStateException("raise(SIGSEGV) returned " + result);
    }

    /** Cases 2 and 4 crash (abort, then SIGSEGV) after reporting a kernel; the others pass. */
    public static final class Crashing implements CaseSource {
        /** Instantiated by class name. */
        public Crashing() {}

        @Override
        public FuzzCase generate(long seed, long index, Set<String> layers) {
            if (index == 2) {
                return new FuzzCase(seed, index, "Conv2d", true, "aborts", trace -> {
                    trace.kernel("test:abort");
                    abort();
                    return Verdict.wrong("still alive");
                });
            }
            if (index == 4) {
                return new FuzzCase(seed, index, "Conv2d", true, "segfaults", trace -> {
                    trace.kernel("test:segv");
                    segfault();
                    return Verdict.wrong("still alive");
                });
            }
            return passing(seed, index);
        }
    }

    /**
     * Case 0: a deliberately wrong result (a real ReLU's oneDNN output with one element moved) judged by the
     * fuzzer's own check; 1: an invalid configuration refused with a message lacking the value expected; 2: a
     * valid case that passes; 3: a case that throws; 4: an invalid configuration accepted.
     */
    public static final class Misjudged implements CaseSource {
        /** Instantiated by class name. */
        public Misjudged() {}

        @Override
        public FuzzCase generate(long seed, long index, Set<String> layers) {
            return switch ((int) index) {
                case 0 ->
                    new FuzzCase(seed, index, "ReLU", true, "a result one element off", trace -> {
                        float[] data = {-2, -1, 0.5f, 3, 4, -5, 6, 7};
                        try (ReLU relu = new ReLU();
                                Tensor x = Tensor.of(data, 2, 4);
                                Tensor y = relu.forward(x)) {
                            Operation op = FuzzBridge.operation(relu, x);
                            float[] got = y.toFloatArray();
                            got[3] = Math.nextUp(got[3]); // one ulp off: outside ReLU's bound (correct rounding)
                            return Checks.compare("tampered", y.shape(), got, op.exact(data), op.bound(data), false);
                        }
                    });
                case 1 ->
                    new FuzzCase(
                            seed,
                            index,
                            "Conv2d",
                            false,
                            "a refusal that names -1, where 12345 is expected",
                            Refusal.body(
                                    Expected.values(12345),
                                    () -> Conv2d.builder(-1, 1, 1).build().close()));
                case 2 ->
                    new FuzzCase(
                            seed,
                            index,
                            "Conv2d",
                            false,
                            "a clear refusal",
                            Refusal.body(
                                    Expected.values(-1),
                                    () -> Conv2d.builder(-1, 1, 1).build().close()));
                case 3 ->
                    new FuzzCase(seed, index, "Linear", true, "throws", trace -> {
                        throw new IllegalStateException("the case itself fails");
                    });
                default ->
                    new FuzzCase(
                            seed,
                            index,
                            "Conv2d",
                            false,
                            "a valid configuration expected to be refused",
                            Refusal.body(
                                    Expected.values(1),
                                    () -> Conv2d.builder(1, 1, 1).build().close()));
            };
        }
    }

    /** Case 1 never ends; the others pass. */
    public static final class Sleeping implements CaseSource {
        /** Instantiated by class name. */
        public Sleeping() {}

        @Override
        public FuzzCase generate(long seed, long index, Set<String> layers) {
            if (index == 1) {
                return new FuzzCase(seed, index, "Linear", true, "sleeps", trace -> {
                    Thread.sleep(600_000);
                    return Verdict.wrong("woke up");
                });
            }
            return passing(seed, index);
        }
    }
}
