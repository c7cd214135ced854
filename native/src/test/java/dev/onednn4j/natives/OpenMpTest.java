package dev.onednn4j.natives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/** The thread count of the OpenMP runtime oneDNN runs on: per calling thread. */
class OpenMpTest {

    @Test
    void setThenReadOnTheCallingThreadOnly() throws Exception {
        int fresh = onANewThread(OpenMp::maxThreads);
        assertTrue(fresh >= 1, "the process default: " + fresh);
        int mine = OpenMp.maxThreads();
        try {
            OpenMp.setNumThreads(1);
            assertEquals(1, OpenMp.maxThreads());
            OpenMp.setNumThreads(2);
            assertEquals(2, OpenMp.maxThreads());
            OpenMp.setNumThreads(fresh + 3);
            assertEquals(fresh + 3, OpenMp.maxThreads());
            assertEquals(fresh, onANewThread(OpenMp::maxThreads), "another thread keeps the process default");
            assertEquals(1, onANewThread(() -> {
                OpenMp.setNumThreads(1);
                return OpenMp.maxThreads();
            }));
            assertEquals(fresh + 3, OpenMp.maxThreads(), "another thread's setting leaves this one alone");
        } finally {
            OpenMp.setNumThreads(mine);
        }
    }

    @Test
    void aCountBelowOneIsRefusedNamingIt() {
        int before = OpenMp.maxThreads();
        for (int bad : new int[] {0, -1, Integer.MIN_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OpenMp.setNumThreads(bad));
            assertTrue(e.getMessage().endsWith("got " + bad), e.getMessage());
        }
        assertEquals(before, OpenMp.maxThreads(), "unchanged");
    }

    /**
     * The runtime found by path exports what OpenMp calls. (That it is the copy libdnnl is bound to is checked in fresh
     * JVMs, by LoadProbe: this JVM loads several copies from the other tests' cache folders.)
     */
    @Test
    void theRuntimeFoundByPathExportsTheOpenMpFunctions() {
        DnnlLibrary.LoadedLibrary lib = DnnlLibrary.load();
        assertEquals(DnnlVersion.RUNTIME_OPENMP, lib.version().cpuRuntime());
        var runtime = NativeLoader.openMpRuntime(lib, Platform.current());
        assertTrue(runtime.find("omp_set_num_threads").isPresent());
        assertTrue(runtime.find("omp_get_max_threads").isPresent());
        assertTrue(lib.lookup().find("dnnl_version").isPresent());
    }

    /** An override has no extracted runtime: it is found by the platform's runtime file name, if it runs on OpenMP. */
    @Test
    void anOverridesRuntimeIsFoundByFileName() {
        DnnlLibrary.LoadedLibrary bundled = DnnlLibrary.load();
        DnnlLibrary.LoadedLibrary override = new DnnlLibrary.LoadedLibrary(
                bundled.path(), DnnlLibrary.Source.OVERRIDE, bundled.version(), bundled.lookup(), null, null);
        assertTrue(NativeLoader.openMpRuntime(override, Platform.current())
                .find("omp_set_num_threads")
                .isPresent());
        assertTrue(
                NativeLoader.openMpRuntime(override, Platform.of("Linux", "ppc64le"))
                        .find("omp_set_num_threads")
                        .isEmpty(),
                "no runtime name is known there: only libdnnl's own dependencies can answer");

        DnnlVersion tbb = new DnnlVersion(3, 13, 0, "", 4);
        DnnlLibrary.LoadedLibrary onTbb = new DnnlLibrary.LoadedLibrary(
                bundled.path(), DnnlLibrary.Source.OVERRIDE, tbb, bundled.lookup(), null, null);
        UnsupportedOperationException e = assertThrows(
                UnsupportedOperationException.class, () -> NativeLoader.openMpRuntime(onTbb, Platform.current()));
        assertTrue(e.getMessage().contains("does not run on OpenMP"), e.getMessage());
    }

    private static int onANewThread(IntSupplier body) throws InterruptedException, ExecutionException {
        FutureTask<Integer> task = new FutureTask<>(body::getAsInt);
        Thread t = new Thread(task, "openmp-test");
        t.start();
        t.join();
        return task.get();
    }
}
