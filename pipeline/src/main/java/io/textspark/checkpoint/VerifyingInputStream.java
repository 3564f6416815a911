package io.textspark.checkpoint;

import io.textspark.fs.Download;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.apache.hadoop.fs.Path;

/** Hashes what it passes through and fails as soon as the bytes disagree with the manifest. */
final class VerifyingInputStream extends InputStream {
  private final InputStream in;
  private final Path file;
  private final Checkpoint.FileEntry entry;
  private final MessageDigest sha = Download.sha256();
  private long count;
  private boolean verified;

  VerifyingInputStream(InputStream in, Path file, Checkpoint.FileEntry entry) {
    this.in = in;
    this.file = file;
    this.entry = entry;
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b < 0) {
      atEnd();
      return -1;
    }
    sha.update((byte) b);
    advance(1);
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n < 0) {
      atEnd();
      return -1;
    }
    sha.update(b, off, n);
    advance(n);
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    // Skipped bytes must still be hashed, or the check at the end would be meaningless.
    byte[] buffer = new byte[(int) Math.min(8192, Math.max(n, 1))];
    long skipped = 0;
    while (skipped < n) {
      int r = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
      if (r < 0) {
        break;
      }
      skipped += r;
    }
    return skipped;
  }

  @Override
  public int available() throws IOException {
    return in.available();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  private void advance(int n) {
    count += n;
    if (count > entry.size()) {
      throw Checkpoint.sizeMismatch(file, "at least " + count, entry.size());
    }
    // Checking when the last byte arrives covers readers that stop without asking for EOF.
    if (count == entry.size()) {
      check();
    }
  }

  private void atEnd() {
    if (count < entry.size()) {
      throw Checkpoint.sizeMismatch(file, Long.toString(count), entry.size());
    }
    check();
  }

  private void check() {
    if (verified) {
      return;
    }
    verified = true;
    String actual = HexFormat.of().formatHex(sha.digest());
    if (!actual.equals(entry.sha256())) {
      throw Checkpoint.digestMismatch(file, actual, entry.sha256());
    }
  }
}
