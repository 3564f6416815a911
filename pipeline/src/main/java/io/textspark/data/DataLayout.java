package io.textspark.data;

import org.apache.hadoop.fs.Path;

/** Where the data stages keep their outputs below {@code data.root}. */
public final class DataLayout {
  private final Path root;

  /** The layout below {@code root}. */
  public DataLayout(String root) {
    this.root = new Path(root);
  }

  /** {@code <root>/raw}: the committed output of {@code download}. */
  public Path raw() {
    return new Path(root, "raw");
  }

  /** {@code <root>/raw/<split>}. */
  public Path raw(String split) {
    return new Path(raw(), split);
  }

  /** {@code <root>/tokenized}: the committed output of {@code tokenize}. */
  public Path tokenized() {
    return new Path(root, "tokenized");
  }

  /** {@code <root>/tokenized/<split>}. */
  public Path tokenized(String split) {
    return new Path(tokenized(), split);
  }
}
