/**
 * Training: the trainer loop, AdamW, gradient clipping, the LR schedule, length-bucketed batching
 * with dynamic padding, and evaluation.
 */
package io.textspark.train;
