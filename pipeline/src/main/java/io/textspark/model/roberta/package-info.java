/** The RoBERTa family: byte-level BPE models whose positions start after the pad id. */
package io.textspark.model.roberta;
