/** Classification metrics that workers can all-reduce, and the TensorBoard and JSON-lines logs. */
package io.textspark.metrics;
