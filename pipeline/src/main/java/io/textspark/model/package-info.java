/** The BERT classifier as plain DJL NDArray operations, its configuration and safetensors I/O. */
package io.textspark.model;
