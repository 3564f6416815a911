package io.textspark.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.model.Safetensors;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/** A checkpoint's weights by tensor name, and how far two sets of weights are apart. */
public final class Weights {
  private Weights() {}

  /** The weights in {@code checkpoint}'s {@code model.safetensors}. */
  public static Map<String, float[]> of(Checkpoint checkpoint) throws IOException {
    try (InputStream in = checkpoint.open(CheckpointLayout.WEIGHTS)) {
      Map<String, float[]> out = new LinkedHashMap<>();
      Safetensors.read(in, checkpoint.path().toString()).forEach((k, v) -> out.put(k, v.toFloatArray()));
      return out;
    }
  }

  /** The largest absolute difference between two sets of weights with the same names and shapes. */
  public static double maxDiff(Map<String, float[]> a, Map<String, float[]> b) {
    assertEquals(a.keySet(), b.keySet());
    double max = 0;
    for (String k : a.keySet()) {
      float[] x = a.get(k);
      float[] y = b.get(k);
      assertEquals(x.length, y.length, k);
      for (int i = 0; i < x.length; i++) {
        max = Math.max(max, Math.abs(x[i] - y[i]));
      }
    }
    return max;
  }
}
