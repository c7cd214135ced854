package dev.onednn4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Cases are reproducible from (seed, index) alone, cover every layer with valid and invalid configurations, and the
 * layer selection restricts them. Generating makes no native call, so none of these tests loads oneDNN.
 */
class GeneratorTest {

    static final Generator G = new Generator();

    @Test
    void theSameSeedAndIndexGiveTheSameCase() {
        Generator other = new Generator();
        for (long i = 0; i < 2000; i++) {
            FuzzCase a = G.generate(42, i, Set.of());
            FuzzCase b = other.generate(42, i, Set.of());
            assertEquals(a.description(), b.description(), "case " + i);
            assertEquals(a.layer(), b.layer());
            assertEquals(a.valid(), b.valid());
        }
        // in any order: a case does not depend on the ones before it
        assertEquals(
                G.generate(42, 1234, Set.of()).description(),
                other.generate(42, 1234, Set.of()).description());
    }

    @Test
    void anotherSeedGivesOtherCases() {
        int same = 0;
        for (long i = 0; i < 500; i++) {
            if (G.generate(1, i, Set.of())
                    .description()
                    .equals(G.generate(2, i, Set.of()).description())) {
                same++;
            }
        }
        assertTrue(same < 10, same + " of 500 cases equal under two seeds");
    }

    @Test
    void caseSeedsOfNeighboursAreUnrelated() {
        Set<Long> seeds = new HashSet<>();
        for (long s = 0; s < 50; s++) {
            for (long i = 0; i < 50; i++) {
                seeds.add(Generator.caseSeed(s, i));
            }
        }
        assertEquals(2500, seeds.size());
        assertNotEquals(Generator.caseSeed(1, 2), Generator.caseSeed(2, 1));
    }

    @Test
    void everyLayerGetsValidAndInvalidCases() {
        Map<String, int[]> seen = new HashMap<>();
        for (long i = 0; i < 6000; i++) {
            FuzzCase c = G.generate(Fuzz.DEFAULT_SEED, i, Set.of());
            seen.computeIfAbsent(c.layer(), k -> new int[2])[c.valid() ? 0 : 1]++;
        }
        for (String layer : Layers.CLASSES) {
            int[] n = seen.getOrDefault(layer, new int[2]);
            assertTrue(n[0] > 0 && n[1] > 0, layer + ": " + n[0] + " valid, " + n[1] + " invalid");
        }
        assertEquals(Set.copyOf(Layers.CLASSES), seen.keySet());
    }

    static final Pattern CONV = Pattern.compile("kernel_size=\\((\\d+), (\\d+)\\), stride=\\((\\d+), (\\d+)\\), "
            + "padding=\\((\\d+), (\\d+)\\), dilation=\\((\\d+), (\\d+)\\).*bias=True.*on input \\[(?:\\d+, )?\\d+, "
            + "(\\d+), (\\d+)\\]");

    /** Whether some output position along one dimension has its whole dilated window in the zero padding. */
    static boolean paddingOnly(long size, long k, long stride, long pad, long dilation) {
        long out = (size + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        for (long o = 0; o < out; o++) {
            boolean inside = false;
            for (long i = 0; i < k; i++) {
                long at = o * stride - pad + i * dilation;
                inside |= at >= 0 && at < size;
            }
            if (!inside) {
                return true;
            }
        }
        return false;
    }

    @Test
    void convolutionsOftenHaveOutputsWhoseWindowIsAllPadding() {
        int edge = 0;
        int conv = 0;
        for (long i = 0; i < 4000; i++) {
            FuzzCase c = G.generate(Fuzz.DEFAULT_SEED, i, Set.of("conv"));
            if (!c.valid()) {
                continue;
            }
            conv++;
            Matcher m = CONV.matcher(c.description());
            if (m.find() && c.description().contains("padding_mode='zeros'")) {
                long[] v = new long[10];
                for (int j = 0; j < 10; j++) {
                    v[j] = Long.parseLong(m.group(j + 1));
                }
                if (paddingOnly(v[8], v[0], v[2], v[4], v[6]) || paddingOnly(v[9], v[1], v[3], v[5], v[7])) {
                    edge++;
                }
            }
        }
        assertTrue(conv > 2000, conv + " valid convolutions");
        assertTrue(
                edge > conv / 10,
                edge + " of " + conv + " valid convolutions (zero padding, a bias) have an "
                        + "output whose window lies in the padding");
    }

    @Test
    void theLayerSelectionRestrictsTheCases() {
        assertEquals(Set.of("Conv2d"), layersOf(Layers.parse("conv")));
        assertEquals(Set.of("ReLU", "GELU"), layersOf(Layers.parse("relu,gelu")));
        assertEquals(Set.of("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"), layersOf(Layers.parse("pool")));
        assertEquals(Set.copyOf(Layers.ACTIVATIONS), layersOf(Layers.parse("activation")));
        assertEquals(Set.of("Linear", "Flatten", "BatchNorm2d"), layersOf(Layers.parse("Linear, flatten,bn")));
        assertEquals(Set.of(), Layers.parse("all"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Layers.parse("conv,lstm"));
        assertTrue(e.getMessage().contains("'lstm'"), e.getMessage());
    }

    static Set<String> layersOf(Set<String> selection) {
        Set<String> out = new HashSet<>();
        for (long i = 0; i < 600; i++) {
            out.add(G.generate(3, i, selection).layer());
        }
        return out;
    }

    @Test
    void aReproductionCommandNamesTheSelection() {
        Supervisor.Settings s =
                Supervisor.Settings.of(5, 10, Layers.parse("conv,maxpool"), 1, java.nio.file.Path.of("x"));
        assertEquals("scripts/fuzz --seed 5 --case 3 --layers conv,maxpool", Report.reproduce(s, 3));
        assertEquals(
                List.of("conv", "maxpool"), List.copyOf(Layers.parse(Layers.toArgument(Layers.parse("conv,maxpool")))));
    }
}
