package io.textspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The serve and bench.serve sections: defaults, and bad values refused with the key named. */
class ServeConfigTest {
  @Test
  void defaultsAreLocalAndBounded() {
    ServeConfig s = TextSparkConfig.withOverrides().serve();
    assertEquals("127.0.0.1", s.host());
    assertEquals(8080, s.port());
    assertEquals(Duration.ofMillis(5), s.maxWait());
    assertTrue(s.maxTexts() <= s.maxQueue());
    assertEquals("", s.apiKeysFile());
    assertEquals(List.of(1, 8, 32), TextSparkConfig.withOverrides().bench().serve().concurrency());
  }

  @Test
  void badValuesNameTheKeyAndTheFix() {
    String[][] cases = {
        {"serve.max_texts=100", "serve.max_queue=50", "serve.max_texts = 100"},
        {"serve.max_wait=2s", "serve.port=0", "serve.max_wait"},
        {"serve.port=70000", "serve.threads=1", "serve.port = 70000; allowed range is 0 to 65535"},
        {"serve.threads=0", "serve.port=0", "serve.threads = 0"},
        {"serve.retry_after=0s", "serve.port=0", "serve.retry_after"},
        {"bench.serve.concurrency=1,x", "serve.port=0", "bench.serve.concurrency"},
    };
    for (String[] c : cases) {
      ConfigError e = assertThrows(ConfigError.class, () -> TextSparkConfig.withOverrides(c[0], c[1]));
      assertTrue(e.getMessage().contains(c[2]), e.getMessage());
    }
  }
}
