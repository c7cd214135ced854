package dev.onednn4j.fuzz;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The layers the fuzzer covers, and the names {@code --layers} takes: a family ({@code conv}, {@code batchnorm},
 * {@code activation}, {@code maxpool}, {@code avgpool}, {@code adaptiveavgpool}, {@code linear}, {@code flatten},
 * {@code onnx}: small ONNX models, whole and damaged; {@code int8}: quantized ONNX convolutions compiled in int8),
 * {@code pool} for the three poolings, or one activation by its class name ({@code relu}, {@code gelu}, ...).
 */
public final class Layers {
    private Layers() {}

    /** The families, in the order the generator weighs them. */
    public static final List<String> FAMILIES = List.of(
            "conv",
            "batchnorm",
            "activation",
            "maxpool",
            "avgpool",
            "adaptiveavgpool",
            "linear",
            "flatten",
            "onnx",
            "int8");

    /** How often each family is drawn: convolutions, whose kernels are the most varied, most. */
    static final double[] WEIGHTS = {40, 9, 13, 9, 9, 6, 9, 5, 10, 8};

    /** Every activation, by class name. */
    public static final List<String> ACTIVATIONS =
            List.of("ReLU", "ReLU6", "LeakyReLU", "SiLU", "GELU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid");

    /** Every layer class the report counts, in report order. */
    public static final List<String> CLASSES;

    static {
        List<String> c = new ArrayList<>(List.of("Conv2d", "BatchNorm2d"));
        c.addAll(ACTIVATIONS);
        c.addAll(List.of(
                "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Linear", "Flatten", "OnnxModel", "OnnxModel int8"));
        CLASSES = List.copyOf(c);
    }

    /**
     * The selection named by {@code --layers}: family names and lower-case activation names.
     *
     * @param csv comma-separated names; {@code all} or empty for every layer
     * @return the selection; empty means every layer
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Set<String> parse(String csv) {
        Set<String> out = new LinkedHashSet<>();
        for (String raw : csv.split(",", -1)) {
            String name = raw.strip().toLowerCase(Locale.ROOT).replace("2d", "").replace("_", "");
            switch (name) {
                case "", "all" -> {}
                case "conv", "convolution" -> out.add("conv");
                case "batchnorm", "bn" -> out.add("batchnorm");
                case "activation", "activations", "act" -> out.add("activation");
                case "pool", "pooling" -> out.addAll(List.of("maxpool", "avgpool", "adaptiveavgpool"));
                case "maxpool", "avgpool", "linear", "flatten", "onnx", "int8" -> out.add(name);
                case "adaptiveavgpool", "adaptive", "adaptivepool" -> out.add("adaptiveavgpool");
                default -> {
                    String act = ACTIVATIONS.stream()
                            .filter(a -> a.toLowerCase(Locale.ROOT).equals(name))
                            .findFirst()
                            .orElseThrow(() -> new IllegalArgumentException("unknown layer '" + raw.strip()
                                    + "' in --layers; known: all, conv, batchnorm, activation, pool, maxpool, avgpool, "
                                    + "adaptiveavgpool, linear, flatten, onnx, int8, or an activation: "
                                    + ACTIVATIONS));
                    out.add(act.toLowerCase(Locale.ROOT));
                }
            }
        }
        return out;
    }

    /** The families a selection draws from. */
    static List<String> families(Set<String> selection) {
        if (selection.isEmpty()) {
            return FAMILIES;
        }
        List<String> out = new ArrayList<>();
        for (String f : FAMILIES) {
            if (selection.contains(f)
                    || (f.equals("activation") && !activations(selection).equals(ACTIVATIONS))) {
                out.add(f);
            }
        }
        return out;
    }

    /** The activations a selection draws from: all of them, unless it names some. */
    static List<String> activations(Set<String> selection) {
        if (selection.contains("activation")) {
            return ACTIVATIONS;
        }
        List<String> named = ACTIVATIONS.stream()
                .filter(a -> selection.contains(a.toLowerCase(Locale.ROOT)))
                .toList();
        return named.isEmpty() ? ACTIVATIONS : named;
    }

    /** The selection as {@code --layers} would take it back, for a reproduction command; empty for all. */
    static String toArgument(Set<String> selection) {
        return String.join(",", selection);
    }
}
