package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.tensor.DType;
import dev.onednn4j.tensor.MemoryFormat;
import dev.onednn4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The layers besides Conv2d, one behaviour at a time: PyTorch's repr, PyTorch's refusals (worded as PyTorch words
 * them, with the values, before anything native is built), training mode refused where inference differs, the
 * aliases Identity, Dropout and in-place activations return, empty batches, unbatched pooling, and BatchNorm's
 * state dict.
 */
class LayersTest {

    private static void fails(Class<? extends Throwable> type, String message, Executable e) {
        Throwable t = assertThrows(type, e);
        assertEquals(message, t.getMessage());
    }

    private static void repr(String expected, Module m) {
        try (m) {
            assertEquals(expected, m.toString());
        }
    }

    static float[] uniform(long seed, long n, double lo, double hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextDouble(lo, hi);
        }
        return a;
    }

    static long numel(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static Tensor random(long seed, MemoryFormat format, long... shape) {
        return Tensor.of(uniform(seed, numel(shape), -4, 4), format, shape);
    }

    /** A float32 tensor over read-only memory, as a zero-copy view of a memory-mapped file is. */
    static Tensor readOnly(Arena arena, long... shape) {
        MemorySegment m = arena.allocate(numel(shape) * 4, 64);
        return Tensor.wrap(m.asReadOnly(), shape);
    }

    static BatchNorm2d evalBn(int c) {
        BatchNorm2d bn = new BatchNorm2d(c);
        bn.eval();
        return bn;
    }

    static Dropout evalDropout(double p) {
        Dropout d = new Dropout(p);
        d.eval();
        return d;
    }

    // ---- (a) repr ----------------------------------------------------------------------------------

    @Test
    void poolingReprsArePyTorchs() {
        repr(
                "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)",
                MaxPool2d.builder(3).stride(2).padding(1).build());
        repr(
                "MaxPool2d(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=2, ceil_mode=True)",
                MaxPool2d.builder(3, 2)
                        .stride(2, 1)
                        .padding(1, 0)
                        .dilation(2)
                        .ceilMode(true)
                        .build());
        repr(
                "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                MaxPool2d.builder(2).build());
        repr(
                "AvgPool2d(kernel_size=3, stride=2, padding=1)",
                AvgPool2d.builder(3).stride(2).padding(1).build());
        repr(
                "AvgPool2d(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))",
                AvgPool2d.builder(3, 2).stride(2, 1).padding(1, 0).build());
        repr(
                "AvgPool2d(kernel_size=2, stride=2, padding=0)",
                AvgPool2d.builder(2)
                        .ceilMode(true)
                        .countIncludePad(false)
                        .divisorOverride(3)
                        .build());
        repr("AdaptiveAvgPool2d(output_size=(1, 1))", new AdaptiveAvgPool2d(1, 1));
        repr("AdaptiveAvgPool2d(output_size=1)", new AdaptiveAvgPool2d(1));
        repr("AdaptiveAvgPool2d(output_size=(None, 3))", new AdaptiveAvgPool2d(null, 3));
        repr("AdaptiveAvgPool2d(output_size=(2, None))", new AdaptiveAvgPool2d(2, null));
    }

    @Test
    void linearAndBatchNormReprsArePyTorchs() {
        repr("Linear(in_features=4, out_features=3, bias=True)", new Linear(4, 3));
        repr(
                "Linear(in_features=4, out_features=3, bias=False)",
                Linear.builder(4, 3).bias(false).build());
        repr("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", new BatchNorm2d(3));
        repr(
                "BatchNorm2d(3, eps=0.001, momentum=0.1, affine=False, track_running_stats=False)",
                BatchNorm2d.builder(3)
                        .eps(1e-3)
                        .affine(false)
                        .trackRunningStats(false)
                        .build());
        repr(
                "BatchNorm2d(8, eps=1e-05, momentum=0.01, affine=True, track_running_stats=True)",
                BatchNorm2d.builder(8).momentum(0.01).build());
    }

    @Test
    void activationReprsArePyTorchs() {
        repr("ReLU()", new ReLU());
        repr("ReLU(inplace=True)", new ReLU(true));
        repr("ReLU6()", new ReLU6());
        repr("ReLU6(inplace=True)", new ReLU6(true));
        repr("LeakyReLU(negative_slope=0.01)", new LeakyReLU());
        repr("LeakyReLU(negative_slope=0.1)", new LeakyReLU(0.1));
        repr("LeakyReLU(negative_slope=0.2, inplace=True)", new LeakyReLU(0.2, true));
        repr("SiLU()", new SiLU());
        repr("SiLU(inplace=True)", new SiLU(true));
        repr("GELU(approximate='none')", new GELU());
        repr("GELU(approximate='tanh')", new GELU("tanh"));
        repr("Sigmoid()", new Sigmoid());
        repr("Tanh()", new Tanh());
        repr("Hardswish()", new Hardswish());
        repr("Hardsigmoid()", new Hardsigmoid());
    }

    /** PyTorch 1.13's Hardswish and Hardsigmoid print no {@code inplace}, even when set (they have no extra_repr). */
    @Test
    void inplaceHardswishAndHardsigmoidPrintAsPyTorchDoes() {
        assertAll(() -> repr("Hardswish()", new Hardswish(true)), () -> repr("Hardsigmoid()", new Hardsigmoid(true)));
    }

    @Test
    void otherReprsArePyTorchs() {
        repr("Flatten(start_dim=1, end_dim=-1)", new Flatten());
        repr("Flatten(start_dim=0, end_dim=2)", new Flatten(0, 2));
        repr("Identity()", new Identity());
        repr("Dropout(p=0.5, inplace=False)", new Dropout());
        repr("Dropout(p=0.2, inplace=True)", new Dropout(0.2, true));
        repr("Dropout(p=0.0, inplace=False)", new Dropout(0));
    }

    // ---- (b) bad arguments -------------------------------------------------------------------------

    @Test
    void badPoolingArguments() {
        fails(
                IllegalArgumentException.class,
                "pad should be at most half of kernel size, but got pad=2 and " + "kernel_size=2",
                () -> MaxPool2d.builder(2).padding(2).build());
        fails(
                IllegalArgumentException.class,
                "pad should be at most half of kernel size, but got pad=2 and " + "kernel_size=3",
                () -> AvgPool2d.builder(5, 3).padding(1, 2).build());
        fails(
                IllegalArgumentException.class,
                "stride should not be zero",
                () -> MaxPool2d.builder(2).stride(0).build());
        fails(
                IllegalArgumentException.class,
                "stride should not be zero",
                () -> AvgPool2d.builder(2).stride(1, 0).build());
        fails(
                IllegalArgumentException.class,
                "stride should be greater than zero, but got dH: -1 dW: 1",
                () -> MaxPool2d.builder(2).stride(-1, 1).build());
        fails(
                IllegalArgumentException.class,
                "dilation should be greater than zero, but got dilationH: 0 " + "dilationW: 0",
                () -> MaxPool2d.builder(2).dilation(0).build());
        fails(
                IllegalArgumentException.class,
                "dilation should be greater than zero, but got dilationH: 1 " + "dilationW: -2",
                () -> MaxPool2d.builder(2).dilation(1, -2).build());
        fails(
                IllegalArgumentException.class,
                "kernel size should be greater than zero, but got kH: 0 kW: 3",
                () -> MaxPool2d.builder(0, 3).build());
        fails(
                IllegalArgumentException.class,
                "pad must be non-negative, but got pad: -1",
                () -> AvgPool2d.builder(3).padding(-1).build());
        fails(
                IllegalArgumentException.class,
                "divisor must be not zero",
                () -> AvgPool2d.builder(2).divisorOverride(0));
        fails(
                IllegalArgumentException.class,
                "adaptive_avg_pool2d: elements of output_size must be greater than or " + "equal to 1, but got size=0",
                () -> new AdaptiveAvgPool2d(0));
        fails(
                IllegalArgumentException.class,
                "adaptive_avg_pool2d: elements of output_size must be greater than or " + "equal to 1, but got outW=-1",
                () -> new AdaptiveAvgPool2d(2, -1));
    }

    @Test
    void badPoolingInputs() {
        try (MaxPool2d pool = MaxPool2d.builder(6).build();
                Tensor x = Tensor.zeros(1, 2, 5, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "Given input size: (2x5x5). Calculated output size: (2x0x0). " + "Output size is too small",
                    () -> pool.forward(x));
            assertEquals(0, pool.planCount(), "refused before building anything native");
        }
        try (MaxPool2d pool = MaxPool2d.builder(3).dilation(3).build();
                Tensor x = Tensor.zeros(2, 7, 6)) {
            fails(
                    IllegalArgumentException.class,
                    "Given input size: (2x7x6). Calculated output size: (2x1x0). " + "Output size is too small",
                    () -> pool.forward(x));
        }
        try (MaxPool2d pool = MaxPool2d.builder(2).build();
                Tensor x = Tensor.zeros(2, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "max_pool2d: Expected 3D or 4D (batch mode) tensor for input, but " + "got input of size: [2, 5]",
                    () -> pool.forward(x));
        }
        try (AvgPool2d pool = AvgPool2d.builder(2).build();
                Tensor x = Tensor.zeros(1, 1, 2, 5, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "avg_pool2d: Expected 3D or 4D (batch mode) tensor for input, but "
                            + "got input of size: [1, 1, 2, 5, 5]",
                    () -> pool.forward(x));
        }
        try (AvgPool2d pool = AvgPool2d.builder(2).build();
                Tensor x = Tensor.zeros(1, 2, 0, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                            + "size for input, but got:[1, 2, 0, 5]",
                    () -> pool.forward(x));
            assertEquals(0, pool.planCount());
        }
        try (AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(2);
                Tensor x = Tensor.zeros(2, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [2, 5]",
                    () -> pool.forward(x));
        }
        try (AdaptiveAvgPool2d pool = new AdaptiveAvgPool2d(2);
                Tensor x = Tensor.zeros(1, 2, 0, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "adaptive_avg_pool2d(): Expected input to have non-zero size for "
                            + "non-batch dimensions, but input has sizes [1, 2, 0, 5] with dimension 2 being empty",
                    () -> pool.forward(x));
            assertEquals(0, pool.planCount());
        }
    }

    @Test
    void badLinearArgumentsAndInputs() {
        try (Linear fc = new Linear(4, 3);
                Tensor x = Tensor.zeros(2, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3): input of "
                            + "size [2, 5], Linear(in_features=4, out_features=3)",
                    () -> fc.forward(x));
            assertEquals(0, fc.planCount());
        }
        try (Linear fc = new Linear(4, 3);
                Tensor x = Tensor.zeros(2, 3, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "mat1 and mat2 shapes cannot be multiplied (6x5 and 4x3): input of "
                            + "size [2, 3, 5], Linear(in_features=4, out_features=3)",
                    () -> fc.forward(x));
        }
        try (Linear fc = new Linear(4, 3);
                Tensor x = Tensor.zeros()) {
            fails(
                    IllegalArgumentException.class,
                    "both arguments to matmul need to be at least 1D, but they are 0D " + "and 2D",
                    () -> fc.forward(x));
        }
        fails(
                IllegalArgumentException.class,
                "in_features must be positive and out_features non-negative, but got " + "inFeatures=0, outFeatures=3",
                () -> new Linear(0, 3));
        fails(
                IllegalArgumentException.class,
                "in_features must be positive and out_features non-negative, but got " + "inFeatures=4, outFeatures=-1",
                () -> Linear.builder(4, -1).build());
    }

    @Test
    void badBatchNormArgumentsAndInputs() {
        try (BatchNorm2d bn = evalBn(3);
                Tensor x = Tensor.zeros(1, 3, 2)) {
            fails(IllegalArgumentException.class, "expected 4D input (got 3D input)", () -> bn.forward(x));
        }
        try (BatchNorm2d bn = evalBn(3);
                Tensor x = Tensor.zeros(1, 4, 2, 2)) {
            fails(
                    IllegalArgumentException.class,
                    "running_mean should contain 4 elements not 3 (BatchNorm2d(3) got " + "input of size [1, 4, 2, 2])",
                    () -> bn.forward(x));
            assertEquals(0, bn.planCount());
        }
        try (BatchNorm2d bn = BatchNorm2d.builder(3).trackRunningStats(false).build();
                Tensor x = Tensor.zeros(1, 3, 1, 1)) {
            bn.eval();
            fails(
                    IllegalArgumentException.class,
                    "Expected more than 1 value per channel when training, got input "
                            + "size [1, 3, 1, 1] (without running statistics the batch's own are used)",
                    () -> bn.forward(x));
        }
        fails(
                IllegalArgumentException.class,
                "eps must be a positive finite number, but got eps=0.0",
                () -> BatchNorm2d.builder(3).eps(0).build());
        fails(
                IllegalArgumentException.class,
                "momentum must be finite, but got momentum=NaN",
                () -> BatchNorm2d.builder(3).momentum(Double.NaN).build());
        fails(
                IllegalArgumentException.class,
                "Trying to create tensor with negative dimension -1: num_features must " + "be >= 0",
                () -> new BatchNorm2d(-1));
    }

    @Test
    void badActivationAndDropoutArguments() {
        fails(
                IllegalArgumentException.class,
                "dropout probability has to be between 0 and 1, but got 1.5",
                () -> new Dropout(1.5));
        fails(
                IllegalArgumentException.class,
                "dropout probability has to be between 0 and 1, but got -0.1",
                () -> new Dropout(-0.1, true));
        fails(
                IllegalArgumentException.class,
                "dropout probability has to be between 0 and 1, but got NaN",
                () -> new Dropout(Double.NaN));
        fails(
                IllegalArgumentException.class,
                "approximate argument must be either none or tanh, but got " + "approximate='fast'",
                () -> new GELU("fast"));
        assertThrows(NullPointerException.class, () -> new GELU(null));
        fails(
                IllegalArgumentException.class,
                "negative_slope must be finite, got Infinity",
                () -> new LeakyReLU(Double.POSITIVE_INFINITY));
    }

    /** Layers that compute in float32 refuse another dtype by name, before building a plan. */
    @Test
    void nonFloat32InputsAreRefusedNamingTheDtype() {
        List<Supplier<OperationModule>> layers = List.of(
                ReLU::new,
                () -> new ReLU(true),
                GELU::new,
                Sigmoid::new,
                () -> MaxPool2d.builder(2).build(),
                () -> AvgPool2d.builder(2).build(),
                () -> new AdaptiveAvgPool2d(1),
                () -> evalBn(2));
        for (var s : layers) {
            try (OperationModule layer = s.get();
                    Tensor x = Tensor.zeros(DType.INT64, 1, 2, 4, 4)) {
                fails(
                        IllegalArgumentException.class,
                        layer.getName() + " expects a float32 input, but got "
                                + "[1, 2, 4, 4] of dtype int64 (convert it with to(DType.FLOAT32))",
                        () -> layer.forward(x));
                try (Tensor out = Tensor.zeros(1, 2, 4, 4)) {
                    assertThrows(IllegalArgumentException.class, () -> layer.forward(x, out));
                }
                assertEquals(0, layer.planCount(), layer.toString());
                assertArrayEquals(new long[16 * 2], x.toLongArray(), "the input is untouched");
            }
        }
        try (Linear fc = new Linear(4, 3);
                Tensor x = Tensor.zeros(DType.FLOAT64, 2, 4)) {
            fails(
                    IllegalArgumentException.class,
                    "Linear expects a float32 input, but got [2, 4] of dtype float64 "
                            + "(convert it with to(DType.FLOAT32))",
                    () -> fc.forward(x));
            assertEquals(0, fc.planCount());
        }
    }

    @Test
    void badOutputTensorsAreRefused() {
        try (Arena arena = Arena.ofShared()) {
            try (MaxPool2d pool = MaxPool2d.builder(2).build();
                    Tensor x = random(1, MemoryFormat.CONTIGUOUS, 1, 2, 4, 4);
                    Tensor wrongShape = Tensor.zeros(1, 2, 4, 4);
                    Tensor wrongType = Tensor.zeros(DType.INT64, 1, 2, 2, 2);
                    Tensor ro = readOnly(arena, 1, 2, 2, 2);
                    Tensor overInput = Tensor.wrap(x.segment().asSlice(16), 1, 2, 2, 2)) {
                fails(
                        IllegalArgumentException.class,
                        "out has shape [1, 2, 4, 4], but the output of MaxPool2d for "
                                + "input of size [1, 2, 4, 4] has shape [1, 2, 2, 2]",
                        () -> pool.forward(x, wrongShape));
                fails(
                        IllegalArgumentException.class,
                        "out must be float32, got int64",
                        () -> pool.forward(x, wrongType));
                fails(
                        IllegalArgumentException.class,
                        "out is read-only (Tensor(shape=[1, 2, 2, 2], dtype=float32)); "
                                + "it cannot receive the output",
                        () -> pool.forward(x, ro));
                float[] before = x.toFloatArray();
                fails(
                        IllegalArgumentException.class,
                        Conv2dBadInputTest.PYTORCH_OVERLAP
                                + "out overlaps the input, which MaxPool2d cannot compute in place)",
                        () -> pool.forward(x, overInput));
                assertArrayEquals(before, x.toFloatArray(), "the input is untouched");
                assertEquals(0, pool.planCount());
            }
            try (ReLU relu = new ReLU();
                    Tensor base = random(2, MemoryFormat.CONTIGUOUS, 9);
                    Tensor x = Tensor.wrap(base.segment(), 2, 4);
                    Tensor shifted = Tensor.wrap(base.segment().asSlice(4), 2, 4)) {
                float[] before = x.toFloatArray();
                fails(
                        IllegalArgumentException.class,
                        Conv2dBadInputTest.PYTORCH_OVERLAP
                                + "out overlaps the input without being the same elements: ReLU runs in place only "
                                + "when out is the input itself)",
                        () -> relu.forward(x, shifted));
                assertArrayEquals(before, x.toFloatArray(), "the input is untouched");
                assertEquals(0, relu.planCount());
            }
            try (Linear fc = new Linear(4, 3);
                    Tensor x = random(3, MemoryFormat.CONTIGUOUS, 1, 4);
                    Tensor overWeight = Tensor.wrap(fc.weight().segment(), 1, 3);
                    Tensor overBias = Tensor.wrap(fc.bias().segment(), 1, 3)) {
                float[] weight = fc.weight().toFloatArray();
                fails(
                        IllegalArgumentException.class,
                        Conv2dBadInputTest.PYTORCH_OVERLAP
                                + "out overlaps the weight of this Linear, which it would overwrite)",
                        () -> fc.forward(x, overWeight));
                fails(
                        IllegalArgumentException.class,
                        Conv2dBadInputTest.PYTORCH_OVERLAP
                                + "out overlaps the bias of this Linear, which it would overwrite)",
                        () -> fc.forward(x, overBias));
                assertArrayEquals(weight, fc.weight().toFloatArray(), "the weights are untouched");
                assertEquals(0, fc.planCount());
            }
            try (BatchNorm2d bn = evalBn(3);
                    Tensor x = Tensor.zeros(1, 3, 1, 1);
                    Tensor overVar = Tensor.wrap(bn.runningVar().segment(), 1, 3, 1, 1)) {
                fails(
                        IllegalArgumentException.class,
                        Conv2dBadInputTest.PYTORCH_OVERLAP
                                + "out overlaps the running_var of this BatchNorm2d, which it would overwrite)",
                        () -> bn.forward(x, overVar));
                assertArrayEquals(new float[] {1, 1, 1}, bn.runningVar().toFloatArray());
            }
        }
    }

    /** An output over a convolution's weight or bias is refused, naming which, before anything is computed. */
    @Test
    void outOverTheWeightOrBiasOfAConvolutionIsRefusedBeforeAnyNativeCall() {
        try (Conv2d conv = Conv2d.builder(2, 8, 1).build();
                Tensor x = random(4, MemoryFormat.CONTIGUOUS, 1, 2, 1, 1);
                Tensor overWeight = Tensor.wrap(conv.weight().segment(), 1, 8, 1, 1);
                Tensor overBias = Tensor.wrap(conv.bias().segment(), 1, 8, 1, 1)) {
            float[] weight = conv.weight().toFloatArray();
            float[] bias = conv.bias().toFloatArray();
            fails(
                    IllegalArgumentException.class,
                    Conv2dBadInputTest.PYTORCH_OVERLAP
                            + "out overlaps the weight of this Conv2d, which it would overwrite)",
                    () -> conv.forward(x, overWeight));
            fails(
                    IllegalArgumentException.class,
                    Conv2dBadInputTest.PYTORCH_OVERLAP
                            + "out overlaps the bias of this Conv2d, which it would overwrite)",
                    () -> conv.forward(x, overBias));
            assertArrayEquals(weight, conv.weight().toFloatArray(), "the weights are untouched");
            assertArrayEquals(bias, conv.bias().toFloatArray(), "the bias is untouched");
            assertEquals(0, conv.planCount(), "refused before any plan was built");
        }
    }

    /** An element-wise activation given its input as out runs in place, as its inplace=True does. */
    @Test
    void anActivationGivenItsInputAsOutRunsInPlace() {
        for (MemoryFormat f : MemoryFormat.values()) {
            try (ReLU relu = new ReLU();
                    Tensor x = random(6, f, 2, 3, 4, 5)) {
                float[] expected;
                try (Tensor y = relu.forward(x)) {
                    expected = y.toFloatArray();
                }
                relu.forward(x, x);
                assertArrayEquals(expected, x.toFloatArray(), f.toString());
            }
        }
    }

    // ---- (c) modes and aliases ---------------------------------------------------------------------

    @Test
    void batchNormInTrainingModeIsRefusedPointingToEval() {
        try (BatchNorm2d bn = new BatchNorm2d(2);
                Tensor x = Tensor.zeros(1, 2, 3, 3);
                Tensor out = Tensor.zeros(1, 2, 3, 3)) {
            assertTrue(bn.isTraining(), "a new module trains, as in PyTorch");
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> bn.forward(x));
            assertTrue(e.getMessage().contains("call eval()"), e.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> bn.forward(x, out));
            assertEquals(0, bn.planCount());
            bn.eval();
            try (Tensor y = bn.forward(x)) {
                assertArrayEquals(new long[] {1, 2, 3, 3}, y.shape());
            }
            bn.train();
            assertThrows(UnsupportedOperationException.class, () -> bn.forward(x));
        }
        try (Sequential net = new Sequential(new ReLU(), new BatchNorm2d(2));
                Tensor x = Tensor.zeros(1, 2, 3, 3)) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> net.forward(x));
            assertEquals(
                    "BatchNorm2d in training mode normalizes with the batch's statistics and updates running_mean "
                            + "and running_var; onednn4j computes inference only: call eval() on the module (or on the "
                            + "network that holds it) first",
                    e.getMessage());
            net.eval();
            try (Tensor y = net.forward(x)) {
                assertEquals(18, y.numel());
            }
        }
    }

    @Test
    void dropoutInTrainingModeIsRefusedPointingToEval() {
        try (Dropout d = new Dropout(0.5);
                Tensor x = Tensor.zeros(2, 3)) {
            assertTrue(d.isTraining());
            fails(
                    UnsupportedOperationException.class,
                    "Dropout(p=0.5) in training mode zeroes random elements; "
                            + "onednn4j computes inference only: call eval() on the module (or on the network that holds it) "
                            + "first",
                    () -> d.forward(x));
        }
        try (Dropout d = new Dropout(0);
                Tensor x = Tensor.of(new float[] {1, -2, 3}, 3);
                Tensor y = d.forward(x)) {
            assertArrayEquals(new float[] {1, -2, 3}, y.toFloatArray(), "p = 0 drops nothing, even in training mode");
        }
    }

    /** Identity and Dropout in eval return a new tensor over the input's memory, as PyTorch returns the input. */
    @Test
    void identityAndEvalDropoutReturnAnAliasTheCallerCloses() {
        List<Supplier<Module>> layers = List.of(Identity::new, () -> evalDropout(0.5), () -> evalDropout(0.2));
        for (var s : layers) {
            for (MemoryFormat f : MemoryFormat.values()) {
                try (Module layer = s.get()) {
                    Tensor x = random(4, f, 2, 3, 2, 2);
                    MemorySegment memory = x.segment();
                    float[] values = x.toFloatArray();
                    Tensor y = layer.forward(x);
                    assertNotSame(x, y);
                    assertArrayEquals(x.shape(), y.shape());
                    assertEquals(f, y.memoryFormat());
                    assertArrayEquals(values, y.toFloatArray());
                    x.set(42f, 1, 2, 1, 0);
                    assertEquals(42f, y.get(1, 2, 1, 0), "the same memory: a write through the input shows");
                    y.close();
                    assertFalse(x.isClosed(), "closing the result leaves the input open");
                    assertEquals(42f, x.get(1, 2, 1, 0));
                    Tensor z = layer.forward(x);
                    x.close();
                    assertFalse(z.isClosed(), "the result keeps the memory after the input is closed");
                    assertTrue(memory.scope().isAlive());
                    assertEquals(42f, z.get(1, 2, 1, 0));
                    z.close();
                    assertFalse(memory.scope().isAlive(), "freed when the last tensor over it closes");
                }
            }
        }
    }

    @Test
    void inplaceActivationsOverwriteTheInputAndReturnAnAlias() {
        record Pair(Activation inplace, Activation copying) {}
        List<Supplier<Pair>> pairs = List.of(
                () -> new Pair(new ReLU(true), new ReLU()),
                () -> new Pair(new ReLU6(true), new ReLU6()),
                () -> new Pair(new LeakyReLU(0.2, true), new LeakyReLU(0.2)),
                () -> new Pair(new SiLU(true), new SiLU()),
                () -> new Pair(new Hardswish(true), new Hardswish()),
                () -> new Pair(new Hardsigmoid(true), new Hardsigmoid()));
        for (var s : pairs) {
            for (MemoryFormat f : MemoryFormat.values()) {
                Pair p = s.get();
                try (Activation inplace = p.inplace();
                        Activation copying = p.copying();
                        Tensor x = random(5, f, 2, 3, 4, 5)) {
                    assertTrue(inplace.inplace());
                    float[] expected;
                    try (Tensor e = copying.forward(x)) {
                        expected = e.toFloatArray();
                    }
                    MemorySegment memory = x.segment();
                    try (Tensor y = inplace.forward(x)) {
                        assertNotSame(x, y);
                        assertEquals(memory.address(), y.segment().address(), inplace + ": over the input's memory");
                        assertEquals(f, y.memoryFormat());
                        assertArrayEquals(expected, y.toFloatArray(), inplace.toString());
                    }
                    assertFalse(x.isClosed(), "closing the result leaves the input open");
                    assertArrayEquals(expected, x.toFloatArray(), inplace + " overwrote its input");
                }
            }
        }
    }

    /**
     * Writing a tensor through a layer is a write like {@code copyFrom}: it advances {@link Tensor#version()}, which
     * layers that keep a transformed copy (Conv2d's reordered weights) compare to refresh it.
     */
    @Test
    void anInPlaceActivationAndAnOutputTensorCountAsWrites() {
        try (ReLU inplace = new ReLU(true);
                ReLU relu = new ReLU();
                Tensor x = random(8, MemoryFormat.CONTIGUOUS, 2, 3);
                Tensor out = Tensor.zeros(2, 3)) {
            long v = x.version();
            inplace.forward(x).close();
            long w = out.version();
            relu.forward(x, out);
            assertAll(
                    () -> assertTrue(x.version() > v, "ReLU(inplace=True) wrote its input"),
                    () -> assertTrue(out.version() > w, "forward(x, out) wrote out"));
        }
    }

    @Test
    void inplaceActivationsRefuseAReadOnlyInput() {
        try (Arena arena = Arena.ofShared();
                ReLU relu = new ReLU(true);
                Tensor x = readOnly(arena, 2, 3)) {
            fails(
                    IllegalArgumentException.class,
                    "ReLU(inplace=True) cannot write into the read-only " + "Tensor(shape=[2, 3], dtype=float32)",
                    () -> relu.forward(x));
            assertEquals(0, relu.planCount());
            try (ReLU copying = new ReLU();
                    Tensor y = copying.forward(x)) {
                assertEquals(6, y.numel(), "a read-only input is fine where the result is new");
            }
        }
    }

    // ---- (d) empty batches --------------------------------------------------------------------------

    record EmptyCase(String name, Supplier<Module> layer, long[] in, long[] out) {}

    static List<EmptyCase> emptyCases() {
        long[] nchw = {0, 3, 5, 5};
        return List.of(
                new EmptyCase(
                        "MaxPool2d",
                        () -> MaxPool2d.builder(3).stride(2).padding(1).build(),
                        nchw,
                        new long[] {0, 3, 3, 3}),
                new EmptyCase("AvgPool2d", () -> AvgPool2d.builder(2).build(), nchw, new long[] {0, 3, 2, 2}),
                new EmptyCase(
                        "AdaptiveAvgPool2d 1x1", () -> new AdaptiveAvgPool2d(1, 1), nchw, new long[] {0, 3, 1, 1}),
                new EmptyCase(
                        "AdaptiveAvgPool2d 2x3", () -> new AdaptiveAvgPool2d(2, 3), nchw, new long[] {0, 3, 2, 3}),
                new EmptyCase("BatchNorm2d", () -> evalBn(3), nchw, nchw),
                new EmptyCase("ReLU", ReLU::new, nchw, nchw),
                new EmptyCase("ReLU inplace", () -> new ReLU(true), nchw, nchw),
                new EmptyCase("GELU", GELU::new, nchw, nchw),
                new EmptyCase("Hardswish", Hardswish::new, nchw, nchw),
                new EmptyCase("Linear", () -> new Linear(5, 7), nchw, new long[] {0, 3, 5, 7}),
                new EmptyCase("Flatten", Flatten::new, nchw, new long[] {0, 75}),
                new EmptyCase("Identity", Identity::new, nchw, nchw),
                new EmptyCase("Dropout", () -> evalDropout(0.5), nchw, nchw));
    }

    @Test
    void anEmptyBatchGivesAnEmptyOutput() {
        for (EmptyCase c : emptyCases()) {
            for (MemoryFormat f : MemoryFormat.values()) {
                try (Module layer = c.layer().get();
                        Tensor x = Tensor.zeros(f, c.in());
                        Tensor y = layer.forward(x)) {
                    assertArrayEquals(c.out(), y.shape(), c.name() + " " + f);
                    assertEquals(0, y.numel());
                    assertEquals(0, y.toFloatArray().length);
                    if (layer instanceof OperationModule op) {
                        try (Tensor out = Tensor.zeros(c.out())) {
                            op.forward(x, out);
                        }
                    }
                }
            }
        }
        try (Linear fc = new Linear(4, 3);
                Tensor x = Tensor.zeros(0, 4);
                Tensor y = fc.forward(x)) {
            assertArrayEquals(new long[] {0, 3}, y.shape());
        }
    }

    @Test
    void aClosedInputIsRefusedEvenWhenTheBatchIsEmpty() {
        for (EmptyCase c : emptyCases()) {
            try (Module layer = c.layer().get()) {
                Tensor x = Tensor.zeros(c.in());
                x.close();
                fails(
                        IllegalStateException.class,
                        "Tensor(shape=[0, 3, 5, 5], dtype=float32, closed) is closed",
                        () -> layer.forward(x).close());
                if (layer instanceof OperationModule op) {
                    try (Tensor out = Tensor.zeros(c.out())) {
                        fails(
                                IllegalStateException.class,
                                "Tensor(shape=[0, 3, 5, 5], dtype=float32, closed) is " + "closed",
                                () -> op.forward(x, out));
                    }
                    try (Tensor in = Tensor.zeros(c.in())) {
                        Tensor out = Tensor.zeros(c.out());
                        out.close();
                        assertThrows(IllegalStateException.class, () -> op.forward(in, out), c.name() + ": closed out");
                    }
                }
            }
        }
    }

    // ---- (e) unbatched pooling ------------------------------------------------------------------------

    @Test
    void unbatchedPoolingGivesAnUnbatchedOutput() {
        List<Supplier<OperationModule>> layers = List.of(
                () -> MaxPool2d.builder(3).stride(2).padding(1).build(),
                () -> AvgPool2d.builder(3).stride(2).padding(1).build(),
                () -> AvgPool2d.builder(2).ceilMode(true).build(),
                () -> new AdaptiveAvgPool2d(2, 3),
                () -> new AdaptiveAvgPool2d(1));
        long[][] expected = {{3, 4, 4}, {3, 4, 4}, {3, 4, 4}, {3, 2, 3}, {3, 1, 1}};
        for (int i = 0; i < layers.size(); i++) {
            try (OperationModule pool = layers.get(i).get();
                    Tensor x = random(6, MemoryFormat.CONTIGUOUS, 3, 7, 7);
                    Tensor batched = x.view(1, 3, 7, 7);
                    Tensor y = pool.forward(x);
                    Tensor yb = pool.forward(batched)) {
                assertArrayEquals(expected[i], y.shape(), pool.toString());
                assertArrayEquals(yb.toFloatArray(), y.toFloatArray(), pool + ": as the batch of one");
                try (Tensor out = Tensor.zeros(expected[i])) {
                    pool.forward(x, out);
                    assertArrayEquals(yb.toFloatArray(), out.toFloatArray());
                }
            }
        }
    }

    // ---- (f) state dicts ---------------------------------------------------------------------------------

    @Test
    void batchNormStateDictHasPyTorchsKeysAndTypes() {
        try (BatchNorm2d bn = new BatchNorm2d(3)) {
            Map<String, Tensor> sd = bn.stateDict();
            assertEquals(
                    List.of("weight", "bias", "running_mean", "running_var", "num_batches_tracked"),
                    List.copyOf(sd.keySet()));
            assertEquals(
                    List.of("weight", "bias"), List.copyOf(bn.namedParameters().keySet()));
            assertEquals(
                    List.of("running_mean", "running_var", "num_batches_tracked"),
                    List.copyOf(bn.namedBuffers().keySet()));
            assertArrayEquals(new float[] {1, 1, 1}, sd.get("weight").toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0}, sd.get("bias").toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0}, sd.get("running_mean").toFloatArray());
            assertArrayEquals(new float[] {1, 1, 1}, sd.get("running_var").toFloatArray());
            Tensor n = sd.get("num_batches_tracked");
            assertEquals(DType.INT64, n.dtype());
            assertArrayEquals(new long[0], n.shape());
            assertEquals(0, n.dim());
            assertEquals(1, n.numel());
            assertEquals(0L, n.getLong());
            for (String k : List.of("weight", "bias", "running_mean", "running_var")) {
                assertEquals(DType.FLOAT32, sd.get(k).dtype(), k);
                assertArrayEquals(new long[] {3}, sd.get(k).shape(), k);
            }
        }
        try (BatchNorm2d bn = BatchNorm2d.builder(3).affine(false).build()) {
            assertEquals(
                    List.of("running_mean", "running_var", "num_batches_tracked"),
                    List.copyOf(bn.stateDict().keySet()));
            assertNull(bn.weight());
            assertNull(bn.bias());
            assertEquals(List.of(), bn.parameters());
        }
        try (BatchNorm2d bn = BatchNorm2d.builder(3).trackRunningStats(false).build()) {
            assertEquals(List.of("weight", "bias"), List.copyOf(bn.stateDict().keySet()));
            assertNull(bn.runningMean());
            assertNull(bn.runningVar());
            assertEquals(Map.of(), bn.namedBuffers());
        }
        try (BatchNorm2d bn =
                BatchNorm2d.builder(3).affine(false).trackRunningStats(false).build()) {
            assertEquals(Map.of(), bn.stateDict());
        }
    }

    @Test
    void loadingAStateDictKeepsNumBatchesTrackedInt64() {
        try (BatchNorm2d bn = new BatchNorm2d(2);
                Tensor w = Tensor.of(new float[] {2, 3}, 2);
                Tensor b = Tensor.of(new float[] {-1, 1}, 2);
                Tensor mean = Tensor.of(new float[] {0.5f, -0.5f}, 2);
                Tensor var = Tensor.of(new float[] {4, 0.25f}, 2);
                Tensor n = Tensor.of(new long[] {123456789012L})) {
            assertArrayEquals(new long[0], n.shape(), "Tensor.of(long[]) with no shape is 0-d");
            Map<String, Tensor> sd = new HashMap<>(
                    Map.of("weight", w, "bias", b, "running_mean", mean, "running_var", var, "num_batches_tracked", n));
            Module.LoadResult r = bn.loadStateDict(sd, true);
            assertEquals(List.of(), r.missingKeys());
            assertEquals(List.of(), r.unexpectedKeys());
            Tensor tracked = bn.stateDict().get("num_batches_tracked");
            assertEquals(DType.INT64, tracked.dtype());
            assertEquals(123456789012L, tracked.getLong(), "exactly, beyond float's 24 bits");
            assertArrayEquals(new float[] {4, 0.25f}, bn.runningVar().toFloatArray());
            // a checkpoint that stored it as float still loads into the int64 buffer
            try (Tensor f = Tensor.of(new float[] {7.9f})) {
                sd.put("num_batches_tracked", f);
                bn.loadStateDict(sd, true);
                assertEquals(
                        DType.INT64, bn.stateDict().get("num_batches_tracked").dtype());
                assertEquals(7L, bn.stateDict().get("num_batches_tracked").getLong(), "truncated, as copy_");
            }
            // and the loaded statistics are what eval mode normalizes with: (x - mean) / sqrt(var + eps) * w + b
            bn.eval();
            List<Float> got = new ArrayList<>();
            try (Tensor x = Tensor.of(new float[] {2.5f, -0.5f}, 1, 2, 1, 1);
                    Tensor y = bn.forward(x)) {
                for (float v : y.toFloatArray()) {
                    got.add(v);
                }
            }
            assertEquals(2 * 2 / Math.sqrt(4 + 1e-5) - 1, got.get(0), 1e-5);
            assertEquals(1, got.get(1), 1e-5);
        }
    }
}
