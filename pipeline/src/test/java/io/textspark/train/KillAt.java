package io.textspark.train;

/** A listener that throws once the run reaches a step, like a worker killed there. */
final class KillAt implements Trainer.Listener {
  private final long step;

  KillAt(long step) {
    this.step = step;
  }

  @Override
  public void afterStep(long globalStep, int epoch, int position) {
    if (globalStep == step) {
      throw new IllegalStateException("killed at step " + step);
    }
  }
}
