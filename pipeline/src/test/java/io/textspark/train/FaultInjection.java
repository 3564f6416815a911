package io.textspark.train;

import java.util.HashMap;
import java.util.Map;

/**
 * Fault injection for the recovery tests: makes one worker fail at a chosen step of a chosen
 * attempt, as a crashed or hung worker would, through {@link WorkerHooks}. A spec such as
 * {@code rank=1,step=5,attempt=0,action=throw} names the worker, the step and the attempt;
 * {@code action} is {@code throw} (the worker's task fails) or {@code stall} (the worker stops
 * responding until Spark kills it). Workers run in this JVM in local mode, so the hook reaches them.
 */
final class FaultInjection {
  private FaultInjection() {}

  /** The injected failure: a plain runtime error, so recovery treats it like any crash. */
  static final class InjectedFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InjectedFault(String message) {
      super(message);
    }
  }

  /** Arms the fault {@code spec} describes for the workers started until the registration is closed. */
  static WorkerHooks.Registration arm(String spec) {
    Map<String, String> f = new HashMap<>();
    for (String part : spec.split(",")) {
      String[] kv = part.split("=", 2);
      f.put(kv[0].trim(), kv.length > 1 ? kv[1].trim() : "");
    }
    int faultRank = Integer.parseInt(f.getOrDefault("rank", "1"));
    long faultStep = Long.parseLong(f.getOrDefault("step", "1"));
    int faultAttempt = Integer.parseInt(f.getOrDefault("attempt", "0"));
    String action = f.getOrDefault("action", "throw");
    return WorkerHooks.add((rank, attempt) -> rank != faultRank || attempt != faultAttempt ? null
        : new Trainer.Listener() {
          @Override
          public void afterStep(long globalStep, int epoch, int position) {
            if (globalStep != faultStep) {
              return;
            }
            String what = "injected fault: rank " + rank + " at step " + globalStep + " of attempt " + attempt;
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
        });
  }
}
