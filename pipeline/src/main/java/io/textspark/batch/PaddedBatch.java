package io.textspark.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * One micro-batch padded to its longest row: row-major {@code [B, T]} token ids and attention
 * mask, plus the labels, positions and domains of its rows. Accessors return the batch's own
 * arrays, not copies, because a training step reads them once and copying would double the work.
 */
public final class PaddedBatch {
  /** BERT's [PAD] id, used when no other pad id is given; models pass their {@code pad_token_id}. */
  public static final int DEFAULT_PAD_ID = 0;

  private final int batchSize;
  private final int seqLength;
  private final long[] inputIds;
  private final long[] attentionMask;
  private final int[] labels;
  private final int[] positions;
  private final String[] domains;
  private final long realTokens;

  private PaddedBatch(int batchSize, int seqLength, long[] inputIds, long[] attentionMask,
      int[] labels, int[] positions, String[] domains, long realTokens) {
    this.batchSize = batchSize;
    this.seqLength = seqLength;
    this.inputIds = inputIds;
    this.attentionMask = attentionMask;
    this.labels = labels;
    this.positions = positions;
    this.domains = domains;
    this.realTokens = realTokens;
  }

  /** Pads the rows at {@code positions} of {@code ex} with id 0, BERT's [PAD]. */
  public static PaddedBatch of(Examples ex, int[] positions) {
    return of(ex, positions, DEFAULT_PAD_ID);
  }

  /** Pads the rows at {@code positions} of {@code ex}, in that order, with {@code padId}. */
  public static PaddedBatch of(Examples ex, int[] positions, int padId) {
    if (positions.length == 0) {
      throw new IllegalArgumentException("a batch needs at least one row");
    }
    int b = positions.length;
    int t = 0;
    long real = 0;
    for (int p : positions) {
      t = Math.max(t, ex.length(p));
      real += ex.length(p);
    }
    long[] ids = new long[Math.multiplyExact(b, t)];
    long[] mask = new long[ids.length];
    int[] labels = new int[b];
    String[] domains = new String[b];
    for (int r = 0; r < b; r++) {
      int p = positions[r];
      int len = ex.length(p);
      int rowStart = r * t;
      ex.copyIds(p, ids, rowStart);
      // Padding sits after the row's [SEP] (right padding), where the mask hides it.
      for (int c = len; c < t; c++) {
        ids[rowStart + c] = padId;
      }
      for (int c = 0; c < len; c++) {
        mask[rowStart + c] = 1;
      }
      labels[r] = ex.label(p);
      domains[r] = ex.domain(p);
    }
    return new PaddedBatch(b, t, ids, mask, labels, positions.clone(), domains, real);
  }

  /** The number of rows, B. */
  public int batchSize() {
    return batchSize;
  }

  /** The padded length T: the length of the longest row in the batch. */
  public int seqLength() {
    return seqLength;
  }

  /** The token ids, row-major {@code [B * T]}, padded with the pad id (the array itself). */
  public long[] inputIds() {
    return inputIds;
  }

  /** The attention mask, row-major {@code [B * T]}: 1 on real tokens, 0 on padding. */
  public long[] attentionMask() {
    return attentionMask;
  }

  /** The label of each row. */
  public int[] labels() {
    return labels;
  }

  /** The position in the {@link Examples} of each row, to put predictions back in place. */
  public int[] positions() {
    return positions;
  }

  /** The domain of each row, for per-domain metrics. */
  public String[] domains() {
    return domains;
  }

  /** The number of real (unpadded) tokens in the batch: the sum of the row lengths. */
  public long realTokens() {
    return realTokens;
  }

  /** The number of padding slots added, {@code B * T - realTokens()}. */
  public long paddedTokens() {
    return (long) batchSize * seqLength - realTokens;
  }

  /** The int64 token ids as an NDArray of shape {@code [B, T]} named {@code input_ids}. */
  public NDArray inputIdsArray(NDManager manager) {
    NDArray a = manager.create(inputIds, new Shape(batchSize, seqLength));
    a.setName("input_ids");
    return a;
  }

  /** The int64 attention mask as an NDArray of shape {@code [B, T]}, named attention_mask. */
  public NDArray attentionMaskArray(NDManager manager) {
    NDArray a = manager.create(attentionMask, new Shape(batchSize, seqLength));
    a.setName("attention_mask");
    return a;
  }

  /** The int64 labels as an NDArray of shape {@code [B]} named {@code labels}. */
  public NDArray labelsArray(NDManager manager) {
    long[] wide = new long[batchSize];
    for (int i = 0; i < batchSize; i++) {
      wide[i] = labels[i];
    }
    NDArray a = manager.create(wide, new Shape(batchSize));
    a.setName("labels");
    return a;
  }

  /**
   * The model inputs {@code [input_ids, attention_mask]}, both int64 {@code [B, T]}; labels are
   * kept apart ({@link #labelsArray}) because DJL passes data and labels separately.
   */
  public NDList toNDList(NDManager manager) {
    return new NDList(inputIdsArray(manager), attentionMaskArray(manager));
  }
}
