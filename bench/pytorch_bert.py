#!/usr/bin/env python3
"""Plain-PyTorch baseline for textspark's benchmarks: the same BERT classifier, recipe and batches.

It reads what `textspark bench-train` exports (tokenized rows as JSON lines and the exact batch
plan, so both sides train on identical padded batches), builds a Hugging Face style BERT from
`config.json` + `model.safetensors` with torch.nn modules only (no `transformers` package), and
either trains it (`train`) or scores rows (`infer`). It prints one JSON object per line, so the
Java side can read the figures; nothing else goes to stdout.

Needs Debian's `python3-torch` and, for a fair speed comparison, `libopenblas0-openmp`.
"""

import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def read_safetensors(path):
    """Tensors of a .safetensors file by name: 8-byte little-endian header size, JSON header, data."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]])
        tensors[name] = t.reshape(info["shape"]).to(torch.float32) if t.is_floating_point() else t
    return tensors


class Layer(nn.Module):
    """One post-LN encoder layer with Hugging Face's parameter layout."""

    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.attention_out = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.intermediate = nn.Linear(h, c["intermediate_size"])
        self.output = nn.Linear(c["intermediate_size"], h)
        self.output_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.hidden_dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.attention_dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, additive_mask):
        b, t, h = x.shape
        d = h // self.heads
        q = self.query(x).view(b, t, self.heads, d).transpose(1, 2)
        k = self.key(x).view(b, t, self.heads, d).transpose(1, 2)
        v = self.value(x).view(b, t, self.heads, d).transpose(1, 2)
        scores = torch.matmul(q / math.sqrt(d), k.transpose(-1, -2)) + additive_mask
        probs = self.attention_dropout(scores.softmax(-1))
        context = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
        x = self.attention_norm(x + self.hidden_dropout(self.attention_out(context)))
        ffn = self.output(F.gelu(self.intermediate(x)))
        return self.output_norm(x + self.hidden_dropout(ffn))


class BertClassifier(nn.Module):
    """Embeddings, encoder, pooler (dense + tanh) on [CLS], dropout, linear head."""

    def __init__(self, c, num_labels=2):
        super().__init__()
        h = c["hidden_size"]
        self.words = nn.Embedding(c["vocab_size"], h)
        self.positions = nn.Embedding(c["max_position_embeddings"], h)
        self.types = nn.Embedding(c["type_vocab_size"], h)
        self.embedding_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.pooler = nn.Linear(h, h)
        self.classifier = nn.Linear(h, num_labels)
        self.initializer_range = c.get("initializer_range", 0.02)
        nn.init.normal_(self.classifier.weight, std=self.initializer_range)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, ids, mask):
        t = ids.shape[1]
        positions = torch.arange(t, device=ids.device)
        x = self.words(ids) + self.positions(positions) + self.types.weight[0]
        x = self.dropout(self.embedding_norm(x))
        additive = ((1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min)
        for layer in self.layers:
            x = layer(x, additive)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.dropout(pooled))

    def load_hf(self, tensors):
        """Copies Hugging Face `BertModel` tensors (with or without the `bert.` prefix)."""
        def get(name):
            return tensors.get(name, tensors.get("bert." + name))

        names = {
            "words.weight": "embeddings.word_embeddings.weight",
            "positions.weight": "embeddings.position_embeddings.weight",
            "types.weight": "embeddings.token_type_embeddings.weight",
            "embedding_norm.weight": "embeddings.LayerNorm.weight",
            "embedding_norm.bias": "embeddings.LayerNorm.bias",
            "pooler.weight": "pooler.dense.weight",
            "pooler.bias": "pooler.dense.bias",
        }
        parts = {
            "query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
            "attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
            "intermediate": "intermediate.dense", "output": "output.dense", "output_norm": "output.LayerNorm",
        }
        for i in range(len(self.layers)):
            for ours, theirs in parts.items():
                for p in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
        # An encoder saved without its pooler (intfloat/e5-small-v2) gets a fresh one, as in textspark
        # and Hugging Face: weights N(0, initializer_range), biases 0.
        if get("pooler.dense.weight") is None and get("pooler.dense.bias") is None:
            print("note: no pooler in model.safetensors; initialising it fresh", file=sys.stderr)
            for p in ("weight", "bias"):
                names.pop(f"pooler.{p}")
            nn.init.normal_(self.pooler.weight, std=self.initializer_range)
            nn.init.zeros_(self.pooler.bias)
        state = self.state_dict()
        # A fine-tuned checkpoint brings its head; a Hub encoder keeps the fresh one.
        for p in ("weight", "bias"):
            if f"classifier.{p}" in tensors and tuple(tensors[f"classifier.{p}"].shape) == tuple(state[f"classifier.{p}"].shape):
                state[f"classifier.{p}"] = tensors[f"classifier.{p}"]
        for ours, theirs in names.items():
            t = get(theirs)
            if t is None or tuple(t.shape) != tuple(state[ours].shape):
                raise SystemExit(f"tensor {theirs} missing or mis-shaped in model.safetensors")
            state[ours] = t
        self.load_state_dict(state)


