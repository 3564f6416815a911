package io.textspark.collective;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A ring of workers inside one JVM, connected over the loopback interface exactly as executors
 * connect over the network; for the benchmark and for tests of failure handling.
 */
public final class LoopbackRing {
  private LoopbackRing() {}

  /** Connects {@code n} workers on 127.0.0.1; element r of the result is rank r. */
  public static List<RingCollective> open(int n, Duration timeout, int chunkBytes) {
    List<ServerSocket> listeners = new ArrayList<>();
    List<InetSocketAddress> peers = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(n);
    List<RingCollective> ring = new ArrayList<>();
    try {
      InetAddress loopback = InetAddress.getLoopbackAddress();
      for (int r = 0; r < n; r++) {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(loopback, 0));
        listeners.add(s);
        peers.add(new InetSocketAddress(loopback, s.getLocalPort()));
      }
      long token = ThreadLocalRandom.current().nextLong();
      List<Future<RingCollective>> joined = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        joined.add(pool.submit(() -> RingCollective.connect(rank, peers, listeners.get(rank), token, timeout,
            chunkBytes)));
      }
      for (Future<RingCollective> f : joined) {
        ring.add(f.get());
      }
      return ring;
    } catch (IOException | ExecutionException e) {
      ring.forEach(RingCollective::close);
      throw new CollectiveException("cannot build a loopback ring of " + n + " workers: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ring.forEach(RingCollective::close);
      throw new CollectiveException("interrupted while building a loopback ring", e);
    } finally {
      pool.shutdownNow();
      for (ServerSocket s : listeners) {
        try {
          s.close();
        } catch (IOException ignored) {
          // connect() has closed it already.
        }
      }
    }
  }
}
