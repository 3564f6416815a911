/**
 * Where models run: the device (CPU, or the GPU Spark assigned to a task) and the PyTorch thread
 * count, chosen the same way by training, inference, scoring and the benchmarks.
 */
package io.textspark.compute;
