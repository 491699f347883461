#!/usr/bin/env python3
"""Capture the KV cache of a Hugging Face causal LM (transformers + torch) in KVPack's schema.

  python capture_hf.py --model meta-llama/Llama-3.2-1B --text book.txt --tokens 4096 -o llama.h5
  python capture_hf.py --model ./local-model-dir --layers every:4 -o out.h5 --device cuda

Post-RoPE queries and keys are recorded where the model applies RoPE (its modeling module's
`apply_rotary_pos_emb`), values at each layer's `v_proj`; for every layer whose cache holds the
whole prompt (a `DynamicCache`), the recorded keys and values are checked against the cache. GQA
needs nothing special: keys and values keep their KV heads. The whole text (prompt + probes)
runs in one causal forward pass, which equals prefill followed by teacher-forced decoding.
"""
import argparse
import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kvcapture.errors import CaptureToolError  # noqa: E402


class Recorder:
    """Wraps the modeling module's apply_rotary_pos_emb and the v_proj layers."""

    def __init__(self, model):
        import torch  # noqa: F401
        self.module = sys.modules[type(model).__module__]
        if not hasattr(self.module, "apply_rotary_pos_emb"):
            raise CaptureToolError(f"{type(model).__name__}: its modeling module has no apply_rotary_pos_emb to record")
        self.original = self.module.apply_rotary_pos_emb
        self.qk = []
        self.v = []
        recorder = self

        def wrapped(q, k, *args, **kwargs):
            q_embed, k_embed = recorder.original(q, k, *args, **kwargs)
            recorder.qk.append((q_embed.detach().float().cpu().numpy()[0], k_embed.detach().float().cpu().numpy()[0]))
            return q_embed, k_embed

        self.module.apply_rotary_pos_emb = wrapped
        self.hooks = []
        for layer in model.model.layers:
            self.hooks.append(layer.self_attn.v_proj.register_forward_hook(
                lambda mod, inp, out: recorder.v.append(out.detach().float().cpu().numpy()[0])))

    def close(self):
        self.module.apply_rotary_pos_emb = self.original
        for h in self.hooks:
            h.remove()


def cache_layer(cache, i):
    """(keys, values) of layer i of a transformers cache, across cache API versions."""
    if hasattr(cache, "layers"):
        layer = cache.layers[i]
        return layer.keys, layer.values
    if hasattr(cache, "key_cache"):
        return cache.key_cache[i], cache.value_cache[i]
    return cache[i]


def layer_kinds(config, layers):
    window = getattr(config, "sliding_window", None)
    types = getattr(config, "layer_types", None)
    if types:
        return [window if t == "sliding_attention" else 0 for t in types]
    pattern = getattr(config, "sliding_window_pattern", None)
    if window and pattern:
        return [0 if (i + 1) % pattern == 0 else window for i in range(layers)]
    if window and getattr(config, "use_sliding_window", True) and type(config).__name__.startswith("Mistral"):
        return [window] * layers
    return [0] * layers


def rope_theta(config):
    theta = getattr(config, "rope_theta", None)
    if theta is None and isinstance(getattr(config, "rope_parameters", None), dict):
        params = config.rope_parameters
        theta = params.get("rope_theta") or params.get("full_attention", {}).get("rope_theta")
    return float(theta) if theta is not None else None


def rope_theta_local(config):
    params = getattr(config, "rope_parameters", None)
    if isinstance(params, dict) and isinstance(params.get("sliding_attention"), dict):
        return float(params["sliding_attention"].get("rope_theta"))
    local = getattr(config, "rope_local_base_freq", None)
    return float(local) if local is not None else None


def capture(model, ids, tokens, window, probes, record, top_k=64):
    """Runs `model` on `ids` (prompt + probes + 1) and returns what the writer needs."""
    import torch
    c = model.config
    heads = c.num_attention_heads
    kv_heads = getattr(c, "num_key_value_heads", heads)
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // heads
    rec = Recorder(model)
    try:
        with torch.no_grad():
            inp = torch.tensor([ids[:-1]], device=model.device)
            out = model(input_ids=inp, use_cache=True)
    finally:
        rec.close()
    n_layers = c.num_hidden_layers
    if len(rec.qk) != n_layers or len(rec.v) != n_layers:
        raise CaptureToolError(f"recorded {len(rec.qk)} RoPE calls and {len(rec.v)} v_proj calls for {n_layers} layers")
    total = len(ids) - 1
    logits = out.logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    targets = torch.tensor(ids[1:], device=logits.device)
    token_logprobs = logprobs.gather(1, targets[:, None])[:, 0].double().cpu().numpy()
    lse = torch.logsumexp(logits, dim=-1)
    probe_lp = logprobs[tokens:tokens + probes]
    top = torch.topk(probe_lp, top_k, dim=-1, sorted=True)
    checks = {}
    layers = []
    for l in record:
        q, k = rec.qk[l]                       # [Hq, T, d], [Hkv, T, d]
        v = rec.v[l].reshape(total, kv_heads, head_dim).transpose(1, 0, 2)
        ck, cv = cache_layer(out.past_key_values, l)
        ck = ck.detach().float().cpu().numpy()[0]
        cv = cv.detach().float().cpu().numpy()[0]
        if ck.shape[1] == total:  # the cache holds every token: it must equal what was recorded
            dk = float(np.abs(ck - k).max())
            dv = float(np.abs(cv - v).max())
            checks[l] = max(dk, dv)
            if dk > 1e-3 * max(1.0, float(np.abs(k).max())) or dv > 1e-3 * max(1.0, float(np.abs(v).max())):
                raise CaptureToolError(f"layer {l}: recorded K/V differ from the model's cache by {dk:.3g}/{dv:.3g}")
        layers.append({"keys": k[:, :tokens], "values": v[:, :tokens], "queries": q[:, tokens - window:tokens],
                       "probe_queries": q[:, tokens:tokens + probes], "probe_keys": k[:, tokens:tokens + probes],
                       "probe_values": v[:, tokens:tokens + probes]})
    return {
        "heads": heads, "kv_heads": kv_heads, "head_dim": head_dim, "layers": layers, "checks": checks,
        "token_logprobs": token_logprobs,
        "top_ids": top.indices.cpu().numpy(), "top_logprobs": top.values.double().cpu().numpy(),
        "logsumexp": lse[tokens:tokens + probes].double().cpu().numpy(),
        "perplexity": float(np.exp(-token_logprobs.mean())),
    }


