package io.textspark.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;

/** A real HTTP server on 127.0.0.1 that serves fixed bodies, error statuses, or stalls. */
public final class LoopbackHttp implements AutoCloseable {
  private final HttpServer server;
  private final Map<String, byte[]> bodies = new ConcurrentHashMap<>();
  private final Map<String, Integer> statuses = new ConcurrentHashMap<>();
  private final Map<String, Boolean> stalls = new ConcurrentHashMap<>();
  private final CountDownLatch release = new CountDownLatch(1);

  /** Starts a server on a free loopback port. */
  public LoopbackHttp() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", this::handle);
    server.start();
  }

  /** Serves {@code body} at {@code path} with status 200. */
  public String serve(String path, byte[] body) {
    bodies.put(path, body);
    return url(path);
  }

  /** Answers {@code path} with {@code status} and a short body. */
  public String fail(String path, int status) {
    statuses.put(path, status);
    return url(path);
  }

  /** Accepts requests for {@code path} but never answers until the server closes. */
  public String stall(String path) {
    stalls.put(path, true);
    return url(path);
  }

  /** The URL of {@code path} on this server. */
  public String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    try (ex) {
      if (stalls.containsKey(path)) {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return;
      }
      byte[] body = bodies.get(path);
      int status = statuses.getOrDefault(path, body == null ? 404 : 200);
      if (status != 200) {
        body = ("error " + status).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      }
      ex.sendResponseHeaders(status, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  @Override
  public void close() {
    release.countDown();
    server.stop(0);
  }
}
