package io.textspark.inference;

import io.textspark.TextSparkException;
import java.util.List;

/**
 * What the model says about one text: the predicted label and every label's probability, or, when
 * the text could not be scored, why.
 *
 * @param label the predicted label (highest probability), null when not scored
 * @param index the predicted label's index in the model's labels, -1 when not scored
 * @param probabilities every label's probability in label order, null when not scored
 * @param truncated whether the text was cut to the maximum length before scoring
 * @param tokens how many tokens the model saw, [CLS] and [SEP] included; 0 when not scored
 * @param error why there is no prediction (null text, text the tokenizer refused), null when scored
 */
public record Prediction(
    String label, int index, double[] probabilities, boolean truncated, int tokens, String error) {

  /** A row that was not scored, with the reason. */
  public static Prediction failed(String error) {
    return new Prediction(null, -1, null, false, 0, error);
  }

  /** Whether the model scored the text. */
  public boolean scored() {
    return error == null;
  }

  /** The probability of label {@code i}, or NaN when the text was not scored. */
  public double probability(int i) {
    return probabilities == null ? Double.NaN : probabilities[i];
  }

  /** The index of {@code label} in {@code labels}; empty means the last label. */
  public static int scoreIndex(List<String> labels, String label) {
    if (label == null || label.isEmpty()) {
      return labels.size() - 1;
    }
    int i = labels.indexOf(label);
    if (i < 0) {
      throw new TextSparkException("the score label \"" + label + "\" is not one of the model's labels " + labels
          + "; set the score label (score.score_label, or setScoreLabel) to one of them, or leave it empty for the"
          + " last one.");
    }
    return i;
  }
}
