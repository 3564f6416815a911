package io.textspark.config;

/**
 * Settings of the {@code demo} command: where it writes and how short its training run is.
 *
 * @param model the model the demo fine-tunes (Hub name, folder or Hadoop URL); default
 *     {@code sentence-transformers/all-MiniLM-L6-v2}, 6 layers, so the demo stays short; empty: {@code model.name}
 * @param root folder (any Hadoop file system) for the demo's data, run, scored table and report;
 *     default {@code runs/demo}
 * @param workers data-parallel training workers; default 2
 * @param batchSize examples per micro-batch on each worker; default 16
 * @param lr peak learning rate; default 1e-4
 * @param epochs passes over the training set; default 1
 * @param maxSteps stop after this many optimizer steps, -1 for no limit; default -1
 * @param valEverySteps validate (and checkpoint) every N steps as well; default 100
 * @param sampleRows validation sentences scored as the sample table; default 200
 */
public record DemoConfig(String model, String root, int workers, int batchSize, double lr, int epochs, int maxSteps,
    int valEverySteps, int sampleRows) {
  /** Reads and validates the {@code demo} section. */
  public static DemoConfig from(Settings s) {
    return new DemoConfig(s.string("model"), s.nonEmpty("root"), s.intIn("workers", 1, 64),
        s.intIn("batch_size", 1, 4096),
        s.doubleIn("lr", 0, 1), s.intIn("epochs", 1, 100), s.intIn("max_steps", -1, Integer.MAX_VALUE),
        s.intIn("val_every_steps", 0, Integer.MAX_VALUE), s.intIn("sample_rows", 1, 1_000_000));
  }
}
