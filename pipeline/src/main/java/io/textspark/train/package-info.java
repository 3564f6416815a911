/**
 * Training: the trainer loop, AdamW, gradient clipping, the LR schedule, and the distributed
 * barrier stage that runs one trainer per worker.
 */
package io.textspark.train;
