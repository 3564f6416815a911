package io.textspark.tune;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.textspark.config.ConfigError;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The {@code tune.space} of a search: for each {@code train.*} setting (or {@code model.name},
 * {@code model.revision}: the tuner groups trials by model), the values a trial may take
 * ({@code choice}, {@code uniform}, {@code loguniform} or {@code randint}), and the trials a {@code grid}
 * or seeded {@code random} search draws from it. A trial is a map from setting to
 * value, applied as {@code key=value} overrides of the base configuration.
 */
public final class SearchSpace {
  /** Largest grid a search expands to. */
  static final int MAX_GRID = 10_000;
  private static final Set<String> KINDS = Set.of("choice", "uniform", "loguniform", "randint");
  /** Settings a trial cannot vary: the tuner owns them (workers per trial: {@code tune.workers_per_trial}). */
  private static final Set<String> FIXED = Set.of("train.output_dir", "train.resume_from", "train.workers",
      "train.min_workers", "train.fast_dev_run", "train.max_restarts", "train.collective_timeout");
  /** model.* settings that say where models come from rather than which model trains, with why. */
  private static final Map<String, String> NOT_SEARCHED = Map.of(
      "model.hub_endpoint", "says where Hub models are downloaded from",
      "model.cache_dir", "says where downloaded models are kept");

  /** One setting's range: {@code kind} with its {@code values} (two ends for uniform, loguniform, randint). */
  record Dimension(String key, String kind, List<Object> values) {}

  private final List<Dimension> dimensions;

  private SearchSpace(List<Dimension> dimensions) {
    this.dimensions = dimensions;
  }

  /** The dimensions, in their keys' order. */
  List<Dimension> dimensions() {
    return dimensions;
  }

  /**
   * Parses and checks {@code space} against {@code defaults} (the merged configuration): every key
   * a quoted {@code train.*} setting, {@code model.name} or {@code model.revision} that exists, every
   * range well-formed. Errors name the key and the fix.
   */
  public static SearchSpace parse(ConfigObject space, Config defaults) {
    List<Dimension> dims = new ArrayList<>();
    // HOCON objects keep no order, so the dimensions (and a seeded sample) follow the keys' sorted order.
    for (Map.Entry<String, ConfigValue> e : new java.util.TreeMap<>(space).entrySet()) {
      String key = e.getKey();
      String where = "tune.space.\"" + key + "\"";
      checkKey(key, where, defaults);
      if (e.getValue().valueType() != ConfigValueType.OBJECT || ((ConfigObject) e.getValue()).size() != 1) {
        throw new ConfigError(where + " must be an object with one of choice, uniform, loguniform or randint, for"
            + " example \"" + key + "\" { choice = [16, 32] }.");
      }
      Map.Entry<String, ConfigValue> range = ((ConfigObject) e.getValue()).entrySet().iterator().next();
      dims.add(dimension(key, where, range.getKey(), range.getValue()));
    }
    if (dims.isEmpty()) {
      throw new ConfigError("tune.space is empty: give at least one setting to search, for example tune.space {"
          + " \"train.lr\" { loguniform = [1e-5, 3e-4] } } in a --conf file.");
    }
    return new SearchSpace(dims);
  }

  private static void checkKey(String key, String where, Config defaults) {
    if (NOT_SEARCHED.containsKey(key)) {
      throw new ConfigError(where + ": " + key + " " + NOT_SEARCHED.get(key) + ", not which model trains: set it"
          + " once for the whole tune (" + key + "=... or in a --conf file) and search model.name instead.");
    }
    if (!key.startsWith("train.") && !key.startsWith("model.")) {
      throw new ConfigError(where + ": only train.* settings, model.name and model.revision can be searched; quote"
          + " the key (\"train.lr\"), since an unquoted train.lr nests objects.");
    }
    boolean leaf;
    try {
      leaf = defaults.hasPath(key) && defaults.getValue(key).valueType() != ConfigValueType.OBJECT;
    } catch (com.typesafe.config.ConfigException e) {
      leaf = false;
    }
    if (!leaf) {
      throw new ConfigError(where + ": " + key + " is not a setting; conf/textspark.conf lists every "
          + key.substring(0, key.indexOf('.')) + ".* key.");
    }
    if (FIXED.contains(key)) {
      throw new ConfigError(where + ": the tuner sets " + key + " itself (trial folders, resumes, workers per"
          + " trial: tune.workers_per_trial); remove it from the space.");
    }
  }

