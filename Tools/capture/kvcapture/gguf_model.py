"""Reads a GGUF decoder model: hyper-parameters, dequantized weights (numpy float32, laid out
[out_features, in_features] like torch), and tokenizer data."""
from dataclasses import dataclass, field

import numpy as np

from .errors import CaptureToolError

SUPPORTED = ("llama", "gemma3")


@dataclass
class ModelConfig:
    arch: str
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    rms_eps: float
    rope_base: float
    rope_base_local: float | None = None      # gemma3 sliding-window layers
    sliding_window: int | None = None          # gemma3
    sliding_pattern: int | None = None         # gemma3: every n-th layer is global
    query_scale: float = 0.0                   # logit scale (1/sqrt(head_dim) unless the model says)
    file_type: str = ""
    layer_kinds: list = field(default_factory=list)  # per layer: 0 = global, w = sliding window


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    v = f.contents()
    return v


class GGUFModel:
    def __init__(self, path):
        from gguf import GGUFReader
        try:
            self.reader = GGUFReader(path)
        except Exception as e:  # the gguf package raises assorted errors on foreign files
            raise CaptureToolError(f"{path}: not a readable GGUF file ({e})")
        self.path = path
        r = self.reader
        arch = _field(r, "general.architecture")
        if arch not in SUPPORTED:
            raise CaptureToolError(f"{path}: architecture {arch!r} is not supported (supported: {', '.join(SUPPORTED)})")
        a = arch
        heads = int(_field(r, f"{a}.attention.head_count"))
        hidden = int(_field(r, f"{a}.embedding_length"))
        head_dim = int(_field(r, f"{a}.attention.key_length", 0) or _field(r, f"{a}.rope.dimension_count", 0) or hidden // heads)
        kv = _field(r, f"{a}.attention.head_count_kv", heads)
        tokens = _field(r, "tokenizer.ggml.tokens")
        cfg = ModelConfig(
            arch=a,
            name=str(_field(r, "general.name", "unknown")),
            layers=int(_field(r, f"{a}.block_count")),
            hidden=hidden, heads=heads, kv_heads=int(kv), head_dim=head_dim,
            ffn=int(_field(r, f"{a}.feed_forward_length")),
            vocab=len(tokens) if tokens is not None else 0,
            rms_eps=float(_field(r, f"{a}.attention.layer_norm_rms_epsilon", 1e-6)),
            rope_base=float(_field(r, f"{a}.rope.freq_base", 10000.0)),
            file_type=str(_field(r, "general.file_type", "")),
        )
        cfg.query_scale = head_dim ** -0.5
        if a == "gemma3":
            cfg.sliding_window = int(_field(r, "gemma3.attention.sliding_window", 512))
            cfg.sliding_pattern = 6
            cfg.rope_base_local = float(_field(r, "gemma3.rope.freq_base_swa", 10000.0))
            cfg.layer_kinds = [0 if (i + 1) % cfg.sliding_pattern == 0 else cfg.sliding_window for i in range(cfg.layers)]
        else:
            cfg.layer_kinds = [0] * cfg.layers
        self.config = cfg
        self._tensors = {t.name: t for t in r.tensors}
        self.quant_types = sorted({t.tensor_type.name for t in r.tensors})

    def has(self, name):
        return name in self._tensors

    def weight(self, name):
        """Dequantized float32 weight, [out_features, in_features] for matrices."""
        from gguf.quants import dequantize
        t = self._tensors.get(name)
        if t is None:
            raise CaptureToolError(f"{self.path}: tensor {name} is missing")
        w = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        return w.reshape([int(x) for x in reversed(t.shape.tolist())]) if w.ndim > 1 else w

    def projection(self, layer, kind):
        """attn_q / attn_k with llama.cpp's interleaved-RoPE row permutation undone, so that
        rotate-half RoPE gives the Hugging Face model's post-RoPE vectors (same channel order)."""
        w = self.weight(f"blk.{layer}.attn_{kind}.weight")
        if self.config.arch == "llama" and kind in ("q", "k"):
            n = self.config.heads if kind == "q" else self.config.kv_heads
            w = unpermute(w, n)
        return w


def unpermute(w, n_head):
    """Inverse of convert_hf_to_gguf's LlamaModel.permute:
    forward: w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(w.shape)."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute(w, n_head):
    """convert_hf_to_gguf's LlamaModel.permute (used by the tests to write GGUF files)."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
