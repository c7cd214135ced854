package dev.onednn4j.onnx;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.io.SafeTensors;
import dev.onednn4j.nn.CalibrationMethod;
import dev.onednn4j.nn.CompileOptions;
import dev.onednn4j.nn.CompiledModule;
import dev.onednn4j.nn.Precision;
import dev.onednn4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every ONNX fixture compiles in {@link Precision#INT8} at batch 3 from a calibration on its batch-1 and batch-3
 * inputs (keys of values written by steps whose names carry shapes must not depend on the batch), runs its
 * convolutions and linear layers in int8, and stays close to PyTorch's float64 output: within 10% of the output's
 * scale, what 8-bit steps through these models' depths leave, with bf16 for the other steps where the CPU has it
 * (measured on AMX: 0.1% to 6.2%, vit_tiny the largest), far from the 100% a wrong step gives. Calibration is MINMAX: four images are too few values for PERCENTILE, which would clip the extremes of the
 * very input compared (10% off on vit_tiny).
 */
class OnnxInt8Test {

    @ParameterizedTest
    @ValueSource(
            strings = {
                "conv_bn_relu",
                "residual",
                "mobilenet_v2",
                "densenet_tiny",
                "concat_pool",
                "squeeze_excite",
                "mobilenet_v3_small",
                "efficientnet_tiny",
                "regnet_tiny",
                "shufflenet_tiny",
                "upsample",
                "convnext_tiny_w",
                "vit_tiny",
                "swin_tiny_w"
            })
    void compilesInInt8AndStaysClose(String name) throws Exception {
        Path dir = OnnxFixturesTest.dir();
        try (OnnxModel model = OnnxModel.load(dir.resolve(name + ".onnx"));
                SafeTensors io = SafeTensors.load(dir.resolve(name + "-io.safetensors"))) {
            Tensor one = io.tensors().get("input");
            Tensor three = io.tensors().get("input_b3");
            double[] expected = io.tensors().get("output_b3").toDoubleArray();
            try (CompiledModule q = model.compile(CompileOptions.forInput(three.shape())
                            .precision(Precision.INT8)
                            .calibrationMethod(CalibrationMethod.MINMAX)
                            .calibration(List.of(one, three)));
                    Tensor y = q.forward(three)) {
                String plan = q.toString();
                assertTrue(plan.contains("s8") || plan.contains("u8"), "no int8 step:\n" + plan);
                double err = OnnxFixturesTest.relativeError(y.toDoubleArray(), expected);
                assertTrue(err < 0.1, name + ": int8 is " + err + " of the output's scale from PyTorch's\n" + plan);
                assertTrue(err > 0, name + ": int8 gave PyTorch's exact output: nothing was quantized");
            }
        }
    }
}
