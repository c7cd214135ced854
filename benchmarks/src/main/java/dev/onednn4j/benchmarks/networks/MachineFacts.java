package dev.onednn4j.benchmarks.networks;

import dev.onednn4j.OneDnn;

/**
 * Prints the oneDNN facts scripts/bench puts under the whole-network table: oneDNN's version and the instruction
 * set its kernels use on this machine ({@link OneDnn#cpuIsa()}), e.g.
 * {@code oneDNN 3.13.0 with ISA cpu_isa_avx512_core_bf16 (OneDnn.cpuIsa())}.
 */
public final class MachineFacts {
    private MachineFacts() {}

    public static void main(String[] args) {
        System.out.println("oneDNN " + OneDnn.version() + " with ISA " + OneDnn.cpuIsa() + " (OneDnn.cpuIsa())");
    }
}
