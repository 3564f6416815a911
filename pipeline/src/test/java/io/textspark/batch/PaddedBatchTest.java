package io.textspark.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class PaddedBatchTest {
  /** Positions 0, 1, 2 hold idx 5 (4 tokens), idx 6 (3 tokens) and idx 7 (2 tokens). */
  private static Examples threeRows() {
    return Examples.of(new int[] {7, 5, 6}, new int[] {1, 1, 0},
        new String[] {"in", "in", "out"},
        new int[][] {{101, 102}, {101, 7, 8, 102}, {101, 9, 102}});
  }

  @Test
  void padsToTheLongestRowInTheGivenOrder() {
    PaddedBatch b = PaddedBatch.of(threeRows(), new int[] {2, 0, 1});
    assertEquals(3, b.batchSize());
    assertEquals(4, b.seqLength());
    assertArrayEquals(new long[] {
        101, 102, 0, 0,
        101, 7, 8, 102,
        101, 9, 102, 0}, b.inputIds());
    assertArrayEquals(new long[] {
        1, 1, 0, 0,
        1, 1, 1, 1,
        1, 1, 1, 0}, b.attentionMask());
    assertArrayEquals(new int[] {1, 1, 0}, b.labels());
    assertArrayEquals(new int[] {2, 0, 1}, b.positions());
    assertArrayEquals(new String[] {"in", "in", "out"}, b.domains());
    assertEquals(9, b.realTokens());
    assertEquals(3, b.paddedTokens());
  }

  @Test
  void usesTheGivenPadId() {
    PaddedBatch b = PaddedBatch.of(threeRows(), new int[] {2, 1}, 99);
    assertEquals(3, b.seqLength());
    assertArrayEquals(new long[] {101, 102, 99, 101, 9, 102}, b.inputIds());
    assertArrayEquals(new long[] {1, 1, 0, 1, 1, 1}, b.attentionMask());
    assertEquals(1, b.paddedTokens());
  }

  @Test
  void rejectsAnEmptyBatch() {
    assertThrows(IllegalArgumentException.class, () -> PaddedBatch.of(threeRows(), new int[0]));
  }

  @Test
  void ndArraysAreInt64WithBatchShapes() {
    PaddedBatch b = PaddedBatch.of(threeRows(), new int[] {2, 0, 1});
    try (NDManager manager = NDManager.newBaseManager()) {
      NDList inputs = b.toNDList(manager);
      assertEquals(2, inputs.size());
      NDArray ids = inputs.get(0);
      NDArray mask = inputs.get(1);
      NDArray labels = b.labelsArray(manager);
      assertEquals(new Shape(3, 4), ids.getShape());
      assertEquals(new Shape(3, 4), mask.getShape());
      assertEquals(new Shape(3), labels.getShape());
      assertEquals(DataType.INT64, ids.getDataType());
      assertEquals(DataType.INT64, mask.getDataType());
      assertEquals(DataType.INT64, labels.getDataType());
      assertEquals("input_ids", ids.getName());
      assertEquals("attention_mask", mask.getName());
      assertArrayEquals(new long[] {101, 102, 0, 0, 101, 7, 8, 102, 101, 9, 102, 0},
          ids.toLongArray());
      assertArrayEquals(new long[] {1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0}, mask.toLongArray());
      assertArrayEquals(new long[] {1, 1, 0}, labels.toLongArray());
    }
  }
}
