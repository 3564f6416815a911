package io.textspark.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.data.ColaSchemas;
import io.textspark.testing.SharedSpark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.junit.jupiter.api.Test;
import scala.collection.immutable.ArraySeq;

class ExamplesTest {
  /** A row as Spark hands it over: schema attached, the array column as a Scala Seq. */
  private static Row row(int idx, int label, String domain, int... ids) {
    return new GenericRowWithSchema(
        new Object[] {idx, label, domain, ArraySeq.unsafeWrapArray(ids), ids.length, false},
        ColaSchemas.TOKENIZED);
  }

  private static List<Row> threeRowsOutOfOrder() {
    return List.of(
        row(30, 1, "out", 101, 5, 6, 7, 102),
        row(10, 0, "in", 101, 102),
        row(20, 1, "in", 101, 9, 102));
  }

  /** Everything an Examples holds, as text, so two sets can be compared in one assertion. */
  private static String dump(Examples ex) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < ex.size(); i++) {
      sb.append(ex.idx(i)).append(':').append(ex.label(i)).append(':').append(ex.domain(i))
          .append(':').append(Arrays.toString(ex.ids(i))).append('\n');
    }
    return sb.toString();
  }

  @Test
  void sortsByIdxWhateverTheInputOrder() {
    Examples ex = Examples.fromRows(threeRowsOutOfOrder());
    assertEquals(3, ex.size());
    assertEquals(10, ex.idx(0));
    assertEquals(20, ex.idx(1));
    assertEquals(30, ex.idx(2));
    assertEquals(0, ex.label(0));
    assertEquals(1, ex.label(1));
    assertEquals(1, ex.label(2));
    assertEquals("in", ex.domain(0));
    assertEquals("out", ex.domain(2));
    assertArrayEquals(new int[] {101, 102}, ex.ids(0));
    assertArrayEquals(new int[] {101, 9, 102}, ex.ids(1));
    assertArrayEquals(new int[] {101, 5, 6, 7, 102}, ex.ids(2));
    assertEquals(2, ex.length(0));
    assertEquals(5, ex.length(2));
    assertEquals(6, ex.id(2, 2));
    assertEquals(10, ex.totalTokens());
    assertEquals(5, ex.maxLength());

    List<Row> reversed = new ArrayList<>(threeRowsOutOfOrder());
    Collections.reverse(reversed);
    assertEquals(dump(ex), dump(Examples.fromRows(reversed.iterator())));
  }

  @Test
  void sameContentsFromAnySparkPartitioning() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      int[] ids = new int[2 + i % 7];
      ids[0] = 101;
      ids[ids.length - 1] = 102;
      for (int t = 1; t < ids.length - 1; t++) {
        ids[t] = 1000 + i;
      }
      rows.add(row(1000 - i * 3, i % 2, i % 3 == 0 ? "out" : "in", ids));
    }
    Dataset<Row> df = SharedSpark.get().createDataFrame(rows, ColaSchemas.TOKENIZED);
    Examples one = Examples.fromRows(df.coalesce(1).collectAsList());
    Examples many = Examples.fromRows(df.repartition(3).toLocalIterator());
    assertEquals(dump(Examples.fromRows(rows)), dump(one));
    assertEquals(dump(one), dump(many));
    assertEquals(1000 - 39 * 3, many.idx(0));
  }

  @Test
  void ofMatchesFromRows() {
    Examples ex = Examples.of(new int[] {30, 10, 20}, new int[] {1, 0, 1},
        new String[] {"out", "in", "in"},
        new int[][] {{101, 5, 6, 7, 102}, {101, 102}, {101, 9, 102}});
    assertEquals(dump(Examples.fromRows(threeRowsOutOfOrder())), dump(ex));
  }

  @Test
  void subsetKeepsIdxOrder() {
    Examples ex = Examples.fromRows(threeRowsOutOfOrder());
    Examples sub = ex.subset(new int[] {2, 0});
    assertEquals(2, sub.size());
    assertEquals(10, sub.idx(0));
    assertEquals(30, sub.idx(1));
    assertArrayEquals(new int[] {101, 102}, sub.ids(0));
    assertArrayEquals(new int[] {101, 5, 6, 7, 102}, sub.ids(1));
    assertEquals("out", sub.domain(1));
    assertThrows(IllegalArgumentException.class, () -> ex.subset(new int[] {1, 1}));
    assertThrows(IndexOutOfBoundsException.class, () -> ex.subset(new int[] {3}));
  }

  @Test
  void emptySetIsAUserError() {
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> Examples.fromRows(List.<Row>of()));
    assertTrue(e.getMessage().startsWith("the training set is empty"), e.getMessage());
    assertTrue(e.getMessage().contains("tokenize"), e.getMessage());
  }

  @Test
  void labelOutsideTheHeadNamesIdxLabelAndLabels() {
    Examples ex = Examples.fromRows(List.of(
        row(3, 1, "in", 101, 102), row(7, 2, "out", 101, 102), row(9, 0, "in", 101, 102)));
    ex.checkLabels(3, List.of("a", "b", "c"));
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> ex.checkLabels(2, List.of("unacceptable", "acceptable")));
    String m = e.getMessage();
    assertTrue(m.contains("idx 7"), m);
    assertTrue(m.contains("label 2"), m);
    assertTrue(m.contains("[unacceptable, acceptable]"), m);
    Examples negative = Examples.fromRows(List.of(row(9, -1, "in", 101, 102)));
    TextSparkException neg = assertThrows(TextSparkException.class,
        () -> negative.checkLabels(2, List.of("unacceptable", "acceptable")));
    assertTrue(neg.getMessage().contains("idx 9"), neg.getMessage());
    assertTrue(neg.getMessage().contains("label -1"), neg.getMessage());
  }

  @Test
  void duplicateIdxAndInconsistentLengthAreUserErrors() {
    TextSparkException dup = assertThrows(TextSparkException.class,
        () -> Examples.fromRows(List.of(row(4, 0, "in", 101, 102), row(4, 1, "in", 101, 102))));
    assertTrue(dup.getMessage().contains("idx 4 twice"), dup.getMessage());

    Row bad = new GenericRowWithSchema(
        new Object[] {5, 0, "in", ArraySeq.unsafeWrapArray(new int[] {101, 102}), 3, false},
        ColaSchemas.TOKENIZED);
    TextSparkException len = assertThrows(TextSparkException.class,
        () -> Examples.fromRows(List.of(bad)));
    assertTrue(len.getMessage().contains("idx 5 has length 3 but 2 input_ids"), len.getMessage());
  }
}
