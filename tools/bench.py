"""`make bench`: course_lib against the reference implementations, side by side, in one run on one machine.

    python -m tools.bench [--json build/bench.json] [--only NAME]

Each benchmark is a function registered with `@benchmark` that returns a `Result`: our figure and, where there is
one, the reference's figure measured in the same run, in the same unit. The harness prints a markdown table with
the ratio (ours over reference for "higher is better" units, reference over ours otherwise, so that > 1 always
means we are faster) and writes every figure to JSON. Timings belong here, never in tests: machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


# The reference libraries run on one thread, as course_lib does: the comparison is of algorithms and code, not cores.
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


@dataclass
class Result:
    """One row of the benchmark table."""

    name: str
    ours: float
    unit: str
    reference: float | None = None
    reference_name: str = ""
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better we are than the reference (> 1: better), or None without a reference."""
        if not self.reference or not self.ours:
            return None
        return self.ours / self.reference if self.higher_is_better else self.reference / self.ours


BENCHMARKS: dict[str, Callable[[], list[Result]]] = {}


def benchmark(fn: Callable[[], list[Result]]) -> Callable[[], list[Result]]:
    """Register a benchmark; later chapters add theirs with this decorator."""
    BENCHMARKS[fn.__name__] = fn
    return fn


def best_of(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of `fn` in seconds over `repeat` runs, after `warmup` runs that are not counted."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- the benchmarks -------------------------------------------------------------------------------------------

@benchmark
def matmul_peak() -> list[Result]:
    """The machine's float32 matrix-multiply throughput: the yardstick for training throughput (chapter 7)."""
    import torch

    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    seconds = best_of(lambda: a @ b, repeat=20, warmup=3)
    return [Result("float32 matmul 1024x1024 (torch)", 2 * n**3 / seconds / 1e9, "GFLOP/s",
                   note=f"{torch.get_num_threads()} threads")]


def _shakespeare() -> str:
    from course_lib.hub import load_hub_dataset

    return load_hub_dataset("karpathy/tiny_shakespeare", split="train")[0]["text"]


def _reference_bpe(text: str, vocab_size: int):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return tok


@benchmark
def bpe_training() -> list[Result]:
    """Chapter 2: byte-level BPE training on tiny_shakespeare (1 MB), against 🤗 tokenizers' Rust BpeTrainer,
    and the incremental trainer against the chapter's simple one (same counted words, where the simple one finishes)."""
    from collections import Counter

    from course_lib.bpe import BYTE_TO_CHAR, byte_level_words, train_bpe
    from course_lib.bpe_naive import train_bpe_naive

    text = _shakespeare()
    alphabet = list(BYTE_TO_CHAR.values())
    ours = best_of(lambda: train_bpe(Counter(byte_level_words(text)), 4096, alphabet), repeat=3)
    reference = best_of(lambda: _reference_bpe(text, 4096), repeat=3)
    words = Counter(byte_level_words(text))
    simple = best_of(lambda: train_bpe_naive(words, 512, alphabet), repeat=1, warmup=0)
    fast = best_of(lambda: train_bpe(words, 512, alphabet), repeat=5)
    return [
        Result("BPE training, vocab 4096, text to merges", ours, "s", reference, "tokenizers BpeTrainer (Rust)",
               higher_is_better=False),
        Result("BPE training, vocab 512, counted words to merges", fast, "s", simple, "course_lib simple trainer",
               higher_is_better=False, note="incremental vs recount"),
    ]


@benchmark
def tokenizer_encoding() -> list[Result]:
    """Chapter 2: encoding throughput on one thread, ids and offsets included, against 🤗 tokenizers."""
    import tempfile
    from collections import Counter

    from tokenizers import Tokenizer as Reference

    from course_lib.bpe import BPE, BYTE_TO_CHAR, byte_level_words, train_bpe
    from course_lib.hub import load_hub_dataset
    from course_lib.tokenizer import ByteLevel, Tokenizer
    from course_lib.tokenizer_json import load_tokenizer, save_tokenizer

    text = _shakespeare()
    vocab, merges = train_bpe(Counter(byte_level_words(text)), 4096, alphabet=BYTE_TO_CHAR.values())
    bpe = Tokenizer(BPE(vocab, merges), pre_tokenizer=ByteLevel(), decoder=ByteLevel())
    bpe_reference = Reference.from_file(str(save_tokenizer(bpe, tempfile.mkdtemp())))
    mb = len(text.encode("utf-8")) / 1e6

    def fresh_bpe():  # a cold word cache each time, as for a new text
        bpe.model.cache.clear()
        return bpe.encode(text)

    rows = [Result("byte-level BPE encode, tiny_shakespeare train (vocab 4096)", mb / best_of(fresh_bpe, repeat=3),
                   "MB/s", mb / best_of(lambda: bpe_reference.encode(text), repeat=3), "tokenizers (Rust)")]

    sentences = list(load_hub_dataset("nyu-mll/glue", "sst2", split="train")["sentence"])
    minilm = load_tokenizer("sentence-transformers/all-MiniLM-L6-v2")
    minilm.padding = minilm.truncation = None
    minilm_reference = Reference.from_file(str(save_tokenizer(minilm, tempfile.mkdtemp())))

    def fresh_wordpiece():
        minilm.model.cache.clear()
        return [minilm.encode(s) for s in sentences]

    n = len(sentences)
    rows.append(Result("WordPiece encode, SST-2 train sentences (MiniLM)", n / best_of(fresh_wordpiece, repeat=3),
                       "sentences/s", n / best_of(lambda: minilm_reference.encode_batch(sentences), repeat=3),
                       "tokenizers (Rust)"))
    return rows


# --- the harness ----------------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    """The results as a markdown table."""
    rows = ["| benchmark | course_lib | reference | ratio |", "|---|---:|---:|---:|"]
    for r in results:
        ours = f"{r.ours:,.1f} {r.unit}"
        ref = f"{r.reference:,.1f} {r.unit} ({r.reference_name})" if r.reference is not None else "—"
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
        note = f" ({r.note})" if r.note else ""
        rows.append(f"| {r.name}{note} | {ours} | {ref} | {ratio} |")
    return "\n".join(rows)


def run(names: list[str] | None = None) -> list[Result]:
    results = []
    for name, fn in BENCHMARKS.items():
        if names and name not in names:
            continue
        print(f"running {name}...", file=sys.stderr, flush=True)
        results += fn()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this benchmark")
    args = parser.parse_args(argv)
    results = run(args.only)
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor()}
        payload = {"machine": machine, "results": [{**asdict(r), "ratio": r.ratio} for r in results]}
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
