package dev.onednn4j.natives;

import java.io.File;
import java.io.IOException;
import java.lang.module.FindException;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReader;
import java.lang.module.ModuleReference;
import java.net.URI;
import java.net.URL;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * The platform payload's files on the module path when no module requires the payload's module, so that the boot
 * layer did not resolve it (an application that {@code requires dev.onednn4j;} and nothing else): the jar is read in
 * place, as a module reference found on {@code jdk.module.path}, without resolving it into any layer. Its native
 * files sit in folders that are not packages, so reading them needs no access from the module.
 */
final class ModulePathPayload {
    private ModulePathPayload() {}

    /**
     * The URL of {@code resource} in one of {@code np}'s modules on the boot module path, or null if none holds it
     * (or there is no module path, or it cannot be read).
     */
    static URL find(NativePayload np, String resource) {
        String path = System.getProperty("jdk.module.path");
        if (path == null || path.isEmpty()) {
            return null;
        }
        ModuleFinder finder = ModuleFinder.of(Arrays.stream(path.split(File.pathSeparator))
                .filter(e -> !e.isEmpty())
                .map(Path::of)
                .toArray(Path[]::new));
        for (NativePayload.Artifact a : np.artifacts()) {
            Optional<ModuleReference> ref;
            try {
                ref = finder.find(np.module(a));
            } catch (FindException unreadable) {
                return null; // a broken entry on the module path: the caller reports what is missing
            }
            if (ref.isEmpty()) {
                continue;
            }
            try (ModuleReader reader = ref.get().open()) {
                Optional<URI> uri = reader.find(resource);
                if (uri.isPresent()) {
                    return uri.get().toURL();
                }
            } catch (IOException | IllegalArgumentException e) {
                return null;
            }
        }
        return null;
    }
}
