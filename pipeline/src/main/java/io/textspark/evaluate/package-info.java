/** Evaluation: the validation loop the trainer calls, and the {@code evaluate} job over a checkpoint. */
package io.textspark.evaluate;
