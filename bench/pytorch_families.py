#!/usr/bin/env python3
"""Independent plain-PyTorch sequence classifiers of the non-BERT families textspark supports.

RoBERTa, DistilBERT, ELECTRA and DeBERTa-v2/v3, written from the published Hugging Face
definitions with torch only (no `transformers` package): it loads a model folder (`config.json` +
`model.safetensors`, Hugging Face tensor names), runs a batch of token id rows padded with the
model's `pad_token_id`, and prints `{"logits": [[...], ...]}` on stdout. textspark's tests compare
its own logits against these.

    pytorch_families.py MODEL_DIR --ids '[[0, 31, 2], [0, 7, 8, 2]]'

Needs Debian's `python3-torch`.
"""

import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
ACT = {"gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh}


def load_safetensors(path):
    """name -> tensor: an 8-byte little-endian header length, a JSON header, then raw data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        t = torch.frombuffer(bytearray(blob[begin:end]), dtype=DTYPES[meta["dtype"]]).reshape(meta["shape"])
        out[name] = t.float() if t.is_floating_point() else t
    return out


class Weights:
    """Tensors by Hugging Face name, found with or without the family's prefix."""

    def __init__(self, tensors, prefix):
        self.t = tensors
        self.prefix = prefix

    def __call__(self, name):
        if name in self.t:
            return self.t[name]
        if name.startswith(self.prefix) and name[len(self.prefix):] in self.t:
            return self.t[name[len(self.prefix):]]
        raise SystemExit(f"tensor {name} is missing from model.safetensors")

    def has(self, name):
        return name in self.t or (name.startswith(self.prefix) and name[len(self.prefix):] in self.t)


def dense(w, name, x, bias=True):
    return F.linear(x, w(name + ".weight"), w(name + ".bias") if bias else None)


def norm(w, name, x, eps):
    return F.layer_norm(x, (x.shape[-1],), w(name + ".weight"), w(name + ".bias"), eps)


def split_heads(x, heads):
    b, t, h = x.shape
    return x.view(b, t, heads, h // heads).permute(0, 2, 1, 3)


def post_ln_layer(w, p, x, mask, heads, eps, act, names):
    """BERT-style layer: softmax(q k^T / sqrt(d)) v, out, add & norm, FFN, add & norm."""
    q_n, k_n, v_n, o_n, n1, i_n, out_n, n2 = names
    q = split_heads(dense(w, p + q_n, x), heads)
    k = split_heads(dense(w, p + k_n, x), heads)
    v = split_heads(dense(w, p + v_n, x), heads)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(mask[:, None, None, :] == 0, torch.finfo(scores.dtype).min)
    ctx = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(x.shape)
    x = norm(w, p + n1, dense(w, p + o_n, ctx) + x, eps)
    return norm(w, p + n2, dense(w, p + out_n, ACT[act](dense(w, p + i_n, x))) + x, eps)


BERT_NAMES = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
              "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")


def roberta(c, w, ids, mask):
    pad = c.get("pad_token_id", 1)
    real = ids.ne(pad).long()
    positions = torch.cumsum(real, 1) * real + pad
    e = "roberta.embeddings."
    x = w(e + "word_embeddings.weight")[ids] + w(e + "position_embeddings.weight")[positions] \
        + w(e + "token_type_embeddings.weight")[0]
    eps = c.get("layer_norm_eps", 1e-12)
    x = norm(w, e + "LayerNorm", x, eps)
    for i in range(c["num_hidden_layers"]):
        x = post_ln_layer(w, f"roberta.encoder.layer.{i}.", x, mask, c["num_attention_heads"], eps,
                          c.get("hidden_act", "gelu"), BERT_NAMES)
    return dense(w, "classifier.out_proj", torch.tanh(dense(w, "classifier.dense", x[:, 0])))


def electra(c, w, ids, mask):
    e = "electra.embeddings."
    t = ids.shape[1]
    x = w(e + "word_embeddings.weight")[ids] + w(e + "position_embeddings.weight")[:t] \
        + w(e + "token_type_embeddings.weight")[0]
    eps = c.get("layer_norm_eps", 1e-12)
    x = norm(w, e + "LayerNorm", x, eps)
    if c.get("embedding_size", c["hidden_size"]) != c["hidden_size"]:
        x = dense(w, "electra.embeddings_project", x)
    for i in range(c["num_hidden_layers"]):
        x = post_ln_layer(w, f"electra.encoder.layer.{i}.", x, mask, c["num_attention_heads"], eps,
                          c.get("hidden_act", "gelu"), BERT_NAMES)
    return dense(w, "classifier.out_proj", F.gelu(dense(w, "classifier.dense", x[:, 0])))


def distilbert(c, w, ids, mask):
    e = "distilbert.embeddings."
    t = ids.shape[1]
    x = norm(w, e + "LayerNorm", w(e + "word_embeddings.weight")[ids] + w(e + "position_embeddings.weight")[:t],
             1e-12)
    names = ("attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin", "sa_layer_norm",
             "ffn.lin1", "ffn.lin2", "output_layer_norm")
    for i in range(c["n_layers"]):
        x = post_ln_layer(w, f"distilbert.transformer.layer.{i}.", x, mask, c["n_heads"], 1e-12,
                          c.get("activation", "gelu"), names)
    return dense(w, "classifier", F.relu(dense(w, "pre_classifier", x[:, 0])))


def log_buckets(rel, buckets, max_position):
    """make_log_bucket_position: exact within half the buckets, logarithmic beyond."""
    sign = torch.sign(rel)
    mid = buckets // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid))
                         * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign).long()


