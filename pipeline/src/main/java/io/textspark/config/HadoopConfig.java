package io.textspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;

/**
 * Hadoop settings for the file systems the commands touch (the {@code hadoop} section): endpoint,
 * path-style access, credential providers, ... Each key is a Hadoop key such as
 * {@code fs.s3a.endpoint}; the jobs set them on the session's Hadoop configuration, which is what
 * {@code spark.hadoop.*} Spark settings do, so they reach the executors the same way.
 *
 * <p>Credentials are refused: the configuration is rendered into every checkpoint's
 * {@code trainer_state.json}, so a secret here would be copied next to the model. They belong to
 * the standard providers (AWS environment variables, instance roles, Hadoop credential stores).
 *
 * @param settings Hadoop key to value, sorted by key; empty by default
 */
public record HadoopConfig(Map<String, String> settings) implements Serializable {
  /** The section's name, which is also the prefix of its keys on the command line. */
  public static final String SECTION = "hadoop";

  /** Keeps an unmodifiable copy. */
  public HadoopConfig {
    settings = Collections.unmodifiableMap(new TreeMap<>(settings));
  }

  /** Reads and validates the {@code hadoop} section of the merged configuration. */
  public static HadoopConfig from(Config raw) {
    Map<String, String> settings = new TreeMap<>();
    if (!raw.hasPath(SECTION)) {
      return new HadoopConfig(settings);
    }
    if (raw.getValue(SECTION).valueType() != ConfigValueType.OBJECT) {
      throw new ConfigError("invalid configuration: " + SECTION + " must be an object of Hadoop settings, for"
          + " example hadoop { \"fs.s3a.endpoint\" = \"http://127.0.0.1:9000\" }.");
    }
    for (Map.Entry<String, ConfigValue> e : raw.getConfig(SECTION).entrySet()) {
      String key = hadoopKey(e.getKey());
      refuseCredential(key, "the configuration");
      settings.put(key, value(key, e.getValue()));
    }
    return new HadoopConfig(settings);
  }

  /** Sets every setting on {@code conf} and returns it. */
  public Configuration applyTo(Configuration conf) {
    settings.forEach(conf::set);
    return conf;
  }

  /**
   * The Hadoop key of a HOCON path below the section: {@code fs.s3a.endpoint} whether the file
   * quoted it ({@code "fs.s3a.endpoint"}, one path element) or nested it ({@code fs.s3a.endpoint}).
   */
  static String hadoopKey(String path) {
    return String.join(".", ConfigUtil.splitPath(path));
  }

  /**
   * Fails when {@code key} holds a credential: a secret or access key, a password, a session or
   * SAS token, an account key. {@code origin} says where the key was found.
   */
  static void refuseCredential(String key, String origin) {
    String k = key.toLowerCase(Locale.ROOT);
    String[] parts = k.split("\\.");
    String last = parts[parts.length - 1];
    boolean credential = k.contains("secret") || k.contains("password") || k.contains("passwd")
        || last.equals("key") || last.equals("token") || k.contains("account.key.");
    if (credential) {
      // The value is deliberately not repeated: it would end up in the terminal and in logs.
      throw new ConfigError("refused configuration key " + SECTION + "." + key + " (from " + origin + "): it holds"
          + " a credential, and the configuration is saved with every checkpoint. Leave credentials to the"
          + " standard providers instead: the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,"
          + " an instance or pod role, or a Hadoop credential store named by"
          + " hadoop.\"hadoop.security.credential.provider.path\" (see conf/s3.conf).");
    }
  }

  private static String value(String key, ConfigValue v) {
    switch (v.valueType()) {
      case STRING:
      case NUMBER:
      case BOOLEAN:
        return String.valueOf(v.unwrapped());
      case LIST: {
        // Hadoop lists are comma-separated strings, e.g. fs.s3a.aws.credentials.provider.
        List<String> items = new ArrayList<>();
        for (Object o : (List<?>) v.unwrapped()) {
          items.add(String.valueOf(o));
        }
        return String.join(",", items);
      }
      default:
        throw new ConfigError(SECTION + "." + key, v.unwrapped(), "a Hadoop setting is a string, number,"
            + " boolean or list");
    }
  }
}
