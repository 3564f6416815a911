/** The data stages: CoLA download to Parquet, and tokenization to Parquet. */
package io.textspark.data;
