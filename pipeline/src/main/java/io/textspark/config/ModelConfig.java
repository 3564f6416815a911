package io.textspark.config;

/**
 * Which pretrained model (and tokenizer) the pipeline uses and where Hub downloads come from.
 *
 * @param name Hub reference {@code org/name}, a local folder, or a Hadoop URL of a folder holding
 *     {@code config.json}, {@code tokenizer.json} and {@code model.safetensors}; default
 *     {@code sentence-transformers/all-MiniLM-L6-v2}
 * @param hubEndpoint base URL of the Hub (or a mirror, or a {@code file:} folder); default
 *     {@code https://huggingface.co}, or {@code $HF_ENDPOINT}
 * @param revision branch, tag or commit of Hub downloads; default {@code main}
 * @param cacheDir local folder for Hub downloads; empty (default) means
 *     {@code $TEXTSPARK_CACHE/hub}, else {@code ~/.cache/textspark/hub}
 */
public record ModelConfig(String name, String hubEndpoint, String revision, String cacheDir) {
  /** Reads and validates the {@code model} section. */
  public static ModelConfig from(Settings s) {
    return new ModelConfig(s.nonEmpty("name"), s.nonEmpty("hub_endpoint"), s.nonEmpty("revision"), s.string("cache_dir"));
  }
}
