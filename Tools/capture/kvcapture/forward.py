"""A numpy (float32) forward pass of Llama-family and Gemma-3 decoders that records, per layer,
the post-RoPE keys, values and queries of every position — what the model's KV cache holds."""
import math

import numpy as np


def rms_norm(x, w, eps):
    x64 = x.astype(np.float32)
    return (x64 / np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True) + eps)) * w


def rope_rotate_half(x, positions, base):
    """x: [heads, T, d]; rotate-half pairing (i, i + d/2), angle = pos * base^(-2i/d)."""
    d = x.shape[-1]
    inv = base ** (-np.arange(0, d // 2, dtype=np.float64) * 2 / d)
    ang = np.outer(positions.astype(np.float64), inv)  # [T, d/2]
    cos = np.cos(ang).astype(np.float32)
    sin = np.sin(ang).astype(np.float32)
    a, b = x[..., : d // 2], x[..., d // 2:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + np.exp(-x))


def attention(q, k, v, scale, window=None):
    """q [Hq, T, d], k/v [Hkv, T, d], causal (and sliding: key p visible to t when t - w < p <= t)."""
    hq, t, d = q.shape
    group = hq // k.shape[0]
    kk = np.repeat(k, group, axis=0)
    vv = np.repeat(v, group, axis=0)
    out = np.empty_like(q)
    idx = np.arange(t)
    mask = idx[None, :] <= idx[:, None]
    if window:
        mask &= idx[None, :] > idx[:, None] - window
    block = 512  # query rows per block keeps the score matrix small
    for s in range(0, t, block):
        e = min(t, s + block)
        scores = np.einsum("hqd,hkd->hqk", q[:, s:e], kk[:, :e]) * scale
        scores = np.where(mask[s:e, :e][None], scores, -np.inf)
        scores -= scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=-1, keepdims=True)
        out[:, s:e] = np.einsum("hqk,hkd->hqd", p, vv[:, :e])
    return out


class Forward:
    """Runs `model` (a GGUFModel) on token ids; `layers` are recorded, all are computed."""

    def __init__(self, model):
        self.m = model
        self.c = model.config

    def run(self, ids, record_layers, progress=None):
        c, m = self.c, self.m
        ids = np.asarray(ids)
        t = len(ids)
        pos = np.arange(t)
        emb = m.weight("token_embd.weight")
        h = emb[ids].astype(np.float32)
        if c.arch == "gemma3":
            h = h * np.float32(math.sqrt(c.hidden))
        records = {}
        for layer in range(c.layers):
            p = f"blk.{layer}."
            x = rms_norm(h, m.weight(p + "attn_norm.weight"), c.rms_eps)
            q = (x @ m.projection(layer, "q").T).reshape(t, c.heads, c.head_dim).transpose(1, 0, 2)
            k = (x @ m.projection(layer, "k").T).reshape(t, c.kv_heads, c.head_dim).transpose(1, 0, 2)
            v = (x @ m.weight(p + "attn_v.weight").T).reshape(t, c.kv_heads, c.head_dim).transpose(1, 0, 2)
            window = None
            base = c.rope_base
            if c.arch == "gemma3":
                q = rms_norm(q, m.weight(p + "attn_q_norm.weight"), c.rms_eps)
                k = rms_norm(k, m.weight(p + "attn_k_norm.weight"), c.rms_eps)
                if c.layer_kinds[layer]:
                    window = c.layer_kinds[layer]
                    base = c.rope_base_local
            q = rope_rotate_half(q, pos, base).astype(np.float32)
            k = rope_rotate_half(k, pos, base).astype(np.float32)
            if layer in record_layers:
                records[layer] = (q.copy(), k.copy(), v.copy())
            o = attention(q, k, v, c.query_scale, window).transpose(1, 0, 2).reshape(t, c.heads * c.head_dim)
            o = o @ m.weight(p + "attn_output.weight").T
            if c.arch == "gemma3":
                o = rms_norm(o, m.weight(p + "post_attention_norm.weight"), c.rms_eps)
            h = h + o
            x = rms_norm(h, m.weight(p + "ffn_norm.weight"), c.rms_eps)
            gate = x @ m.weight(p + "ffn_gate.weight").T
            up = x @ m.weight(p + "ffn_up.weight").T
            act = gelu_tanh(gate) if c.arch == "gemma3" else silu(gate)
            f = (act * up) @ m.weight(p + "ffn_down.weight").T
            if c.arch == "gemma3":
                f = rms_norm(f, m.weight(p + "post_ffw_norm.weight"), c.rms_eps)
            h = h + f
            if progress:
                progress(layer + 1, c.layers)
        h = rms_norm(h, m.weight("output_norm.weight"), c.rms_eps)
        head = m.weight("output.weight") if m.has("output.weight") else emb
        return h, head, records


def log_softmax_rows(hidden, head, chunk=256):
    """Yields (start, logprobs [rows, vocab], logsumexp [rows]) for blocks of positions."""
    for s in range(0, hidden.shape[0], chunk):
        logits = (hidden[s:s + chunk] @ head.T).astype(np.float64)
        mx = logits.max(axis=-1, keepdims=True)
        lse = (mx + np.log(np.exp(logits - mx).sum(axis=-1, keepdims=True)))[:, 0]
        yield s, logits - lse[:, None], lse, logits