def read_rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def padded(rows, positions):
    longest = max(len(rows[p]["ids"]) for p in positions)
    ids = torch.zeros(len(positions), longest, dtype=torch.long)
    mask = torch.zeros(len(positions), longest, dtype=torch.long)
    for r, p in enumerate(positions):
        row = rows[p]["ids"]
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
    labels = torch.tensor([rows[p].get("label", 0) for p in positions])
    return ids, mask, labels


def validate(model, rows, batch):
    model.eval()
    order = sorted(range(len(rows)), key=lambda p: len(rows[p]["ids"]))
    tp = tn = fp = fn = 0
    loss = 0.0
    with torch.no_grad():
        for start in range(0, len(order), batch):
            ids, mask, labels = padded(rows, order[start : start + batch])
            logits = model(ids, mask)
            loss += F.cross_entropy(logits, labels, reduction="sum").item()
            predicted = logits.argmax(-1)
            tp += int(((predicted == 1) & (labels == 1)).sum())
            tn += int(((predicted == 0) & (labels == 0)).sum())
            fp += int(((predicted == 1) & (labels == 0)).sum())
            fn += int(((predicted == 0) & (labels == 1)).sum())
    model.train()
    n = len(rows)
    return {"loss": loss / n, "accuracy": (tp + tn) / n, "mcc": mcc(tn=tn, fp=fp, fn=fn, tp=tp)}


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes():
    """This process's highest resident size. Not ru_maxrss: Linux carries it over exec from the
    forked parent, so started from a JVM it reports the JVM's size, not ours."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(obj):
    print(json.dumps(obj), flush=True)


def train(args, model):
    rows = read_rows(os.path.join(args.data, "train.jsonl"))
    validation = read_rows(os.path.join(args.data, "validation.jsonl"))
    with open(os.path.join(args.data, "plan.json"), encoding="utf-8") as f:
        plan = json.load(f)  # epochs -> steps -> row positions
    steps_per_epoch = len(plan[0])
    total = steps_per_epoch * len(plan)
    if args.max_steps > 0:
        total = min(total, args.max_steps)
    warmup = math.ceil(args.warmup_ratio * steps_per_epoch * len(plan))
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "norm" in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    full = steps_per_epoch * len(plan)

    def lr_factor(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (full - step) / max(1, full - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    model.train()
    step = 0
    timed_rows = 0
    timed_seconds = 0.0
    epoch_start = time.perf_counter()
    for epoch, steps in enumerate(plan):
        for positions in steps:
            if step >= total:
                break
            start = time.perf_counter()
            ids, mask, labels = padded(rows, positions)
            loss = F.cross_entropy(model(ids, mask), labels)
            loss.backward()
            if args.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=False)
            elapsed = time.perf_counter() - start
            step += 1
            if step > args.skip_steps:
                timed_rows += len(positions)
                timed_seconds += elapsed
        if step >= total and args.max_steps > 0:
            break
        metrics = validate(model, validation, args.val_batch_size)
        # Wall time of the epoch, its validation included, as textspark's per-epoch figure.
        seconds = time.perf_counter() - epoch_start
        epoch_start = time.perf_counter()
        emit({"event": "epoch", "epoch": epoch + 1, "step": step, "rss_bytes": rss_bytes(), "seconds": seconds,
              **metrics})
    emit({"event": "throughput", "steps": step, "timed_steps": max(0, step - args.skip_steps),
          "rows": timed_rows, "seconds": timed_seconds,
          "samples_per_second": timed_rows / timed_seconds if timed_seconds else 0.0,
          "max_rss_bytes": peak_rss_bytes()})


def infer(args, model):
    """Scores `--rows` rows the way textspark's score job does: the exported sentences repeated in
    order, cut into windows of `--window-batches` batches, each window sorted by length and scored
    in batches of `--batch-size`, then put back in order. Token ids come ready-made, so this times
    padding and the model only: no tokenizer, no file reading or writing."""
    base = read_rows(os.path.join(args.data, "score.jsonl"))
    model.eval()
    window = args.batch_size * args.window_batches
    positive = 0
    # Confusion counts (tn, fp, fn, tp) over the first copy of the exported rows, when they carry labels.
    counts = [0, 0, 0, 0]
    start = time.perf_counter()
    model_seconds = 0.0
    with torch.no_grad():
        for w in range(0, args.rows, window):
            rows = [base[i % len(base)] for i in range(w, min(w + window, args.rows))]
            order = sorted(range(len(rows)), key=lambda p: len(rows[p]["ids"]))
            scores = [None] * len(rows)
            predicted = [None] * len(rows)
            for s in range(0, len(order), args.batch_size):
                batch = order[s : s + args.batch_size]
                ids, mask, _ = padded(rows, batch)
                t = time.perf_counter()
                probabilities = model(ids, mask).softmax(-1)
                model_seconds += time.perf_counter() - t
                best = probabilities.argmax(-1)
                for r, p in enumerate(batch):
                    scores[p] = probabilities[r, -1].item()
                    predicted[p] = best[r].item()
            positive += sum(1 for x in scores if x >= 0.5)
            for p, row in enumerate(rows):
                if w + p < len(base) and "label" in row:
                    counts[2 * row["label"] + predicted[p]] += 1
    seconds = time.perf_counter() - start
    record = {"event": "inference", "rows": args.rows, "seconds": seconds, "model_seconds": model_seconds,
              "rows_per_second": args.rows / seconds, "last_label_rows": positive,
              "max_rss_bytes": peak_rss_bytes()}
    if sum(counts) > 0:
        record["mcc"] = mcc(*counts)
        record["validation_rows"] = sum(counts)
    emit(record)


def mcc(tn, fp, fn, tp):
    """Matthews correlation coefficient of binary counts; 0 when a marginal is empty (as scikit-learn)."""
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / denominator if denominator else 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["train", "infer"])
    p.add_argument("--model", required=True, help="folder with config.json and model.safetensors")
    p.add_argument("--data", required=True, help="folder written by `textspark bench-train` or `bench-score`")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=-1, help="dropout override; -1 keeps config.json's")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (throughput runs)")
    p.add_argument("--skip-steps", type=int, default=5, help="warm-up steps left out of the throughput")
    p.add_argument("--val-batch-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64, help="rows per inference batch")
    p.add_argument("--window-batches", type=int, default=16, help="batches per length-sorted window (infer)")
    p.add_argument("--rows", type=int, default=100000, help="rows to score, repeating score.jsonl (infer)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(os.path.join(args.model, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    if args.dropout >= 0:
        config["hidden_dropout_prob"] = config["attention_probs_dropout_prob"] = args.dropout
    model = BertClassifier(config)
    model.load_hf(read_safetensors(os.path.join(args.model, "model.safetensors")))
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    emit({"event": "start", "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas})
    (train if args.mode == "train" else infer)(args, model)


if __name__ == "__main__":
    sys.exit(main())
