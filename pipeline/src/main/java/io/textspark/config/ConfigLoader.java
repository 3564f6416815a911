package io.textspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.io.File;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Builds the effective configuration: the defaults in {@code conf/textspark.conf} (bundled in the
 * jar), then each {@code --conf} file in order, then {@code key=value} overrides. Environment
 * variables fill the keys the defaults file marks ({@code ${?COLA_URL}}, {@code ${?HF_ENDPOINT}}).
 * Any key the defaults do not define is rejected before any work starts, except below
 * {@code hadoop}, whose keys are Hadoop's (see {@link HadoopConfig}).
 */
public final class ConfigLoader {
  /** Classpath location of the defaults, copied there from {@code conf/textspark.conf}. */
  public static final String DEFAULTS_RESOURCE = "io/textspark/config/textspark.conf";

  private static final String HADOOP_PREFIX = HadoopConfig.SECTION + ".";
  private static final String SPACE_PREFIX = "tune.space.";

  private ConfigLoader() {}

  /** The defaults alone, resolved against the environment. */
  public static Config defaults() {
    return rawDefaults().resolve();
  }

  /**
   * The comment written above {@code key} in {@code conf/textspark.conf}, or "" if none. Read from
   * the defaults resolved without the environment, so a key overridden by an environment variable
   * (such as {@code data.url} by {@code COLA_URL}) still shows its documentation.
   */
  public static String comment(String key) {
    // A default such as train.min_workers = ${train.workers} resolves to the referenced value and
    // takes its origin, comments included, so the key's own line is looked up unresolved first.
    Map<String, ConfigValue> unresolved = new LinkedHashMap<>();
    leaves(rawDefaults().root(), "", unresolved);
    ConfigValue own = unresolved.get(key);
    if (own != null && !own.origin().comments().isEmpty()) {
      return String.join(" ", own.origin().comments()).trim();
    }
    Config documented = rawDefaults().resolve(ConfigResolveOptions.noSystem().setAllowUnresolved(true));
    if (!documented.hasPathOrNull(key)) {
      return "";
    }
    return String.join(" ", documented.getValue(key).origin().comments()).trim();
  }

  /**
   * Loads defaults, then {@code files} (HOCON, first to last), then {@code overrides}
   * ({@code key=value}, last wins), and validates every key against the defaults.
   */
  public static Config load(List<String> files, List<String> overrides) {
    Config defaults = rawDefaults();
    Config known = defaults.resolve();
    Config merged = ConfigFactory.empty();
    for (String override : overrides) {
      int eq = override.indexOf('=');
      if (eq <= 0) {
        throw new ConfigError(
            "invalid override \"" + override + "\": expected key=value, for example train.epochs=5.");
      }
      String key = override.substring(0, eq).trim();
      String value = override.substring(eq + 1).trim();
      if (key.startsWith(HADOOP_PREFIX)) {
        // hadoop.fs.s3a.endpoint=... names the Hadoop key fs.s3a.endpoint, dots and all.
        String hadoopKey = key.substring(HADOOP_PREFIX.length());
        HadoopConfig.refuseCredential(hadoopKey, "the command line");
        merged = merged.withValue(ConfigUtil.joinPath(HadoopConfig.SECTION, hadoopKey),
            ConfigValueFactory.fromAnyRef(value, "command line"));
        continue;
      }
      requireKnown(known, key, "the command line");
      merged = merged.withValue(key, ConfigValueFactory.fromAnyRef(value, "command line"));
    }
    for (int i = files.size() - 1; i >= 0; i--) {
      Config file = flattenHadoop(parseFile(files.get(i)), files.get(i));
      for (Map.Entry<String, ConfigValue> e : file.entrySet()) {
        // The search space's keys are settings' names, checked by the tuner against the defaults.
        if (!e.getKey().startsWith(HADOOP_PREFIX) && !e.getKey().startsWith(SPACE_PREFIX)) {
          requireKnown(known, e.getKey(), files.get(i));
        }
      }
      merged = merged.withFallback(file);
    }
    try {
      return merged.withFallback(defaults).resolve();
    } catch (ConfigException e) {
      throw new ConfigError("invalid configuration: " + e.getMessage());
    }
  }

