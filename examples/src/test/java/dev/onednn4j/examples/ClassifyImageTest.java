package dev.onednn4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.onednn4j.nn.BatchNorm2d;
import dev.onednn4j.vision.ResNet;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example application as its users run it: on the module path (requiring {@code dev.onednn4j} and nothing
 * internal) and on the class path, in fresh JVMs, on a ResNet-18 saved as safetensors and a PNG image; both must
 * print what the application computes in process. And the library's internals are out of a module's reach.
 */
class ClassifyImageTest {

    @TempDir
    static Path dir;

    static Path weights;
    static Path image;
    static List<ClassifyImage.Prediction> expected;

    /** The modules an application of onednn4j needs on the module path. */
    static final Set<String> RUNTIME_MODULES = Set.of(
            "dev.onednn4j.examples",
            "dev.onednn4j",
            "dev.onednn4j.bindings",
            "dev.onednn4j.natives",
            "com.google.gson",
            "dev.onednn4j.onnxproto",
            "com.google.protobuf",
            "org.bytedeco.dnnl",
            "org.bytedeco.javacpp",
            payloadModule());

    /** oneDNN's payload module for this platform, as JavaCPP names it: {@code org.bytedeco.dnnl.linux.x86_64}. */
    static String payloadModule() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macosx" : "windows";
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : "arm64";
        return "org.bytedeco.dnnl." + o + "." + a;
    }

    @BeforeAll
    static void weightsAndAnImage() throws IOException {
        weights = dir.resolve("resnet18-10.safetensors");
        try (ResNet net =
                new ResNet(ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, 10, BatchNorm2d::new, new SplittableRandom(7))) {
            net.saveSafeTensors(weights); // what PyTorch's safetensors.torch.save_model would write
        }
        image = dir.resolve("gradient.png");
        BufferedImage img = new BufferedImage(320, 260, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                img.setRGB(x, y, (x * 255 / 320) << 16 | (y * 255 / 260) << 8 | ((x ^ y) & 0xff));
            }
        }
        ImageIO.write(img, "png", image.toFile());
        expected = ClassifyImage.classify(options());
    }

    static ClassifyImage.Options options() {
        return ClassifyImage.Options.parse(
                "--weights", weights.toString(), "--image", image.toString(), "--classes", "10", "--top", "3");
    }

    static List<String> args() {
        return List.of("--weights", weights.toString(), "--image", image.toString(), "--classes", "10", "--top", "3");
    }

    /** The lines the application prints for {@link #expected}. */
    static List<String> expectedLines() {
        List<String> lines = new ArrayList<>();
        for (ClassifyImage.Prediction p : expected) {
            lines.add(String.format(
                    Locale.ROOT, "%-40s %5.1f%%  (class %d)", p.label(), 100 * p.probability(), p.index()));
        }
        return lines;
    }

    /** Runs a fresh JVM; returns what it printed on standard output (its log goes to standard error). */
    static List<String> run(List<String> command) throws IOException, InterruptedException {
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finished in time: " + out);
        assertEquals(0, p.exitValue(), String.join(" ", command) + "\n" + out + Files.readString(err));
        return out.lines().toList();
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    void runsOnTheClassPath() throws Exception {
        List<String> command = new ArrayList<>(List.of(
                java(),
                "--enable-native-access=ALL-UNNAMED",
                "-Djava.awt.headless=true",
                "-cp",
                System.getProperty("java.class.path"),
                ClassifyImage.class.getName()));
        command.addAll(args());
        List<String> out = run(command);
        assertTrue(out.get(0).startsWith("oneDNN 3."), out.toString());
        assertEquals(expectedLines(), out.subList(1, out.size()));
    }

    /**
     * An application module that {@code requires dev.onednn4j;}, run with the jars on the module path and native
     * access granted, nothing else: no {@code --add-modules} for the platform's payload, which no module requires.
     */
    @Test
    void runsOnTheModulePathWithNoOtherFlag() throws Exception {
        List<String> command = new ArrayList<>(List.of(
                java(),
                "--enable-native-access=dev.onednn4j,dev.onednn4j.bindings,dev.onednn4j.natives",
                "-Djava.awt.headless=true",
                "--module-path",
                modulePath(),
                "-m",
                "dev.onednn4j.examples/" + ClassifyImage.class.getName()));
        command.addAll(args());
        List<String> out = run(command);
        assertTrue(out.get(0).startsWith("oneDNN 3."), out.toString());
        assertEquals(expectedLines(), out.subList(1, out.size()));
    }

    /** The test class path's entries that hold the runtime modules: what a user puts on the module path. */
    static String modulePath() {
        List<String> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator, -1)) {
            Path p = Path.of(entry);
            if (!Files.exists(p)) {
                continue;
            }
            try {
                for (ModuleReference m : ModuleFinder.of(p).findAll()) {
                    if (RUNTIME_MODULES.contains(m.descriptor().name())) {
                        entries.add(entry);
                    }
                }
            } catch (RuntimeException notAModule) {
                // an entry that is not a module (a test-classes folder, say): not for the module path
            }
        }
        assertEquals(RUNTIME_MODULES.size(), entries.size(), "found every runtime module: " + entries);
        return String.join(File.pathSeparator, entries);
    }

    @Test
    void aModuleCannotReachTheLibrarysInternalsOrTheRawBindings() throws IOException {
        Path src = Files.createDirectories(dir.resolve("probe/src/probe"));
        Files.writeString(dir.resolve("probe/src/module-info.java"), "module probe { requires dev.onednn4j; }");
        Files.writeString(src.resolve("Api.java"), """
                package probe;
                public class Api { dev.onednn4j.tensor.Tensor t; dev.onednn4j.vision.ResNet r; }
                """);
        Files.writeString(src.resolve("Internal.java"), """
                package probe;
                public class Internal { dev.onednn4j.internal.memory.TensorImpl a; dev.onednn4j.bindings.dnnl_h h; }
                """);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            Iterable<? extends JavaFileObject> units = files.getJavaFileObjects(
                    dir.resolve("probe/src/module-info.java"), src.resolve("Api.java"), src.resolve("Internal.java"));
            boolean ok = javac.getTask(
                            null,
                            files,
                            diagnostics,
                            List.of(
                                    "--module-path",
                                    modulePath(),
                                    "-d",
                                    dir.resolve("probe/out").toString()),
                            null,
                            units)
                    .call();
            assertFalse(ok, "a module must not compile against dev.onednn4j.internal or the bindings");
        }
        List<String> errors = diagnostics.getDiagnostics().stream()
                .map(d -> d.getSource().getName() + ": " + d.getMessage(Locale.ROOT))
                .toList();
        assertTrue(errors.stream().noneMatch(e -> e.contains("Api.java")), "the API is reachable: " + errors);
        assertTrue(
                errors.stream().anyMatch(e -> e.contains("package dev.onednn4j.internal.memory is not visible")),
                "" + errors);
        assertTrue(
                errors.stream().anyMatch(e -> e.contains("package dev.onednn4j.bindings is not visible")), "" + errors);
    }
}
