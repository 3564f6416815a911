package io.textspark.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * An MLflow tracking server for tests: the REST endpoints textspark calls, with the request and
 * response JSON of MLflow's REST API reference and the checks and error bodies
 * ({@code {"error_code": ..., "message": ...}}, 400 or 404) of MLflow's server
 * ({@code mlflow/server/handlers.py}): experiments/get-by-name and create, runs/create, get,
 * log-batch (with its limits and immutable params) and update, and the {@code mlflow-artifacts}
 * proxy (PUT and GET of a file, GET of a listing). Kept in memory; every request is recorded.
 */
public final class MlflowServer implements AutoCloseable {
  /** MLflow's log-batch limits and the longest param value its current server stores. */
  static final int MAX_METRICS = 1000;
  static final int MAX_PARAMS = 100;
  static final int MAX_TAGS = 100;
  static final int MAX_ENTITIES = 1000;
  static final int MAX_PARAM_VALUE = 6000;

  /** One request as received: method, path (decoded), query, Authorization header and body. */
  public record Request(String method, String path, String query, String authorization, String body) {}

  /** A run as the server holds it. */
  public static final class Run {
    public final JsonObject info = new JsonObject();
    public final Map<String, String> params = new TreeMap<>();
    public final Map<String, String> tags = new TreeMap<>();
    /** Every metric point in the order logged: key, value, timestamp, step. */
    public final List<JsonObject> metrics = new ArrayList<>();
  }

  private final HttpServer server;
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final CountDownLatch release = new CountDownLatch(1);
  private final Map<String, JsonObject> experiments = new LinkedHashMap<>();
  private final Map<String, Run> runs = new LinkedHashMap<>();
  private final Map<String, byte[]> artifacts = new TreeMap<>();
  private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
  private volatile boolean hang;
  private volatile String artifactRoot = "mlflow-artifacts:";

