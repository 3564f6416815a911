/** Framework-independent training parts: the AdamW optimizer, gradient clipping and the schedule. */
package io.textspark.train;
