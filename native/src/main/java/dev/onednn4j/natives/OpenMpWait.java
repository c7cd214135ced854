package dev.onednn4j.natives;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * How long GNU OpenMP's idle workers spin before they sleep, chosen by the library because libgomp reads it once,
 * from the environment, when it is loaded, and the loader decides when that happens.
 *
 * <p>libgomp's own default (no {@code OMP_WAIT_POLICY}, no {@code GOMP_SPINCOUNT}) spins 300,000 times (some
 * milliseconds, by libgomp's own estimate) after each parallel region. On an idle machine that is what makes back-to-back calls
 * fast; with more runnable threads than cores (a service's other requests, GC, neighbours) a spinning worker uses up
 * its time slice, is preempted, and the next region waits for it for a whole slice: measured on 2 cores with 3 busy
 * competitors, the seed's convolution took 12 ms at p99 against a 0.1 ms median. {@code OMP_WAIT_POLICY=passive}
 * (no spin) fixes the tail but costs a wake-up per region when idle. The library's default, {@value #DEFAULT} spins
 * (some tens of microseconds: a spin is one {@code pause}, 11.6 ns on the Xeon it was measured on), bridges the
 * regions of one call, the steps of a compiled network and back-to-back calls, and is short enough that a waiting
 * worker sleeps and is woken promptly under load: it kept the loaded p99 below ONNX Runtime's. 1,000 spins (the
 * former default, some 12 µs) let the workers of a compiled network at batch 1 fall asleep between its steps, whose
 * imbalance is longer: DenseNet-121 ran 25% slower, SqueezeNet 22% (docs/threads-and-latency.md, "Latency under
 * load").
 *
 * <p>It applies only when the process sets neither {@code OMP_WAIT_POLICY} nor {@code GOMP_SPINCOUNT} (those are
 * always obeyed; they are read from the JVM's startup environment), only on Linux, and only if no libgomp was loaded
 * into the process before oneDNN (it reads its environment once); the variable is process-wide, so a libgomp loaded
 * later, and native child processes, see it too; {@code -Donednn4j.openmp.spinCount=N} chooses another
 * count, {@code -Donednn4j.openmp.spinCount=default} leaves libgomp's own.
 */
final class OpenMpWait {

    /** The system property that overrides the spin count. */
    static final String PROPERTY = "onednn4j.openmp.spinCount";

    /** The library's spin count: measured, see the class comment. */
    static final long DEFAULT = 3000;

    private OpenMpWait() {}

    /**
     * What to set before libgomp loads, if anything.
     *
     * @return the value of {@code GOMP_SPINCOUNT} to set, or empty to leave the environment alone
     * @throws IllegalArgumentException if the property is neither {@code default} nor a non-negative integer (the
     *     loader logs it as a warning and uses {@link #DEFAULT})
     */
    static Optional<String> spinCount(Properties props, Map<String, String> env) {
        if (env.containsKey("OMP_WAIT_POLICY") || env.containsKey("GOMP_SPINCOUNT")) {
            return Optional.empty();
        }
        String p = props.getProperty(PROPERTY);
        if (p == null || p.isBlank()) {
            return Optional.of(Long.toString(DEFAULT));
        }
        if (p.strip().equals("default")) {
            return Optional.empty();
        }
        long n;
        try {
            n = Long.parseLong(p.strip());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0) {
            throw new IllegalArgumentException(
                    "-D" + PROPERTY + " must be a non-negative spin count or 'default', but got '" + p + "'");
        }
        return Optional.of(Long.toString(n));
    }

    /**
     * Sets {@code name=value} in the process environment (C's {@code setenv}, not overwriting), where native code
     * loaded later reads it. Java's {@link System#getenv()} keeps its startup copy.
     *
     * @return whether the variable now holds {@code value}
     */
    static boolean setenv(String name, String value) {
        Linker linker = Linker.nativeLinker();
        MethodHandle setenv = linker.defaultLookup()
                .find("setenv")
                .map(s -> linker.downcallHandle(
                        s,
                        FunctionDescriptor.of(
                                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT)))
                .orElse(null);
        if (setenv == null) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
            return rc == 0 && value.equals(getenv(name));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setenv(" + name + ") failed", t);
        }
    }

    /** C's {@code getenv}: the process environment as native code sees it, or null. */
    static String getenv(String name) {
        Linker linker = Linker.nativeLinker();
        MethodHandle getenv = linker.downcallHandle(
                linker.defaultLookup().find("getenv").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = (MemorySegment) getenv.invokeExact(arena.allocateFrom(name));
            return v.equals(MemorySegment.NULL)
                    ? null
                    : v.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("getenv(" + name + ") failed", t);
        }
    }
}
