package io.textspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;

/**
 * Settings of the {@code tune} command; every default is in {@code conf/textspark.conf}.
 *
 * @param outputDir tune folder (any Hadoop file system) for {@code trials/}, the trials table,
 *     {@code best/} and {@code report.html}; default {@code runs/tune}
 * @param search {@code random} (seeded samples) or {@code grid} (every combination); default {@code random}
 * @param trials samples of a random search (a grid search has as many trials as combinations); default 9
 * @param parallelism trials training at the same time (Spark tasks); default 2
 * @param workersPerTrial data-parallel workers of each trial: 1 trains a trial in one Spark task, more in
 *     one barrier stage per segment; default 1
 * @param seed seed of the random search's sampler; default 42
 * @param space the search space: {@code "train.<key>" { choice | uniform | loguniform | randint = [...] }};
 *     default empty
 * @param gracePeriod validations every trial gets before the first ASHA decision; default 1
 * @param reductionFactor ASHA's reduction factor: about 1 in this many trials goes on at each rung; default 3
 * @param rungMetric the validation metric ASHA compares trials on at its rungs; empty (the default): the
 *     checkpoint policy's {@code train.checkpoint.monitor}, which also ranks the trials in any case
 * @param rungMode {@code max} or {@code min}: which {@code rungMetric} values are better (with an empty
 *     {@code rungMetric}, {@code train.checkpoint.mode} decides); default {@code max}
 * @param resume continue the tune found in {@code outputDir} without rerunning finished trials; default false
 * @param overwrite replace an existing tune folder instead of refusing; default false
 */
public record TuneConfig(String outputDir, String search, int trials, int parallelism, int workersPerTrial,
    long seed, ConfigObject space,
    int gracePeriod, int reductionFactor, String rungMetric, String rungMode, boolean resume, boolean overwrite) {

  /** Reads and validates the {@code tune} section; the space is checked by the tuner's search space. */
  public static TuneConfig from(Settings s, Config raw) {
    boolean resume = s.bool("resume");
    boolean overwrite = s.bool("overwrite");
    if (resume && overwrite) {
      throw new ConfigError("tune.resume and tune.overwrite are both true: choose one (resume continues the tune in"
          + " tune.output_dir, overwrite starts it afresh).");
    }
    return new TuneConfig(s.nonEmpty("output_dir"), s.oneOf("search", "random", "grid"), s.intIn("trials", 1, 10_000),
        s.intIn("parallelism", 1, 4096), s.intIn("workers_per_trial", 1, 4096),
        s.longIn("seed", 0, Long.MAX_VALUE), raw.getObject("tune.space"),
        s.intIn("grace_period", 1, 1_000_000), s.intIn("reduction_factor", 2, 1000), s.string("rung_metric"),
        s.oneOf("rung_mode", "max", "min"), resume, overwrite);
  }
}
