package io.textspark.serve;

import io.textspark.inference.Prediction;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * Merges requests that arrive together into one model batch: a bounded queue of requests and a fixed
 * pool of inference threads, each of which takes the queued requests up to {@code maxBatch} texts once
 * that many are waiting or the oldest has waited {@code maxWait}, scores them in one call (which sorts
 * them by length, see {@link io.textspark.inference.BatchScorer}) and hands each request its share.
 *
 * <p>The queue holds at most {@code maxQueue} texts; {@link #submit} refuses more with {@link QueueFull}
 * instead of letting memory grow. A request is never split, so one larger than {@code maxBatch} is a
 * batch of its own.
 */
public final class DynamicBatcher implements AutoCloseable {
  /** Thrown by {@link #submit} when the request does not fit in the queue. */
  public static final class QueueFull extends RuntimeException {
    private static final long serialVersionUID = 1L;

    QueueFull(int queued, int maxQueue) {
      super("the server is busy: " + queued + " texts are waiting and the queue holds " + maxQueue);
    }
  }

  private record Pending(List<String> texts, long arrivedNanos, CompletableFuture<Prediction[]> result) {}

  private final Function<List<String>, Prediction[]> scorer;
  private final int maxBatch;
  private final long maxWaitNanos;
  private final int maxQueue;
  private final IntConsumer batchSizes;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private final List<Thread> workers = new ArrayList<>();
  private int queuedTexts;
  private boolean closed;

  /**
   * Starts {@code threads} inference threads calling {@code scorer} (which must be thread-safe, like
   * {@link io.textspark.inference.Predictor#predict}); {@code batchSizes} hears the texts of every batch.
   */
  public DynamicBatcher(Function<List<String>, Prediction[]> scorer, int threads, int maxBatch, Duration maxWait,
      int maxQueue, IntConsumer batchSizes) {
    if (threads < 1 || maxBatch < 1 || maxQueue < 1 || maxWait.isNegative()) {
      throw new IllegalArgumentException("threads, maxBatch and maxQueue must be positive and maxWait not"
          + " negative, got " + threads + ", " + maxBatch + ", " + maxQueue + ", " + maxWait);
    }
    this.scorer = scorer;
    this.maxBatch = maxBatch;
    this.maxWaitNanos = maxWait.toNanos();
    this.maxQueue = maxQueue;
    this.batchSizes = batchSizes;
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(this::work, "serve-inference-" + i);
      workers.add(t);
      t.start();
    }
  }

  /**
   * Queues {@code texts} for scoring; the future completes with their predictions in order, or with
   * the scorer's exception. Throws {@link QueueFull} when the queue has no room for them and
   * {@link IllegalStateException} once closed.
   */
  public CompletableFuture<Prediction[]> submit(List<String> texts) {
    CompletableFuture<Prediction[]> result = new CompletableFuture<>();
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("the server is shutting down");
      }
      if (queuedTexts + texts.size() > maxQueue) {
        throw new QueueFull(queuedTexts, maxQueue);
      }
      queue.addLast(new Pending(List.copyOf(texts), System.nanoTime(), result));
      queuedTexts += texts.size();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    return result;
  }

  /** Texts waiting in the queue now. */
  public int queuedTexts() {
    lock.lock();
    try {
      return queuedTexts;
    } finally {
      lock.unlock();
    }
  }

  /** Refuses new requests, scores every queued one, and waits up to {@code timeout} for the threads to end. */
  public void close(Duration timeout) throws InterruptedException {
    lock.lock();
    try {
      closed = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Thread t : workers) {
      long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
      t.join(left);
    }
  }

  /** {@link #close(Duration)} with a minute for the queued requests. */
  @Override
  public void close() {
    try {
      close(Duration.ofMinutes(1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void work() {
    while (true) {
      List<Pending> batch;
      try {
        batch = next();
      } catch (InterruptedException e) {
        return;
      }
      if (batch == null) {
        return;
      }
      score(batch);
    }
  }

  /** Waits for the next batch; null once closed and drained. */
  private List<Pending> next() throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        if (queue.isEmpty()) {
          if (closed) {
            return null;
          }
          changed.await();
          continue;
        }
        long wait = queue.peekFirst().arrivedNanos() + maxWaitNanos - System.nanoTime();
        if (queuedTexts >= maxBatch || wait <= 0 || closed) {
          return take();
        }
        changed.awaitNanos(wait);
      }
    } finally {
      lock.unlock();
    }
  }

  private List<Pending> take() {
    List<Pending> batch = new ArrayList<>();
    int texts = 0;
    while (!queue.isEmpty() && (batch.isEmpty() || texts + queue.peekFirst().texts().size() <= maxBatch)) {
      Pending p = queue.pollFirst();
      batch.add(p);
      texts += p.texts().size();
    }
    queuedTexts -= texts;
    if (!queue.isEmpty()) {
      // Another thread may take the rest while this one scores.
      changed.signalAll();
    }
    return batch;
  }

  private void score(List<Pending> batch) {
    List<String> texts = new ArrayList<>();
    for (Pending p : batch) {
      texts.addAll(p.texts());
    }
    Prediction[] all;
    try {
      batchSizes.accept(texts.size());
      all = scorer.apply(texts);
    } catch (RuntimeException | Error e) {
      // One failing batch answers its own requests with the error; the thread goes on serving.
      for (Pending p : batch) {
        p.result().completeExceptionally(e);
      }
      return;
    }
    int from = 0;
    for (Pending p : batch) {
      int n = p.texts().size();
      p.result().complete(Arrays.copyOfRange(all, from, from + n));
      from += n;
    }
  }
}
