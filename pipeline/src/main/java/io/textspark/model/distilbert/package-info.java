/** The DistilBERT family: BERT's layers under other names, no token types, a ReLU head. */
package io.textspark.model.distilbert;
