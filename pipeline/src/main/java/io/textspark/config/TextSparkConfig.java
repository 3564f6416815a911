package io.textspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
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
  private final ScoreConfig score;
  private final PredictConfig predict;
  private final ServeConfig serve;
  private final ExportConfig export;
  private final BenchConfig bench;
  private final HadoopConfig hadoop;
  private final DemoConfig demo;
  private final TrackingConfig tracking;
  private final TuneConfig tune;

  private TextSparkConfig(Config raw) {
    this.raw = raw;
    this.rendered = raw.root().render(ConfigRenderOptions.concise().setFormatted(true));
    this.data = DataConfig.from(new Settings(raw, "data"));
    this.model = ModelConfig.from(new Settings(raw, "model"));
    this.tokenize = TokenizeConfig.from(new Settings(raw, "tokenize"));
    this.train = TrainConfig.from(new Settings(raw, "train"), raw);
    this.evaluate = EvaluateConfig.from(new Settings(raw, "evaluate"));
    this.score = ScoreConfig.from(new Settings(raw, "score"));
    this.predict = PredictConfig.from(new Settings(raw, "predict"));
    this.serve = ServeConfig.from(new Settings(raw, "serve"));
    this.export = ExportConfig.from(new Settings(raw, "export"));
    this.bench = BenchConfig.from(new Settings(raw, "bench"));
    this.hadoop = HadoopConfig.from(raw);
    this.demo = DemoConfig.from(new Settings(raw, "demo"));
    this.tracking = TrackingConfig.from(new Settings(raw, "tracking.mlflow"));
    this.tune = TuneConfig.from(new Settings(raw, "tune"), raw);
  }

  /** Loads defaults, {@code --conf} files and {@code key=value} overrides, and validates them. */
  public static TextSparkConfig load(List<String> files, List<String> overrides) {
    return new TextSparkConfig(ConfigLoader.load(files, overrides));
  }

  /** The defaults with {@code key=value} overrides: the usual way tests build a configuration. */
  public static TextSparkConfig withOverrides(String... overrides) {
    return load(List.of(), List.of(overrides));
  }

  /** This configuration with {@code key=value} overrides on top (validated like the command line's). */
  public TextSparkConfig with(List<String> overrides) {
    if (raw == null) {
      throw new IllegalStateException("overrides need the HOCON tree, which is not kept after serialisation");
    }
    return new TextSparkConfig(ConfigLoader.overlay(raw, overrides));
  }

  /** The {@code bench} section. */
  public BenchConfig bench() {
    return bench;
  }

  /** This configuration with {@code key=value} overrides on top, validated again (for commands that run others). */
  public TextSparkConfig overriding(String... overrides) {
    return with(List.of(overrides));
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

  /** The {@code score} section. */
  public ScoreConfig score() {
    return score;
  }

  /** The {@code predict} section. */
  public PredictConfig predict() {
    return predict;
  }

  /** The {@code serve} section. */
  public ServeConfig serve() {
    return serve;
  }

  /** The {@code export} section. */
  public ExportConfig export() {
    return export;
  }

  /** The {@code hadoop} section: settings for the file systems the commands use. */
  public HadoopConfig hadoop() {
    return hadoop;
  }

  /** The {@code demo} section. */
  public DemoConfig demo() {
    return demo;
  }

  /** The {@code tune} section. */
  public TuneConfig tune() {
    return tune;
  }

  /** The {@code tokenize} section. */
  public TokenizeConfig tokenize() {
    return tokenize;
  }

  /** The {@code tracking.mlflow} section: where runs are logged as MLflow runs, if anywhere. */
  public TrackingConfig tracking() {
    return tracking;
  }
}
