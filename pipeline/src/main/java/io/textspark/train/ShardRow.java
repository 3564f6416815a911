package io.textspark.train;

import io.textspark.batch.Examples;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.spark.sql.Row;

/**
 * One tokenized row on its way to the worker that trains or validates on it: the columns training
 * needs, in a compact form that crosses Spark's shuffle without a schema per row.
 *
 * @param validation true for a validation row, false for a training row
 * @param idx the row's stable id
 * @param label the label id
 * @param domain "in" or "out" for CoLA
 * @param ids the token ids, [CLS] ... [SEP], unpadded
 */
record ShardRow(boolean validation, int idx, int label, String domain, int[] ids) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Reads columns {@code idx, label, domain, input_ids} of a tokenized row. */
  static ShardRow of(Row row, boolean validation) {
    Object ids = row.get(row.fieldIndex("input_ids"));
    int[] tokens;
    if (ids instanceof scala.collection.Seq<?> seq) {
      tokens = new int[seq.length()];
      scala.collection.Iterator<?> it = seq.iterator();
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = ((Number) it.next()).intValue();
      }
    } else if (ids instanceof List<?> list) {
      tokens = list.stream().mapToInt(v -> ((Number) v).intValue()).toArray();
    } else {
      throw new IllegalArgumentException("input_ids is not an array of int: " + ids);
    }
    return new ShardRow(validation, row.getInt(row.fieldIndex("idx")), row.getInt(row.fieldIndex("label")),
        row.getString(row.fieldIndex("domain")), tokens);
  }

  /** The rows as {@link Examples} (sorted by idx), naming the set in error messages. */
  static Examples toExamples(List<ShardRow> rows, String setName) {
    int n = rows.size();
    int[] idx = new int[n];
    int[] label = new int[n];
    String[] domain = new String[n];
    int[][] ids = new int[n][];
    for (int i = 0; i < n; i++) {
      ShardRow r = rows.get(i);
      idx[i] = r.idx;
      label[i] = r.label;
      domain[i] = r.domain;
      ids[i] = r.ids;
    }
    return Examples.of(idx, label, domain, ids, setName);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ShardRow r && r.validation == validation && r.idx == idx && r.label == label
        && Objects.equals(r.domain, domain) && Arrays.equals(r.ids, ids);
  }

  @Override
  public int hashCode() {
    return 31 * Integer.hashCode(idx) + Arrays.hashCode(ids);
  }

  @Override
  public String toString() {
    return (validation ? "validation" : "train") + " row idx " + idx;
  }
}
