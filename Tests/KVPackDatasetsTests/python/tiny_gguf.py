#!/usr/bin/env python3
"""Writes a tiny random Llama-architecture GGUF (as llama.cpp's converter would: Q/K rows
permuted for interleaved RoPE) plus a text, and the layer-0 post-RoPE keys that Hugging Face's
Llama would cache for that text, computed here independently of the capture tool.

  tiny_gguf.py DIR [ARCH]    -> DIR/tiny.gguf, DIR/text.txt, DIR/expected_keys0.npy
"""
import sys

import numpy as np
import gguf

LAYERS, HIDDEN, HEADS, KV, HEAD_DIM, FFN = 2, 64, 4, 2, 16, 96
THETA, EPS = 10000.0, 1e-5
TOKENS = 40  # prompt tokens the test captures


def byte_level_vocab():
    """GPT-2's bytes_to_unicode: the 256 byte-level symbols, one token each."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def permute(w, n_head):  # convert_hf_to_gguf.py LlamaModel.permute
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main():
    out = sys.argv[1]
    arch = sys.argv[2] if len(sys.argv) > 2 else "llama"
    rng = np.random.default_rng(0)
    tokens = byte_level_vocab()
    vocab = len(tokens)
    w = {"token_embd.weight": rng.standard_normal((vocab, HIDDEN)).astype(np.float32),
         "output_norm.weight": (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32),
         "output.weight": (0.1 * rng.standard_normal((vocab, HIDDEN))).astype(np.float32)}
    hf_k0 = None
    for l in range(LAYERS):
        p = f"blk.{l}."
        wq = (rng.standard_normal((HEADS * HEAD_DIM, HIDDEN)) / 8).astype(np.float32)
        wk = (rng.standard_normal((KV * HEAD_DIM, HIDDEN)) / 8).astype(np.float32)
        if l == 0:
            hf_k0 = wk
        w[p + "attn_q.weight"] = permute(wq, HEADS)
        w[p + "attn_k.weight"] = permute(wk, KV)
        w[p + "attn_v.weight"] = (rng.standard_normal((KV * HEAD_DIM, HIDDEN)) / 8).astype(np.float32)
        w[p + "attn_output.weight"] = (rng.standard_normal((HIDDEN, HEADS * HEAD_DIM)) / 8).astype(np.float32)
        w[p + "attn_norm.weight"] = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
        w[p + "ffn_norm.weight"] = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
        w[p + "ffn_gate.weight"] = (rng.standard_normal((FFN, HIDDEN)) / 8).astype(np.float32)
        w[p + "ffn_up.weight"] = (rng.standard_normal((FFN, HIDDEN)) / 8).astype(np.float32)
        w[p + "ffn_down.weight"] = (rng.standard_normal((HIDDEN, FFN)) / 8).astype(np.float32)

    writer = gguf.GGUFWriter(f"{out}/tiny.gguf", arch)
    writer.add_name("tiny-random-llama")
    writer.add_block_count(LAYERS)
    writer.add_context_length(256)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(THETA)
    writer.add_layer_norm_rms_eps(EPS)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_merges([])
    writer.add_add_bos_token(False)
    for name, t in w.items():
        if name == "token_embd.weight":  # one quantized tensor, to go through dequantization
            q = gguf.quants.quantize(t, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            w[name] = gguf.quants.dequantize(q, gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, t)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    text = "The quick brown fox jumps over the lazy dog. " * 6
    with open(f"{out}/text.txt", "w") as f:
        f.write(text)
    # Byte-level tokens, no merges: one token per byte.
    ids = np.array([tokens.index(byte_level_vocab()[b]) for b in text.encode()][:TOKENS])
    x = w["token_embd.weight"][ids]
    x = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * w["blk.0.attn_norm.weight"]
    k = (x @ hf_k0.T).reshape(TOKENS, KV, HEAD_DIM).transpose(1, 0, 2)  # HF order, pre-RoPE
    inv = THETA ** (-np.arange(0, HEAD_DIM, 2) / HEAD_DIM)
    ang = np.arange(TOKENS)[:, None] * inv[None, :]
    cos = np.concatenate([np.cos(ang)] * 2, axis=-1)
    sin = np.concatenate([np.sin(ang)] * 2, axis=-1)
    rotated = np.concatenate([-k[..., HEAD_DIM // 2:], k[..., : HEAD_DIM // 2]], axis=-1)  # HF rotate_half
    np.save(f"{out}/expected_keys0.npy", (k * cos + rotated * sin).astype(np.float32))


if __name__ == "__main__":
    main()
