package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
  @Test
  void warmsUpThenDecaysLinearly() {
    LrSchedule s = new LrSchedule(1e-3, 10, 110);
    assertEquals(0.0, s.at(0), 0);
    assertEquals(1e-4, s.at(1), 1e-15);
    assertEquals(5e-4, s.at(5), 1e-15);
    assertEquals(9e-4, s.at(9), 1e-15);
    assertEquals(1e-3, s.at(10), 1e-15);
    assertEquals(1e-3 * 99 / 100, s.at(11), 1e-15);
    assertEquals(5e-4, s.at(60), 1e-15);
    assertEquals(1e-5, s.at(109), 1e-15);
    assertEquals(0.0, s.at(110), 0);
    assertEquals(0.0, s.at(500), 0);
  }

  @Test
  void withoutWarmupStartsAtPeak() {
    LrSchedule s = new LrSchedule(2e-5, 0, 4);
    assertEquals(2e-5, s.at(0), 1e-18);
    assertEquals(1e-5, s.at(2), 1e-18);
    assertEquals(0.0, s.at(4), 0);
  }

  @Test
  void warmupAsLongAsTrainingNeverDividesByZero() {
    LrSchedule s = new LrSchedule(1.0, 4, 4);
    assertEquals(0.75, s.at(3), 0);
    assertEquals(0.0, s.at(4), 0);
  }
}
