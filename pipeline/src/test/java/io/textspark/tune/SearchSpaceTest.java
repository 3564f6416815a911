package io.textspark.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.textspark.config.ConfigError;
import io.textspark.config.TextSparkConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Parsing, sampling and refusals of tune.space. */
class SearchSpaceTest {
  private static final Config DEFAULTS = TextSparkConfig.withOverrides().raw();

  private static SearchSpace space(String hocon) {
    return SearchSpace.parse(ConfigFactory.parseString(hocon).root(), DEFAULTS);
  }

  @Test
  void randomSamplesAreSeededAndInRange() {
    SearchSpace s = space("\"train.lr\" { loguniform = [1e-5, 3e-4] }, \"train.warmup_ratio\" { uniform = [0, 0.2] },"
        + " \"train.batch_size\" { choice = [16, 32] }, \"train.epochs\" { randint = [2, 4] }");
    List<Map<String, String>> a = s.random(50, 7);
    assertEquals(a, s.random(50, 7));
    assertNotEquals(a, s.random(50, 8));
    for (Map<String, String> t : a) {
      assertEquals(List.of("train.batch_size", "train.epochs", "train.lr", "train.warmup_ratio"),
          List.copyOf(t.keySet()));
      double lr = Double.parseDouble(t.get("train.lr"));
      assertTrue(lr >= 1e-5 && lr <= 3e-4, t.toString());
      double w = Double.parseDouble(t.get("train.warmup_ratio"));
      assertTrue(w >= 0 && w <= 0.2, t.toString());
      assertTrue(List.of("16", "32").contains(t.get("train.batch_size")), t.toString());
      int e = Integer.parseInt(t.get("train.epochs"));
      assertTrue(e >= 2 && e <= 4, t.toString());
    }
    assertEquals(3, a.stream().map(t -> t.get("train.epochs")).distinct().count(), "both ends of randint drawn");
    // the settings apply as overrides
    Map<String, String> first = a.get(0);
    TextSparkConfig c = TextSparkConfig.withOverrides().with(first.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue()).toList());
    assertEquals(Double.parseDouble(first.get("train.lr")), c.train().lr(), 0);
  }

  @Test
  void gridIsTheCartesianProduct() {
    List<Map<String, String>> g = space("\"train.batch_size\" { choice = [16, 32] }, \"train.epochs\""
        + " { randint = [1, 3] }, \"train.lr\" { choice = [1e-4] }").grid();
    assertEquals(6, g.size());
    assertEquals(Map.of("train.batch_size", "16", "train.epochs", "1", "train.lr", "0.0001"), g.get(0));
    assertEquals(Map.of("train.batch_size", "32", "train.epochs", "3", "train.lr", "0.0001"), g.get(5));
  }

  @Test
  void modelNameAndRevisionAreSearchedLikeAnySetting() {
    List<Map<String, String>> g = space("\"train.lr\" { choice = [1e-4, 3e-4] }, \"model.name\" { choice ="
        + " [\"sentence-transformers/all-MiniLM-L6-v2\", \"intfloat/e5-small-v2\"] }, \"model.revision\""
        + " { choice = [main] }").grid();
    assertEquals(4, g.size());
    // model.* sorts before train.*, so the model varies slowest and each model's trials are together
    assertEquals(Map.of("model.name", "sentence-transformers/all-MiniLM-L6-v2", "model.revision", "main",
        "train.lr", "0.0001"), g.get(0));
    assertEquals("sentence-transformers/all-MiniLM-L6-v2", g.get(1).get("model.name"));
    assertEquals(Map.of("model.name", "intfloat/e5-small-v2", "model.revision", "main", "train.lr", "0.0003"),
        g.get(3));
  }

  @Test
  void refusesWhatItCannotSearch() {
    assertRefused("\"train.lr\" { uniform = [1e-5, 1e-4] }", "grid", true);
    assertRefused("\"model.hub_endpoint\" { choice = [a, b] }", "search model.name instead", false);
    assertRefused("\"model.cache_dir\" { choice = [a, b] }", "says where downloaded models are kept", false);
    assertRefused("\"model.nope\" { choice = [a] }", "every model.* key", false);
    assertRefused("\"tokenize.max_length\" { choice = [64] }", "model.name and model.revision can be searched", false);
    assertRefused("\"train.nope\" { choice = [1] }", "not a setting", false);
    assertRefused("train { lr { choice = [1] } }", "quote the key", false);
    assertRefused("\"train.output_dir\" { choice = [a] }", "sets train.output_dir itself", false);
    assertRefused("\"train.lr\" { normal = [1, 2] }", "choice, uniform, loguniform or randint", false);
    assertRefused("\"train.lr\" { loguniform = [0, 1e-3] }", "positive", false);
    assertRefused("\"train.lr\" { uniform = [2e-3, 1e-3] }", "low end", false);
    assertRefused("\"train.epochs\" { randint = [1.5, 3] }", "integers", false);
    assertRefused("\"train.lr\" { choice = [] }", "at least one value", false);
    assertRefused("", "tune.space is empty", false);
  }

  private static void assertRefused(String hocon, String expected, boolean grid) {
    ConfigError e = assertThrows(ConfigError.class, () -> {
      SearchSpace s = space(hocon);
      if (grid) {
        s.grid();
      }
    });
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
