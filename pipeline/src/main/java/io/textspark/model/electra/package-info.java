/** The ELECTRA family (discriminators): BERT's layers over embeddings projected to the hidden size. */
package io.textspark.model.electra;
