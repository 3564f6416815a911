/** textspark: fine-tune and score BERT-family text classifiers on Apache Spark. */
package io.textspark;
