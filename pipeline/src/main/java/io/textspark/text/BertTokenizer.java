package io.textspark.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.textspark.TextSparkException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face tokenizer (DJL's binding of the Rust library: WordPiece, byte-level BPE, Unigram)
 * that returns unpadded token ids with the family's special tokens ([CLS] ... [SEP] for BERT,
 * {@code <s> ... </s>} for RoBERTa, as the file's post-processor says), truncated to a maximum
 * length. No token type ids: families that use them make type 0 themselves. The tokenizer file's own padding and truncation
 * settings are switched off: padding happens per batch at training time, and truncation is done
 * here so that truncated rows can be counted.
 */
public final class BertTokenizer implements AutoCloseable {
  /** Token ids of one text and whether they were cut to fit the maximum length. */
  public record Encoded(int[] ids, boolean truncated) {}

  private final HuggingFaceTokenizer tokenizer;
  private final int maxLength;

  private BertTokenizer(HuggingFaceTokenizer tokenizer, int maxLength) {
    this.tokenizer = tokenizer;
    this.maxLength = maxLength;
  }

  /** Builds a tokenizer from the content of a {@code tokenizer.json}. */
  public static BertTokenizer fromJson(byte[] tokenizerJson, int maxLength) {
    Path tmp = null;
    try {
      tmp = Files.createTempFile("textspark-tokenizer", ".json");
      Files.write(tmp, tokenizerJson);
      HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder()
          .optTokenizerPath(tmp)
          .optAddSpecialTokens(true)
          .optPadding(false)
          .optTruncation(false)
          .build();
      return new BertTokenizer(tok, maxLength);
    } catch (IOException | RuntimeException e) {
      throw new TextSparkException(
          "cannot build a tokenizer from tokenizer.json (" + e.getMessage() + "). The file must be a Hugging"
              + " Face tokenizers file; check model.name.", e);
    } finally {
      if (tmp != null) {
        tmp.toFile().delete();
      }
    }
  }

  /** The longest sequence {@link #encode} returns, special tokens included. */
  public int maxLength() {
    return maxLength;
  }

  /** Token ids of {@code text} with the special tokens, the tokens cut so the whole fits {@link #maxLength}. */
  public Encoded encode(String text) {
    Encoding enc = tokenizer.encode(text);
    long[] ids = enc.getIds();
    if (ids.length <= maxLength) {
      return new Encoded(toInts(ids, ids.length), false);
    }
    int[] out = toInts(ids, maxLength);
    out[maxLength - 1] = (int) ids[ids.length - 1]; // keep [SEP] (</s>) after the cut, as Hugging Face does
    return new Encoded(out, true);
  }

  private static int[] toInts(long[] ids, int n) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
