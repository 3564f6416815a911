package io.textspark.batch;

import io.textspark.TextSparkException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * The tokenized rows one worker holds, stored column by column (token ids in one flat array) and
 * sorted by {@code idx}, so memory is about four bytes per token and the order does not depend on
 * how Spark partitioned the data. Immutable, and serializable so the driver can broadcast a set to
 * every worker.
 */
public final class Examples implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int[] idx;
  private final int[] label;
  private final String[] domain;
  private final int[] tokens;
  // offsets[i]..offsets[i + 1] is row i's slice of tokens; one array instead of an int[] per row.
  private final int[] offsets;

  private Examples(int[] idx, int[] label, String[] domain, int[] tokens, int[] offsets) {
    this.idx = idx;
    this.label = label;
    this.domain = domain;
    this.tokens = tokens;
    this.offsets = offsets;
  }

  /** Reads the rows of the training set (columns {@code idx, label, domain, input_ids} by name). */
  public static Examples fromRows(List<Row> rows) {
    return fromRows(rows.iterator(), "training set");
  }

  /** Reads the rows of the training set from an iterator, such as a Spark partition's. */
  public static Examples fromRows(Iterator<Row> rows) {
    return fromRows(rows, "training set");
  }

  /**
   * Reads rows with columns {@code idx, label, domain, input_ids} (and {@code length}, checked
   * when present), naming the set (such as "validation set") in error messages.
   */
  public static Examples fromRows(Iterator<Row> rows, String setName) {
    Builder b = new Builder(setName);
    int idxCol = -1;
    int labelCol = -1;
    int domainCol = -1;
    int idsCol = -1;
    int lengthCol = -1;
    while (rows.hasNext()) {
      Row r = rows.next();
      if (idxCol < 0) {
        // Rows of one Dataset share a schema, so the column positions are looked up once.
        idxCol = column(r, "idx", setName);
        labelCol = column(r, "label", setName);
        domainCol = column(r, "domain", setName);
        idsCol = column(r, "input_ids", setName);
        lengthCol = Arrays.asList(r.schema().fieldNames()).contains("length")
            ? r.fieldIndex("length") : -1;
      }
      int rowIdx = r.getInt(idxCol);
      int[] ids = intArray(r.get(idsCol));
      if (lengthCol >= 0 && !r.isNullAt(lengthCol) && r.getInt(lengthCol) != ids.length) {
        throw new TextSparkException("the " + setName + " row idx " + rowIdx + " has length "
            + r.getInt(lengthCol) + " but " + ids.length + " input_ids; the tokenized data is"
            + " inconsistent, so re-run the tokenize stage with data.overwrite=true");
      }
      b.add(rowIdx, r.getInt(labelCol), r.getString(domainCol), ids);
    }
    return b.build();
  }

  /**
   * Builds a set from parallel arrays (one entry per row, in any order), for callers that
   * already hold the columns and for tests.
   */
  public static Examples of(int[] idx, int[] label, String[] domain, int[][] ids) {
    return of(idx, label, domain, ids, "training set");
  }

  /** Builds a set from parallel arrays, naming it (such as "validation set shard 1") in error messages. */
  public static Examples of(int[] idx, int[] label, String[] domain, int[][] ids, String setName) {
    if (label.length != idx.length || domain.length != idx.length || ids.length != idx.length) {
      throw new IllegalArgumentException("columns have different lengths: idx " + idx.length
          + ", label " + label.length + ", domain " + domain.length + ", ids " + ids.length);
    }
    Builder b = new Builder(setName);
    for (int i = 0; i < idx.length; i++) {
      b.add(idx[i], label[i], domain[i], ids[i]);
    }
    return b.build();
  }

  private static int column(Row r, String name, String setName) {
    if (r.schema() == null || !Arrays.asList(r.schema().fieldNames()).contains(name)) {
      throw new TextSparkException("the " + setName + " rows have no column '" + name
          + "' (they need idx, label, domain and input_ids); point training at the output of"
          + " the tokenize stage (tokenized/train or tokenized/validation)");
    }
    return r.fieldIndex(name);
  }

  /** Copies an array column, which Spark gives as a Scala Seq, into an int[]. */
  private static int[] intArray(Object value) {
    if (value instanceof int[] a) {
      return a;
    }
    if (value instanceof scala.collection.Seq<?> seq) {
      int[] out = new int[seq.length()];
      scala.collection.Iterator<?> it = seq.iterator();
      for (int i = 0; i < out.length; i++) {
        out[i] = ((Number) it.next()).intValue();
      }
      return out;
    }
    if (value instanceof List<?> list) {
      int[] out = new int[list.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = ((Number) list.get(i)).intValue();
      }
      return out;
    }
    throw new IllegalArgumentException("input_ids is not an array of int: " + value);
  }

  /** Collects rows in arrival order into growable flat arrays, then sorts them by idx. */
  private static final class Builder {
    private final String setName;
    private int n;
    private int[] idx = new int[256];
    private int[] label = new int[256];
    private String[] domain = new String[256];
    private int[] offsets = new int[257];
    private int[] tokens = new int[4096];
    // One String instance per distinct domain, so a row costs a reference rather than a string.
    private final Map<String, String> domains = new HashMap<>();

    Builder(String setName) {
      this.setName = setName;
    }

    void add(int rowIdx, int rowLabel, String rowDomain, int[] ids) {
      if (ids.length == 0) {
        // Even an empty sentence tokenizes to [CLS] [SEP]; no tokens means broken input.
        throw new TextSparkException("the " + setName + " row idx " + rowIdx + " has no"
            + " input_ids; re-run the tokenize stage with data.overwrite=true");
      }
      if (n == idx.length) {
        int cap = idx.length * 2;
        idx = Arrays.copyOf(idx, cap);
        label = Arrays.copyOf(label, cap);
        domain = Arrays.copyOf(domain, cap);
        offsets = Arrays.copyOf(offsets, cap + 1);
      }
      int end = offsets[n];
      if (end + ids.length > tokens.length) {
        tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, end + ids.length));
      }
      System.arraycopy(ids, 0, tokens, end, ids.length);
      idx[n] = rowIdx;
      label[n] = rowLabel;
      domain[n] = rowDomain == null ? null : domains.computeIfAbsent(rowDomain, d -> d);
      offsets[n + 1] = end + ids.length;
      n++;
    }

    Examples build() {
      if (n == 0) {
        throw new TextSparkException("the " + setName + " is empty: no tokenized rows were"
            + " read; check data.root and that the download and tokenize stages ran and wrote"
            + " rows (re-run them with data.overwrite=true if their output is empty)");
      }
      int[] order = sortedOrder(idx, n);
      int[] sIdx = new int[n];
      int[] sLabel = new int[n];
      String[] sDomain = new String[n];
      int[] sOffsets = new int[n + 1];
      int[] sTokens = new int[offsets[n]];
      for (int k = 0; k < n; k++) {
        int i = order[k];
        sIdx[k] = idx[i];
        if (k > 0 && sIdx[k] == sIdx[k - 1]) {
          // A repeated idx would leave the order of the two rows to Spark's partitioning.
          throw new TextSparkException("the " + setName + " has idx " + sIdx[k] + " twice;"
              + " each row needs a unique idx, so re-run the download and tokenize stages with"
              + " data.overwrite=true");
        }
        sLabel[k] = label[i];
        sDomain[k] = domain[i];
        int len = offsets[i + 1] - offsets[i];
        System.arraycopy(tokens, offsets[i], sTokens, sOffsets[k], len);
        sOffsets[k + 1] = sOffsets[k] + len;
      }
      return new Examples(sIdx, sLabel, sDomain, sTokens, sOffsets);
    }
  }

  /** The permutation that sorts {@code keys[0..n)} ascending, without boxing each position. */
  private static int[] sortedOrder(int[] keys, int n) {
    // Pack (key, position) into a long so a primitive sort orders by key, then by position.
    long[] packed = new long[n];
    for (int i = 0; i < n; i++) {
      packed[i] = ((long) keys[i] << 32) | (i & 0xffffffffL);
    }
    Arrays.sort(packed);
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = (int) packed[i];
    }
    return order;
  }

  /** The rows at the given positions (in any order) as a new set, again sorted by idx. */
  public Examples subset(int[] positions) {
    int[] sorted = positions.clone();
    Arrays.sort(sorted);
    int total = 0;
    for (int k = 0; k < sorted.length; k++) {
      checkPosition(sorted[k]);
      if (k > 0 && sorted[k] == sorted[k - 1]) {
        throw new IllegalArgumentException("position " + sorted[k] + " given twice");
      }
      total += length(sorted[k]);
    }
    if (sorted.length == 0) {
      throw new TextSparkException("the training set shard is empty: no positions were given;"
          + " give each worker at least one example (use fewer workers than examples)");
    }
    int m = sorted.length;
    int[] sIdx = new int[m];
    int[] sLabel = new int[m];
    String[] sDomain = new String[m];
    int[] sOffsets = new int[m + 1];
    int[] sTokens = new int[total];
    for (int k = 0; k < m; k++) {
      int i = sorted[k];
      // Positions ascend and this set is sorted by idx, so the subset is sorted by idx too.
      sIdx[k] = idx[i];
      sLabel[k] = label[i];
      sDomain[k] = domain[i];
      int len = length(i);
      System.arraycopy(tokens, offsets[i], sTokens, sOffsets[k], len);
      sOffsets[k + 1] = sOffsets[k] + len;
    }
    return new Examples(sIdx, sLabel, sDomain, sTokens, sOffsets);
  }

  /**
   * Fails with a message naming the first row whose label is outside {@code [0, numLabels)},
   * since such a label would crash or silently corrupt the cross-entropy loss.
   */
  public void checkLabels(int numLabels, List<String> labelNames) {
    for (int i = 0; i < idx.length; i++) {
      if (label[i] < 0 || label[i] >= numLabels) {
        throw new TextSparkException("the row with idx " + idx[i] + " has label " + label[i]
            + ", but the classification head has " + numLabels + " labels " + labelNames
            + " (label ids 0.." + (numLabels - 1) + "); set the head's labels to match the"
            + " data, or fix the labels in the input and re-run the download and tokenize"
            + " stages with data.overwrite=true");
      }
    }
  }

  private void checkPosition(int i) {
    if (i < 0 || i >= idx.length) {
      throw new IndexOutOfBoundsException("position " + i + " outside [0, " + idx.length + ")");
    }
  }

  /** The number of rows. */
  public int size() {
    return idx.length;
  }

  /** The number of tokens of the row at position {@code i}, [CLS] and [SEP] included. */
  public int length(int i) {
    return offsets[i + 1] - offsets[i];
  }

  /** A copy of the token ids of the row at position {@code i}. */
  public int[] ids(int i) {
    return Arrays.copyOfRange(tokens, offsets[i], offsets[i + 1]);
  }

  /** The token id at index {@code t} of the row at position {@code i}, without copying the row. */
  public int id(int i, int t) {
    if (t < 0 || t >= length(i)) {
      throw new IndexOutOfBoundsException("token " + t + " outside row of length " + length(i));
    }
    return tokens[offsets[i] + t];
  }

  /** The stable row id ({@code idx} column) of the row at position {@code i}. */
  public int idx(int i) {
    return idx[i];
  }

  /** The label of the row at position {@code i}. */
  public int label(int i) {
    return label[i];
  }

  /** The domain ("in" or "out" for CoLA) of the row at position {@code i}. */
  public String domain(int i) {
    return domain[i];
  }

  /** The total number of tokens over all rows. */
  public long totalTokens() {
    return offsets[idx.length];
  }

  /** The length of the longest row. */
  public int maxLength() {
    int max = 0;
    for (int i = 0; i < idx.length; i++) {
      max = Math.max(max, length(i));
    }
    return max;
  }

  /** Copies row {@code i}'s token ids into {@code dst} from {@code dstOffset}, widened to long. */
  void copyIds(int i, long[] dst, int dstOffset) {
    for (int s = offsets[i], e = offsets[i + 1], d = dstOffset; s < e; s++, d++) {
      dst[d] = tokens[s];
    }
  }
}
