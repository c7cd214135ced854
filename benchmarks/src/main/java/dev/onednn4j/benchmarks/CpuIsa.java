package dev.onednn4j.benchmarks;

import dev.onednn4j.OneDnn;

/** Prints {@link OneDnn#cpuIsa()}, the instruction set oneDNN's kernels use here: every result names it. */
public final class CpuIsa {
    private CpuIsa() {}

    public static void main(String[] args) {
        System.out.println(OneDnn.cpuIsa());
    }
}
