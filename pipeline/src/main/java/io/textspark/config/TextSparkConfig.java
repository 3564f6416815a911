package io.textspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.io.Serializable;
import java.util.List;

/**
 * The whole validated configuration of one command. Building it checks every section, so a bad
 * value anywhere fails before any Spark work starts.
 */
public final class TextSparkConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  private final transient Config raw;
  private final String rendered;
  private final DataConfig data;
  private final ModelConfig model;
  private final TokenizeConfig tokenize;
  private final TrainConfig train;
  private final EvaluateConfig evaluate;

  private TextSparkConfig(Config raw) {
    this.raw = raw;
    this.rendered = raw.root().render(ConfigRenderOptions.concise().setFormatted(true));
    this.data = DataConfig.from(new Settings(raw, "data"));
    this.model = ModelConfig.from(new Settings(raw, "model"));
    this.tokenize = TokenizeConfig.from(new Settings(raw, "tokenize"));
    this.train = TrainConfig.from(new Settings(raw, "train"), raw);
    this.evaluate = EvaluateConfig.from(new Settings(raw, "evaluate"));
  }

  /** Loads defaults, {@code --conf} files and {@code key=value} overrides, and validates them. */
  public static TextSparkConfig load(List<String> files, List<String> overrides) {
    return new TextSparkConfig(ConfigLoader.load(files, overrides));
  }

  /** The defaults with {@code key=value} overrides: the usual way tests build a configuration. */
  public static TextSparkConfig withOverrides(String... overrides) {
    return load(List.of(), List.of(overrides));
  }

  /** This configuration with {@code key=value} overrides on top, validated again (for commands that run others). */
  public TextSparkConfig overriding(String... overrides) {
    Config merged = raw;
    for (String o : overrides) {
      int eq = o.indexOf('=');
      merged = ConfigFactory.empty().withValue(o.substring(0, eq).trim(),
          ConfigValueFactory.fromAnyRef(o.substring(eq + 1))).withFallback(merged);
    }
    return new TextSparkConfig(merged);
  }

  /** The merged HOCON tree (null after deserialisation on an executor). */
  public Config raw() {
    return raw;
  }

  /** The resolved configuration as JSON, for provenance in outputs and checkpoints. */
  public String renderedJson() {
    return rendered;
  }

  /** The {@code data} section. */
  public DataConfig data() {
    return data;
  }

  /** The {@code model} section. */
  public ModelConfig model() {
    return model;
  }

  /** The {@code train} section. */
  public TrainConfig train() {
    return train;
  }

  /** The {@code evaluate} section. */
  public EvaluateConfig evaluate() {
    return evaluate;
  }

  /** The {@code tokenize} section. */
  public TokenizeConfig tokenize() {
    return tokenize;
  }
}
