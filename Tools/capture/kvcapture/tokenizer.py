"""Tokenizers built from a GGUF file's own vocabulary.

- `gpt2` (byte-level BPE, SmolLM2): the `tokenizers` library's BPE model with the GGUF merges,
  individual-digit splitting then GPT-2 byte-level pre-tokenization (SmolLM2's tokenizer.json).
- `llama` (SentencePiece BPE, Gemma-3): llama.cpp's SPM algorithm: user-defined tokens (type 4:
  Gemma's runs of spaces and newlines) are split out of the text first, longest first; in the
  rest, spaces become U+2581 and adjacent symbols merge greedily by the highest vocabulary score;
  characters outside the vocabulary fall back to <0xNN> byte tokens.
"""
import heapq

from .errors import CaptureToolError


class Tokenizer:
    def __init__(self, model):
        r = model.reader
        self.kind = r.fields["tokenizer.ggml.model"].contents()
        self.tokens = r.fields["tokenizer.ggml.tokens"].contents()

        def opt(key, default):
            f = r.fields.get(key)
            return f.contents() if f is not None else default

        self.bos = opt("tokenizer.ggml.bos_token_id", None)
        self.add_bos = bool(opt("tokenizer.ggml.add_bos_token", self.kind == "llama"))
        self.add_space_prefix = bool(opt("tokenizer.ggml.add_space_prefix", False))
        if self.kind == "gpt2":
            from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers, decoders
            vocab = {t: i for i, t in enumerate(self.tokens)}
            merges = [tuple(m.split(" ", 1)) for m in opt("tokenizer.ggml.merges", [])]
            tok = HFTokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
            tok.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ])
            tok.decoder = decoders.ByteLevel()
            self._hf = tok
            self.description = f"GGUF byte-level BPE ({len(self.tokens)} tokens, {len(merges)} merges) via tokenizers"
        elif self.kind == "llama":
            self.scores = opt("tokenizer.ggml.scores", [0.0] * len(self.tokens))
            self.index = {t: i for i, t in enumerate(self.tokens)}
            types = opt("tokenizer.ggml.token_type", [1] * len(self.tokens))
            self.user_defined = sorted(((t, i) for i, t in enumerate(self.tokens) if types[i] == 4),
                                       key=lambda p: -len(p[0]))
            self.description = f"GGUF SentencePiece BPE ({len(self.tokens)} tokens), llama.cpp's SPM merge order"
        else:
            raise CaptureToolError(f"tokenizer model {self.kind!r} is not supported (gpt2, llama)")

    def encode(self, text):
        ids = self._encode_gpt2(text) if self.kind == "gpt2" else self._encode_spm(text)
        if self.add_bos and self.bos is not None:
            ids = [int(self.bos)] + ids
        return ids

    def _encode_gpt2(self, text):
        return self._hf.encode(text, add_special_tokens=False).ids

    def _encode_spm(self, text):
        fragments = [text]  # str: raw text; int: a user-defined token id
        for piece, tid in self.user_defined:
            out = []
            for f in fragments:
                if isinstance(f, int) or piece not in f:
                    out.append(f)
                    continue
                parts = f.split(piece)
                for j, part in enumerate(parts):
                    if part:
                        out.append(part)
                    if j < len(parts) - 1:
                        out.append(tid)
            fragments = out
        ids = []
        for f in fragments:
            ids.extend([f] if isinstance(f, int) else self._encode_spm_fragment(f))
        return ids

    def _encode_spm_fragment(self, text):
        text = text.replace(" ", "\u2581")
        if self.add_space_prefix:
            text = "\u2581" + text
        symbols = list(text)
        # Doubly linked list of symbols; a heap of candidate merges by (-score, left position).
        prev = list(range(-1, len(symbols) - 1))
        nxt = list(range(1, len(symbols) + 1))
        alive = [True] * len(symbols)
        heap = []

        def push(i):
            j = nxt[i]
            if j >= len(symbols):
                return
            tid = self.index.get(symbols[i] + symbols[j])
            if tid is not None:
                heapq.heappush(heap, (-self.scores[tid], i, symbols[i] + symbols[j]))

        for i in range(len(symbols) - 1):
            push(i)
        while heap:
            _, i, merged = heapq.heappop(heap)
            if not alive[i] or nxt[i] >= len(symbols) or symbols[i] + symbols[nxt[i]] != merged:
                continue
            j = nxt[i]
            symbols[i] = merged
            alive[j] = False
            nxt[i] = nxt[j]
            if nxt[j] < len(symbols):
                prev[nxt[j]] = i
            if prev[i] >= 0:
                push(prev[i])
            push(i)
        ids = []
        i = 0
        while i < len(symbols):
            if alive[i]:
                tid = self.index.get(symbols[i])
                if tid is not None:
                    ids.append(tid)
                else:  # byte fallback
                    for b in symbols[i].encode("utf-8"):
                        fb = self.index.get(f"<0x{b:02X}>")
                        if fb is None:
                            raise CaptureToolError(f"character {symbols[i]!r} is not in the vocabulary and has no byte fallback")
                        ids.append(fb)
            i = nxt[i] if alive[i] else i + 1
        return ids
