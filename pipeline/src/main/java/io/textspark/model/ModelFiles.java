package io.textspark.model;

import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.TextSparkException;
import io.textspark.config.ModelConfig;
import io.textspark.console.Console;
import io.textspark.fs.Download;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;

/**
 * A model reference resolved the way the Hugging Face Hub resolves one: {@code org/name} is
 * downloaded file by file from {@code <endpoint>/<org>/<name>/resolve/<revision>/<file>} into a
 * local cache, once; a local folder or a Hadoop URL of a folder is read in place.
 */
public final class ModelFiles {
  private static final Pattern HUB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*");
  private static final Duration HUB_TIMEOUT = Duration.ofMinutes(2);

  private enum Kind { HUB, LOCAL, HADOOP }

  private final String reference;
  private final Kind kind;
  private final String location;
  private final ModelConfig config;
  private final Configuration hadoopConf;

  private ModelFiles(String reference, Kind kind, String location, ModelConfig config, Configuration hadoopConf) {
    this.reference = reference;
    this.kind = kind;
    this.location = location;
    this.config = config;
    this.hadoopConf = hadoopConf;
  }

  /** Resolves {@code config.name()}; nothing is downloaded until a file is asked for. */
  public static ModelFiles resolve(ModelConfig config, Configuration hadoopConf) {
    return resolve(config.name(), config, hadoopConf);
  }

  /** Resolves {@code reference} (a Hub name, folder or URL) with the Hub settings of {@code config}. */
  public static ModelFiles resolve(String reference, ModelConfig config, Configuration hadoopConf) {
    String ref = reference.trim();
    if (ref.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") && !ref.startsWith("file:")) {
      return new ModelFiles(ref, Kind.HADOOP, stripSlash(ref), config, hadoopConf);
    }
    if (ref.startsWith("file:")) {
      return new ModelFiles(ref, Kind.LOCAL, Path.of(java.net.URI.create(ref)).toString(), config, hadoopConf);
    }
    Path local = Path.of(ref);
    if (Files.isDirectory(local)) {
      return new ModelFiles(ref, Kind.LOCAL, local.toAbsolutePath().toString(), config, hadoopConf);
    }
    if (HUB_NAME.matcher(ref).matches() && !ref.startsWith(".")) {
      return new ModelFiles(ref, Kind.HUB, ref, config, hadoopConf);
    }
    throw new TextSparkException(
        "model " + reference + " is neither a folder that exists nor a Hugging Face Hub name such as"
            + " sentence-transformers/all-MiniLM-L6-v2. Set model.name (or --model) to one of those.");
  }

  /** The reference as the user gave it. */
  public String reference() {
    return reference;
  }

  /**
   * A local path to {@code file} of the model: the cached Hub download, the file in a local folder,
   * or a cached copy of a file on another Hadoop file system.
   */
  public Path local(String file) {
    switch (kind) {
      case LOCAL: {
        Path p = Path.of(location, file);
        if (!Files.isRegularFile(p)) {
          throw missing(file, p.toString(), "the folder has no such file");
        }
        return p;
      }
      case HADOOP:
        return cached(stripSlash(location) + "/" + file, cacheRoot().resolve("hadoop")
            .resolve(Download.sha256Hex(location.getBytes(java.nio.charset.StandardCharsets.UTF_8))).resolve(file), file);
      default: {
        String url = stripSlash(config.hubEndpoint()) + "/" + location + "/resolve/" + config.revision() + "/" + file;
        Path target = cacheRoot().resolve(location.replace('/', '-').replace("..", "_"))
            .resolve(config.revision()).resolve(file);
        return cached(url, target, file);
      }
    }
  }

  /** The whole content of {@code file}. */
  public byte[] read(String file) {
    Path p = local(file);
    try (InputStream in = Files.newInputStream(p)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new TextSparkException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  private Path cached(String url, Path target, String file) {
    if (Files.isRegularFile(target)) {
      return target;
    }
    try {
      Console.info("model: fetching " + url);
      Download.fetch(url, target, HUB_TIMEOUT, hadoopConf, Download.console("model: " + file), "");
      return target;
    } catch (TextSparkException e) {
      throw missing(file, url, e.getMessage());
    }
  }

  private TextSparkException missing(String file, String where, String why) {
    String fix = kind == Kind.HUB
        ? "Check model.name, and model.hub_endpoint (or $HF_ENDPOINT) when you use a mirror."
        : "A model folder needs " + CheckpointLayout.CONFIG + ", " + CheckpointLayout.TOKENIZER + " and " + CheckpointLayout.WEIGHTS + "; check model.name (or --model).";
    return new TextSparkException("model " + reference + " has no usable " + file + " (" + where + ": " + why + "). " + fix);
  }

  private Path cacheRoot() {
    if (!config.cacheDir().isBlank()) {
      return Path.of(config.cacheDir());
    }
    String env = System.getenv("TEXTSPARK_CACHE");
    if (env != null && !env.isBlank()) {
      return Path.of(env, "hub");
    }
    return Path.of(System.getProperty("user.home"), ".cache", "textspark", "hub");
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }
}
