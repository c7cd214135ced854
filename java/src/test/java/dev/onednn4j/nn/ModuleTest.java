package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.onednn4j.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Module behaviour not tied to a particular network: sharing, containers, names. */
class ModuleTest {

    static float[] ramp(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (i % 17) / 17f - 0.5f;
        }
        return a;
    }

    @Test
    void sharedParameterAppearsOnce() {
        final class Tied extends Module {
            final Conv2d a = registerModule("a", Conv2d.builder(2, 2, 1).seed(1).build());
            final Tensor shared = registerParameter("shared", a.weight());

            @Override
            public Tensor forward(Tensor x) {
                return a.forward(x);
            }
        }
        try (Tied t = new Tied()) {
            assertEquals(List.of("shared", "a.bias"), List.copyOf(t.namedParameters().keySet()));
        }
    }

    @Test
    void sequentialChainsAndNamesByIndex() {
        try (Sequential s = new Sequential(Conv2d.builder(1, 2, 3).seed(1).build(),
                Conv2d.builder(2, 3, 1).seed(2).build());
             Tensor x = Tensor.of(ramp(25), 1, 1, 5, 5)) {
            assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias"),
                    List.copyOf(s.namedParameters().keySet()));
            try (Tensor y = s.forward(x);
                 Tensor h = s.get(0).forward(x);
                 Tensor y2 = s.get(1).forward(h)) {
                assertArrayEquals(y2.toFloatArray(), y.toFloatArray());
                assertFalse(x.isClosed(), "the input stays the caller's");
            }
        }
    }

    @Test
    void badNamesAreRefused() {
        final class Bad extends Module {
            void register(String name) {
                registerModule(name, Conv2d.builder(1, 1, 1).build());
            }

            @Override
            public Tensor forward(Tensor x) {
                return x;
            }
        }
        try (Bad b = new Bad()) {
            assertThrows(IllegalArgumentException.class, () -> b.register("a.b"));
            assertThrows(IllegalArgumentException.class, () -> b.register(""));
            b.register("a");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.register("a"));
            assertEquals("attribute 'a' already exists in Bad", e.getMessage());
        }
    }
}
