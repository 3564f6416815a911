package io.textspark.servers;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * Runs a real HDFS (one NameNode, one DataNode, Hadoop's {@link MiniDFSCluster}) on 127.0.0.1
 * until its standard input closes.
 *
 * <p>Usage: {@code HdfsServer <data folder> <ready file>}. Once the cluster accepts clients, the
 * NameNode URI ({@code hdfs://127.0.0.1:<port>}) is written to the ready file. The parent keeps
 * our standard input open; when it exits, even when killed, the pipe closes and the cluster stops,
 * so no server outlives its test run.
 */
public final class HdfsServer {
  private HdfsServer() {}

  /** Starts the cluster, announces it, and stops it when standard input reaches its end. */
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: HdfsServer <data folder> <ready file>");
      System.exit(2);
    }
    File base = new File(args[0]);
    Path ready = Path.of(args[1]);
    Configuration conf = new HdfsConfiguration();
    // Loopback only, and a short heartbeat so the DataNode registers within a second.
    conf.set(DFSConfigKeys.DFS_NAMENODE_RPC_BIND_HOST_KEY, "127.0.0.1");
    conf.setInt(DFSConfigKeys.DFS_HEARTBEAT_INTERVAL_KEY, 1);
    conf.setInt(DFSConfigKeys.DFS_REPLICATION_KEY, 1);
    conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, false);
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, base)
        .numDataNodes(1)
        .format(true)
        .build();
    try {
      cluster.waitActive();
      announce(ready, "hdfs://127.0.0.1:" + cluster.getNameNodePort());
      System.out.println("HDFS ready on port " + cluster.getNameNodePort());
      System.out.flush();
      while (System.in.read() >= 0) {
        // The parent never writes; reading only waits for the pipe to close.
      }
    } finally {
      cluster.shutdown(true);
    }
  }

  /** Writes the file whole (rename), so the parent never reads half a URI. */
  private static void announce(Path ready, String uri) throws IOException {
    Path tmp = ready.resolveSibling(ready.getFileName() + ".tmp");
    Files.writeString(tmp, uri, StandardCharsets.UTF_8);
    Files.move(tmp, ready, StandardCopyOption.ATOMIC_MOVE);
  }
}
