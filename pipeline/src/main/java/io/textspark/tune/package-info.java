/**
 * Hyper-parameter search: a search space over {@code train.*} settings, trials trained in parallel
 * as Spark tasks rung by rung, bad ones stopped early by asynchronous successive halving (ASHA),
 * and a resumable tune folder with the trials table, the best checkpoint and a report.
 */
package io.textspark.tune;
