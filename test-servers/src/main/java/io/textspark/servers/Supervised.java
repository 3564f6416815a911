package io.textspark.servers;

import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * Runs another program's {@code main} and halts the JVM when standard input closes, i.e. when the
 * test JVM that started it exits, however it exits. Servers without such a switch of their own
 * (s3proxy) are started through it: {@code Supervised <main class> [arguments...]}.
 */
public final class Supervised {
  private Supervised() {}

  /** Starts the watchdog, then the wrapped program. */
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: Supervised <main class> [arguments...]");
      System.exit(2);
    }
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // The parent never writes; reading only waits for the pipe to close.
        }
      } catch (java.io.IOException e) {
        // A broken pipe means the same as end of input: the parent is gone.
      }
      Runtime.getRuntime().halt(0);
    }, "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    Method main = Class.forName(args[0]).getMethod("main", String[].class);
    main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
  }
}