  /**
   * {@code base} with {@code key=value} overrides on top, validated like command-line overrides: a
   * command that runs a stage with changed settings (a benchmark, a demo) goes through here.
   */
  public static Config overlay(Config base, List<String> overrides) {
    Config merged = load(List.of(), overrides);
    Config onTop = ConfigFactory.empty();
    for (String override : overrides) {
      String key = override.substring(0, override.indexOf('=')).trim();
      onTop = onTop.withValue(key, merged.getValue(key));
    }
    return onTop.withFallback(base).resolve();
  }

  /**
   * {@code file} with its {@code hadoop} section rewritten so that every Hadoop key is one path
   * element ({@code hadoop."fs.s3a.endpoint"}), whether the file quoted the key or nested it; so a
   * key set in two layers is one key, and the later layer wins as for every other key.
   */
  private static Config flattenHadoop(Config file, String origin) {
    ConfigValue section = file.root().get(HadoopConfig.SECTION);
    if (section == null) {
      return file;
    }
    if (!(section instanceof ConfigObject)) {
      throw new ConfigError("invalid configuration in " + origin + ": " + HadoopConfig.SECTION + " must be an"
          + " object of Hadoop settings, for example hadoop { \"fs.s3a.endpoint\" = \"http://127.0.0.1:9000\" }.");
    }
    Map<String, ConfigValue> leaves = new LinkedHashMap<>();
    leaves((ConfigObject) section, "", leaves);
    Config out = file.withoutPath(HadoopConfig.SECTION);
    for (Map.Entry<String, ConfigValue> e : leaves.entrySet()) {
      HadoopConfig.refuseCredential(e.getKey(), origin);
      out = out.withValue(ConfigUtil.joinPath(HadoopConfig.SECTION, e.getKey()), e.getValue());
    }
    return out;
  }

  /** Collects the non-object values below {@code object}, keyed by their dotted path. */
  private static void leaves(ConfigObject object, String prefix, Map<String, ConfigValue> out) {
    // Walking the objects, unlike Config.entrySet, works before ${...} substitutions are resolved.
    for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
      String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      if (e.getValue() instanceof ConfigObject nested) {
        leaves(nested, key, out);
      } else {
        out.put(key, e.getValue());
      }
    }
  }

  private static Config rawDefaults() {
    return ConfigFactory.parseResources(
        ConfigLoader.class.getClassLoader(),
        DEFAULTS_RESOURCE,
        ConfigParseOptions.defaults().setAllowMissing(false));
  }

  private static Config parseFile(String path) {
    File file = new File(path);
    if (!file.isFile()) {
      throw new ConfigError(
          "config file " + path + " does not exist; pass --conf with the path of a HOCON file"
              + " (see conf/textspark.conf for every key).");
    }
    try {
      return ConfigFactory.parseFile(file, ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw new ConfigError("config file " + path + " is not valid HOCON: " + e.getMessage());
    }
  }

  private static void requireKnown(Config known, String key, String origin) {
    boolean leaf;
    try {
      leaf = known.hasPath(key) && known.getValue(key).valueType() != ConfigValueType.OBJECT;
    } catch (ConfigException.BadPath e) {
      leaf = false;
    }
    if (!leaf) {
      throw new ConfigError(
          "unknown configuration key " + key + " (from " + origin + "). "
              + suggestion(known, key)
              + "Every key, with its default, is listed in conf/textspark.conf.");
    }
  }

  private static String suggestion(Config known, String key) {
    int dot = key.lastIndexOf('.');
    String section = dot > 0 ? key.substring(0, dot) : "";
    List<String> candidates = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : known.entrySet()) {
      String k = e.getKey();
      String kSection = k.lastIndexOf('.') > 0 ? k.substring(0, k.lastIndexOf('.')) : "";
      if (kSection.equals(section)) {
        candidates.add(k);
      }
    }
    if (candidates.isEmpty()) {
      TreeSet<String> sections = new TreeSet<>();
      for (Map.Entry<String, ConfigValue> e : known.entrySet()) {
        sections.add(e.getKey().split("\\.")[0]);
      }
      return "Known sections: " + String.join(", ", sections) + ". ";
    }
    return "Keys in " + section + ": " + String.join(", ", new TreeSet<>(candidates)) + ". ";
  }
}
