package io.textspark.collective;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkEnv;

/**
 * Connects the tasks of one Spark barrier stage into a {@link RingCollective}: each task opens a
 * listening socket, the tasks exchange their addresses with {@link BarrierTaskContext#allGather},
 * and then connect to each other directly; Spark carries no training traffic.
 */
public final class BarrierRendezvous {
  private BarrierRendezvous() {}

  /**
   * Joins the ring of this barrier stage's tasks; the rank is the task's partition id.
   *
   * @param token the same number for every task of this stage attempt (the driver chooses it), so
   *     a straggling task of an earlier attempt cannot join
   */
  public static RingCollective join(BarrierTaskContext context, Duration timeout, long token) {
    int rank = context.partitionId();
    // The host the executor's block manager advertises is one its peers already reach.
    String host = SparkEnv.get().blockManager().blockManagerId().host();
    ServerSocket listener = null;
    try {
      listener = new ServerSocket();
      listener.bind(new InetSocketAddress(bindAddress(host), 0));
      String[] all = context.allGather(host + ":" + listener.getLocalPort());
      List<InetSocketAddress> peers = new ArrayList<>(all.length);
      for (String a : all) {
        int colon = a.lastIndexOf(':');
        peers.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
      }
      ServerSocket owned = listener;
      listener = null; // connect() closes it once the predecessor is in
      return RingCollective.connect(rank, peers, owned, token, timeout);
    } catch (IOException e) {
      throw new CollectiveException("rank " + rank + ": cannot open a listening socket on " + host + ": "
          + e.getMessage() + "; set spark.driver.host / SPARK_LOCAL_IP to an address of this machine", e);
    } finally {
      if (listener != null) {
        try {
          listener.close();
        } catch (IOException ignored) {
          // Only reached on failure, whose error is the one to report.
        }
      }
    }
  }

  /** Listens on {@code host}'s address when it is one of this machine's, otherwise on all interfaces. */
  private static InetAddress bindAddress(String host) {
    try {
      InetAddress a = InetAddress.getByName(host);
      return a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null ? a : null;
    } catch (IOException e) {
      return null;
    }
  }
}
