/** How data-parallel workers combine gradients and counts. */
package io.textspark.collective;
