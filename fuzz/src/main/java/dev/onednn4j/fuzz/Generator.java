package dev.onednn4j.fuzz;

import java.util.List;
import java.util.Set;

/**
 * The fuzzer's cases: for each index, a layer drawn by weight ({@link Layers#WEIGHTS}), valid seven times in ten,
 * every choice from a generator seeded by {@code (seed, index)} alone, so that any case can be rerun by itself. Making
 * a case makes no native call; running it does.
 */
public final class Generator implements CaseSource {

    /** The share of valid cases. */
    static final double VALID = 0.7;

    /** A public no-argument constructor: a child JVM instantiates its source by class name. */
    public Generator() {}

    /**
     * The seed of case {@code index}'s own generator: the run's seed and the index mixed (two rounds of a 64-bit
     * finalizer), so that neighbouring indices and seeds give unrelated streams.
     *
     * @param seed  the run's seed
     * @param index the case's index
     * @return the case's seed
     */
    public static long caseSeed(long seed, long index) {
        return mix(mix(seed) ^ (index * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }

    @Override
    public FuzzCase generate(long seed, long index, Set<String> layers) {
        Gen g = new Gen(caseSeed(seed, index));
        List<String> families = Layers.families(layers);
        double[] weights = new double[families.size()];
        int[] ids = new int[families.size()];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = Layers.WEIGHTS[Layers.FAMILIES.indexOf(families.get(i))];
            ids[i] = i;
        }
        String family = families.get(g.weighted(ids, weights));
        boolean valid = g.chance(VALID);
        List<String> activations = Layers.activations(layers);
        Made m = switch (family) {
            case "conv" -> valid ? ConvCases.valid(g) : ConvCases.invalid(g);
            case "batchnorm" -> valid ? BatchNormCases.valid(g) : BatchNormCases.invalid(g);
            case "activation" ->
                valid ? ActivationCases.valid(g, activations) : ActivationCases.invalid(g, activations);
            case "maxpool" -> valid ? PoolCases.valid(g, true) : PoolCases.invalid(g, true);
            case "avgpool" -> valid ? PoolCases.valid(g, false) : PoolCases.invalid(g, false);
            case "adaptiveavgpool" -> valid ? PoolCases.validAdaptive(g) : PoolCases.invalidAdaptive(g);
            case "linear" -> valid ? LinearCases.valid(g) : LinearCases.invalid(g);
            case "flatten" -> valid ? FlattenCases.valid(g) : FlattenCases.invalid(g);
            case "onnx" -> valid ? OnnxCases.valid(g) : OnnxCases.invalid(g);
            case "int8" -> valid ? Int8Cases.valid(g) : Int8Cases.invalid(g);
            default -> throw new IllegalStateException(family);
        };
        return new FuzzCase(seed, index, m.layer(), m.valid(), m.description(), m.body());
    }
}