  /** Starts a server on a free loopback port. */
  public MlflowServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(pool);
    server.createContext("/", this::handle);
    server.start();
  }

  /** The tracking URI, {@code http://127.0.0.1:<port>}. */
  public String uri() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** From now on, accepts requests and never answers them (a hung server). */
  public void hang() {
    hang = true;
  }

  /** Root of new experiments' artifact locations ({@code mlflow-artifacts:} by default, as with --serve-artifacts). */
  public void artifactRoot(String root) {
    artifactRoot = root;
  }

  /** Every request received so far. */
  public List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  /** The runs, by run ID. */
  public synchronized Map<String, Run> runs() {
    return new LinkedHashMap<>(runs);
  }

  /** The experiments, by ID. */
  public synchronized Map<String, JsonObject> experiments() {
    return new LinkedHashMap<>(experiments);
  }

  /** The stored artifacts, by path below the artifact root ({@code <experiment>/<run>/artifacts/...}). */
  public synchronized Map<String, byte[]> artifacts() {
    return new TreeMap<>(artifacts);
  }

  @Override
  public void close() {
    release.countDown();
    server.stop(0);
    pool.shutdownNow();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      String path = ex.getRequestURI().getPath();
      requests.add(new Request(ex.getRequestMethod(), path, ex.getRequestURI().getRawQuery(),
          ex.getRequestHeaders().getFirst("Authorization"), new String(body, StandardCharsets.UTF_8)));
      if (hang) {
        release.await(10, TimeUnit.MINUTES);
        return;
      }
      try {
        route(ex, path, body);
      } catch (MlflowError e) {
        JsonObject error = new JsonObject();
        error.addProperty("error_code", e.code);
        error.addProperty("message", e.getMessage());
        send(ex, e.status, "application/json", error.toString().getBytes(StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void route(HttpExchange ex, String path, byte[] raw) throws IOException {
    String method = ex.getRequestMethod();
    String api = "/api/2.0/mlflow/";
    String artifactsApi = "/api/2.0/mlflow-artifacts/artifacts";
    Map<String, String> query = query(ex.getRequestURI().getRawQuery());
    JsonObject out;
    if (path.startsWith(artifactsApi)) {
      artifact(ex, method, path.substring(artifactsApi.length()).replaceAll("^/", ""), query, raw);
      return;
    } else if (method.equals("GET") && path.equals(api + "experiments/get-by-name")) {
      out = getExperimentByName(required(query, "experiment_name"));
    } else if (method.equals("POST") && path.equals(api + "experiments/create")) {
      out = createExperiment(json(raw));
    } else if (method.equals("POST") && path.equals(api + "runs/create")) {
      out = createRun(json(raw));
    } else if (method.equals("GET") && path.equals(api + "runs/get")) {
      out = getRun(required(query, "run_id"));
    } else if (method.equals("POST") && path.equals(api + "runs/log-batch")) {
      out = logBatch(json(raw));
    } else if (method.equals("POST") && path.equals(api + "runs/update")) {
      out = updateRun(json(raw));
    } else {
      throw new MlflowError(404, "ENDPOINT_NOT_FOUND", "No API endpoint found for " + method + " " + path);
    }
    send(ex, 200, "application/json", out.toString().getBytes(StandardCharsets.UTF_8));
  }

  private synchronized JsonObject getExperimentByName(String name) {
    for (JsonObject e : experiments.values()) {
      if (e.get("name").getAsString().equals(name)) {
        JsonObject out = new JsonObject();
        out.add("experiment", e.deepCopy());
        return out;
      }
    }
    throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '" + name + "'");
  }

  private synchronized JsonObject createExperiment(JsonObject request) {
    String name = requiredString(request, "name");
    if (name.isEmpty()) {
      throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Invalid experiment name: ''");
    }
    for (JsonObject e : experiments.values()) {
      if (e.get("name").getAsString().equals(name)) {
        throw new MlflowError(400, "RESOURCE_ALREADY_EXISTS", "Experiment '" + name + "' already exists.");
      }
    }
    String id = Integer.toString(experiments.size() + 1);
    JsonObject e = new JsonObject();
    e.addProperty("experiment_id", id);
    e.addProperty("name", name);
    e.addProperty("artifact_location", artifactRoot + "/" + id);
    e.addProperty("lifecycle_stage", "active");
    experiments.put(id, e);
    JsonObject out = new JsonObject();
    out.addProperty("experiment_id", id);
    return out;
  }

  private synchronized JsonObject createRun(JsonObject request) {
    String experimentId = requiredString(request, "experiment_id");
    JsonObject experiment = experiments.get(experimentId);
    if (experiment == null) {
      throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + experimentId + " exists");
    }
    Run run = new Run();
    String id = UUID.randomUUID().toString().replace("-", "");
    Map<String, String> tags = tags(request.has("tags") ? request.getAsJsonArray("tags") : new JsonArray());
    run.tags.putAll(tags);
    String name = request.has("run_name") ? request.get("run_name").getAsString() : tags.getOrDefault("mlflow.runName", "");
    if (!name.isEmpty()) {
      run.tags.put("mlflow.runName", name);
    }
    run.info.addProperty("run_id", id);
    run.info.addProperty("run_uuid", id);
    run.info.addProperty("run_name", name);
    run.info.addProperty("experiment_id", experimentId);
    run.info.addProperty("user_id", request.has("user_id") ? request.get("user_id").getAsString() : "");
    run.info.addProperty("status", "RUNNING");
    run.info.addProperty("start_time", request.has("start_time") ? request.get("start_time").getAsLong() : 0);
    run.info.addProperty("artifact_uri", experiment.get("artifact_location").getAsString() + "/" + id + "/artifacts");
    run.info.addProperty("lifecycle_stage", "active");
    runs.put(id, run);
    JsonObject out = new JsonObject();
    out.add("run", runJson(run));
    return out;
  }

  private synchronized JsonObject getRun(String runId) {
    JsonObject out = new JsonObject();
    out.add("run", runJson(run(runId)));
    return out;
  }

  private synchronized JsonObject logBatch(JsonObject request) {
    Run run = run(requiredString(request, "run_id"));
    JsonArray metrics = array(request, "metrics");
    JsonArray params = array(request, "params");
    JsonArray tags = array(request, "tags");
    limit(metrics.size(), MAX_METRICS, "metrics");
    limit(params.size(), MAX_PARAMS, "params");
    limit(tags.size(), MAX_TAGS, "tags");
    if (metrics.size() + params.size() + tags.size() > MAX_ENTITIES) {
      throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "A batch logging request can contain at most "
          + MAX_ENTITIES + " metrics, params, and tags in total. Got " + (metrics.size() + params.size() + tags.size()));
    }
    for (JsonElement m : metrics) {
      JsonObject o = m.getAsJsonObject();
      requiredString(o, "key");
      if (!o.has("value") || !o.has("timestamp")) {
        throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '"
            + (o.has("value") ? "timestamp" : "value") + "' in metric " + o);
      }
      Double.parseDouble(o.get("value").getAsString());
    }
    for (JsonElement p : params) {
      JsonObject o = p.getAsJsonObject();
      String key = requiredString(o, "key");
      String value = o.has("value") ? o.get("value").getAsString() : "";
      if (value.length() > MAX_PARAM_VALUE) {
        throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Param value '" + value.substring(0, 20) + "...' had"
            + " length " + value.length() + ", which exceeded length limit of " + MAX_PARAM_VALUE);
      }
      String old = run.params.get(key);
      if (old != null && !old.equals(value)) {
        throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. Param with"
            + " key='" + key + "' was already logged with value='" + old + "' for run ID='"
            + run.info.get("run_id").getAsString() + "'. Attempted logging new value '" + value + "'.");
      }
    }
    for (JsonElement m : metrics) {
      run.metrics.add(m.getAsJsonObject().deepCopy());
    }
    for (JsonElement p : params) {
      JsonObject o = p.getAsJsonObject();
      run.params.put(o.get("key").getAsString(), o.has("value") ? o.get("value").getAsString() : "");
    }
    run.tags.putAll(tags(tags));
    return new JsonObject();
  }

  private synchronized JsonObject updateRun(JsonObject request) {
    Run run = run(requiredString(request, "run_id"));
    if (request.has("status")) {
      String status = request.get("status").getAsString();
      if (!List.of("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED").contains(status)) {
        throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Invalid value " + status + " for parameter 'status'");
      }
      run.info.addProperty("status", status);
    }
    if (request.has("end_time")) {
      run.info.addProperty("end_time", request.get("end_time").getAsLong());
    }
    JsonObject out = new JsonObject();
    out.add("run_info", run.info.deepCopy());
    return out;
  }

  private void artifact(HttpExchange ex, String method, String path, Map<String, String> query, byte[] raw)
      throws IOException {
    if (path.isEmpty() && method.equals("GET")) {
      String dir = query.getOrDefault("path", "").replaceAll("^/+|/+$", "");
      JsonArray files = new JsonArray();
      synchronized (this) {
        for (Map.Entry<String, byte[]> e : artifacts.entrySet()) {
          if (e.getKey().startsWith(dir + "/") && !e.getKey().substring(dir.length() + 1).contains("/")) {
            JsonObject f = new JsonObject();
            f.addProperty("path", e.getKey().substring(dir.length() + 1));
            f.addProperty("is_dir", false);
            f.addProperty("file_size", e.getValue().length);
            files.add(f);
          }
        }
      }
      JsonObject out = new JsonObject();
      out.add("files", files);
      send(ex, 200, "application/json", out.toString().getBytes(StandardCharsets.UTF_8));
      return;
    }
    if (path.isEmpty() || path.contains("..") || path.startsWith("/")) {
      throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Invalid path");
    }
    if (method.equals("PUT")) {
      synchronized (this) {
        artifacts.put(path, raw);
      }
      send(ex, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
    } else if (method.equals("GET")) {
      byte[] bytes;
      synchronized (this) {
        bytes = artifacts.get(path);
      }
      if (bytes == null) {
        throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", "File " + path + " does not exist");
      }
      send(ex, 200, "application/octet-stream", bytes);
    } else {
      throw new MlflowError(405, "ENDPOINT_NOT_FOUND", "Method " + method + " not allowed");
    }
  }

  private Run run(String runId) {
    Run run = runs.get(runId);
    if (run == null) {
      throw new MlflowError(404, "RESOURCE_DOES_NOT_EXIST", "Run with id=" + runId + " not found");
    }
    return run;
  }

  private static JsonObject runJson(Run run) {
    JsonObject data = new JsonObject();
    JsonArray params = new JsonArray();
    run.params.forEach((k, v) -> params.add(keyValue(k, v)));
    JsonArray tags = new JsonArray();
    run.tags.forEach((k, v) -> tags.add(keyValue(k, v)));
    Map<String, JsonObject> latest = new LinkedHashMap<>();
    run.metrics.forEach(m -> latest.put(m.get("key").getAsString(), m));
    JsonArray metrics = new JsonArray();
    latest.values().forEach(metrics::add);
    data.add("metrics", metrics);
    data.add("params", params);
    data.add("tags", tags);
    JsonObject out = new JsonObject();
    out.add("info", run.info.deepCopy());
    out.add("data", data);
    return out;
  }

  private static JsonObject keyValue(String k, String v) {
    JsonObject o = new JsonObject();
    o.addProperty("key", k);
    o.addProperty("value", v);
    return o;
  }

  private static Map<String, String> tags(JsonArray tags) {
    Map<String, String> out = new LinkedHashMap<>();
    for (JsonElement t : tags) {
      JsonObject o = t.getAsJsonObject();
      out.put(requiredString(o, "key"), o.has("value") ? o.get("value").getAsString() : "");
    }
    return out;
  }

  private static void limit(int count, int max, String what) {
    if (count > max) {
      throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "A batch logging request can contain at most " + max
          + " " + what + ". Got " + count + " " + what + ". Please split up " + what
          + " across multiple requests and try again.");
    }
  }

  private static JsonArray array(JsonObject o, String name) {
    return o.has(name) ? o.getAsJsonArray(name) : new JsonArray();
  }

  private static JsonObject json(byte[] raw) {
    try {
      return JsonParser.parseString(raw.length == 0 ? "{}" : new String(raw, StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new MlflowError(400, "MALFORMED_REQUEST", "Malformed request: " + e.getMessage());
    }
  }

  private static String requiredString(JsonObject o, String name) {
    if (!o.has(name) || o.get(name).isJsonNull()) {
      throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '" + name + "'.");
    }
    return o.get(name).getAsString();
  }

  private static String required(Map<String, String> query, String name) {
    String v = query.get(name);
    if (v == null || v.isEmpty()) {
      throw new MlflowError(400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '" + name + "'.");
    }
    return v;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw != null) {
      for (String pair : raw.split("&")) {
        int eq = pair.indexOf('=');
        String k = eq < 0 ? pair : pair.substring(0, eq);
        String v = eq < 0 ? "" : pair.substring(eq + 1);
        out.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  /** An MLflow error: HTTP status, {@code error_code} and message. */
  private static final class MlflowError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final String code;

    MlflowError(int status, String code, String message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
}
