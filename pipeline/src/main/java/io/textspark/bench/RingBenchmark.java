package io.textspark.bench;

import io.textspark.collective.CollectiveException;
import io.textspark.collective.LoopbackRing;
import io.textspark.collective.RingCollective;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures the ring all-reduce on loopback next to raw loopback TCP in the same run: bus bandwidth
 * for each ring size and buffer size, and the ring's α (latency per step) and β (bandwidth) that
 * the scaling model in the README uses.
 *
 * <p>Bus bandwidth follows NCCL's convention: algorithm bandwidth (bytes / time) times 2(N−1)/N,
 * the share of the buffer each worker sends, so it is directly comparable with a link's bandwidth.
 */
public final class RingBenchmark {
  private static final int RAW_CHUNK = RingCollective.DEFAULT_CHUNK_BYTES;

  private RingBenchmark() {}

  /**
   * One measurement.
   *
   * @param workers ring size
   * @param floats buffer length
   * @param seconds median wall time of one all-reduce, from a common start to the last worker done
   */
  public record Measurement(int workers, int floats, double seconds) {
    /** Buffer bytes per second. */
    public double algorithmBandwidth() {
      return 4.0 * floats / seconds;
    }

    /** Algorithm bandwidth times 2(N−1)/N: what each worker's link carries per second. */
    public double busBandwidth() {
      return algorithmBandwidth() * 2.0 * (workers - 1) / workers;
    }
  }

  /**
   * The ring's cost model fitted to one ring size: t(S) = 2(N−1)·α + 2(N−1)/N · S/β.
   *
   * @param workers ring size
   * @param alpha seconds per ring step (latency), from the smallest buffer
   * @param beta bytes per second per link, from the largest buffer
   */
  public record CostModel(int workers, double alpha, double beta) {
    /** Predicted seconds to all-reduce {@code bytes} over {@code n} workers with this α and β. */
    public double predict(int n, double bytes) {
      return 2.0 * (n - 1) * alpha + 2.0 * (n - 1) / n * bytes / beta;
    }
  }

  /** Runs the whole benchmark and prints it; returns the fitted model of each ring size. */
  public static List<CostModel> run(List<Integer> workers, List<Integer> floats, int repeats, PrintStream out) {
    long rawBytes = 256L << 20;
    out.printf(Locale.ROOT, "raw loopback TCP, %s writes of %s:%n", bytes(rawBytes), bytes(RAW_CHUNK));
    out.printf(Locale.ROOT, "  1 stream:              %s%n", rate(loopback(rawBytes, 1)));
    out.printf(Locale.ROOT, "  2 streams at once:     %s per stream (a 2-worker ring's load)%n",
        rate(loopback(rawBytes, 2)));
    List<Integer> sizes = new ArrayList<>(floats);
    sizes.sort(Integer::compare);
    List<CostModel> models = new ArrayList<>();
    for (int n : workers) {
      out.printf(Locale.ROOT, "%nring all-reduce, %d workers on 127.0.0.1 (chunks of %s, median of %d):%n", n,
          bytes(RingCollective.DEFAULT_CHUNK_BYTES), repeats);
      out.printf(Locale.ROOT, "  %10s %12s %14s %14s%n", "size", "time", "algbw", "busbw");
      List<Measurement> rows = new ArrayList<>();
      for (int f : sizes) {
        Measurement m = new Measurement(n, f, allReduceSeconds(n, f, repeats));
        rows.add(m);
        out.printf(Locale.ROOT, "  %10s %12s %14s %14s%n", bytes(4L * f), time(m.seconds()),
            rate(m.algorithmBandwidth()), rate(m.busBandwidth()));
      }
      if (n > 1 && rows.size() >= 2) {
        Measurement small = rows.get(0);
        Measurement large = rows.get(rows.size() - 1);
        double alpha = small.seconds() / (2.0 * (n - 1));
        double transfer = Math.max(1e-9, large.seconds() - 2.0 * (n - 1) * alpha);
        double beta = 2.0 * (n - 1) / n * 4.0 * large.floats() / transfer;
        models.add(new CostModel(n, alpha, beta));
        out.printf(Locale.ROOT, "  fit: alpha %s per step, beta %s per link%n", time(alpha), rate(beta));
      }
    }
    return models;
  }

