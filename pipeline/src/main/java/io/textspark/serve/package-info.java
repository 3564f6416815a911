/**
 * The online prediction server of {@code textspark serve}: HTTP routes, limits and API keys
 * ({@link io.textspark.serve.PredictionServer}), dynamic batching of concurrent requests onto a fixed
 * pool of inference threads ({@link io.textspark.serve.DynamicBatcher}) and Prometheus metrics
 * ({@link io.textspark.serve.ServeMetrics}), all on the one inference entry point
 * {@link io.textspark.inference.Predictor}.
 */
package io.textspark.serve;
