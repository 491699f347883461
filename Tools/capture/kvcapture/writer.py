"""Writes a capture in KVPack's HDF5 schema (Datasets/SCHEMA.md) with h5py, atomically."""
import os
import tempfile

import numpy as np

from .errors import CaptureToolError

FORMAT = "kvpack-capture"
VERSION = 1


def write_capture(path, *, model, layer_indices, layer_kinds, positions, window_positions, probe_positions,
                  layers, provenance, token_ids, token_logprobs, probe_top_ids, probe_top_logprobs,
                  probe_logsumexp, perplexity, force=False, compression="gzip"):
    """layers: list of dicts with keys, values, queries, probe_queries, probe_keys, probe_values
    (numpy arrays [heads, tokens, head_dim]). Writes to a temporary file beside `path`, then renames."""
    import h5py
    if os.path.exists(path) and not force:
        raise CaptureToolError(f"{path} already exists (pass --force to overwrite)")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CaptureToolError(f"{path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["version"] = VERSION
            m = f.create_group("model")
            for key in ("name", "query_heads", "kv_heads", "head_dim"):
                m.attrs[key] = model[key]
            m.attrs["layers"] = len(layers)
            if model.get("rope_theta") is not None:
                m.attrs["rope_theta"] = float(model["rope_theta"])
            m.create_dataset("sliding_window", data=np.asarray(layer_kinds, dtype=np.int32))
            m.create_dataset("layer_indices", data=np.asarray(layer_indices, dtype=np.int32))
            p = f.create_group("provenance")
            for k, v in sorted(provenance.items()):
                p.attrs[k] = str(v)
            s = f.create_group("sequences/0")
            s.attrs["perplexity"] = float(perplexity)
            s.create_dataset("positions", data=np.asarray(positions, dtype=np.int32))
            s.create_dataset("query_positions", data=np.asarray(window_positions, dtype=np.int32))
            s.create_dataset("probe_positions", data=np.asarray(probe_positions, dtype=np.int32))
            s.create_dataset("token_ids", data=np.asarray(token_ids, dtype=np.int32))
            s.create_dataset("token_logprobs", data=np.asarray(token_logprobs, dtype=np.float32))
            lp = s.create_group("probe_logprobs")
            lp.create_dataset("top_ids", data=np.asarray(probe_top_ids, dtype=np.int32))
            lp.create_dataset("top_logprobs", data=np.asarray(probe_top_logprobs, dtype=np.float32))
            lp.create_dataset("logsumexp", data=np.asarray(probe_logsumexp, dtype=np.float32))
            for i, layer in enumerate(layers):
                g = s.create_group(f"layers/{i}")
                for name, array in layer.items():
                    a = np.ascontiguousarray(array, dtype=np.float16)
                    if not np.isfinite(a).all():
                        bad = np.argwhere(~np.isfinite(a))[0].tolist()
                        raise CaptureToolError(f"layer {layer_indices[i]} {name}: non-finite value at {bad} (float16 overflow?)")
                    chunks = (1, min(a.shape[1], 1024), a.shape[2]) if a.shape[1] else None
                    g.create_dataset(name, data=a, chunks=chunks,
                                     compression=compression if chunks else None, shuffle=bool(chunks and compression))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
