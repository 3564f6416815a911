package io.textspark.score;

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
}
