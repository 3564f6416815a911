package io.textspark.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.config.TextSparkConfig;
import io.textspark.model.PretrainedModel;
import io.textspark.model.Safetensors;
import io.textspark.testing.Reference;
import io.textspark.testing.TinyModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The batch scorer on the small fixed model, without Spark. */
class BatchScorerTest {
  /** Sentences of 3 to 22 word pieces, so batches of 3 mix lengths and need padding. */
  static final List<String> SENTENCES = List.of(
      "The book was written by John.",
      "Books were sent to each other by the students.",
      "She sang.",
      "The more you eat, the fatter you get, and the less you can run in the mornings before work.",
      "Who did you see?",
      "Colorless green ideas sleep furiously.",
      "John seems that Mary left.",
      "Bill's story about Sue and Max's about Kathy both amazed me.");

  @TempDir static Path dir;
  private static ScoringModel model;
  private static ScoringModel constant;

  @BeforeAll
  static void load() {
    model = Reference.load(TinyModel.checkpoint(dir.resolve("random"), 11));
    constant = Reference.load(TinyModel.checkpoint(dir.resolve("constant"), TinyModel.constantHead(11)));
  }

  @AfterAll
  static void close() {
    model.close();
    constant.close();
  }

  @Test
  void batchesSortedByLengthAndPaddedGiveTheProbabilitiesOfEachSentenceAlone() {
    try (BatchScorer scorer = new BatchScorer(model, 128, 3)) {
      Prediction[] p = scorer.score(SENTENCES);
      assertEquals(SENTENCES.size(), p.length);
      Set<Integer> lengths = new HashSet<>();
      for (int i = 0; i < p.length; i++) {
        int[] ids = model.tokenizer(128).encode(SENTENCES.get(i)).ids();
        lengths.add(ids.length);
        double[] expected = Reference.probabilities(model, ids);
        assertArrayEquals(expected, p[i].probabilities(), 1e-5, SENTENCES.get(i));
        int best = expected[1] > expected[0] ? 1 : 0;
        assertEquals(best, p[i].index(), SENTENCES.get(i));
        assertEquals(List.of("unacceptable", "acceptable").get(best), p[i].label());
        assertEquals(ids.length, p[i].tokens());
        assertFalse(p[i].truncated());
        assertNull(p[i].error());
      }
      assertTrue(lengths.size() >= 5, "the sentences have different lengths: " + lengths);
      assertTrue(scorer.modelNanos() > 0 && scorer.tokenizeNanos() > 0);
    }
  }

  @Test
  void predictionsDoNotDependOnTheOrderOrCompanyOfARow() {
    List<String> shuffled = new ArrayList<>(SENTENCES);
    Collections.shuffle(shuffled, new Random(3));
    try (BatchScorer big = new BatchScorer(model, 128, 64); BatchScorer small = new BatchScorer(model, 128, 2)) {
      Prediction[] a = big.score(SENTENCES);
      Prediction[] b = small.score(shuffled);
      for (int i = 0; i < SENTENCES.size(); i++) {
        int j = shuffled.indexOf(SENTENCES.get(i));
        assertArrayEquals(a[i].probabilities(), b[j].probabilities(), 1e-5, SENTENCES.get(i));
      }
    }
  }

  @Test
  void aHeadThatIgnoresTheTextGivesOneQuarterAndThreeQuarters() {
    try (BatchScorer scorer = new BatchScorer(constant, 128, 4)) {
      for (Prediction p : scorer.score(SENTENCES)) {
        assertArrayEquals(new double[] {0.25, 0.75}, p.probabilities(), 1e-6);
        assertEquals("acceptable", p.label());
        assertEquals(1, p.index());
      }
    }
  }

  @Test
  void nullTextIsNotScoredEmptyTextIsAndLongTextIsTruncatedAndFlagged() {
    String longText = String.join(" ", Collections.nCopies(60, "the students sent books"));
    List<String> texts = Arrays.asList("She sang.", null, "", "   ", longText);
    try (BatchScorer scorer = new BatchScorer(model, 16, 2)) {
      Prediction[] p = scorer.score(texts);
      assertTrue(p[0].scored());

      assertFalse(p[1].scored());
      assertEquals(BatchScorer.NULL_TEXT, p[1].error());
      assertNull(p[1].label());
      assertNull(p[1].probabilities());
      assertEquals(-1, p[1].index());

      // Empty and blank text are scored as [CLS] [SEP] (ids 101 and 102 in bert-base-uncased).
      double[] clsSep = Reference.probabilities(model, new int[] {101, 102});
      for (int i : new int[] {2, 3}) {
        assertTrue(p[i].scored());
        assertEquals(2, p[i].tokens());
        assertArrayEquals(clsSep, p[i].probabilities(), 1e-5);
      }

      int[] full = model.tokenizer(512).encode(longText).ids();
      assertTrue(full.length > 200, "the long text has " + full.length + " tokens");
      int[] cut = Arrays.copyOf(full, 16);
      cut[15] = full[full.length - 1]; // [SEP] stays last, as in training
      assertTrue(p[4].truncated());
      assertEquals(16, p[4].tokens());
      assertArrayEquals(Reference.probabilities(model, cut), p[4].probabilities(), 1e-5);
    }
  }

  @Test
  void maxLengthComesFromTheCheckpointUnlessGivenAndMustFitThePositions() {
    Configuration conf = new Configuration();
    PretrainedModel pretrained = PretrainedModel.load(dir.resolve("random/checkpoints/epoch=1-step=1").toString(),
        TextSparkConfig.withOverrides().model(), conf);
    assertEquals(128, ScoringModel.resolveMaxLength(pretrained, 0, conf), "tokenize.max_length the checkpoint records");
    assertEquals(16, ScoringModel.resolveMaxLength(pretrained, 16, conf));
    TextSparkException tooLong = assertThrows(TextSparkException.class,
        () -> ScoringModel.resolveMaxLength(pretrained, 200, conf));
    assertTrue(tooLong.getMessage().contains("only 128 positions"), tooLong.getMessage());
  }

  @Test
  void refusesAModelWithoutATrainedHead() {
    Map<String, Safetensors.Tensor> encoderOnly = TinyModel.weights(5);
    encoderOnly.remove("classifier.weight");
    encoderOnly.remove("classifier.bias");
    Path checkpoint = TinyModel.checkpoint(dir.resolve("no-head"), encoderOnly);
    TextSparkException e = assertThrows(TextSparkException.class, () -> Reference.load(checkpoint));
    assertTrue(e.getMessage().contains("no trained classification head"), e.getMessage());
  }
}
