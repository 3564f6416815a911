package io.textspark.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths into {@code ../shared}, the read-only data every developer machine and CI have. */
public final class Shared {
  private Shared() {}

  /** The shared folder, from the {@code textspark.shared} system property set by the build. */
  public static Path root() {
    String prop = System.getProperty("textspark.shared");
    Path p = prop != null ? Path.of(prop) : Path.of("..", "shared");
    if (!Files.isDirectory(p)) {
      p = Path.of("..", "..", "shared");
    }
    if (!Files.isDirectory(p)) {
      throw new IllegalStateException("../shared not found (textspark.shared=" + prop + ")");
    }
    return p.toAbsolutePath().normalize();
  }

  /** The CoLA zip. */
  public static Path colaZip() {
    return root().resolve("data/cola/cola_public.zip");
  }

  /** The folder laid out like the Hugging Face Hub, to use as {@code model.hub_endpoint}. */
  public static String hubEndpoint() {
    return root().resolve("hf").toUri().toString();
  }

  /** The local folder of the mirrored MiniLM model. */
  public static Path miniLm() {
    return root().resolve("hf/sentence-transformers/all-MiniLM-L6-v2/resolve/main");
  }

  /** The reference encoder outputs. */
  public static Path referenceHidden() {
    return root().resolve("reference/all-MiniLM-L6-v2.hidden.json");
  }
}
