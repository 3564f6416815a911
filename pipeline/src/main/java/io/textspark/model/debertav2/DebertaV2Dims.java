package io.textspark.model.debertav2;

import com.google.gson.JsonElement;
import io.textspark.TextSparkException;
import io.textspark.model.ConfigJson;
import io.textspark.model.EncoderDims;
import io.textspark.model.EncoderOps;
import io.textspark.model.HfConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * DeBERTa-v2's architecture: BERT's keys (layer norm epsilon 1e-7 and no token types by default)
 * plus the relative-position keys, with Hugging Face's {@code DebertaV2Config} defaults.
 *
 * @param base the BERT-style keys
 * @param relativeAttention {@code relative_attention}
 * @param positionBuckets {@code position_buckets} (0 or less: no log buckets)
 * @param maxRelativePositions {@code max_relative_positions}, {@code max_position_embeddings} when below 1
 * @param c2p whether {@code pos_att_type} has {@code c2p}
 * @param p2c whether {@code pos_att_type} has {@code p2c}
 * @param shareAttKey {@code share_att_key}
 * @param normRelEmbedding whether {@code norm_rel_ebd} has {@code layer_norm}
 * @param positionBiasedInput {@code position_biased_input}
 * @param poolerHiddenSize {@code pooler_hidden_size}
 * @param poolerAct {@code pooler_hidden_act}
 * @param poolerDropout {@code pooler_dropout}
 * @param clsDropout {@code cls_dropout}, {@code hidden_dropout_prob} when unset
 */
record DebertaV2Dims(EncoderDims base, boolean relativeAttention, int positionBuckets, int maxRelativePositions,
    boolean c2p, boolean p2c, boolean shareAttKey, boolean normRelEmbedding, boolean positionBiasedInput,
    int poolerHiddenSize, String poolerAct, double poolerDropout, double clsDropout) {

  static DebertaV2Dims of(HfConfig c) {
    String s = c.source();
    if (c.integer("conv_kernel_size", 0) > 0) {
      throw new TextSparkException(s + ": conv_kernel_size = " + c.integer("conv_kernel_size", 0) + " is not"
          + " supported; allowed: 0 (textspark has no convolution layer for DeBERTa-v2, as used by"
          + " deberta-v2-xlarge and -xxlarge). Use a checkpoint without it, such as microsoft/deberta-v3-small.");
    }
    EncoderDims base = EncoderDims.of(c, 0, 1e-7);
    int headSize = base.hiddenSize() / base.numAttentionHeads();
    if (c.has("attention_head_size") && c.integer("attention_head_size", headSize) != headSize) {
      throw new TextSparkException(s + ": attention_head_size = " + c.integer("attention_head_size", headSize)
          + " is not supported; allowed: hidden_size / num_attention_heads = " + headSize + ".");
    }
    List<String> types = positionAttentionTypes(c);
    for (String t : types) {
      if (!t.equals("c2p") && !t.equals("p2c")) {
        throw new TextSparkException(s + ": pos_att_type has \"" + t + "\", which is not supported; allowed:"
            + " \"c2p\", \"p2c\".");
      }
    }
    int maxRelative = c.integer("max_relative_positions", -1);
    List<String> norm = List.of(c.string("norm_rel_ebd", "none").toLowerCase(Locale.ROOT).split("\\|"));
    DebertaV2Dims d = new DebertaV2Dims(base, c.bool("relative_attention", false), c.integer("position_buckets", -1),
        maxRelative < 1 ? base.maxPositions() : maxRelative, types.contains("c2p"), types.contains("p2c"),
        c.bool("share_att_key", false), norm.stream().anyMatch(n -> n.strip().equals("layer_norm")),
        c.bool("position_biased_input", true), c.integer("pooler_hidden_size", base.hiddenSize()),
        c.string("pooler_hidden_act", "gelu"), c.number("pooler_dropout", 0), c.number("cls_dropout",
        base.hiddenDropout()));
    ConfigJson.positive(s, "pooler_hidden_size", d.poolerHiddenSize);
    EncoderOps.checkActivation(s, "pooler_hidden_act", d.poolerAct);
    ConfigJson.probability(s, "pooler_dropout", d.poolerDropout);
    ConfigJson.probability(s, "cls_dropout", d.clsDropout);
    return d;
  }

  /** {@code pos_att_type} as a list, from a JSON list or a {@code "p2c|c2p"} string. */
  private static List<String> positionAttentionTypes(HfConfig c) {
    JsonElement raw = c.raw("pos_att_type");
    List<String> out = new ArrayList<>();
    if (raw == null) {
      return out;
    }
    if (raw.isJsonArray()) {
      raw.getAsJsonArray().forEach(e -> out.add(e.getAsString().strip().toLowerCase(Locale.ROOT)));
    } else if (raw.isJsonPrimitive()) {
      for (String part : raw.getAsString().split("\\|")) {
        out.add(part.strip().toLowerCase(Locale.ROOT));
      }
    } else {
      throw new TextSparkException(c.source() + ": pos_att_type = " + raw + " is invalid; allowed: a list such as"
          + " [\"p2c\", \"c2p\"] or a string such as \"p2c|c2p\".");
    }
    return out;
  }

  /** The number of relative-position embedding rows an attention uses on each side (att_span). */
  int span() {
    return positionBuckets > 0 ? positionBuckets : maxRelativePositions;
  }

  /** 1 plus one for each position attention type: the scores are divided by sqrt(head size * this). */
  int scaleFactor() {
    return 1 + (c2p ? 1 : 0) + (p2c ? 1 : 0);
  }
}
