package io.textspark.jobs;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import io.textspark.TextSparkException;
import io.textspark.config.ConfigError;
import io.textspark.config.ConfigLoader;
import io.textspark.config.TextSparkConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The entry point spark-submit runs: {@code textspark <command> [--conf FILE] [flags] [key=value ...]}.
 * It parses the arguments and configuration, runs the command, and turns a user-fixable error into
 * one paragraph on stderr and a non-zero exit code instead of a stack trace.
 */
public final class TextSpark {
  /** Exit code of a run that failed for a reason the message explains. */
  public static final int EXIT_FAILED = 1;
  /** Exit code of bad arguments or configuration. */
  public static final int EXIT_USAGE = 2;

  private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();
  /** A configuration override: a dotted key, then "=" (a sentence with spaces before its "=" is not one). */
  private static final Pattern OVERRIDE =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)*=.*", Pattern.DOTALL);

  static {
    for (Command c : List.of(new DataCommands.Download(), new DataCommands.Tokenize(), new TrainCommands.Train(),
        new TrainCommands.Tune(), new TrainCommands.Evaluate(), new ScoreCommands.Score(), new ScoreCommands.Predict(),
        new ExportCommands.Export(),
        new TrainCommands.Demo(), new TrainCommands.BenchTrain(), new ScoreCommands.BenchScore(),
        new BenchCommands.AllReduce(), new ServeCommands.Serve(),
        new ServeCommands.BenchServe())) {
      COMMANDS.put(c.name(), c);
    }
  }

  private TextSpark() {}

  /** Runs one command and exits with its code. */
  public static void main(String[] args) {
    int code = execute(args, System.out, System.err);
    System.out.flush();
    System.exit(code);
  }

  /** Runs one command; returns the exit code (0 on success). */
  public static int execute(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
      printUsage(args.length == 0 ? err : out);
      return args.length == 0 ? EXIT_USAGE : 0;
    }
    Command command = COMMANDS.get(args[0]);
    if (command == null) {
      err.println("error: unknown command \"" + args[0] + "\". Commands: " + String.join(", ", COMMANDS.keySet())
          + ". Run `textspark --help` for a summary.");
      return EXIT_USAGE;
    }
    try {
      List<String> files = new ArrayList<>();
      List<String> overrides = new ArrayList<>();
      List<String> positional = new ArrayList<>();
      Map<String, String> flagValues = new LinkedHashMap<>();
      boolean onlyPositional = false;
      for (int i = 1; i < args.length; i++) {
        String arg = args[i];
        if (!onlyPositional && arg.equals("--")) {
          // After "--" everything is positional, so a sentence may start with "-" or look like key=value.
          onlyPositional = true;
          continue;
        }
        if (onlyPositional && command.positional() != null) {
          positional.add(arg);
          continue;
        }
        if (onlyPositional) {
          throw new UsageError("unexpected argument \"" + arg + "\" after -- : " + command.name()
              + " takes no positional arguments.");
        }
        if (arg.equals("--help") || arg.equals("-h")) {
          printHelp(command, out);
          return 0;
        }
        String name = arg;
        String inlineValue = null;
        if (arg.startsWith("--") && arg.contains("=")) {
          name = arg.substring(0, arg.indexOf('='));
          inlineValue = arg.substring(arg.indexOf('=') + 1);
        }
        if (name.equals("--conf")) {
          files.add(inlineValue != null ? inlineValue : value(args, ++i, "--conf"));
          continue;
        }
        if (name.startsWith("--")) {
          Command.Flag flag = findFlag(command, name);
          String v = flag.takesValue() ? (inlineValue != null ? inlineValue : value(args, ++i, name)) : "true";
          flagValues.put(flag.name(), v);
          overrides.add(flag.key() + "=" + v);
          continue;
        }
        if (OVERRIDE.matcher(arg).matches()) {
          overrides.add(arg);
          continue;
        }
        if (command.positional() == null) {
          throw new UsageError("unexpected argument \"" + arg + "\" for " + command.name()
              + ": configuration overrides take the form key=value (for example data.root=/tmp/cola).");
        }
        positional.add(arg);
      }
      // Flags are applied after --conf files but before explicit key=value arguments.
      TextSparkConfig config = TextSparkConfig.load(files, overrides);
      return command.run(config, positional, flagValues);
    } catch (UsageError | ConfigError e) {
      err.println("error: " + e.getMessage());
      err.println("Run `textspark " + command.name() + " --help` for the options and configuration keys.");
      return EXIT_USAGE;
    } catch (Exception | LinkageError e) {
      TextSparkException known = findKnown(e);
      if (known != null) {
        err.println("error: " + known.getMessage());
        return known instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
      }
      err.println("error: " + command.name() + " failed unexpectedly: " + e);
      e.printStackTrace(err);
      return EXIT_FAILED;
    }
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new UsageError(flag + " needs a value.");
    }
    return args[i];
  }

  private static Command.Flag findFlag(Command command, String name) {
    for (Command.Flag f : command.flags()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    List<String> known = new ArrayList<>(List.of("--conf", "--help"));
    command.flags().forEach(f -> known.add(f.name()));
    throw new UsageError("unknown option " + name + " for " + command.name() + "; its options are "
        + String.join(", ", known) + ". Spark options (--master, --conf spark.x=y, ...) go to the launcher"
        + " before the application's arguments, as with spark-submit.");
  }

  /** Finds the user-facing error in a cause chain (Spark wraps errors thrown in tasks). */
  private static TextSparkException findKnown(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof TextSparkException tse) {
        return tse;
      }
    }
    return null;
  }

  private static void printUsage(PrintStream out) {
    out.println("usage: textspark <command> [--conf FILE] [options] [key=value ...]");
    out.println();
    out.println("commands:");
    for (Command c : COMMANDS.values()) {
      out.printf(Locale.ROOT, "  %-11s %s%n", c.name(), c.summary());
    }
    out.println();
    out.println("`textspark <command> --help` lists a command's options and configuration keys with defaults.");
  }

  private static void printHelp(Command command, PrintStream out) {
    out.println("textspark " + command.name() + ": " + command.summary());
    out.println();
    StringBuilder usage = new StringBuilder("usage: textspark " + command.name() + " [--conf FILE]");
    command.flags().forEach(f -> usage.append(" [").append(f.name()).append(f.takesValue() ? " VALUE]" : "]"));
    if (command.positional() != null) {
      usage.append(" ").append(command.positional());
    }
    out.println(usage.append(" [key=value ...]"));
    out.println();
    out.println("options:");
    out.printf(Locale.ROOT, "  %-22s %s%n", "--conf FILE", "HOCON file of overrides (repeatable; later files win)");
    for (Command.Flag f : command.flags()) {
      out.printf(Locale.ROOT, "  %-22s %s (sets %s)%n", f.name() + (f.takesValue() ? " VALUE" : ""), f.help(), f.key());
    }
    out.printf(Locale.ROOT, "  %-22s %s%n", "--help", "this help");
    out.println();
    out.println("configuration keys (current default; override with key=value or --conf):");
    Config defaults = ConfigLoader.defaults();
    for (String section : command.sections()) {
      Map<String, ConfigValue> keys = new TreeMap<>();
      for (Map.Entry<String, ConfigValue> e : defaults.getConfig(section).entrySet()) {
        keys.put(section + "." + e.getKey(), e.getValue());
      }
      for (Map.Entry<String, ConfigValue> e : keys.entrySet()) {
        String comment = ConfigLoader.comment(e.getKey());
        out.printf(Locale.ROOT, "  %s = %s%n", e.getKey(), e.getValue().render());
        if (!comment.isEmpty()) {
          out.println("      " + comment);
        }
      }
    }
    out.println();
    out.println("Spark options (--master, --deploy-mode, --conf spark.k=v, --executor-memory, ...) are passed to");
    out.println("spark-submit by the launcher; see the README for running on a cluster.");
  }

  /** Bad command-line arguments. */
  static final class UsageError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }
}
