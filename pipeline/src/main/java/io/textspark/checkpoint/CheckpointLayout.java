package io.textspark.checkpoint;

/**
 * The files of a checkpoint folder, named once for the trainer, model loading and scoring. A
 * checkpoint is a Hugging Face model folder ({@link #CONFIG}, {@link #TOKENIZER}, {@link #WEIGHTS})
 * plus what resuming needs ({@link #OPTIMIZER}, {@link #TRAINER_STATE}).
 */
public final class CheckpointLayout {
  /** The weights, under the model family's Hugging Face tensor names. */
  public static final String WEIGHTS = "model.safetensors";
  /** The Hugging Face config of the model ({@code model_type}, {@code id2label}, ...). */
  public static final String CONFIG = "config.json";
  /** The tokenizer the model was trained with. */
  public static final String TOKENIZER = "tokenizer.json";
  /** AdamW's moments by parameter name. */
  public static final String OPTIMIZER = "optimizer.safetensors";
  /** Epoch, step, position, metrics so far and the resolved configuration. */
  public static final String TRAINER_STATE = "trainer_state.json";

  private CheckpointLayout() {}
}
