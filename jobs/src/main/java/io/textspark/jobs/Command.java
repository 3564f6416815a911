package io.textspark.jobs;

import io.textspark.config.TextSparkConfig;
import java.util.List;
import java.util.Map;

/** One textspark command: its name, help, the flags it accepts, and what it runs. */
interface Command {
  /** A command-line flag that sets a configuration key ({@code --overwrite} sets {@code data.overwrite=true}). */
  record Flag(String name, String key, boolean takesValue, String help) {}

  /** The word after {@code textspark}. */
  String name();

  /** One line for the command list. */
  String summary();

  /** Configuration sections whose keys the command reads, listed by {@code --help}. */
  List<String> sections();

  /** Flags beyond {@code --conf} and {@code --help}. */
  default List<Flag> flags() {
    return List.of();
  }

  /** What positional arguments mean, or null when none are accepted. */
  default String positional() {
    return null;
  }

  /** Runs the command; returns the process exit code. */
  int run(TextSparkConfig config, List<String> positional, Map<String, String> flagValues) throws Exception;
}
