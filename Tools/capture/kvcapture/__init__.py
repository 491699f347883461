"""KVPack's capture tool: run a GGUF decoder LLM on real text with numpy and write its KV cache,
observation-window queries and probes in KVPack's HDF5 capture schema (Datasets/SCHEMA.md)."""
