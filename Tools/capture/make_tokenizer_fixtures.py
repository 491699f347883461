#!/usr/bin/env python3
"""Writes Tests/KVPackModelTests/Fixtures/tokenizer-cases.json: token ids the capture tool's
tokenizer (Tools/capture/kvcapture/tokenizer.py: Hugging Face `tokenizers` BPE for SmolLM2,
llama.cpp's SPM order for Gemma-3) gives for hand-picked texts, for the whole GPL-3 text, and for
4,000-character excerpts of real multilingual texts Debian ships (Vim's Russian, Greek, Japanese
and Chinese tutors, X11's Compose table, the Apache-2.0 licence; stored in the fixture, so the
tests do not need those files). KVPackModel's tokenizers are checked against them.

  Tools/capture/.venv/bin/python Tools/capture/make_tokenizer_fixtures.py
"""
import json
import os
import sys

from gguf import GGUFReader

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from kvcapture.tokenizer import Tokenizer  # noqa: E402
from make_gguf_fixtures import OUT, model_path  # noqa: E402

GPL3 = "/usr/share/common-licenses/GPL-3"
CASES = [
    "",
    "Hello, world!",
    "hello world",
    "  leading spaces and trailing  ",
    "tabs\tand\nnewlines\n\n\nthree, then\r\nCRLF",
    "          ten spaces, then    four",
    "don't I'm we're you've they'll she'd it's DON'T",
    "numbers 1234567890 and 3.14159, 1st 2nd, ١٢٣ Ⅻ ½",
    "Grüße aus Köln: café naïve résumé",
    "e\u0301 combining vs \u00e9 precomposed",
    "日本語のテキストと中文",
    "emoji 🌍🚀👩‍👩‍👧 and symbols ∑∫√∞ ≠ ≤",
    "<|im_start|>user\nHi<|im_end|>",
    "<bos> <eos> [multimodal] <start_of_turn>",
    "   \n  \n\t\t\n",
    "'''quoted''' \"double\" `back`",
    "\u0000\u0001 control \u007f and \u00a0nbsp \u2028 line sep \u3000 ideographic space",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 \U0010FFFD private",
    "a" * 50 + " " + "ab" * 30,
]

EXCERPTS = [  # (path, start character): redistributable texts with many non-ASCII characters
    ("/usr/share/vim/vim90/tutor/tutor.ru.utf-8", 0),
    ("/usr/share/vim/vim90/tutor/tutor.el.utf-8", 0),
    ("/usr/share/vim/vim90/tutor/tutor.ja.utf-8", 0),
    ("/usr/share/vim/vim90/tutor/tutor.zh_cn.utf-8", 0),
    ("/usr/share/X11/locale/en_US.UTF-8/Compose", 20000),
    ("/usr/share/common-licenses/Apache-2.0", 0),
]


class _Model:
    def __init__(self, path):
        self.reader = GGUFReader(path)


def main():
    text = open(GPL3, encoding="utf-8").read()
    excerpts = [{"source": f"{path} characters {start}..<{start + 4000}",
                 "text": open(path, encoding="utf-8").read()[start:start + 4000]} for path, start in EXCERPTS]
    out = {"gpl3_path": GPL3, "gpl3_chars": len(text), "cases": CASES, "excerpts": excerpts, "models": {}}
    for name in ("smollm2", "gemma3-270m"):
        tok = Tokenizer(_Model(model_path(name)))
        out["models"][name] = {
            "description": tok.description,
            "case_ids": [tok.encode(t) for t in CASES],
            "excerpt_ids": [tok.encode(e["text"]) for e in excerpts],
            "gpl3_ids": tok.encode(text),
        }
    with open(os.path.join(OUT, "tokenizer-cases.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
    print("wrote tokenizer-cases.json:", {k: len(v["gpl3_ids"]) for k, v in out["models"].items()})


if __name__ == "__main__":
    main()
