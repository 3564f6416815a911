/** Models: resolving a model reference, safetensors I/O, and one sub-package per model family. */
package io.textspark.model;