  private static Dimension dimension(String key, String where, String kind, ConfigValue value) {
    if (!KINDS.contains(kind)) {
      throw new ConfigError(where + "." + kind + " is not a kind of range: use choice, uniform, loguniform or"
          + " randint.");
    }
    if (value.valueType() != ConfigValueType.LIST) {
      throw new ConfigError(where + "." + kind + " must be a list, for example " + kind + " = [1, 2].");
    }
    List<Object> values = new ArrayList<>();
    for (Object v : (List<?>) value.unwrapped()) {
      values.add(v);
    }
    if (kind.equals("choice")) {
      if (values.isEmpty()) {
        throw new ConfigError(where + ".choice is empty: list at least one value.");
      }
      return new Dimension(key, kind, values);
    }
    if (values.size() != 2 || !(values.get(0) instanceof Number) || !(values.get(1) instanceof Number)) {
      throw new ConfigError(where + "." + kind + " = " + value.render() + ": give the two ends, [low, high].");
    }
    double lo = ((Number) values.get(0)).doubleValue();
    double hi = ((Number) values.get(1)).doubleValue();
    if (!(lo <= hi)) {
      throw new ConfigError(where + "." + kind + " = " + value.render()
          + ": the low end must not exceed the high end.");
    }
    if (kind.equals("loguniform") && lo <= 0) {
      throw new ConfigError(where + ".loguniform = " + value.render() + ": both ends must be positive; use uniform"
          + " for a range that includes 0.");
    }
    if (kind.equals("randint") && (lo != Math.rint(lo) || hi != Math.rint(hi))) {
      throw new ConfigError(where + ".randint = " + value.render() + ": the ends must be integers.");
    }
    return new Dimension(key, kind, List.of(lo, hi));
  }

  /** {@code n} trials drawn independently with a generator seeded by {@code seed}. */
  public List<Map<String, String>> random(int n, long seed) {
    Random r = new Random(seed);
    List<Map<String, String>> trials = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Map<String, String> t = new LinkedHashMap<>();
      for (Dimension d : dimensions) {
        t.put(d.key(), sample(d, r));
      }
      trials.add(t);
    }
    return trials;
  }

  /** Every combination of the values, the first key (in sorted order) varying slowest; ranges are refused. */
  public List<Map<String, String>> grid() {
    List<Map<String, String>> trials = new ArrayList<>(List.of(new LinkedHashMap<>()));
    for (Dimension d : dimensions) {
      List<String> values = gridValues(d);
      if ((long) trials.size() * values.size() > MAX_GRID) {
        throw new ConfigError("tune.space has more than " + MAX_GRID + " combinations for a grid search: use fewer"
            + " values, or tune.search=random with tune.trials.");
      }
      List<Map<String, String>> next = new ArrayList<>();
      for (Map<String, String> t : trials) {
        for (String v : values) {
          Map<String, String> m = new LinkedHashMap<>(t);
          m.put(d.key(), v);
          next.add(m);
        }
      }
      trials = next;
    }
    return trials;
  }

  private static List<String> gridValues(Dimension d) {
    List<String> out = new ArrayList<>();
    switch (d.kind()) {
      case "choice" -> d.values().forEach(v -> out.add(render(v)));
      case "randint" -> {
        for (long v = lo(d); v <= hi(d); v++) {
          out.add(Long.toString(v));
        }
      }
      default -> throw new ConfigError("tune.space.\"" + d.key() + "\"." + d.kind() + " is a continuous range, which"
          + " a grid search cannot enumerate: list the values with choice = [...], or use tune.search=random.");
    }
    return out;
  }

  private static String sample(Dimension d, Random r) {
    return switch (d.kind()) {
      case "choice" -> render(d.values().get(r.nextInt(d.values().size())));
      case "randint" -> Long.toString(lo(d) + (long) Math.floor(r.nextDouble() * (hi(d) - lo(d) + 1)));
      case "uniform" -> decimal(lo(d, 0) + r.nextDouble() * (lo(d, 1) - lo(d, 0)));
      default -> decimal(Math.exp(Math.log(lo(d, 0)) + r.nextDouble() * (Math.log(lo(d, 1)) - Math.log(lo(d, 0)))));
    };
  }

  private static long lo(Dimension d) {
    return Math.round(lo(d, 0));
  }

  private static long hi(Dimension d) {
    return Math.round(lo(d, 1));
  }

  private static double lo(Dimension d, int end) {
    return ((Number) d.values().get(end)).doubleValue();
  }

  /** A sampled number with 4 significant digits, so the table and the trial's settings read alike. */
  static String decimal(double v) {
    return new java.math.BigDecimal(String.format(Locale.ROOT, "%.4g", v)).stripTrailingZeros().toPlainString();
  }

  private static String render(Object v) {
    if (v instanceof Double || v instanceof Float) {
      return new java.math.BigDecimal(v.toString()).stripTrailingZeros().toPlainString();
    }
    return String.valueOf(v);
  }
}
