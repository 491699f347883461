#!/usr/bin/env python3
"""h5py / numpy / safetensors side of KVPack's interop tests.

  interop.py write OUT.h5 [VARIANT]   write a capture in KVPack's schema with h5py
  interop.py read FILE.h5             print a JSON summary of a KVPack-written capture
  interop.py npy DIR                  write layers.<L>.<tensor>.npy files
  interop.py safetensors OUT          write the same tensors as one .safetensors file

Tensor values are a formula of their indices, so the Swift side checks them without
sharing data: value(l, t, h, i, d) = ((l*7 + t*5 + h*3 + i*2 + d) % 61 - 30) / 8
(exact in float16), with t the tensor's index in TENSORS.
"""
import json
import sys

import numpy as np

TENSORS = ["keys", "values", "queries", "probe_queries", "probe_keys", "probe_values"]
LAYERS, QH, KVH, D, TOKENS, WINDOW, PROBES = 3, 4, 2, 16, 40, 8, 5


def values(layer, tensor, heads, tokens, dtype=np.float16):
    t = TENSORS.index(tensor)
    h, i, d = np.meshgrid(np.arange(heads), np.arange(tokens), np.arange(D), indexing="ij")
    return (((layer * 7 + t * 5 + h * 3 + i * 2 + d) % 61 - 30) / 8).astype(dtype)


def shape_of(tensor):
    heads = QH if tensor in ("queries", "probe_queries") else KVH
    tokens = {"keys": TOKENS, "values": TOKENS, "queries": WINDOW}.get(tensor, PROBES)
    return heads, tokens


def write(out, variant="basic"):
    import h5py
    with h5py.File(out, "w") as f:
        f.attrs["format"] = "kvpack-capture" if variant != "foreign" else "something-else"
        f.attrs["version"] = 1 if variant != "future" else 99
        m = f.create_group("model")
        m.attrs["name"] = "h5py-written"
        m.attrs["layers"] = LAYERS
        m.attrs["query_heads"] = QH if variant != "gqa" else 3
        m.attrs["kv_heads"] = KVH
        m.attrs["head_dim"] = D
        m.attrs["rope_theta"] = 10000.0
        m.create_dataset("sliding_window", data=np.array([0, 16, 0], dtype=np.int32))
        p = f.create_group("provenance")
        p.attrs["text_source"] = "h5py interop test"
        s = f.create_group("sequences/0")
        s.create_dataset("positions", data=np.arange(TOKENS if variant != "zero" else 0, dtype=np.int64))
        s.create_dataset("query_positions", data=np.arange(TOKENS - WINDOW, TOKENS, dtype=np.int32))
        s.create_dataset("probe_positions", data=np.arange(TOKENS, TOKENS + PROBES, dtype=np.int32))
        for layer in range(LAYERS):
            g = s.create_group(f"layers/{layer}")
            for tensor in TENSORS:
                heads, tokens = shape_of(tensor)
                dtype = np.float32 if variant in ("float32", "big") else np.float64 if variant == "float64" else np.float16
                data = values(layer, tensor, heads, tokens, dtype)
                if variant == "nan" and layer == 1 and tensor == "values":
                    data[1, 7, 3] = np.nan
                if variant == "big" and layer == 2 and tensor == "queries":
                    data[0, 0, 0] = 1e6
                if variant == "rank" and layer == 0 and tensor == "keys":
                    data = data.reshape(heads * tokens, D)
                if variant == "ints" and layer == 0 and tensor == "values":
                    data = np.zeros((heads, tokens, D), dtype=np.int32)
                if variant == "zero" and tensor in ("keys", "values"):
                    data = data[:, :0, :]
                if variant == "missing" and layer == 2 and tensor == "queries":
                    continue
                if variant == "shape" and layer == 1 and tensor == "keys":
                    data = data[:, : TOKENS - 1, :]
                if variant == "bf16" and tensor == "keys":
                    # bfloat16 as HDF5 sees it: 1 sign, 8 exponent, 7 mantissa bits.
                    bf = h5py.h5t.IEEE_F32LE.copy()
                    bf.set_fields(15, 7, 8, 0, 7)
                    bf.set_size(2)
                    bf.set_ebias(127)
                    raw = (data.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
                    space = h5py.h5s.create_simple(data.shape)
                    dset = h5py.h5d.create(g.id, b"keys", bf, space)
                    dset.write(h5py.h5s.ALL, h5py.h5s.ALL, raw, mtype=bf)
                    continue
                g.create_dataset(tensor, data=data, chunks=(1, min(tokens, 16), D) if data.ndim == 3 and data.shape[1] else None)


def read(path):
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                        for k, v in f.attrs.items()}
        out["model"] = {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                        for k, v in f["model"].attrs.items()}
        out["sliding_window"] = f["model/sliding_window"][()].tolist()
        out["provenance"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f["provenance"].attrs.items()}
        seqs = {}
        for sid, s in f["sequences"].items():
            seq = {"positions": s["positions"][()].tolist(), "query_positions": s["query_positions"][()].tolist(),
                   "probe_positions": s["probe_positions"][()].tolist() if "probe_positions" in s else [],
                   "layers": {}}
            for lid, layer in s["layers"].items():
                seq["layers"][lid] = {name: {"shape": list(ds.shape), "dtype": str(ds.dtype),
                                             "sum": float(np.asarray(ds[()], dtype=np.float64).sum()),
                                             "first": float(ds[0, 0, 0]) if ds.size else None,
                                             "chunks": list(ds.chunks) if ds.chunks else None}
                                      for name, ds in layer.items()}
            seqs[sid] = seq
        out["sequences"] = seqs
    print(json.dumps(out, sort_keys=True))


def tensors():
    out = {}
    for layer in range(2):
        for tensor in ["keys", "values", "queries", "probe_queries"]:
            heads, tokens = shape_of(tensor)
            out[f"layers.{layer}.{tensor}"] = values(layer, tensor, heads, tokens,
                                                     np.float32 if tensor == "values" else np.float16)
    out["positions"] = np.arange(10, 10 + TOKENS, dtype=np.int64)
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "write":
        write(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "basic")
    elif cmd == "read":
        read(sys.argv[2])
    elif cmd == "npy":
        for name, array in tensors().items():
            np.save(f"{sys.argv[2]}/{name}.npy", array)
    elif cmd == "safetensors":
        from safetensors.numpy import save_file
        save_file(tensors(), sys.argv[2], metadata={"model_name": "st-test", "rope_theta": "500000"})
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
