# Dense decode attention on the GPU with PyTorch SDPA, on the shapes `kvpack bench vulkan` runs
# (timing: mean of 50 back-to-back calls after 10 warm-up calls, CUDA events), with the
# (batch, context) grid taken from the command line; see Tools/bench/README.md.
# Run: python3 sdpa_reference.py --batch 1 8 32 --tokens 4096 32768 131072 > sdpa.json
import argparse, json
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
p.add_argument("--tokens", type=int, nargs="+", default=[4096, 32768, 131072])
p.add_argument("--query-heads", type=int, default=32)
p.add_argument("--kv-heads", type=int, default=8)
p.add_argument("--head-dim", type=int, default=128)
a = p.parse_args()
dev = "cuda"

def bench(fn, iters=50, warm=10):
    for _ in range(warm): fn()
    torch.cuda.synchronize()
    s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(iters): fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / iters / 1e3

out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
x = torch.empty(2 * 1024**3, dtype=torch.uint8, device=dev); y = torch.empty_like(x)
t = bench(lambda: y.copy_(x), iters=20, warm=3)
out["copy_GBps_rw"] = 2 * x.numel() / t / 1e9
del x, y
rows = []
Hq, Hkv, d = a.query_heads, a.kv_heads, a.head_dim
for B in a.batch:
    for N in a.tokens:
        try:
            q = torch.randn(B, Hq, 1, d, device=dev, dtype=torch.float16)
            k = torch.randn(B, Hkv, N, d, device=dev, dtype=torch.float16)
            v = torch.randn(B, Hkv, N, d, device=dev, dtype=torch.float16)
        except Exception as ex:
            rows.append(dict(B=B, N=N, error=str(ex)[:120])); torch.cuda.empty_cache(); continue
        kvbytes = 2 * k.numel() * 2
        for name, ctx in [("sdpa_default", None), ("sdpa_flash", [torch.nn.attention.SDPBackend.FLASH_ATTENTION]),
                          ("sdpa_cudnn", [torch.nn.attention.SDPBackend.CUDNN_ATTENTION]),
                          ("sdpa_efficient", [torch.nn.attention.SDPBackend.EFFICIENT_ATTENTION])]:
            try:
                fn = lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                if ctx is None:
                    t = bench(fn)
                else:
                    with torch.nn.attention.sdpa_kernel(ctx):
                        t = bench(fn)
                rows.append(dict(B=B, N=N, Hq=Hq, Hkv=Hkv, d=d, backend=name, us=t * 1e6, GBps=kvbytes / t / 1e9))
            except Exception as ex:
                rows.append(dict(B=B, N=N, backend=name, error=str(ex)[:120]))
        del q, k, v
        torch.cuda.empty_cache()
out["rows"] = rows
print(json.dumps(out, indent=1))
