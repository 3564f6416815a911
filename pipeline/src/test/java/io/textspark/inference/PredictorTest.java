package io.textspark.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import io.textspark.TextSparkException;
import io.textspark.config.ModelConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.model.Safetensors;
import io.textspark.testing.Reference;
import io.textspark.testing.TinyModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inference entry point on the small fixed model, without Spark. */
class PredictorTest {
  private static final String LONG = String.join(" ", Collections.nCopies(60, "the students sent books"));
  /** The sentences of {@link BatchScorerTest}, then null, empty, blank and a text far over 16 tokens. */
  private static final List<String> TEXTS = texts();
  private static final ModelConfig HUB = TextSparkConfig.withOverrides().model();

  @TempDir static Path dir;
  private static Path checkpoint;
  private static ScoringModel reference;

  @BeforeAll
  static void load() {
    checkpoint = TinyModel.checkpoint(dir.resolve("random"), 11);
    reference = Reference.load(checkpoint);
  }

  @AfterAll
  static void close() {
    reference.close();
  }

  private static List<String> texts() {
    List<String> texts = new ArrayList<>(BatchScorerTest.SENTENCES);
    texts.addAll(Arrays.asList(null, "", "   ", LONG));
    return Collections.unmodifiableList(texts);
  }

  private static Predictor load(int maxLength, int batchSize) {
    return Predictor.load(checkpoint.toString(), HUB, new InferenceSettings(maxLength, batchSize, "cpu", 1),
        new Configuration());
  }

  @Test
  void predictionsEqualEachTextRunAloneAndKeepTheInputOrder() {
    try (Predictor predictor = load(16, 3)) {
      assertEquals(16, predictor.maxLength());
      assertEquals(List.of("unacceptable", "acceptable"), predictor.labels());
      assertEquals(reference.reference(), predictor.reference());
      assertEquals(1, predictor.scoreIndex(""), "empty means the last label");
      assertEquals(0, predictor.scoreIndex("unacceptable"));
      Prediction[] p = predictor.predict(TEXTS);
      assertEquals(TEXTS.size(), p.length);
      int truncated = 0;
      for (int i = 0; i < TEXTS.size(); i++) {
        String text = TEXTS.get(i);
        if (text == null) {
          assertFalse(p[i].scored());
          assertEquals(BatchScorer.NULL_TEXT, p[i].error());
          assertNull(p[i].probabilities());
          continue;
        }
        int full = reference.tokenizer(512).encode(text).ids().length;
        double[] expected = Reference.probabilities(reference, text, 16);
        assertArrayEquals(expected, p[i].probabilities(), 1e-5, text);
        int best = expected[1] > expected[0] ? 1 : 0;
        assertEquals(best, p[i].index(), text);
        assertEquals(predictor.labels().get(best), p[i].label(), text);
        assertEquals(Math.min(full, 16), p[i].tokens(), text);
        assertEquals(full > 16, p[i].truncated(), text);
        truncated += p[i].truncated() ? 1 : 0;
      }
      assertTrue(p[TEXTS.size() - 1].truncated(), "the long text");
      assertTrue(truncated >= 2 && truncated <= 4, "long sentences are cut, short ones are not: " + truncated);
      assertTrue(predictor.tokenizeNanos() > 0 && predictor.modelNanos() > 0);
      assertEquals(0, predictor.predict(List.of()).length);
    }
  }

  @Test
  void maxLengthZeroIsTheLengthTheCheckpointWasTrainedWith() {
    try (Predictor predictor = load(0, 64)) {
      assertEquals(128, predictor.maxLength());
      Prediction p = predictor.predict(List.of(LONG))[0];
      assertTrue(p.truncated());
      assertEquals(128, p.tokens());
    }
  }