def main(argv=None):
    from capture import parse_layers, DEFAULT_TEXT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hugging Face model id or local directory")
    ap.add_argument("--text", default=DEFAULT_TEXT)
    ap.add_argument("--text-source")
    ap.add_argument("--byte-tokens", action="store_true",
                    help="token ids = the text's UTF-8 bytes (for tokenizer-less test models)")
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--probes", type=int, default=64)
    ap.add_argument("--layers", default="all")
    ap.add_argument("--top-k", type=int, default=64)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-perplexity", type=float, default=100.0)
    ap.add_argument("--format", default="h5", choices=["h5", "npy"],
                    help="h5: a capture; npy: a directory of .npy tensors for `kvpack convert` (no h5py needed)")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    try:
        run(args, parse_layers)
    except CaptureToolError as e:
        print(f"capture_hf: error: {e}", file=sys.stderr)
        return 2
    return 0


def run(args, parse_layers):
    import torch
    from transformers import AutoModelForCausalLM
    if os.path.exists(args.output) and not args.force:
        raise CaptureToolError(f"{args.output} already exists (pass --force to overwrite)")
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=getattr(torch, args.dtype),
                                                 attn_implementation="eager").to(args.device).eval()
    text = open(args.text, encoding="utf-8").read()
    if args.byte_tokens:
        ids = list(text.encode("utf-8"))
        tokenizer_desc = "UTF-8 bytes as token ids"
    else:
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(args.model)
        ids = tok(text, add_special_tokens=True)["input_ids"]
        tokenizer_desc = f"{type(tok).__name__} ({args.model})"
    need = args.tokens + args.probes + 1
    if len(ids) < need:
        raise CaptureToolError(f"{args.text} gives {len(ids)} tokens; --tokens + --probes + 1 = {need} are needed")
    ids = ids[:need]
    c = model.config
    record = parse_layers(args.layers, c.num_hidden_layers)
    r = capture(model, ids, args.tokens, args.window, args.probes, record, args.top_k)
    if not r["perplexity"] <= args.max_perplexity:
        raise CaptureToolError(f"perplexity {r['perplexity']:.1f} exceeds --max-perplexity {args.max_perplexity}")
    kinds = layer_kinds(c, c.num_hidden_layers)
    provenance = {
        "tool": "Tools/capture/capture_hf.py (transformers)", "model_file": str(args.model),
        "model_architecture": type(model).__name__, "model_layers": str(c.num_hidden_layers),
        "quantization": args.dtype, "tokenizer": tokenizer_desc, "text_source": args.text_source or args.text,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "token_range": f"0..<{need} of {len(ids)}", "layers_captured": ",".join(map(str, record)),
        "perplexity": f"{r['perplexity']:.4f}",
        "cache_check_max_abs_diff": ",".join(f"{l}:{d:.2e}" for l, d in r["checks"].items()),
    }
    T, P, W = args.tokens, args.probes, args.window
    if args.format == "npy":
        os.makedirs(args.output, exist_ok=True)
        for i, layer in enumerate(r["layers"]):
            for name, a in layer.items():
                np.save(os.path.join(args.output, f"layers.{i}.{name}.npy"), np.ascontiguousarray(a, dtype=np.float16))
        np.save(os.path.join(args.output, "positions.npy"), np.arange(T, dtype=np.int64))
    else:
        from kvcapture.writer import write_capture
        write_capture(
            args.output, model={"name": getattr(c, "name_or_path", "") or type(model).__name__, "query_heads": r["heads"],
                                "kv_heads": r["kv_heads"], "head_dim": r["head_dim"], "rope_theta": rope_theta(c)},
            layer_indices=record, layer_kinds=[kinds[l] for l in record], positions=np.arange(T),
            window_positions=np.arange(T - W, T), probe_positions=np.arange(T, T + P), layers=r["layers"],
            provenance=provenance, token_ids=ids, token_logprobs=r["token_logprobs"], probe_top_ids=r["top_ids"],
            probe_top_logprobs=r["top_logprobs"], probe_logsumexp=r["logsumexp"], perplexity=r["perplexity"],
            force=args.force)
    print(f"wrote {args.output}: {len(record)} layers, {T} tokens, {W} window queries, {P} probes; "
          f"perplexity {r['perplexity']:.2f}; cache check {provenance['cache_check_max_abs_diff'] or 'n/a'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
