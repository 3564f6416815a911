package io.textspark.model;

import io.textspark.TextSparkException;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.config.ModelConfig;
import io.textspark.fs.Download;
import io.textspark.fs.HadoopPaths;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * A model ready to build: architecture, weights and tokenizer, read from a committed training
 * checkpoint (verified against its manifest), a model folder, or the Hugging Face Hub.
 *
 * @param config the architecture and labels, of a family {@link ModelFamilies} supports
 * @param weights tensors by name
 * @param tokenizerJson the tokenizer file's content
 * @param tokenizerSha256 its SHA-256, to compare with the tokenized data's
 * @param reference where it came from
 */
public record PretrainedModel(
    ClassifierConfig config, Map<String, Safetensors.Tensor> weights, byte[] tokenizerJson, String tokenizerSha256,
    String reference) {

  /**
   * Loads {@code reference}: a checkpoint folder, a model folder (any Hadoop file system) or a Hub
   * name. Its {@code config.json} is parsed first, so a model of an unsupported family is refused
   * before its weights are fetched.
   */
  public static PretrainedModel load(String reference, ModelConfig hub, Configuration conf) {
    Optional<Checkpoint> checkpoint = asCheckpoint(reference, conf);
    if (checkpoint.isPresent()) {
      Checkpoint c = checkpoint.get();
      ClassifierConfig config = ModelFamilies.parseConfig(
          new String(read(c, CheckpointLayout.CONFIG), StandardCharsets.UTF_8), reference, c.path() + "/config.json");
      byte[] tokenizer = read(c, CheckpointLayout.TOKENIZER);
      Map<String, Safetensors.Tensor> weights;
      try (InputStream in = c.open(CheckpointLayout.WEIGHTS)) {
        weights = Safetensors.read(in, c.path() + "/" + CheckpointLayout.WEIGHTS);
      } catch (IOException e) {
        throw new TextSparkException("cannot read the weights of checkpoint " + c.path() + ": " + e.getMessage(), e);
      }
      return new PretrainedModel(config, weights, tokenizer, Download.sha256Hex(tokenizer), c.path().toString());
    }
    ModelFiles files = ModelFiles.resolve(reference, hub, conf);
    ClassifierConfig config = ModelFamilies.parseConfig(
        new String(files.read(CheckpointLayout.CONFIG), StandardCharsets.UTF_8), reference, reference + "/config.json");
    byte[] tokenizer = files.read(CheckpointLayout.TOKENIZER);
    java.nio.file.Path weightsPath = files.local(CheckpointLayout.WEIGHTS);
    Map<String, Safetensors.Tensor> weights;
    try (InputStream in = Files.newInputStream(weightsPath)) {
      weights = Safetensors.read(in, weightsPath.toString());
    } catch (IOException e) {
      throw new TextSparkException("cannot read " + weightsPath + ": " + e.getMessage(), e);
    }
    return new PretrainedModel(config, weights, tokenizer, Download.sha256Hex(tokenizer), reference);
  }

  /** The model reference as a committed checkpoint, if it is one; refuses uncommitted ones. */
  private static Optional<Checkpoint> asCheckpoint(String reference, Configuration conf) {
    Path dir;
    try {
      dir = new Path(reference);
      if (!Checkpoint.isCheckpointFolder(dir, conf)
          && !HadoopPaths.exists(new Path(dir, CheckpointLayout.TRAINER_STATE), conf)) {
        return Optional.empty();
      }
    } catch (IllegalArgumentException | TextSparkException e) {
      return Optional.empty();
    }
    Optional<Checkpoint> c = Checkpoint.read(dir, conf);
    if (c.isEmpty()) {
      throw new TextSparkException("checkpoint " + reference + " is not committed (no valid " + Checkpoint.MANIFEST
          + "): its writer stopped before finishing, so it is never loaded. Use another checkpoint of the run"
          + " (train.resume_from=last picks the newest committed one).");
    }
    return c;
  }

  private static byte[] read(Checkpoint c, String file) {
    try (InputStream in = c.open(file)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new TextSparkException("cannot read " + file + " of checkpoint " + c.path() + ": " + e.getMessage(), e);
    }
  }
}