def deberta_v2(c, w, ids, mask):
    if c.get("conv_kernel_size", 0) > 0:
        raise SystemExit("conv_kernel_size > 0 is not implemented")
    h, heads = c["hidden_size"], c["num_attention_heads"]
    eps = c.get("layer_norm_eps", 1e-7)
    b, t = ids.shape
    e = "deberta.embeddings."
    x = w(e + "word_embeddings.weight")[ids]
    if c.get("position_biased_input", True):
        x = x + w(e + "position_embeddings.weight")[:t]
    if c.get("type_vocab_size", 0) > 0:
        x = x + w(e + "token_type_embeddings.weight")[0]
    if c.get("embedding_size", h) != h:
        x = F.linear(x, w(e + "embed_proj.weight"))
    x = norm(w, e + "LayerNorm", x, eps) * mask[:, :, None].float()
    att_types = c.get("pos_att_type") or []
    if isinstance(att_types, str):
        att_types = [s.strip() for s in att_types.lower().split("|")]
    relative = c.get("relative_attention", False)
    max_rel = c.get("max_relative_positions", -1)
    max_rel = c.get("max_position_embeddings", 512) if max_rel < 1 else max_rel
    buckets = c.get("position_buckets", -1)
    span = buckets if buckets > 0 else max_rel
    rel_emb, rel = None, None
    if relative:
        rel_emb = w("deberta.encoder.rel_embeddings.weight")[: 2 * span]
        if "layer_norm" in [s.strip() for s in c.get("norm_rel_ebd", "none").lower().split("|")]:
            rel_emb = norm(w, "deberta.encoder.LayerNorm", rel_emb, eps)
        r = torch.arange(t)[:, None] - torch.arange(t)[None, :]
        rel = log_buckets(r, buckets, max_rel) if buckets > 0 and max_rel > 0 else r
    factor = 1 + ("c2p" in att_types) + ("p2c" in att_types)
    pair_mask = (mask[:, None, :, None] * mask[:, None, None, :]).bool()
    share = c.get("share_att_key", False)
    for i in range(c["num_hidden_layers"]):
        p = f"deberta.encoder.layer.{i}.attention."
        q = split_heads(dense(w, p + "self.query_proj", x), heads)
        k = split_heads(dense(w, p + "self.key_proj", x), heads)
        v = split_heads(dense(w, p + "self.value_proj", x), heads)
        scale = math.sqrt(q.shape[-1] * factor)
        scores = q @ k.transpose(-1, -2) / scale
        if relative:
            if "c2p" in att_types:
                pk = split_heads(dense(w, p + ("self.key_proj" if share else "self.pos_key_proj"), rel_emb[None]), heads)
                c2p = q @ pk.transpose(-1, -2)
                index = torch.clamp(rel + span, 0, 2 * span - 1).expand(b, heads, t, t)
                scores = scores + torch.gather(c2p, -1, index) / scale
            if "p2c" in att_types:
                pq = split_heads(dense(w, p + ("self.query_proj" if share else "self.pos_query_proj"), rel_emb[None]),
                                 heads)
                p2c = k @ pq.transpose(-1, -2)
                index = torch.clamp(-rel + span, 0, 2 * span - 1).expand(b, heads, t, t)
                scores = scores + torch.gather(p2c, -1, index).transpose(-1, -2) / scale
        probs = scores.masked_fill(~pair_mask, torch.finfo(scores.dtype).min).softmax(-1).masked_fill(~pair_mask, 0)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(b, t, h)
        x = norm(w, p + "output.LayerNorm", dense(w, p + "output.dense", ctx) + x, eps)
        lp = f"deberta.encoder.layer.{i}."
        ffn = dense(w, lp + "output.dense", ACT[c.get("hidden_act", "gelu")](dense(w, lp + "intermediate.dense", x)))
        x = norm(w, lp + "output.LayerNorm", ffn + x, eps)
    pooled = ACT[c.get("pooler_hidden_act", "gelu")](dense(w, "pooler.dense", x[:, 0]))
    return dense(w, "classifier", pooled)


FAMILIES = {"roberta": (roberta, "roberta."), "electra": (electra, "electra."),
            "distilbert": (distilbert, "distilbert."), "deberta-v2": (deberta_v2, "deberta.")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="folder with config.json and model.safetensors")
    parser.add_argument("--ids", required=True, help="JSON list of token id rows (unpadded)")
    args = parser.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    family = config.get("model_type")
    if family not in FAMILIES:
        raise SystemExit(f"model_type {family!r} is not one of {sorted(FAMILIES)}")
    forward, prefix = FAMILIES[family]
    rows = json.loads(args.ids)
    pad = config.get("pad_token_id", 1 if family == "roberta" else 0)
    longest = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad] * (longest - len(r)) for r in rows], dtype=torch.long)
    mask = torch.tensor([[1] * len(r) + [0] * (longest - len(r)) for r in rows], dtype=torch.long)
    weights = Weights(load_safetensors(os.path.join(args.model, "model.safetensors")), prefix)
    with torch.no_grad():
        logits = forward(config, weights, ids, mask)
    json.dump({"logits": logits.tolist()}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
