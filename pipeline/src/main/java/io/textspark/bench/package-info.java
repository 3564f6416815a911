/** Benchmarks that compare textspark with plain PyTorch on the same machine and print the figures. */
package io.textspark.bench;
