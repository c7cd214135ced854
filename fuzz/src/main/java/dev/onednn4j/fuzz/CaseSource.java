package dev.onednn4j.fuzz;

import java.util.Set;

/**
 * Where a run's cases come from: {@link Generator} unless a test names another (a child JVM instantiates the class
 * by name, through its public no-argument constructor).
 */
public interface CaseSource {
    /**
     * The case at {@code index} of the run seeded with {@code seed}: the same case every time.
     *
     * @param seed   the run's seed
     * @param index  the case's index, from 0
     * @param layers the layer names the run is restricted to (see {@link Layers})
     * @return the case; generating it makes no native call
     */
    FuzzCase generate(long seed, long index, Set<String> layers);
}
