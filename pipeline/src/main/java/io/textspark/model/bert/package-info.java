/** The BERT family (BERT, MiniLM, e5, bge): its configuration and the encoder with its classification head. */
package io.textspark.model.bert;
