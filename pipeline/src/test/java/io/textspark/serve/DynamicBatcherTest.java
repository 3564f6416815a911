package io.textspark.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.inference.Prediction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Merging requests into batches, back-pressure and draining, with a scorer that echoes its texts. */
class DynamicBatcherTest {
  private final List<Integer> sizes = Collections.synchronizedList(new ArrayList<>());

  /** Answers each text with a prediction whose label is the text, and records the batch sizes. */
  private Function<List<String>, Prediction[]> echo(CountDownLatch gate) {
    return texts -> {
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (texts.contains("fail")) {
        throw new IllegalStateException("model failed");
      }
      Prediction[] out = new Prediction[texts.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = new Prediction(texts.get(i), i, new double[] {1}, false, 2, null);
      }
      return out;
    };
  }

  private static List<String> labels(CompletableFuture<Prediction[]> f) throws Exception {
    List<String> out = new ArrayList<>();
    for (Prediction p : f.get(10, TimeUnit.SECONDS)) {
      out.add(p.label());
    }
    return out;
  }

  @Test
  void requestsArrivingTogetherAreOneBatchUpToMaxBatchAndEachGetsItsOwnTexts() throws Exception {
    CountDownLatch open = new CountDownLatch(0);
    DynamicBatcher batcher = new DynamicBatcher(echo(open), 1, 4, Duration.ofMillis(300), 100, sizes::add);
    try {
      List<CompletableFuture<Prediction[]>> f = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        f.add(batcher.submit(List.of("t" + i)));
      }
      for (int i = 0; i < 6; i++) {
        assertEquals(List.of("t" + i), labels(f.get(i)));
      }
      // The first four fill a batch at once; the last two go when the older has waited max_wait.
      assertEquals(List.of(4, 2), sizes);
    } finally {
      batcher.close();
    }
  }

  @Test
  void aRequestIsNeverSplitAndOneOverMaxBatchIsABatchOfItsOwn() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    DynamicBatcher batcher = new DynamicBatcher(echo(gate), 1, 4, Duration.ZERO, 100, sizes::add);
    try {
      CompletableFuture<Prediction[]> first = batcher.submit(List.of("a"));
      // The thread holds "a" at the gate; the next three queue behind it.
      Thread.sleep(100);
      CompletableFuture<Prediction[]> big = batcher.submit(List.of("b", "c", "d", "e", "f", "g"));
      CompletableFuture<Prediction[]> x = batcher.submit(List.of("x", "y"));
      CompletableFuture<Prediction[]> z = batcher.submit(List.of("z"));
      assertEquals(9, batcher.queuedTexts());
      gate.countDown();
      assertEquals(List.of("a"), labels(first));
      assertEquals(List.of("b", "c", "d", "e", "f", "g"), labels(big));
      assertEquals(List.of("x", "y"), labels(x));
      assertEquals(List.of("z"), labels(z));
      assertEquals(List.of(1, 6, 3), sizes);
    } finally {
      batcher.close();
    }
  }

  @Test
  void aFullQueueRefusesAndAFailedBatchFailsOnlyItsRequests() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    DynamicBatcher batcher = new DynamicBatcher(echo(gate), 1, 1, Duration.ZERO, 3, sizes::add);
    try {
      CompletableFuture<Prediction[]> held = batcher.submit(List.of("fail"));
      Thread.sleep(100);
      CompletableFuture<Prediction[]> queued = batcher.submit(List.of("a", "b"));
      DynamicBatcher.QueueFull full = assertThrows(DynamicBatcher.QueueFull.class,
          () -> batcher.submit(List.of("c", "d")));
      assertTrue(full.getMessage().contains("2 texts are waiting and the queue holds 3"), full.getMessage());
      CompletableFuture<Prediction[]> fits = batcher.submit(List.of("c"));
      gate.countDown();
      ExecutionException failed = assertThrows(ExecutionException.class, () -> held.get(10, TimeUnit.SECONDS));
      assertEquals("model failed", failed.getCause().getMessage());
      assertEquals(List.of("a", "b"), labels(queued));
      assertEquals(List.of("c"), labels(fits));
    } finally {
      batcher.close();
    }
  }

  @Test
  void closingScoresWhatIsQueuedThenRefuses() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    DynamicBatcher batcher = new DynamicBatcher(echo(gate), 2, 8, Duration.ofSeconds(1), 100, sizes::add);
    CompletableFuture<Prediction[]> a = batcher.submit(List.of("a"));
    CompletableFuture<Prediction[]> b = batcher.submit(List.of("b"));
    Thread closer = new Thread(() -> {
      try {
        batcher.close(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    closer.start();
    Thread.sleep(100);
    assertThrows(IllegalStateException.class, () -> batcher.submit(List.of("c")));
    gate.countDown();
    closer.join(10_000);
    assertEquals(List.of("a"), labels(a));
    assertEquals(List.of("b"), labels(b));
  }
}
