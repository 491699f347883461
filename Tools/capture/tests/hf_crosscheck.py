#!/usr/bin/env python3
"""Cross-checks the two capture paths against each other, with transformers as the reference.

For a tiny randomly initialised Llama and a tiny Gemma-3 (text) model:
  1. capture_hf.capture() records post-RoPE Q/K and V with transformers (checked against its cache);
  2. the same weights are written to a GGUF file the way llama.cpp's converter does (Llama Q/K rows
     permuted for interleaved RoPE; Gemma RMSNorm weights stored as 1 + w);
  3. the GGUF capture tool's numpy forward pass (kvcapture.forward) runs the same token ids;
  4. Q, K, V of every layer and the next-token log-probabilities must agree.
Then capture_hf.py's command line writes a capture (HDF5, or .npy tensors where h5py is missing).

  python hf_crosscheck.py OUTDIR      (needs torch, transformers, numpy, gguf)
"""
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import gguf  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

import capture_hf  # noqa: E402
from kvcapture.forward import Forward  # noqa: E402
from kvcapture.gguf_model import GGUFModel, permute  # noqa: E402

TEXT = ("Section 1. Definitions. The Program refers to any copyrightable work licensed under this License. "
        "Section 15. Disclaimer of Warranty. There is no warranty for the Program. ") * 4


def tiny(arch):
    torch.manual_seed(0)
    if arch == "llama":
        cfg = transformers.LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                       rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False)
        model = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.Gemma3TextConfig(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=6,
                                            num_attention_heads=4, num_key_value_heads=1, head_dim=32,
                                            query_pre_attn_scalar=32, sliding_window=16, rope_theta=1000000.0,
                                            rope_local_base_freq=10000.0, max_position_embeddings=512,
                                            rms_norm_eps=1e-6)
        model = transformers.Gemma3ForCausalLM(cfg)
        with torch.no_grad():  # random norm weights, so the +1 convention matters
            for name, p in model.named_parameters():
                if name.endswith("norm.weight"):
                    p.normal_(0, 0.3)
    return model.float().eval()


