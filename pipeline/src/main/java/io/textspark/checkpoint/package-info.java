/** Training checkpoints on any Hadoop file system, committed atomically by a manifest written last. */
package io.textspark.checkpoint;
