#!/usr/bin/env python3
"""The usual way to put a classifier behind HTTP, for `textspark bench-serve` to compare with: a Flask
app around the same BERT model in plain PyTorch, scoring one request at a time.

It answers `POST /v1/classify` with `{"texts": [...]}` or `{"text": "..."}` like `textspark serve`
(per text: the label, its index and every label's probability), and `GET /healthz`. The model is
`pytorch_bert.py`'s (torch.nn modules only); the tokenizer is a BERT WordPiece tokenizer written here
from the checkpoint's `tokenizer.json` (lower-casing, accent stripping, punctuation splitting, greedy
longest-match word pieces), so that no `transformers` package is needed.

Needs Debian's `python3-flask`, `python3-torch` and, for a fair speed comparison, `libopenblas0-openmp`.
"""

import argparse
import json
import os
import sys
import unicodedata

import torch
from flask import Flask, jsonify, request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_bert import BertClassifier, read_safetensors  # noqa: E402


class WordPiece:
    """BERT's uncased tokenizer: normalize, split on whitespace and punctuation, then word pieces."""

    def __init__(self, tokenizer_json, max_length):
        with open(tokenizer_json, encoding="utf-8") as f:
            spec = json.load(f)
        self.vocab = spec["model"]["vocab"]
        self.unk = self.vocab[spec["model"].get("unk_token", "[UNK]")]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]
        self.max_chars = spec["model"].get("max_input_chars_per_word", 100)
        self.max_length = max_length

    @staticmethod
    def _punctuation(ch):
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    def _words(self, text):
        text = unicodedata.normalize("NFD", text.lower())
        out, word = [], []
        for ch in text:
            cat = unicodedata.category(ch)
            if ch == "\0" or ch == "\ufffd" or (cat.startswith("C") and ch not in "\t\n\r") or cat == "Mn":
                continue
            cp = ord(ch)
            chinese = 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF
            if ch.isspace() or cat == "Zs":
                if word:
                    out.append("".join(word))
                    word = []
            elif self._punctuation(ch) or chinese:
                if word:
                    out.append("".join(word))
                    word = []
                out.append(ch)
            else:
                word.append(ch)
        if word:
            out.append("".join(word))
        return out

    def _pieces(self, word):
        if len(word) > self.max_chars:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text):
        """Token ids with [CLS] and [SEP], truncated to max_length; and whether it was truncated."""
        ids = [i for w in self._words(text) for i in self._pieces(w)]
        room = self.max_length - 2
        return [self.cls] + ids[:room] + [self.sep], len(ids) > room


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="checkpoint folder: config.json, model.safetensors, tokenizer.json")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    model = BertClassifier(config, num_labels=len(labels))
    model.load_hf(read_safetensors(os.path.join(args.model, "model.safetensors")))
    model.eval()
    tokenizer = WordPiece(os.path.join(args.model, "tokenizer.json"), args.max_length)

    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.post("/v1/classify")
    def classify():
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or ("texts" in body) == ("text" in body):
            return jsonify(error='send {"texts": [...]} or {"text": "..."}', status=400), 400
        texts = body["texts"] if "texts" in body else [body["text"]]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return jsonify(error="texts must be a non-empty list of strings", status=400), 400
        encoded = [tokenizer.encode(t) for t in texts]
        longest = max(len(ids) for ids, _ in encoded)
        ids = torch.zeros(len(encoded), longest, dtype=torch.long)
        mask = torch.zeros(len(encoded), longest, dtype=torch.long)
        for r, (row, _) in enumerate(encoded):
            ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
        with torch.no_grad():
            probabilities = model(ids, mask).softmax(-1).tolist()
        predictions = []
        for (row, truncated), probs in zip(encoded, probabilities):
            best = max(range(len(probs)), key=lambda j: probs[j])
            predictions.append({"prediction": labels[best], "prediction_index": best,
                                "probabilities": dict(zip(labels, probs)), "truncated": truncated,
                                "tokens": len(row)})
        return jsonify(model=args.model, max_length=args.max_length, predictions=predictions)

    # One request at a time, as a Flask app is usually run behind a single worker process.
    app.run(host="127.0.0.1", port=args.port, threaded=False)


if __name__ == "__main__":
    main()
