/** Training parts outside the model: the AdamW optimizer, gradient clipping, the LR schedule. */
package io.textspark.train;
