package io.textspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * Typed, range-checked reads of one section of the configuration. Every failure names the full
 * key, the value found and what is allowed, so the user can fix it without reading code.
 */
public final class Settings {
  private final Config config;
  private final String section;

  /** Reads keys below {@code section} (for example {@code "data"}) of {@code config}. */
  public Settings(Config config, String section) {
    this.config = config;
    this.section = section;
  }

  /** The full key of {@code name} in this section. */
  public String key(String name) {
    return section + "." + name;
  }

  private Object raw(String name) {
    return config.getValue(key(name)).unwrapped();
  }

  /** A string value; may be empty. */
  public String string(String name) {
    try {
      return config.getString(key(name));
    } catch (ConfigException.WrongType e) {
      throw new ConfigError(key(name), raw(name), "a string is expected");
    }
  }

  /** A non-empty string value. */
  public String nonEmpty(String name) {
    String value = string(name);
    if (value.isBlank()) {
      throw new ConfigError(key(name), value, "it must not be empty");
    }
    return value;
  }

  /** One of {@code allowed}, compared case-insensitively and returned in lower case. */
  public String oneOf(String name, String... allowed) {
    String value = string(name).toLowerCase(Locale.ROOT);
    if (!Arrays.asList(allowed).contains(value)) {
      throw new ConfigError(key(name), value, "allowed values are " + String.join(", ", allowed));
    }
    return value;
  }

  /** A boolean ({@code true}/{@code false}). */
  public boolean bool(String name) {
    try {
      return config.getBoolean(key(name));
    } catch (ConfigException.WrongType e) {
      throw new ConfigError(key(name), raw(name), "allowed values are true and false");
    }
  }

  /** An integer in {@code [min, max]}. */
  public int intIn(String name, int min, int max) {
    long value = longIn(name, min, max);
    return (int) value;
  }

  /** A long integer in {@code [min, max]}. */
  public long longIn(String name, long min, long max) {
    long value;
    try {
      value = config.getLong(key(name));
    } catch (ConfigException.WrongType e) {
      throw new ConfigError(key(name), raw(name), "an integer from " + min + " to " + max + " is expected");
    }
    if (value < min || value > max) {
      throw new ConfigError(key(name), value, "allowed range is " + min + " to " + max);
    }
    return value;
  }

  /** A number in {@code [min, max]}. */
  public double doubleIn(String name, double min, double max) {
    double value;
    try {
      value = config.getDouble(key(name));
    } catch (ConfigException.WrongType e) {
      throw new ConfigError(key(name), raw(name), "a number from " + min + " to " + max + " is expected");
    }
    if (!(value >= min && value <= max)) {
      throw new ConfigError(key(name), value, "allowed range is " + min + " to " + max);
    }
    return value;
  }

  /** A positive duration such as {@code 30s} or {@code 5m}. */
  public Duration duration(String name) {
    Duration value = durationOrZero(name);
    if (value.isZero()) {
      throw new ConfigError(key(name), raw(name), "the duration must be positive");
    }
    return value;
  }

  /** A duration such as {@code 30s} or {@code 5m}, or {@code 0} (which callers read as "off"). */
  public Duration durationOrZero(String name) {
    Duration value;
    try {
      value = config.getDuration(key(name));
    } catch (ConfigException.BadValue | ConfigException.WrongType e) {
      throw new ConfigError(key(name), raw(name), "a duration such as 30s, 5m or 1h is expected");
    }
    if (value.isNegative()) {
      throw new ConfigError(key(name), raw(name), "the duration must not be negative");
    }
    return value;
  }
}
