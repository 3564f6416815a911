package io.textspark.train;

import java.util.HashMap;
import java.util.Map;

/**
 * TEST-ONLY fault injection for the recovery tests: makes one worker fail at a chosen step of a
 * chosen attempt, as a crashed or hung worker would. It is driven by the JVM system property
 * {@value #PROPERTY} (never by the configuration, so no user setting can trigger it), for example
 * {@code -Dtextspark.test.inject_fault=rank=1,step=5,attempt=0,action=throw}; {@code action} is
 * {@code throw} (the worker's task fails) or {@code stall} (the worker stops responding until
 * Spark kills it). In local mode the tasks run in the JVM that sets the property.
 */
final class FaultInjection {
  /** The system property that arms the fault; unset in every real run. */
  static final String PROPERTY = "textspark.test.inject_fault";

  private FaultInjection() {}

  /** The injected failure: a plain runtime error, so recovery treats it like any crash. */
  static final class InjectedFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InjectedFault(String message) {
      super(message);
    }
  }

  /** A listener that fails worker {@code rank} of attempt {@code attempt} if the property says so, else does nothing. */
  static Trainer.Listener fromSystemProperty(int rank, int attempt) {
    String spec = System.getProperty(PROPERTY, "").trim();
    if (spec.isEmpty()) {
      return new Trainer.Listener() {};
    }
    Map<String, String> f = new HashMap<>();
    for (String part : spec.split(",")) {
      String[] kv = part.split("=", 2);
      f.put(kv[0].trim(), kv.length > 1 ? kv[1].trim() : "");
    }
    int faultRank = Integer.parseInt(f.getOrDefault("rank", "1"));
    long faultStep = Long.parseLong(f.getOrDefault("step", "1"));
    int faultAttempt = Integer.parseInt(f.getOrDefault("attempt", "0"));
    String action = f.getOrDefault("action", "throw");
    if (faultRank != rank || faultAttempt != attempt) {
      return new Trainer.Listener() {};
    }
    return new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        if (globalStep != faultStep) {
          return;
        }
        String what = "injected fault (" + PROPERTY + "): rank " + rank + " at step " + globalStep + " of attempt "
            + attempt;
        if (action.equals("stall")) {
          System.err.println("train: " + what + ": stalling");
          try {
            Thread.sleep(600_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        throw new InjectedFault(what);
      }
    };
  }
}
