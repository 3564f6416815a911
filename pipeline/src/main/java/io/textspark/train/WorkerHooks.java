package io.textspark.train;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Listeners added to every training worker that this JVM starts: the seam through which tests
 * reach workers running inside a barrier stage (the recovery tests inject faults with it), and
 * through which an application embedding local-mode training can watch them. Nothing is
 * registered in a normal run.
 */
public final class WorkerHooks {
  /** Makes the listener for one worker, or returns null to leave that worker alone. */
  @FunctionalInterface
  public interface Hook {
    /** The listener for worker {@code rank} of restart {@code attempt} (0 for the first run), or null. */
    Trainer.Listener forWorker(int rank, int attempt);
  }

  /** Removes a hook again; closing twice is harmless. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  private static final List<Hook> HOOKS = new CopyOnWriteArrayList<>();

  private WorkerHooks() {}

  /** Adds {@code hook} for the workers started from now on, until the registration is closed. */
  public static Registration add(Hook hook) {
    HOOKS.add(hook);
    return () -> HOOKS.remove(hook);
  }

  /** The listeners the registered hooks give worker {@code rank} of {@code attempt}. */
  public static List<Trainer.Listener> listeners(int rank, int attempt) {
    List<Trainer.Listener> out = new ArrayList<>();
    for (Hook h : HOOKS) {
      Trainer.Listener l = h.forWorker(rank, attempt);
      if (l != null) {
        out.add(l);
      }
    }
    return out;
  }
}
