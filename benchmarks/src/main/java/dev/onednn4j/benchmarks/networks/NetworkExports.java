package dev.onednn4j.benchmarks.networks;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The whole networks {@code scripts/make-torch-fixtures --export DIR} writes for {@link Network}'s benchmarks: per
 * model an ONNX file, a frozen TorchScript file and {@code <model>-io.safetensors} (input and PyTorch's logits),
 * listed with their sizes and SHA-256 in {@code manifest.json}. They are generated, never committed (ResNet-50's
 * alone are about 200 MB): when a model's files are missing, {@link #ensure} runs the script, which needs Debian's
 * {@code python3-torch} and {@code python3-torchvision}.
 *
 * <p>The folder is {@code -Dbench.exports}, else {@code benchmarks/target/networks} of the checkout these classes
 * were built in ({@code -Dbench.root} names the checkout otherwise); the interpreter is {@code -Dbench.python}, else
 * {@code /usr/bin/python3} (Debian's, which sees Debian's PyTorch).
 */
public final class NetworkExports {

    /**
     * The layout of the files this class reads: the script's {@code EXPORT["version"]}, which the manifest records.
     * A manifest of another version is stale: the script is run, and rewrites it.
     */
    static final String VERSION = "netbench-export-v1";

    private final Path dir;

    NetworkExports(Path dir) {
        this.dir = dir;
    }

    /** The exports of this checkout, or of {@code -Dbench.exports}. */
    public static NetworkExports standard() {
        String configured = System.getProperty("bench.exports");
        return new NetworkExports(
                configured != null
                        ? Path.of(configured)
                        : root().resolve("benchmarks").resolve("target").resolve("networks"));
    }

    public Path dir() {
        return dir;
    }

    public Path onnx(String model) {
        return dir.resolve(model + ".onnx");
    }

    public Path torchScript(String model) {
        return dir.resolve(model + ".torchscript.pt");
    }

    public Path io(String model) {
        return dir.resolve(model + "-io.safetensors");
    }

    private List<Path> files(String model) {
        return List.of(onnx(model), torchScript(model), io(model));
    }

    /**
     * Why {@code model}'s files cannot be used as they are: each problem in a sentence, or none. Checks that the
     * manifest exists, has this class's {@link #VERSION} and lists the model's files, and that each exists with the
     * recorded size (the script checks the SHA-256 too, before it skips a model).
     */
    List<String> problems(String model) {
        Path manifestFile = dir.resolve("manifest.json");
        if (!Files.isRegularFile(manifestFile)) {
            return List.of("no " + manifestFile);
        }
        JsonObject manifest;
        try {
            manifest = JsonParser.parseString(Files.readString(manifestFile, StandardCharsets.UTF_8))
                    .getAsJsonObject();
        } catch (IOException | JsonParseException | IllegalStateException e) {
            return List.of(manifestFile + " is unreadable: " + e.getMessage());
        }
        JsonElement version = manifest.get("version");
        if (version == null
                || !version.isJsonPrimitive()
                || !version.getAsString().equals(VERSION)) {
            return List.of(manifestFile + " is of version " + version + ", not \"" + VERSION + "\"");
        }
        JsonObject models = manifest.getAsJsonObject("models");
        JsonObject entry = models == null ? null : models.getAsJsonObject(model);
        if (entry == null || entry.getAsJsonObject("files") == null) {
            return List.of(manifestFile + " lists no " + model);
        }
        JsonObject recorded = entry.getAsJsonObject("files");
        List<String> problems = new ArrayList<>();
        for (Path file : files(model)) {
            String name = file.getFileName().toString();
            JsonObject r = recorded.getAsJsonObject(name);
            if (r == null) {
                problems.add(manifestFile + " lists no " + name);
            } else if (!Files.isRegularFile(file)) {
                problems.add("no " + file);
            } else {
                try {
                    long size = Files.size(file);
                    if (size != r.get("bytes").getAsLong()) {
                        problems.add(file + " has " + size + " bytes, the manifest says " + r.get("bytes"));
                    }
                } catch (IOException e) {
                    problems.add(file + ": " + e.getMessage());
                }
            }
        }
        return problems;
    }

    /**
     * Makes sure {@code model}'s files are there, running {@code make-torch-fixtures --export} when they are not.
     *
     * @throws IllegalStateException saying what to install when PyTorch is missing, or what went wrong
     */
    public void ensure(String model) {
        List<String> before = problems(model);
        if (before.isEmpty()) {
            return;
        }
        Path script = root().resolve("scripts").resolve("make-torch-fixtures");
        String python = System.getProperty("bench.python", "/usr/bin/python3");
        String command = python + " " + script + " --export " + dir + " --model " + model;
        System.err.println("exporting " + model + " (" + String.join("; ", before) + "): " + command);
        if (!Files.isExecutable(Path.of(python)) || run(List.of(python, "-c", "import torch, torchvision")) != 0) {
            throw new IllegalStateException("The whole-network benchmarks need " + model + "'s exported files in "
                    + dir + " (" + String.join("; ", before) + "), and " + python + " cannot import PyTorch and "
                    + "torchvision to write them. Install Debian's: apt-get install python3-torch "
                    + "python3-torchvision; or write them on a machine that has them with " + command
                    + " and copy them there (or point -Dbench.exports at them).");
        }
        int status = run(List.of(python, script.toString(), "--export", dir.toString(), "--model", model));
        List<String> after = problems(model);
        if (status != 0 || !after.isEmpty()) {
            throw new IllegalStateException(command + " exited with status " + status
                    + (after.isEmpty() ? "" : ", and still: " + String.join("; ", after)));
        }
    }

    /** Runs a command, its output going to this process's standard error; returns its exit status. */
    private static int run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command)
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            if (!p.waitFor(30, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        }
    }

    /**
     * The checkout: {@code -Dbench.root}, else the first folder above these classes (benchmarks/target/classes or a
     * jar in benchmarks/target) that holds {@code scripts/make-torch-fixtures}.
     */
    static Path root() {
        String configured = System.getProperty("bench.root");
        if (configured != null) {
            return Path.of(configured);
        }
        try {
            Path p = Path.of(NetworkExports.class
                            .getProtectionDomain()
                            .getCodeSource()
                            .getLocation()
                            .toURI())
                    .toAbsolutePath();
            for (; p != null; p = p.getParent()) {
                if (Files.isRegularFile(p.resolve("scripts").resolve("make-torch-fixtures"))) {
                    return p;
                }
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through to the message below
        }
        throw new IllegalStateException("cannot tell which checkout the benchmarks belong to: set -Dbench.root (the "
                + "folder holding scripts/make-torch-fixtures) or -Dbench.exports (the exported networks)");
    }
}
