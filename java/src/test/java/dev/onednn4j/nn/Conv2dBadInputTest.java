package dev.onednn4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.onednn4j.tensor.Tensor;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every bad argument or input gets an exception that states the rule and the values, and nothing else. */
class Conv2dBadInputTest {

    /** PyTorch's words for an output that shares memory with what the operation reads. */
    static final String PYTORCH_OVERLAP = "unsupported operation: some elements of the input tensor and the written-to "
            + "tensor refer to a single memory location. Please clone() the tensor before performing the operation. (";

    private static void fails(Class<? extends Throwable> type, String message, Executable e) {
        Throwable t = assertThrows(type, e);
        assertEquals(message, t.getMessage());
    }

    private static Supplier<Conv2d> conv(int in, int out, int k) {
        return () -> Conv2d.builder(in, out, k).build();
    }

    @Test
    void wrongRank() {
        try (Conv2d conv = Conv2d.builder(3, 8, 3).build();
                Tensor x = Tensor.zeros(3, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 5]",
                    () -> conv.forward(x));
        }
        try (Conv2d conv = Conv2d.builder(3, 8, 3).build();
                Tensor x = Tensor.zeros(1, 1, 3, 5, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "Expected 3D (unbatched) or 4D (batched) input to conv2d, but "
                            + "got input of size: [1, 1, 3, 5, 5]",
                    () -> conv.forward(x));
        }
    }

    @Test
    void channelMismatch() {
        try (Conv2d conv = Conv2d.builder(3, 8, 3).build();
                Tensor x = Tensor.zeros(1, 4, 5, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "Given groups=1, weight of size [8, 3, 3, 3], expected "
                            + "input[1, 4, 5, 5] to have 3 channels, but got 4 channels instead",
                    () -> conv.forward(x));
        }
        try (Conv2d conv = Conv2d.builder(4, 8, 3).groups(2).build();
                Tensor x = Tensor.zeros(2, 5, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "Given groups=2, weight of size [8, 2, 3, 3], expected "
                            + "input[2, 5, 5] to have 4 channels, but got 2 channels instead",
                    () -> conv.forward(x));
        }
    }

    @Test
    void kernelLargerThanThePaddedInput() {
        try (Conv2d conv = Conv2d.builder(1, 1, 3).build();
                Tensor x = Tensor.zeros(1, 1, 2, 2)) {
            fails(
                    IllegalArgumentException.class,
                    "Calculated padded input size per channel: (2 x 2). Kernel size: "
                            + "(3 x 3). Kernel size can't be greater than actual input size",
                    () -> conv.forward(x));
        }
        try (Conv2d conv = Conv2d.builder(1, 1, 3).dilation(2).padding(1).build();
                Tensor x = Tensor.zeros(1, 1, 2, 9)) {
            fails(
                    IllegalArgumentException.class,
                    "Calculated padded input size per channel: (4 x 11). Kernel size: "
                            + "(5 x 5). Kernel size can't be greater than actual input size",
                    () -> conv.forward(x));
        }
    }

    @Test
    void groupsNotDividingChannels() {
        fails(
                IllegalArgumentException.class,
                "in_channels must be divisible by groups, but got inChannels=3, groups=2",
                () -> Conv2d.builder(3, 4, 3).groups(2).build());
        fails(
                IllegalArgumentException.class,
                "out_channels must be divisible by groups, but got outChannels=5, " + "groups=2",
                () -> Conv2d.builder(4, 5, 3).groups(2).build());
        fails(
                IllegalArgumentException.class,
                "groups must be a positive integer, but got groups=0",
                () -> Conv2d.builder(4, 4, 3).groups(0).build());
    }

    @Test
    void nonPositiveStrideOrDilation() {
        fails(
                IllegalArgumentException.class,
                "non-positive stride is not supported, but got stride=(0, 1)",
                () -> Conv2d.builder(1, 1, 3).stride(0, 1).build());
        fails(
                IllegalArgumentException.class,
                "dilation should be greater than zero, but got dilation=(1, -1)",
                () -> Conv2d.builder(1, 1, 3).dilation(1, -1).build());
    }

    @Test
    void negativePaddingAndBadKernelOrChannels() {
        fails(
                IllegalArgumentException.class,
                "negative padding is not supported, but got padding=(-1, -1)",
                () -> Conv2d.builder(1, 1, 3).padding(-1).build());
        fails(
                IllegalArgumentException.class,
                "kernel size should be greater than zero, but got kernel_size=(0, 3)",
                () -> Conv2d.builder(1, 1, 0, 3).build());
        fails(
                IllegalArgumentException.class,
                "in_channels and out_channels must be positive, but got inChannels=0, " + "outChannels=4",
                () -> Conv2d.builder(0, 4, 3).build());
    }

    @Test
    void sameWithStride() {
        fails(
                IllegalArgumentException.class,
                "padding='same' is not supported for strided convolutions, but got " + "stride=(2, 2)",
                () -> Conv2d.builder(1, 1, 3).padding(Padding.SAME).stride(2).build());
    }

    @Test
    void reflectPaddingTooLarge() {
        try (Conv2d conv = Conv2d.builder(1, 1, 3)
                        .padding(3)
                        .paddingMode(PaddingMode.REFLECT)
                        .build();
                Tensor x = Tensor.zeros(1, 1, 3, 8)) {
            fails(
                    IllegalArgumentException.class,
                    "Padding size should be less than the corresponding input dimension,"
                            + " but got: padding (3, 3) at dimension 2 of input [1, 1, 3, 8] (padding_mode='reflect')",
                    () -> conv.forward(x));
        }
        try (Conv2d conv = Conv2d.builder(1, 1, 3)
                        .padding(0, 3)
                        .paddingMode(PaddingMode.CIRCULAR)
                        .build();
                Tensor x = Tensor.zeros(1, 1, 8, 2)) {
            fails(
                    IllegalArgumentException.class,
                    "Padding value causes wrapping around more than once: padding 3 > "
                            + "size 2 at dimension 3 of input [1, 1, 8, 2] (padding_mode='circular')",
                    () -> conv.forward(x));
        }
        fails(
                IllegalArgumentException.class,
                "padding_mode must be one of ['zeros', 'reflect', 'replicate', "
                        + "'circular'], but got padding_mode='mirror'",
                () -> PaddingMode.of("mirror"));
    }

    @Test
    void wrongArrayLengthInCopyFrom() {
        try (Conv2d conv = Conv2d.builder(7, 17, 7).build()) {
            fails(
                    IllegalArgumentException.class,
                    "copyFrom: array of length 100 does not match the 5831 elements of "
                            + "a tensor of shape [17, 7, 7, 7]",
                    () -> conv.weight().copyFrom(new float[100]));
            fails(
                    IllegalArgumentException.class,
                    "copyFrom: array of length 16 does not match the 17 elements of a " + "tensor of shape [17]",
                    () -> conv.bias().copyFrom(new float[16]));
        }
        fails(
                IllegalArgumentException.class,
                "copyFrom: array of length 5 does not match the 6 elements of a tensor " + "of shape [2, 3]",
                () -> Tensor.of(new float[5], 2, 3));
    }

    @Test
    void closedTensorOrModule() {
        Tensor x = Tensor.zeros(1, 1, 5, 5);
        x.close();
        try (Conv2d conv = Conv2d.builder(1, 1, 3).build()) {
            fails(
                    IllegalStateException.class,
                    "Tensor(shape=[1, 1, 5, 5], dtype=float32, closed) is closed",
                    () -> conv.forward(x));
            conv.to(Backend.REFERENCE);
            fails(
                    IllegalStateException.class,
                    "Tensor(shape=[1, 1, 5, 5], dtype=float32, closed) is closed",
                    () -> conv.forward(x));
        }
        Conv2d conv = Conv2d.builder(1, 1, 3).build();
        Tensor w = conv.weight();
        conv.close();
        conv.close(); // twice: nothing
        try (Tensor y = Tensor.zeros(1, 1, 5, 5)) {
            fails(
                    IllegalStateException.class,
                    "Conv2d(1, 1, kernel_size=(3, 3), stride=(1, 1)) is closed",
                    () -> conv.forward(y));
        }
        fails(IllegalStateException.class, "Conv2d(1, 1, kernel_size=(3, 3), stride=(1, 1)) is closed", conv::weight);
        fails(
                IllegalStateException.class,
                "Tensor(shape=[1, 1, 3, 3], dtype=float32, closed) is closed",
                w::toFloatArray);
    }

    @Test
    void wrongOutputTensor() {
        try (Conv2d conv = Conv2d.builder(1, 2, 3).build();
                Tensor x = Tensor.zeros(1, 1, 5, 5);
                Tensor out = Tensor.zeros(1, 2, 5, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "out has shape [1, 2, 5, 5], but the output of Conv2d for input of "
                            + "size [1, 1, 5, 5] has shape [1, 2, 3, 3]",
                    () -> conv.forward(x, out));
        }
        try (Conv2d conv = Conv2d.builder(1, 1, 1).build();
                Tensor x = Tensor.zeros(1, 1, 5, 5)) {
            fails(
                    IllegalArgumentException.class,
                    PYTORCH_OVERLAP + "out overlaps the input, which Conv2d cannot compute in place)",
                    () -> conv.forward(x, x));
        }
    }

    @Test
    void emptySpatialInput() {
        try (Conv2d conv = Conv2d.builder(1, 1, 1).build();
                Tensor x = Tensor.zeros(1, 1, 0, 5)) {
            fails(
                    IllegalArgumentException.class,
                    "Expected input's non-batch dimensions to have positive length, but "
                            + "input has a shape of [1, 1, 0, 5]",
                    () -> conv.forward(x));
        }
    }

    @Test
    void nullArguments() {
        try (Conv2d conv = conv(1, 1, 1).get()) {
            assertThrows(NullPointerException.class, () -> conv.forward(null));
            assertThrows(
                    NullPointerException.class, () -> Conv2d.builder(1, 1, 1).paddingMode(null));
        }
    }
}
