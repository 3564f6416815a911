package io.textspark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/** The ring all-reduce and broadcast on loopback rings of 2 to 4 workers, including dead and stalled peers. */
class RingCollectiveTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  // A tiny chunk so that a few thousand elements already take many pipelined chunks per segment.
  private static final int SMALL_CHUNK = 64;

  /** Runs {@code body(rank, collective)} on every worker at once; returns each worker's error or null. */
  private static List<Throwable> onEveryRank(List<RingCollective> ring, BiConsumer<Integer, RingCollective> body)
      throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(ring.size());
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int r = 0; r < ring.size(); r++) {
        int rank = r;
        done.add(pool.submit(() -> body.accept(rank, ring.get(rank))));
      }
      List<Throwable> errors = new ArrayList<>();
      for (Future<?> f : done) {
        try {
          f.get();
          errors.add(null);
        } catch (ExecutionException e) {
          errors.add(e.getCause());
        }
      }
      return errors;
    } finally {
      pool.shutdownNow();
    }
  }

  private static void assertNoErrors(List<Throwable> errors) {
    for (Throwable t : errors) {
      if (t != null) {
        throw new AssertionError(t);
      }
    }
  }

  @Test
  void sumsFloatsOfEveryLengthOnEveryRingSize() throws Exception {
    for (int n : new int[] {2, 3, 4}) {
      for (int length : new int[] {0, 1, n - 1, n, 7, 1000, 4099}) {
        List<RingCollective> ring = LoopbackRing.open(n, TIMEOUT, SMALL_CHUNK);
        try {
          float[][] buffers = new float[n][length];
          float[] expected = new float[length];
          for (int r = 0; r < n; r++) {
            for (int i = 0; i < length; i++) {
              // Small integers add exactly in any order, so the expected sum is exact.
              buffers[r][i] = (r + 1) * 1000 + i % 97;
              expected[i] += buffers[r][i];
            }
          }
          assertNoErrors(onEveryRank(ring, (r, c) -> c.allReduceSum(buffers[r])));
          for (int r = 0; r < n; r++) {
            assertArrayEquals(expected, buffers[r], "rank " + r + " of " + n + ", length " + length);
          }
        } finally {
          ring.forEach(RingCollective::close);
        }
      }
    }
  }

  @Test
  void everyRankEndsWithBitIdenticalSumsOfRandomFloats() throws Exception {
    int n = 3;
    List<RingCollective> ring = LoopbackRing.open(n, TIMEOUT, RingCollective.DEFAULT_CHUNK_BYTES);
    try {
      Random random = new Random(5);
      int length = 300_001; // several default-size chunks per segment
      float[][] buffers = new float[n][length];
      double[] exact = new double[length];
      for (int r = 0; r < n; r++) {
        for (int i = 0; i < length; i++) {
          buffers[r][i] = (float) random.nextGaussian();
          exact[i] += buffers[r][i];
        }
      }
      assertNoErrors(onEveryRank(ring, (r, c) -> c.allReduceSum(buffers[r])));
      for (int i = 0; i < length; i++) {
        assertEquals(exact[i], buffers[0][i], 1e-5);
      }
      assertArrayEquals(buffers[0], buffers[1]);
      assertArrayEquals(buffers[0], buffers[2]);
      long payload = 2L * (n - 1) * length * Float.BYTES / n;
      long sent = ring.get(0).bytesSent();
      assertTrue(Math.abs(sent - payload) <= 8, "bandwidth-optimal: " + sent + " bytes sent, expected ~" + payload);
    } finally {
      ring.forEach(RingCollective::close);
    }
  }

  @Test
  void sumsDoublesAndBroadcastsFromRankZeroInOneSequence() throws Exception {
    int n = 4;
    List<RingCollective> ring = LoopbackRing.open(n, TIMEOUT, SMALL_CHUNK);
    try {
      double[][] counts = new double[n][];
      float[][] weights = new float[n][];
      assertNoErrors(onEveryRank(ring, (r, c) -> {
        for (int round = 0; round < 3; round++) {
          counts[r] = new double[] {r, 1, 1e12 + r};
          c.allReduceSum(counts[r]);
          weights[r] = new float[501];
          for (int i = 0; i < weights[r].length; i++) {
            weights[r][i] = r * 10_000 + i + round;
          }
          c.broadcast(weights[r]);
        }
      }));
      for (int r = 0; r < n; r++) {
        assertArrayEquals(new double[] {6, 4, 4e12 + 6}, counts[r]);
        assertArrayEquals(weights[0], weights[r], "rank " + r + " holds rank 0's weights");
        assertEquals(2 + 500, weights[r][500], "rank 0's values from the last round");
      }
    } finally {
      ring.forEach(RingCollective::close);
    }
  }

  @Test
  void aStalledWorkerMakesTheOthersFailWithinTheTimeoutNamingIt() throws Exception {
    Duration timeout = Duration.ofSeconds(1);
    List<RingCollective> ring = LoopbackRing.open(3, timeout, SMALL_CHUNK);
    try {
      long start = System.nanoTime();
      long[] failedAfter = new long[3];
      List<Throwable> errors = onEveryRank(ring, (r, c) -> {
        try {
          if (r == 2) {
            sleep(4000); // alive, connections open, but never reaches the call
            return;
          }
          c.allReduceSum(new float[1000]);
        } finally {
          failedAfter[r] = (System.nanoTime() - start) / 1_000_000;
        }
      });
      for (int r = 0; r < 2; r++) {
        CollectiveException e = assertInstanceOfCollective(errors.get(r));
        assertTrue(e.rootCause().contains("rank 2 "), "rank " + r + ": " + e.getMessage());
        assertTrue(failedAfter[r] < 2500, "rank " + r + " failed after " + failedAfter[r] + " ms");
      }
      assertTrue(errors.get(0).getMessage().contains("did not start all-reduce #1"), errors.get(0).getMessage());
      CollectiveException later = assertThrows(CollectiveException.class,
          () -> ring.get(0).allReduceSum(new float[1]));
      assertTrue(later.getMessage().contains("failed earlier"), later.getMessage());
    } finally {
      ring.forEach(RingCollective::close);
    }
  }

  @Test
  void aWorkerStoppedInTheMiddleOfACallMakesEveryOtherFailWithinOneTimeoutNamingIt() throws Exception {
    Duration timeout = Duration.ofMillis(1500);
    List<RingCollective> ring = LoopbackRing.open(4, timeout, SMALL_CHUNK);
    try {
      // Rank 1 forwards its first received chunk, then stops as a stopped process would: no data and
      // no waiting frames. Ranks 0, 2 and 3 are two and three hops downstream of it, or next to it.
      ring.get(1).freezeDuringNextCall(0, 5000);
      long start = System.nanoTime();
      long[] failedAfter = new long[4];
      List<Throwable> errors = onEveryRank(ring, (r, c) -> {
        try {
          c.allReduceSum(new float[4000]);
        } finally {
          failedAfter[r] = (System.nanoTime() - start) / 1_000_000;
        }
      });
      for (int r : new int[] {0, 2, 3}) {
        CollectiveException e = assertInstanceOfCollective(errors.get(r));
        assertTrue(e.rootCause().contains("rank 1 is stalled or dead"), "rank " + r + ": " + e.getMessage());
        // One timeout and the read poll's granularity, well below the two timeouts (3 s) a chain of
        // waiting workers would need if each waited out its own predecessor.
        assertTrue(failedAfter[r] < 2500, "rank " + r + " failed after " + failedAfter[r] + " ms");
      }
    } finally {
      ring.forEach(RingCollective::close);
    }
  }

  @Test
  void aDeadWorkerMakesTheOthersFailAtOnceNamingIt() throws Exception {
    List<RingCollective> ring = LoopbackRing.open(3, TIMEOUT, SMALL_CHUNK);
    try {
      ring.get(1).close(); // as when its executor is killed: the kernel closes its sockets
      long start = System.nanoTime();
      List<Throwable> errors = onEveryRank(ring, (r, c) -> {
        if (r != 1) {
          c.allReduceSum(new float[5000]);
        }
      });
      long millis = (System.nanoTime() - start) / 1_000_000;
      for (int r : new int[] {0, 2}) {
        CollectiveException e = assertInstanceOfCollective(errors.get(r));
        assertTrue(e.rootCause().contains("rank 1 "), "rank " + r + ": " + e.getMessage());
      }
      assertTrue(millis < 5000, "failed after " + millis + " ms, far below the 20 s timeout");
    } finally {
      ring.forEach(RingCollective::close);
    }
  }

  @Test
  void workersThatDisagreeAboutTheCallFailInsteadOfMixingBuffers() throws Exception {
    List<RingCollective> ring = LoopbackRing.open(2, TIMEOUT, SMALL_CHUNK);
    try {
      List<Throwable> errors = onEveryRank(ring, (r, c) -> c.allReduceSum(new float[r == 0 ? 3 : 4]));
      assertTrue(errors.stream().anyMatch(t -> t != null && t.getMessage().contains("disagree")), errors.toString());
    } finally {
      ring.forEach(RingCollective::close);
    }
  }

  @Test
  void aKilledTaskStopsWaitingWithinASecond() throws Exception {
    List<RingCollective> ring = LoopbackRing.open(2, TIMEOUT, SMALL_CHUNK);
    try {
      Thread[] waiting = new Thread[1];
      Throwable[] error = new Throwable[1];
      waiting[0] = new Thread(() -> {
        try {
          ring.get(0).allReduceSum(new float[10]); // rank 1 never joins
        } catch (Throwable t) {
          error[0] = t;
        }
      });
      waiting[0].start();
      Thread.sleep(300);
      long start = System.nanoTime();
      waiting[0].interrupt();
      waiting[0].join(5000);
      assertTrue((System.nanoTime() - start) / 1_000_000 < 2500);
      assertTrue(error[0] instanceof CollectiveException && error[0].getMessage().contains("interrupted"),
          String.valueOf(error[0]));
    } finally {
      ring.forEach(RingCollective::close);
    }
  }

  @Test
  void aSingleWorkerRingIsANoOp() {
    List<RingCollective> ring = LoopbackRing.open(1, TIMEOUT, SMALL_CHUNK);
    float[] b = {1, 2};
    ring.get(0).allReduceSum(b);
    ring.get(0).broadcast(b);
    assertArrayEquals(new float[] {1, 2}, b);
    ring.get(0).close();
  }

  private static CollectiveException assertInstanceOfCollective(Throwable t) {
    assertTrue(t instanceof CollectiveException, "expected a CollectiveException, got " + t);
    return (CollectiveException) t;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
