package io.textspark.collective;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Workers connected in a ring over TCP, each sending to the next rank and receiving from the
 * previous one. A sum is a bandwidth-optimal ring all-reduce: a reduce-scatter (N−1 steps, after
 * which rank r holds the full sum of segment r+1) followed by an all-gather (N−1 steps), so every
 * worker sends and receives 2(N−1)/N of the buffer whatever N is.
 *
 * <p>Segments are cut into chunks of {@value #DEFAULT_CHUNK_BYTES} bytes and pipelined: a
 * worker forwards each chunk as soon as it has added its own values, and a separate sender thread
 * writes while this thread reads and reduces, so sending and reducing overlap. All workers end with
 * bit-identical results because the all-gather copies each finished segment instead of summing it
 * again.
 *
 * <p>Every call must complete within the timeout, counted from the moment this worker entered it.
 * Each call starts with a small header naming the operation, its sequence number and its size, so
 * a worker knows whether its predecessor reached the call. While a worker waits for data it tells
 * its successor so, several times per timeout, in a small "waiting" frame naming the rank it is
 * waiting on: its own predecessor, or the rank its predecessor's waiting frames named. A worker that
 * hears nothing until the timeout therefore knows whom the whole chain is waiting on, and every
 * worker fails within the timeout naming the same stalled or dead rank, whether that rank stopped
 * before the call or in the middle of it. The first worker to fail also sends an abort frame with
 * its message to its successor, so the report travels round the ring. A closed connection fails at
 * once. The first failure is kept: later calls fail immediately.
 */
public final class RingCollective implements Collective {
  /** Bytes per chunk: small enough to start forwarding early, large enough to keep per-frame costs negligible. */
  public static final int DEFAULT_CHUNK_BYTES = 256 * 1024;

  private static final int MAGIC = 0x54535247;
  private static final int HELLO_BYTES = 4 + 8 + 4 + 4;
  private static final int HEADER_BYTES = 8;
  private static final int FRAME_BEGIN = 1;
  private static final int FRAME_DATA = 2;
  private static final int FRAME_ABORT = 3;
  private static final int FRAME_WAITING = 4;
  private static final int WAITING_BYTES = 4;
  private static final int BEGIN_BYTES = 4 + 8 + 4 + 4;
  private static final int OP_ALL_REDUCE = 1;
  private static final int OP_BROADCAST = 2;
  // A blocked read wakes this often to notice that Spark killed the task.
  private static final long POLL_MILLIS = 1000;
  // How long a failing worker tries to tell its successor why before it closes the connection.
  private static final long ABORT_GRACE_MILLIS = 2000;
  private static final int NO_SUSPECT = -1;

  private final int rank;
  private final int size;
  private final List<InetSocketAddress> peers;
  private final Duration timeout;
  // How often a waiting worker tells its successor whom it waits on: several times per timeout.
  private final long waitingEveryNanos;
  private final int chunkBytes;
  private final Socket toNext;
  private final Socket fromPrev;
  private final OutputStream out;
  private final InputStream in;
  private final ExecutorService sender;
  private final byte[] header = new byte[HEADER_BYTES];
  private final byte[] received;
  private final float[] floatScratch;
  private final double[] doubleScratch;
  private long sequence;
  private volatile long bytesSent;
  private long callNanos;
  private long waitNanos;
  private CollectiveException failure;
  // The rank the predecessor's latest waiting frame named, and when it arrived (receiving thread
  // writes, sending thread reads).
  private volatile int upstreamSuspect = NO_SUSPECT;
  private volatile long upstreamWaitingAt;
  // Test hook: the receiving thread stops as in a stopped process, and the sender stays silent.
  private int freezeAfterChunks = -1;
  private long freezeMillis;
  private volatile boolean frozen;

  private RingCollective(int rank, List<InetSocketAddress> peers, Duration timeout, int chunkBytes, Socket toNext,
      Socket fromPrev) throws IOException {
    this.rank = rank;
    this.size = peers.size();
    this.peers = List.copyOf(peers);
    this.timeout = timeout;
    this.waitingEveryNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(20),
        Math.min(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS), timeout.toNanos() / 5));
    this.chunkBytes = chunkBytes;
    this.toNext = toNext;
    this.fromPrev = fromPrev;
    this.out = toNext == null ? null : toNext.getOutputStream();
    this.in = fromPrev == null ? null : fromPrev.getInputStream();
    this.received = new byte[Math.max(chunkBytes, BEGIN_BYTES)];
    this.floatScratch = new float[chunkBytes / Float.BYTES];
    this.doubleScratch = new double[chunkBytes / Double.BYTES];
    this.sender = size == 1 ? null : Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "textspark-ring-send-rank" + rank);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Joins the ring as {@code rank} of {@code peers.size()} workers with the default chunk size.
   *
   * @param listener this worker's bound server socket (its address is {@code peers.get(rank)});
   *     closed once the predecessor has connected
   * @param token a number every worker of this ring was given, so connections from another run or
   *     attempt are refused
   */
  public static RingCollective connect(
      int rank, List<InetSocketAddress> peers, ServerSocket listener, long token, Duration timeout) {
    return connect(rank, peers, listener, token, timeout, DEFAULT_CHUNK_BYTES);
  }

  /** Joins the ring with chunks of {@code chunkBytes} (a multiple of 8). */
  public static RingCollective connect(
      int rank, List<InetSocketAddress> peers, ServerSocket listener, long token, Duration timeout, int chunkBytes) {
    int size = peers.size();
    if (rank < 0 || rank >= size) {
      throw new IllegalArgumentException("rank " + rank + " outside [0, " + size + ")");
    }
    if (chunkBytes < 8 || chunkBytes % 8 != 0) {
      throw new IllegalArgumentException("chunkBytes must be a positive multiple of 8, got " + chunkBytes);
    }
    Socket toNext = null;
    Socket fromPrev = null;
    try {
      if (size > 1) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int next = (rank + 1) % size;
        int prev = (rank + size - 1) % size;
        // Connecting first cannot deadlock: the successor's listener is bound before addresses are
        // exchanged, so the connection completes in its backlog before it calls accept.
        toNext = connectTo(rank, next, peers.get(next), token, size, deadline, timeout);
        fromPrev = acceptFrom(rank, prev, listener, token, size, deadline, timeout);
      }
      return new RingCollective(rank, peers, timeout, chunkBytes, toNext, fromPrev);
    } catch (IOException | RuntimeException e) {
      closeQuietly(toNext);
      closeQuietly(fromPrev);
      if (e instanceof CollectiveException ce) {
        throw ce;
      }
      throw new CollectiveException("rank " + rank + ": cannot join the ring of " + size + " workers: " + e, e);
    } finally {
      closeQuietly(listener);
    }
  }

  private static Socket connectTo(int rank, int next, InetSocketAddress address, long token, int size, long deadline,
      Duration timeout) throws IOException {
    IOException last = null;
    while (System.nanoTime() < deadline) {
      Socket s = new Socket();
      try {
        s.setTcpNoDelay(true);
        s.connect(address, (int) Math.max(1, Math.min(remainingMillis(deadline), Integer.MAX_VALUE)));
        ByteBuffer hello = ByteBuffer.allocate(HELLO_BYTES).putInt(MAGIC).putLong(token).putInt(rank).putInt(size);
        s.getOutputStream().write(hello.array());
        s.getOutputStream().flush();
        return s;
      } catch (IOException e) {
        closeQuietly(s);
        last = e;
        sleepQuietly(50);
      }
    }
    throw new CollectiveException("rank " + rank + ": cannot connect to rank " + next + " at " + address + " within "
        + format(timeout) + " (train.collective_timeout)" + (last == null ? "" : ": " + last.getMessage())
        + "; rank " + next + " did not start, or a firewall blocks connections between executors", last);
  }

  private static Socket acceptFrom(int rank, int prev, ServerSocket listener, long token, int size, long deadline,
      Duration timeout) throws IOException {
    while (true) {
      long left = remainingMillis(deadline);
      if (left <= 0) {
        throw new CollectiveException("rank " + rank + ": rank " + prev + " did not connect within " + format(timeout)
            + " (train.collective_timeout); it is stalled or dead");
      }
      listener.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
      Socket s;
      try {
        s = listener.accept();
      } catch (SocketTimeoutException e) {
        continue;
      }
      try {
        s.setTcpNoDelay(true);
        s.setSoTimeout((int) Math.max(1, Math.min(remainingMillis(deadline), Integer.MAX_VALUE)));
        byte[] hello = s.getInputStream().readNBytes(HELLO_BYTES);
        ByteBuffer b = ByteBuffer.wrap(hello);
        if (hello.length == HELLO_BYTES && b.getInt() == MAGIC && b.getLong() == token && b.getInt() == prev
            && b.getInt() == size) {
          return s;
        }
      } catch (IOException e) {
        // A stray or half-open connection (a port scanner, a task of an earlier attempt): ignore it.
      }
      closeQuietly(s);
    }
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public long[] callNanos() {
    return new long[] {callNanos, waitNanos};
  }

  /** Payload bytes this worker has written to its successor so far. */
  public long bytesSent() {
    return bytesSent;
  }

  @Override
  public void allReduceSum(float[] buffer) {
    execute(OP_ALL_REDUCE, new FloatPayload(buffer));
  }

  @Override
  public void allReduceSum(double[] buffer) {
    execute(OP_ALL_REDUCE, new DoublePayload(buffer));
  }

  @Override
  public void broadcast(float[] buffer) {
    execute(OP_BROADCAST, new FloatPayload(buffer));
  }

  private void execute(int op, Payload payload) {
    if (failure != null) {
      throw new CollectiveException("rank " + rank + ": the ring failed earlier: " + failure.rootCause(),
          failure.rootCause(), failure);
    }
    if (size == 1) {
      return;
    }
    long seq = ++sequence;
    String what = describe(op, seq, payload);
    int perChunk = chunkBytes / payload.width();
    Schedule schedule = op == OP_ALL_REDUCE
        ? ringSchedule(payload.length(), perChunk) : broadcastSchedule(payload.length(), perChunk);
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    Send send = null;
    if (schedule.sendsAnything()) {
      send = new Send(payload, schedule.out, schedule.readyAtStart, beginFrame(op, seq, payload));
      sender.execute(send);
    }
    try {
      if (schedule.receivesAnything()) {
        int prev = (rank + size - 1) % size;
        expectBegin(op, seq, payload, deadline, what, prev);
        waitNanos += System.nanoTime() - start;
        for (int i = 0; i < schedule.in.size(); i++) {
          Chunk c = schedule.in.get(i);
          readData(c, payload, deadline, what, prev);
          if (i < schedule.forwarded) {
            send.release();
          }
          if (i == freezeAfterChunks) {
            freeze();
          }
        }
      }
      if (send != null) {
        awaitSend(send, deadline, what);
      }
    } catch (CollectiveException e) {
      fail(e, send);
      throw e;
    } finally {
      callNanos += System.nanoTime() - start;
    }
  }

  private record Chunk(int offset, int count, boolean add) {}

  /** What one worker sends and receives in one operation, in stream order. */
  private record Schedule(List<Chunk> out, int readyAtStart, List<Chunk> in, int forwarded, boolean receives) {
    boolean sendsAnything() {
      return out != null;
    }

    boolean receivesAnything() {
      return receives;
    }
  }

  /**
   * The ring all-reduce as two streams. Rank r receives, at reduce-scatter step s, segment r−s−1
   * (which it adds to) and, at all-gather step s, segment r−s (which it copies). It sends its own
   * segment r first and then forwards every received segment but the last, so output segment j+1
   * is input segment j: each chunk can leave as soon as it has been reduced.
   */
  private Schedule ringSchedule(int n, int per) {
    List<Chunk> in = new ArrayList<>();
    for (int s = 0; s < size - 1; s++) {
      addSegment(in, n, Math.floorMod(rank - s - 1, size), true, per);
    }
    for (int s = 0; s < size - 1; s++) {
      addSegment(in, n, Math.floorMod(rank - s, size), false, per);
    }
    List<Chunk> last = new ArrayList<>();
    addSegment(last, n, Math.floorMod(rank - (size - 2), size), false, per);
    int forwarded = in.size() - last.size();
    List<Chunk> out = new ArrayList<>();
    addSegment(out, n, rank, false, per);
    int readyAtStart = out.size();
    out.addAll(in.subList(0, forwarded));
    return new Schedule(out, readyAtStart, in, forwarded, true);
  }

  /** A pipelined chain 0 → 1 → … → N−1: rank 0 sends, the others copy and forward, the last only copies. */
  private Schedule broadcastSchedule(int n, int per) {
    List<Chunk> all = new ArrayList<>();
    addChunks(all, 0, n, false, per);
    if (rank == 0) {
      return new Schedule(all, all.size(), List.of(), 0, false);
    }
    boolean last = rank == size - 1;
    return new Schedule(last ? null : all, 0, all, last ? 0 : all.size(), true);
  }

  /** Segment {@code segment} of N near-equal segments of {@code n} elements, cut into chunks. */
  private void addSegment(List<Chunk> chunks, int n, int segment, boolean add, int per) {
    int base = n / size;
    int extra = n % size;
    int from = segment * base + Math.min(segment, extra);
    int to = from + base + (segment < extra ? 1 : 0);
    addChunks(chunks, from, to, add, per);
  }

  private static void addChunks(List<Chunk> chunks, int from, int to, boolean add, int per) {
    for (int o = from; o < to; o += per) {
      chunks.add(new Chunk(o, Math.min(per, to - o), add));
    }
  }

  private byte[] beginFrame(int op, long seq, Payload p) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + BEGIN_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(FRAME_BEGIN).putInt(BEGIN_BYTES).putInt(op).putLong(seq).putInt(p.length()).putInt(p.width());
    return b.array();
  }

  private void expectBegin(int op, long seq, Payload p, long deadline, String what, int prev) {
    int length;
    try {
      length = readHeader(deadline, what, prev);
    } catch (SocketTimeoutException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: rank %d (%s) did not start %s within %s"
          + " (train.collective_timeout): rank %d is stalled, slower than the timeout, or dead", rank, prev,
          address(prev), what, format(timeout), prev));
    }
    int type = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    if (type != FRAME_BEGIN || length != BEGIN_BYTES) {
      throw protocolError(what, prev, "a start-of-call header");
    }
    readBody(received, length, deadline, what, prev);
    ByteBuffer b = ByteBuffer.wrap(received, 0, length).order(ByteOrder.LITTLE_ENDIAN);
    int theirOp = b.getInt();
    long theirSeq = b.getLong();
    int theirLength = b.getInt();
    int theirWidth = b.getInt();
    if (theirOp != op || theirSeq != seq || theirLength != p.length() || theirWidth != p.width()) {
      String theirs = describe(theirOp, theirSeq, theirLength, theirWidth);
      throw new CollectiveException("rank " + rank + ": rank " + prev + " called " + theirs + " while this worker"
          + " called " + what + "; the workers disagree about the training schedule, which is a bug");
    }
  }

  private void readData(Chunk c, Payload p, long deadline, String what, int prev) {
    int length;
    try {
      length = readHeader(deadline, what, prev);
    } catch (SocketTimeoutException e) {
      int suspect = suspect();
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: %s did not complete within %s"
          + " (train.collective_timeout): rank %d is stalled or dead%s", rank, what, format(timeout), suspect,
          suspect == prev
              ? " (it started the call, then sent nothing more; its address is " + address(prev) + ")"
              : " (rank " + prev + " before this worker is alive and waiting on it)"));
    }
    int type = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    if (type != FRAME_DATA || length != c.count * p.width()) {
      throw protocolError(what, prev, "a data chunk of " + c.count * p.width() + " bytes");
    }
    readBody(received, length, deadline, what, prev);
    ByteBuffer b = ByteBuffer.wrap(received, 0, length).order(ByteOrder.LITTLE_ENDIAN);
    if (c.add) {
      p.add(b, c.offset, c.count);
    } else {
      p.copy(b, c.offset, c.count);
    }
  }

  /**
   * Reads a frame header, skipping waiting frames after noting whom they name; an abort frame is
   * turned into the failure it reports.
   */
  private int readHeader(long deadline, String what, int prev) throws SocketTimeoutException {
    readFully(header, HEADER_BYTES, deadline, what, prev);
    ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    int type = b.getInt(0);
    int length = b.getInt(4);
    while (type == FRAME_WAITING) {
      if (length != WAITING_BYTES) {
        throw protocolError(what, prev, "a waiting frame");
      }
      readFully(header, WAITING_BYTES, deadline, what, prev);
      int suspect = b.getInt(0);
      if (suspect < 0 || suspect >= size) {
        throw protocolError(what, prev, "a waiting frame");
      }
      upstreamSuspect = suspect;
      upstreamWaitingAt = System.nanoTime();
      readFully(header, HEADER_BYTES, deadline, what, prev);
      type = b.getInt(0);
      length = b.getInt(4);
    }
    // The predecessor is sending again: whatever it waited on has arrived.
    upstreamSuspect = NO_SUSPECT;
    int limit = type == FRAME_ABORT ? 1 << 16 : received.length;
    if (length < 0 || length > limit) {
      throw protocolError(what, prev, "a frame header");
    }
    if (type == FRAME_ABORT) {
      byte[] message = new byte[length];
      // The report is already on its way; it may arrive just as this worker's own deadline passes.
      long reportDeadline = Math.max(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ABORT_GRACE_MILLIS));
      try {
        readFully(message, length, reportDeadline, what, prev);
      } catch (SocketTimeoutException e) {
        throw new CollectiveException("rank " + rank + ": rank " + prev + " aborted " + what + " without a reason");
      }
      String root = new String(message, StandardCharsets.UTF_8);
      throw new CollectiveException("rank " + rank + ": " + what + " aborted: " + root, root, null);
    }
    return length;
  }

  private void readBody(byte[] into, int length, long deadline, String what, int prev) {
    try {
      readFully(into, length, deadline, what, prev);
    } catch (SocketTimeoutException e) {
      throw new CollectiveException("rank " + rank + ": rank " + prev + " (" + address(prev) + ") stopped in the"
          + " middle of a chunk of " + what + " for " + format(timeout) + " (train.collective_timeout)");
    }
  }

  /**
   * Reads exactly {@code length} bytes before {@code deadline}, waking every second to notice a
   * killed task; a timeout is thrown as {@link SocketTimeoutException} for the caller to explain.
   */
  private void readFully(byte[] into, int length, long deadline, String what, int prev) throws SocketTimeoutException {
    int done = 0;
    while (done < length) {
      long left = remainingMillis(deadline);
      if (left <= 0) {
        throw new SocketTimeoutException();
      }
      if (Thread.currentThread().isInterrupted()) {
        throw new CollectiveException("rank " + rank + ": interrupted during " + what + " (the task was killed)");
      }
      try {
        fromPrev.setSoTimeout((int) Math.min(left, POLL_MILLIS));
        int n = in.read(into, done, length - done);
        if (n < 0) {
          throw new EOFException();
        }
        done += n;
      } catch (SocketTimeoutException e) {
        // Poll again: the deadline and the interrupt flag are checked at the top of the loop.
      } catch (IOException e) {
        throw new CollectiveException("rank " + rank + ": rank " + prev + " (" + address(prev) + ") closed the"
            + " connection during " + what + " (" + (e instanceof EOFException ? "end of stream" : e.getMessage())
            + "): its task failed or its executor was lost", e);
      }
    }
  }

  /**
   * The rank this worker is waiting on as far as it can tell: the one its predecessor's recent
   * waiting frames name, or else the predecessor itself, which has gone silent.
   */
  private int suspect() {
    int upstream = upstreamSuspect;
    boolean recent = System.nanoTime() - upstreamWaitingAt < 3 * waitingEveryNanos;
    return upstream != NO_SUSPECT && recent && upstream != rank ? upstream : (rank + size - 1) % size;
  }

  /** Stops the receiving thread as a stopped process would, silencing the sender too (tests only). */
  void freezeDuringNextCall(int afterChunks, long millis) {
    freezeAfterChunks = afterChunks;
    freezeMillis = millis;
  }

  private void freeze() {
    freezeAfterChunks = -1;
    frozen = true;
    try {
      Thread.sleep(freezeMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      frozen = false;
    }
  }

  private CollectiveException protocolError(String what, int prev, String expected) {
    return new CollectiveException("rank " + rank + ": rank " + prev + " sent something other than " + expected
        + " during " + what + "; the connection is corrupt or a worker of another run connected");
  }

  private void awaitSend(Send send, long deadline, String what) {
    int next = (rank + 1) % size;
    synchronized (send) {
      while (!send.done) {
        long left = remainingMillis(deadline);
        if (left <= 0) {
          throw new CollectiveException(String.format(Locale.ROOT, "rank %d: rank %d (%s) did not take %s within %s"
              + " (train.collective_timeout): rank %d is stalled or dead", rank, next, address(next), what,
              format(timeout), next));
        }
        try {
          send.wait(Math.min(left, POLL_MILLIS));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CollectiveException("rank " + rank + ": interrupted during " + what + " (the task was killed)");
        }
      }
    }
    if (send.error != null) {
      throw new CollectiveException("rank " + rank + ": cannot send " + what + " to rank " + next + " ("
          + address(next) + "): " + send.error.getMessage() + "; its task failed or its executor was lost",
          send.error);
    }
  }

  /** Remembers the first failure and tries to tell the successor, so the report travels round the ring. */
  private void fail(CollectiveException e, Send send) {
    failure = e;
    if (send != null) {
      send.cancel();
    }
    byte[] message = e.rootCause().getBytes(StandardCharsets.UTF_8);
    byte[] frame = ByteBuffer.allocate(HEADER_BYTES + message.length).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(FRAME_ABORT).putInt(message.length).put(message).array();
    Future<?> abort = sender.submit(() -> {
      try {
        out.write(frame);
        out.flush();
      } catch (IOException ignored) {
        // The successor is gone too; it has nothing left to learn.
      }
    });
    try {
      abort.get(ABORT_GRACE_MILLIS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException | java.util.concurrent.ExecutionException ignored) {
      // The sender is stuck writing to a successor that does not read; close() will cut it off.
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (sender != null) {
      sender.shutdownNow();
    }
    // Closing the sockets also unblocks a sender stuck in a write and tells both neighbours.
    closeQuietly(toNext);
    closeQuietly(fromPrev);
  }

  /** Writes one operation's stream to the successor, each chunk once this thread has produced it. */
  private final class Send implements Runnable {
    private final Payload payload;
    private final List<Chunk> chunks;
    private final byte[] begin;
    private int ready;
    private boolean cancelled;
    private boolean done;
    private IOException error;

    Send(Payload payload, List<Chunk> chunks, int ready, byte[] begin) {
      this.payload = payload;
      this.chunks = chunks;
      this.ready = ready;
      this.begin = begin;
    }

    synchronized void release() {
      ready++;
      notifyAll();
    }

    synchronized void cancel() {
      cancelled = true;
      notifyAll();
    }

    @Override
    public void run() {
      try {
        out.write(begin);
        long lastWrite = System.nanoTime();
        byte[] frame = new byte[HEADER_BYTES + chunkBytes];
        ByteBuffer b = ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN);
        byte[] waiting = new byte[HEADER_BYTES + WAITING_BYTES];
        ByteBuffer w = ByteBuffer.wrap(waiting).order(ByteOrder.LITTLE_ENDIAN).putInt(0, FRAME_WAITING)
            .putInt(4, WAITING_BYTES);
        for (int k = 0; k < chunks.size(); k++) {
          while (true) {
            synchronized (this) {
              if (cancelled) {
                return;
              }
              if (ready > k) {
                break;
              }
              wait(TimeUnit.NANOSECONDS.toMillis(waitingEveryNanos) + 1);
              if (cancelled) {
                return;
              }
              if (ready > k) {
                break;
              }
            }
            // Nothing to forward yet: tell the successor whom this worker is waiting on (written
            // outside the lock, so that a slow successor never blocks the receiving thread).
            long now = System.nanoTime();
            if (now - lastWrite >= waitingEveryNanos && !frozen) {
              out.write(w.putInt(HEADER_BYTES, suspect()).array());
              lastWrite = now;
            }
          }
          Chunk c = chunks.get(k);
          int length = c.count * payload.width();
          b.putInt(0, FRAME_DATA).putInt(4, length);
          payload.encode(c.offset, c.count, b.position(HEADER_BYTES).slice().order(ByteOrder.LITTLE_ENDIAN));
          out.write(frame, 0, HEADER_BYTES + length);
          lastWrite = System.nanoTime();
          bytesSent += length;
        }
        out.flush();
      } catch (IOException e) {
        error = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        synchronized (this) {
          done = true;
          notifyAll();
        }
      }
    }
  }

  /** A buffer seen as elements to encode, add or copy chunk by chunk. */
  private interface Payload {
    int length();

    int width();

    void encode(int offset, int count, ByteBuffer dst);

    void add(ByteBuffer src, int offset, int count);

    void copy(ByteBuffer src, int offset, int count);
  }

  private final class FloatPayload implements Payload {
    private final float[] a;

    FloatPayload(float[] a) {
      this.a = a;
    }

    @Override
    public int length() {
      return a.length;
    }

    @Override
    public int width() {
      return Float.BYTES;
    }

    @Override
    public void encode(int offset, int count, ByteBuffer dst) {
      dst.asFloatBuffer().put(a, offset, count);
    }

    @Override
    public void add(ByteBuffer src, int offset, int count) {
      src.asFloatBuffer().get(floatScratch, 0, count);
      for (int i = 0; i < count; i++) {
        a[offset + i] += floatScratch[i];
      }
    }

    @Override
    public void copy(ByteBuffer src, int offset, int count) {
      src.asFloatBuffer().get(a, offset, count);
    }
  }

  private final class DoublePayload implements Payload {
    private final double[] a;

    DoublePayload(double[] a) {
      this.a = a;
    }

    @Override
    public int length() {
      return a.length;
    }

    @Override
    public int width() {
      return Double.BYTES;
    }

    @Override
    public void encode(int offset, int count, ByteBuffer dst) {
      dst.asDoubleBuffer().put(a, offset, count);
    }

    @Override
    public void add(ByteBuffer src, int offset, int count) {
      src.asDoubleBuffer().get(doubleScratch, 0, count);
      for (int i = 0; i < count; i++) {
        a[offset + i] += doubleScratch[i];
      }
    }

    @Override
    public void copy(ByteBuffer src, int offset, int count) {
      src.asDoubleBuffer().get(a, offset, count);
    }
  }

  /** A peer's address as host:port, without the slash {@link InetSocketAddress#toString()} puts in. */
  private String address(int peer) {
    InetSocketAddress a = peers.get(peer);
    return a.getHostString() + ":" + a.getPort();
  }

  private static String describe(int op, long seq, Payload p) {
    return describe(op, seq, p.length(), p.width());
  }

  private static String describe(int op, long seq, int length, int width) {
    String name = op == OP_ALL_REDUCE ? "all-reduce" : op == OP_BROADCAST ? "broadcast" : "operation " + op;
    String type = width == Float.BYTES ? "float" : width == Double.BYTES ? "double" : width + "-byte";
    return name + " #" + seq + " (" + length + " " + type + "s)";
  }

  private static long remainingMillis(long deadlineNanos) {
    return TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
  }

  /** A duration the way the configuration writes it: 30s, 5m, 1500ms. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CollectiveException("interrupted while joining the ring (the task was killed)");
    }
  }

  private static void closeQuietly(java.io.Closeable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (IOException e) {
      // Closing after a failure: the original error is the one that matters.
    }
  }
}
