package io.textspark.inference;

import io.textspark.TextSparkException;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.config.ModelConfig;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.PretrainedModel;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * A model reference read on this JVM and checked, with the engine that runs it and the maximum
 * length it scores at: what a {@link Predictor} is built from, here or, as a {@link ModelBundle},
 * on executors. Nothing is on a device yet. The engine is decided here, once, for {@code predict},
 * {@code score} and the server alike: {@link Engine#AUTO} takes ONNX Runtime for an export folder
 * (one holding {@value ExportedModel#MODEL}) and PyTorch for anything else.
 */
public final class ResolvedModel {
  private final Engine engine;
  private final PretrainedModel model;
  private final ExportedModel export;
  private final int maxLength;

  private ResolvedModel(Engine engine, PretrainedModel model, ExportedModel export, int maxLength) {
    this.engine = engine;
    this.model = model;
    this.export = export;
    this.maxLength = maxLength;
  }

  /**
   * Reads {@code reference} for PyTorch (checkpoint folder on any Hadoop file system, model folder
   * or Hub name, with {@code hub}'s endpoint, revision and cache), refuses a model without a trained
   * head, and resolves {@code maxLength} (0: the length the model was trained with).
   */
  public static ResolvedModel resolve(String reference, ModelConfig hub, int maxLength, Configuration conf) {
    return resolve(reference, hub, Engine.PYTORCH, maxLength, conf);
  }

  /**
   * Reads {@code reference} for {@code engine} ({@link Engine#AUTO}: ONNX Runtime when the folder
   * holds {@value ExportedModel#MODEL}, else PyTorch) and resolves {@code maxLength}.
   *
   * @throws TextSparkException naming the fix when ONNX Runtime is asked for a folder that is not an
   *     export, PyTorch for an export without PyTorch weights, or the model has no trained head
   */
  public static ResolvedModel resolve(String reference, ModelConfig hub, Engine engine, int maxLength,
      Configuration conf) {
    boolean isExport = ExportedModel.isExport(reference, conf);
    Engine chosen = engine == Engine.AUTO ? (isExport ? Engine.ONNXRUNTIME : Engine.PYTORCH) : engine;
    if (chosen == Engine.ONNXRUNTIME) {
      if (!isExport) {
        throw new TextSparkException("engine = onnxruntime but model " + reference + " has no "
            + ExportedModel.MODEL + ": it is not an ONNX export. Export it first with `textspark export --model "
            + reference + " --output <folder>` and score that folder, or set score.engine (--engine) to auto or"
            + " pytorch.");
      }
      ExportedModel exported = ExportedModel.read(reference, conf);
      return new ResolvedModel(chosen, null, exported, exportMaxLength(exported, maxLength));
    }
    if (isExport && !ExportedModel.hasWeights(reference, conf)) {
      throw new TextSparkException("engine = pytorch but model " + reference + " is an ONNX export ("
          + ExportedModel.MODEL + ", no " + CheckpointLayout.WEIGHTS + "), which only ONNX Runtime runs. To score"
          + " it, set score.engine (--engine) to auto or onnxruntime; for PyTorch (or to export again), give the"
          + " checkpoint it was exported from" + ExportedModel.source(reference, conf).map(x -> ", " + x).orElse("")
          + ".");
    }
    PretrainedModel pretrained = PretrainedModel.load(reference, hub, conf);
    ScoringModel.requireTrainedHead(pretrained.reference(), pretrained.config(), pretrained.weights());
    return new ResolvedModel(Engine.PYTORCH, pretrained, null,
        ScoringModel.resolveMaxLength(pretrained, maxLength, conf));
  }

  /** {@code requested} when positive (at most the model's positions), else the export's recorded length, else 128. */
  private static int exportMaxLength(ExportedModel exported, int requested) {
    int positions = exported.config().maxPositionEmbeddings();
    if (requested > positions) {
      throw new TextSparkException("max_length = " + requested + " but model " + exported.reference() + " has only "
          + positions + " positions (max_position_embeddings); set score.max_length to " + positions
          + " or less, or 0 to use the length the model was trained with.");
    }
    if (requested > 0) {
      return requested;
    }
    int trained = exported.trainedMaxLength() > 0 ? exported.trainedMaxLength() : ScoringModel.FALLBACK_MAX_LENGTH;
    return Math.min(trained, positions);
  }

  /** The engine that runs the model: {@link Engine#PYTORCH} or {@link Engine#ONNXRUNTIME}, never auto. */
  public Engine engine() {
    return engine;
  }

  /**
   * The model's config, weights and tokenizer for PyTorch.
   *
   * @throws IllegalStateException when the engine is ONNX Runtime (see {@link #export()})
   */
  public PretrainedModel model() {
    if (model == null) {
      throw new IllegalStateException(reference() + " is an ONNX export, not PyTorch weights");
    }
    return model;
  }

  /**
   * The export folder's content for ONNX Runtime.
   *
   * @throws IllegalStateException when the engine is PyTorch (see {@link #model()})
   */
  public ExportedModel export() {
    if (export == null) {
      throw new IllegalStateException(reference() + " is PyTorch weights, not an ONNX export");
    }
    return export;
  }

  /** The resolved maximum length, always positive. */
  public int maxLength() {
    return maxLength;
  }

  /** Where the model came from (a checkpoint is named by its folder). */
  public String reference() {
    return model != null ? model.reference() : export.reference();
  }

  /** The architecture and labels. */
  public ClassifierConfig config() {
    return model != null ? model.config() : export.config();
  }

  /** The label names by index. */
  public List<String> labels() {
    return config().labels();
  }

  /** The index of {@code label} among the labels; empty means the last one. */
  public int scoreIndex(String label) {
    return Prediction.scoreIndex(labels(), label);
  }

  /** The model as bytes to broadcast to executors. */
  public ModelBundle bundle() {
    return model != null ? ModelBundle.of(model) : ModelBundle.of(export);
  }
}