  @Test
  void eightThreadsAtOnceGetWhatOneThreadGets() throws Exception {
    try (Predictor predictor = load(16, 3)) {
      Prediction[] alone = predictor.predict(TEXTS);
      int threads = 8;
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<List<Prediction[]>>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          results.add(pool.submit(() -> {
            start.await();
            List<Prediction[]> mine = new ArrayList<>();
            for (int round = 0; round < 5; round++) {
              mine.add(predictor.predict(TEXTS));
            }
            return mine;
          }));
        }
        start.countDown();
        for (Future<List<Prediction[]>> f : results) {
          for (Prediction[] got : f.get(120, TimeUnit.SECONDS)) {
            for (int i = 0; i < TEXTS.size(); i++) {
              assertEquals(alone[i].error(), got[i].error());
              assertEquals(alone[i].truncated(), got[i].truncated());
              assertEquals(alone[i].index(), got[i].index());
              if (alone[i].scored()) {
                assertArrayEquals(alone[i].probabilities(), got[i].probabilities(), 0.0, TEXTS.get(i));
              }
            }
          }
        }
      } finally {
        pool.shutdownNow();
      }
      int scorers = predictor.openScorers();
      assertTrue(scorers >= 1 && scorers <= threads, "one scorer per concurrent caller at most: " + scorers);
    }
  }

  @Test
  void closingReleasesTheScorersAndTheModelItBuiltAndRefusesLaterCalls() {
    Predictor predictor = load(16, 3);
    predictor.predict(TEXTS);
    NDArray weight = ((ScoringModel) predictor.model()).classifier().parameters().values().iterator().next();
    assertFalse(weight.isReleased());
    predictor.close();
    assertTrue(weight.isReleased(), "the model the predictor built is freed");
    assertEquals(0, predictor.openScorers());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> predictor.predict(TEXTS));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    predictor.close(); // a second close does nothing
  }

  @Test
  void predictorsOfABroadcastModelShareTheJvmModelAndClosingOneKeepsItLoaded() {
    ResolvedModel resolved = ResolvedModel.resolve(checkpoint.toString(), HUB, 0, new Configuration());
    assertEquals(128, resolved.maxLength());
    ModelBundle bundle = resolved.bundle();
    InferenceSettings settings = new InferenceSettings(0, 3, "cpu", 1);
    IllegalArgumentException unresolved = assertThrows(IllegalArgumentException.class,
        () -> Predictor.open(bundle.key(), () -> bundle, settings));
    assertTrue(unresolved.getMessage().contains("resolved on the driver"), unresolved.getMessage());

    InferenceSettings resolvedSettings = settings.withMaxLength(16).withEngine(resolved.engine());
    Predictor first = Predictor.open(bundle.key(), () -> bundle, resolvedSettings);
    Prediction[] expected;
    try (Predictor local = load(16, 3)) {
      expected = local.predict(TEXTS);
    }
    try (Predictor second = Predictor.open(bundle.key(), () -> {
      throw new AssertionError("the JVM's model is reused, the broadcast not read again");
    }, resolvedSettings)) {
      assertSame(first.model(), second.model());
      first.close();
      Prediction[] p = second.predict(TEXTS);
      for (int i = 0; i < TEXTS.size(); i++) {
        assertArrayEquals(expected[i].probabilities(), p[i].probabilities(), 0.0, TEXTS.get(i));
      }
    }
    assertFalse(((ScoringModel) first.model()).classifier().parameters().values().iterator().next().isReleased(),
        "the shared model stays loaded for the next partition");
  }

  @Test
  void refusesACheckpointWithoutATrainedHead() {
    Map<String, Safetensors.Tensor> encoderOnly = TinyModel.weights(5);
    encoderOnly.remove("classifier.weight");
    encoderOnly.remove("classifier.bias");
    Path noHead = TinyModel.checkpoint(dir.resolve("no-head"), encoderOnly);
    TextSparkException e = assertThrows(TextSparkException.class, () -> Predictor.load(noHead.toString(), HUB,
        new InferenceSettings(0, 8, "cpu", 1), new Configuration()));
    assertTrue(e.getMessage().contains("no trained classification head"), e.getMessage());
  }

  @Test
  void badSettingsAreRefusedNamingTheKey() {
    TextSparkException negative = assertThrows(TextSparkException.class, () -> new InferenceSettings(-1, 8, "cpu", 0));
    assertTrue(negative.getMessage().contains("max_length = -1"), negative.getMessage());
    TextSparkException tooLong = assertThrows(TextSparkException.class, () -> load(200, 8));
    assertTrue(tooLong.getMessage().contains("score.max_length") && tooLong.getMessage().contains("only 128 positions"),
        tooLong.getMessage());
    TextSparkException batch = assertThrows(TextSparkException.class, () -> new InferenceSettings(0, 0, "cpu", 0));
    assertTrue(batch.getMessage().contains("batch_size = 0"), batch.getMessage());
    TextSparkException device = assertThrows(TextSparkException.class, () -> new InferenceSettings(0, 8, "tpu", 0));
    assertTrue(device.getMessage().contains("device = \"tpu\""), device.getMessage());
    TextSparkException threads = assertThrows(TextSparkException.class, () -> new InferenceSettings(0, 8, "cpu", -2));
    assertTrue(threads.getMessage().contains("threads = -2"), threads.getMessage());
  }
}
