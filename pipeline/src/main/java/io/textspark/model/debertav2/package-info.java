/** The DeBERTa-v2/v3 family: disentangled (content and relative position) attention. */
package io.textspark.model.debertav2;
