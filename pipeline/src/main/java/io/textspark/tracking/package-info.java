/**
 * Experiment tracking: training runs (and tuner trials) as MLflow runs, through MLflow's Java
 * client for runs, parameters, metrics and tags and its {@code mlflow-artifacts} REST proxy for
 * checkpoints. Sits above {@code metrics} (its sink is a {@code MetricsSink}) and below
 * {@code train}, which opens it.
 */
package io.textspark.tracking;
