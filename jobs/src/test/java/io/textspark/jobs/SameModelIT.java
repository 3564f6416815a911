package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.model.Safetensors;
import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import io.textspark.testing.TinyBert;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #12 from the command line: two runs of {@code textspark train} that differ only in
 * {@code train.workers}, {@code train.accumulate} and {@code train.batch_size}, with the same global
 * batch, save the same model; and resuming a run that has nothing left to do says so and writes
 * nothing.
 */
class SameModelIT {
  @TempDir Path tmp;

  private Launcher.Result launch(List<String> args) throws IOException, InterruptedException {
    return Launcher.run(tmp, "1g", Map.of("HF_ENDPOINT", Shared.hubEndpoint(), "TEXTSPARK_CACHE",
        tmp.resolve("cache").toString()), Duration.ofMinutes(5), args);
  }

  private Launcher.Result train(Path model, Path run, String... more) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of("train", "--master", "local[2]", "model.name=" + model,
        "train.output_dir=" + run, "train.max_steps=4", "train.dropout=0", "train.threads=1", "train.lr=1e-3",
        "train.bucket_batches=4", "train.val_batch_size=256", "train.log_every_steps=1000"));
    args.addAll(List.of(more));
    return launch(args);
  }

  private static Checkpoint last(Path run) {
    return new CheckpointStore(new org.apache.hadoop.fs.Path(run.resolve("checkpoints").toUri()),
        new Configuration()).last().orElseThrow(() -> new AssertionError("no checkpoint in " + run));
  }

  private static Map<String, float[]> weights(Checkpoint c) throws IOException {
    try (InputStream in = c.open(CheckpointLayout.WEIGHTS)) {
      Map<String, float[]> out = new LinkedHashMap<>();
      Safetensors.read(in, c.path() + "/" + CheckpointLayout.WEIGHTS).forEach((k, v) -> out.put(k, v.toFloatArray()));
      return out;
    }
  }

  @Test
  void theClusterSizeDoesNotChangeTheModelAndAFinishedRunResumesToNothing() throws Exception {
    Launcher.Result download = launch(List.of("download", "data.url=" + Shared.colaZip().toUri()));
    assertEquals(0, download.code(), download.output());
    Launcher.Result tokenize = launch(List.of("tokenize", "--master", "local[2]", "model.name=" + Shared.miniLm()));
    assertEquals(0, tokenize.code(), tokenize.output());
    Path model = TinyBert.write(tmp.resolve("tiny-bert"), 3);

    Path two = tmp.resolve("two-workers");
    Launcher.Result a = train(model, two, "train.workers=2", "train.accumulate=2", "train.batch_size=8");
    assertEquals(0, a.code(), a.output());
    assertTrue(a.output().contains("global batch 32 (2 workers x 2 micro-batches of at most 8 rows)"), a.output());
    Path one = tmp.resolve("one-worker");
    Launcher.Result b = train(model, one, "train.workers=1", "train.accumulate=1", "train.batch_size=32");
    assertEquals(0, b.code(), b.output());
    assertTrue(b.output().contains("global batch 32 (1 workers x 1 micro-batches of at most 32 rows)"), b.output());

    Checkpoint twoLast = last(two);
    Checkpoint oneLast = last(one);
    assertEquals(4, twoLast.globalStep());
    assertEquals(4, oneLast.globalStep());
    Map<String, float[]> x = weights(twoLast);
    Map<String, float[]> y = weights(oneLast);
    assertEquals(x.keySet(), y.keySet());
    double max = 0;
    for (String k : x.keySet()) {
      for (int i = 0; i < x.get(k).length; i++) {
        max = Math.max(max, Math.abs(x.get(k)[i] - y.get(k)[i]));
      }
    }
    System.out.println("command line: 2 workers x 2 x 8 vs 1 x 1 x 32, 4 steps: max abs weight difference " + max);
    assertTrue(max < 1e-5, "model.safetensors differ by up to " + max);

    List<String> files = Files2.tree(two);
    Launcher.Result again = train(model, two, "train.workers=2", "train.accumulate=2", "train.batch_size=8",
        "train.resume_from=last");
    assertEquals(0, again.code(), again.output());
    List<String> said = again.output().lines().filter(l -> l.startsWith("train:")).toList();
    assertEquals(1, said.size(), again.output());
    assertTrue(said.get(0).startsWith("train: nothing to do: checkpoint ")
        && said.get(0).endsWith(" is at step 4 and train.max_steps = 4; raise train.max_steps to train further."),
        said.get(0));
    assertFalse(again.output().contains("best_checkpoint"), again.output());
    assertEquals(files, Files2.tree(two), "nothing written");
  }
}
