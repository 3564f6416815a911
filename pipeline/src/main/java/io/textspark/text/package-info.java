/** Text to token ids: the Hugging Face tokenizer, loaded once per JVM. */
package io.textspark.text;