def write_gguf(model, arch, path):
    c = model.config
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    w = gguf.GGUFWriter(path, arch)
    w.add_name(f"tiny-{arch}")
    w.add_block_count(c.num_hidden_layers)
    w.add_context_length(512)
    w.add_embedding_length(c.hidden_size)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_head_count(c.num_attention_heads)
    w.add_head_count_kv(c.num_key_value_heads)
    w.add_layer_norm_rms_eps(c.rms_norm_eps)
    w.add_rope_freq_base(capture_hf.rope_theta(c))
    if arch == "gemma3" and capture_hf.rope_theta_local(c) is not None:
        w.add_float32("gemma3.rope.freq_base_swa", capture_hf.rope_theta_local(c))
    hd = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    w.add_key_length(hd)
    w.add_value_length(hd)
    if arch == "gemma3":
        w.add_sliding_window(c.sliding_window)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(c.vocab_size)])
    shift = 1.0 if arch == "gemma3" else 0.0
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
                 "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate",
                 "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down", "self_attn.q_norm": "attn_q_norm",
                 "self_attn.k_norm": "attn_k_norm"}
    if arch == "gemma3":
        per_layer.update({"post_attention_layernorm": "post_attention_norm", "pre_feedforward_layernorm": "ffn_norm",
                          "post_feedforward_layernorm": "post_ffw_norm"})
    else:
        per_layer["post_attention_layernorm"] = "ffn_norm"
    for key, t in sd.items():
        if key in names:
            name = names[key]
        else:
            parts = key.split(".")
            layer, rest = parts[2], ".".join(parts[3:-1])
            name = f"blk.{layer}.{per_layer[rest]}.weight"
        if arch == "gemma3" and key == "lm_head.weight":
            continue  # tied
        if name.endswith("norm.weight"):
            t = t + shift
        if arch == "llama" and name.endswith("attn_q.weight"):
            t = permute(t, c.num_attention_heads)
        if arch == "llama" and name.endswith("attn_k.weight"):
            t = permute(t, c.num_key_value_heads)
        w.add_tensor(name, np.ascontiguousarray(t, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def crosscheck(arch, tmp):
    model = tiny(arch)
    ids = list(TEXT.encode())[:97]
    tokens, window, probes = 80, 8, 16
    hf = capture_hf.capture(model, ids, tokens, window, probes, list(range(model.config.num_hidden_layers)), top_k=16)
    path = os.path.join(tmp, f"{arch}.gguf")
    write_gguf(model, arch, path)
    gm = GGUFModel(path)
    hidden, head, records = Forward(gm).run(np.asarray(ids[:-1]), set(range(model.config.num_hidden_layers)))
    logits = hidden.astype(np.float64) @ head.T.astype(np.float64)
    lp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(-1, keepdims=True)
    ours_token_lp = lp[np.arange(len(ids) - 1), ids[1:]]
    worst = {}
    for l, layer in enumerate(hf["layers"]):
        q, k, v = records[l]
        for name, mine, theirs in (("keys", k[:, :tokens], layer["keys"]), ("values", v[:, :tokens], layer["values"]),
                                   ("queries", q[:, tokens - window:tokens], layer["queries"]),
                                   ("probe_queries", q[:, tokens:tokens + probes], layer["probe_queries"])):
            d = float(np.abs(mine - theirs).max() / max(1e-6, np.abs(theirs).max()))
            worst[name] = max(worst.get(name, 0.0), d)
    worst["token_logprobs_max_abs"] = float(np.abs(ours_token_lp - hf["token_logprobs"]).max())
    return {"arch": arch, "layers": model.config.num_hidden_layers,
            "rope": [capture_hf.rope_theta(model.config), capture_hf.rope_theta_local(model.config)],
            "layer_kinds": capture_hf.layer_kinds(model.config, model.config.num_hidden_layers), "cache_checks": hf["checks"],
            "max_relative_difference": worst, "perplexity_hf": hf["perplexity"],
            "perplexity_gguf_numpy": float(np.exp(-ours_token_lp.mean())),
            "pass": all(v < 1e-4 for k, v in worst.items() if k != "token_logprobs_max_abs")
            and worst["token_logprobs_max_abs"] < 1e-3}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    results = {"torch": torch.__version__, "transformers": transformers.__version__, "gguf": gguf.__version__
               if hasattr(gguf, "__version__") else "?", "checks": []}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("llama", "gemma3"):
            try:
                results["checks"].append(crosscheck(arch, tmp))
            except Exception as e:  # report, keep going
                import traceback
                results["checks"].append({"arch": arch, "error": f"{type(e).__name__}: {e}",
                                          "trace": traceback.format_exc()[-2000:]})
        # The command line on a saved tiny Llama (HDF5 when h5py exists, else .npy tensors).
        model = tiny("llama")
        mdir = os.path.join(tmp, "tiny-llama")
        model.save_pretrained(mdir)
        text = os.path.join(tmp, "text.txt")
        open(text, "w").write(TEXT)
        try:
            import h5py  # noqa: F401
            fmt, target = "h5", os.path.join(out, "hf-tiny-llama.h5")
        except ImportError:
            fmt, target = "npy", os.path.join(out, "hf-tiny-llama-npy")
        rc = capture_hf.main(["--model", mdir, "--byte-tokens", "--text", text, "--tokens", "96", "--window", "8",
                              "--probes", "16", "--max-perplexity", "1e9", "--format", fmt, "-o", target, "--force"])
        results["cli"] = {"exit": rc, "format": fmt, "output": os.path.basename(target)}
    print(json.dumps(results, indent=1, default=str))
    with open(os.path.join(out, "hf_crosscheck.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    ok = all(c.get("pass") for c in results["checks"]) and results["cli"]["exit"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