  /** Median seconds of one all-reduce of {@code floats} floats on a loopback ring of {@code workers}. */
  public static double allReduceSeconds(int workers, int floats, int repeats) {
    List<RingCollective> ring = LoopbackRing.open(workers, Duration.ofMinutes(5), RingCollective.DEFAULT_CHUNK_BYTES);
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try {
      CyclicBarrier barrier = new CyclicBarrier(workers);
      double[] times = new double[repeats];
      List<Future<?>> done = new ArrayList<>();
      for (int r = 0; r < workers; r++) {
        RingCollective c = ring.get(r);
        done.add(pool.submit(() -> {
          float[] buffer = new float[floats];
          for (int rep = -1; rep < repeats; rep++) {
            barrier.await();
            long start = System.nanoTime();
            c.allReduceSum(buffer);
            barrier.await();
            if (c.rank() == 0 && rep >= 0) {
              times[rep] = (System.nanoTime() - start) / 1e9;
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      Arrays.sort(times);
      return times[repeats / 2];
    } catch (ExecutionException e) {
      throw new CollectiveException("the benchmark's ring failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CollectiveException("interrupted", e);
    } finally {
      pool.shutdownNow();
      ring.forEach(RingCollective::close);
    }
  }

  /** Bytes per second of each of {@code streams} loopback TCP connections sending {@code bytes} at once. */
  public static double loopback(long bytes, int streams) {
    ExecutorService pool = Executors.newFixedThreadPool(2 * streams);
    List<ServerSocket> servers = new ArrayList<>();
    try {
      CyclicBarrier start = new CyclicBarrier(2 * streams);
      List<Future<Long>> readers = new ArrayList<>();
      for (int s = 0; s < streams; s++) {
        ServerSocket server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        servers.add(server);
        int port = server.getLocalPort();
        pool.submit(() -> {
          try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            byte[] chunk = new byte[RAW_CHUNK];
            start.await();
            for (long sent = 0; sent < bytes; sent += chunk.length) {
              out.write(chunk, 0, (int) Math.min(chunk.length, bytes - sent));
            }
            out.flush();
          }
          return null;
        });
        readers.add(pool.submit(() -> {
          try (Socket socket = server.accept()) {
            InputStream in = socket.getInputStream();
            byte[] chunk = new byte[RAW_CHUNK];
            start.await();
            long begin = System.nanoTime();
            long got = 0;
            while (got < bytes) {
              int n = in.read(chunk);
              if (n < 0) {
                throw new IOException("stream ended after " + got + " bytes");
              }
              got += n;
            }
            return System.nanoTime() - begin;
          }
        }));
      }
      long slowest = 0;
      for (Future<Long> r : readers) {
        slowest = Math.max(slowest, r.get());
      }
      return bytes / (slowest / 1e9);
    } catch (IOException | ExecutionException e) {
      throw new CollectiveException("the loopback measurement failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CollectiveException("interrupted", e);
    } finally {
      pool.shutdownNow();
      for (ServerSocket s : servers) {
        try {
          s.close();
        } catch (IOException ignored) {
          // Only a measurement socket.
        }
      }
    }
  }

  /** Bytes in B, KiB, MiB or GiB. */
  public static String bytes(long b) {
    if (b < 1024) {
      return b + " B";
    }
    if (b < 1 << 20) {
      return String.format(Locale.ROOT, "%.0f KiB", b / 1024.0);
    }
    if (b < 1L << 30) {
      return String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
    }
    return String.format(Locale.ROOT, "%.2f GiB", b / 1073741824.0);
  }

  /** A rate in GB/s (10^9 bytes per second) or MB/s. */
  public static String rate(double bytesPerSecond) {
    return bytesPerSecond >= 1e9 ? String.format(Locale.ROOT, "%.2f GB/s", bytesPerSecond / 1e9)
        : String.format(Locale.ROOT, "%.1f MB/s", bytesPerSecond / 1e6);
  }

  /** A duration in µs, ms or s. */
  public static String time(double seconds) {
    if (seconds < 1e-3) {
      return String.format(Locale.ROOT, "%.1f us", seconds * 1e6);
    }
    return seconds < 1 ? String.format(Locale.ROOT, "%.2f ms", seconds * 1e3)
        : String.format(Locale.ROOT, "%.3f s", seconds);
  }
}
