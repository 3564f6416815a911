package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MemoryStatsTest {
  private static final long MIB = 1L << 20;

  @Test
  void peakRisesWithTouchedMemoryAndRestartsFromTheCurrentSize() {
    assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "needs Linux's /proc");
    long before = MemoryStats.rssBytes();
    assertTrue(before > 0, "RSS " + before);
    assertTrue(MemoryStats.peakRssBytes() >= before, "peak below the current size");

    // 64 MiB outside the Java heap, every page written, so it is resident until the buffer is collected.
    ByteBuffer block = ByteBuffer.allocateDirect((int) (64 * MIB));
    for (int i = 0; i < block.capacity(); i += 4096) {
      block.put(i, (byte) 1);
    }
    long touched = MemoryStats.rssBytes();
    assertTrue(touched >= before + 60 * MIB, "RSS " + before + " -> " + touched);
    assertTrue(MemoryStats.peakRssBytes() >= touched, "peak below the current size");

    assertTrue(MemoryStats.resetPeak(), "/proc/self/clear_refs not writable");
    long peak = MemoryStats.peakRssBytes();
    long now = MemoryStats.rssBytes();
    assertTrue(peak >= touched - 8 * MIB && peak <= now + 16 * MIB, "peak " + peak + " after a reset at " + now);
    assertTrue(block.get(0) == 1); // keeps the block reachable up to here
  }
}
