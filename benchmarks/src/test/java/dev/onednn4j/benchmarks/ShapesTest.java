package dev.onednn4j.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.onednn4j.nn.Conv2d;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Param;

class ShapesTest {

    @Test
    void theSuiteParameterListsExactlyTheRowsOfShapesCsv() throws Exception {
        String[] param =
                Suite.class.getField("shape").getAnnotation(Param.class).value();
        assertEquals(Shape.suite().stream().map(Shape::name).toList(), List.of(param));
        assertEquals(10, param.length);
    }

    @Test
    void shapeArithmeticAgreesWithConv2d() {
        for (Shape s : Shape.suite()) {
            try (Conv2d conv = s.conv2d()) {
                assertArrayEquals(conv.outputShape(s.inputShape()), s.outputShape(), s.toString());
                assertArrayEquals(conv.weight().shape(), s.weightShape(), s.toString());
            }
        }
        Shape seed = Shape.named("seed-11x7x30x30-k7s3p2");
        assertArrayEquals(new long[] {11, 17, 10, 10}, seed.outputShape());
        assertEquals(2.0 * 11 * 17 * 10 * 10 * 7 * 7 * 7, seed.flops());
    }
}
