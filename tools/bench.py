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
import tempfile
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


def side_by_side(fns: list[Callable[[], object]], repeat: int = 5, warmup: int = 1) -> list[float]:
    """Median wall time of each function, measured in turns (a, b, a, b, ...) so that a slow moment of the
    machine falls on both sides rather than on whichever ran second."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


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
    ours, reference = side_by_side([lambda: train_bpe(Counter(byte_level_words(text)), 4096, alphabet),
                                    lambda: _reference_bpe(text, 4096)], repeat=3)
    words = Counter(byte_level_words(text))
    simple = best_of(lambda: train_bpe_naive(words, 512, alphabet), repeat=1, warmup=0)  # about 16 s a run
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

    ours, theirs = side_by_side([fresh_bpe, lambda: bpe_reference.encode(text)], repeat=3)
    rows = [Result("byte-level BPE encode, tiny_shakespeare train (vocab 4096)", mb / ours, "MB/s", mb / theirs,
                   "tokenizers (Rust)")]

    sentences = list(load_hub_dataset("nyu-mll/glue", "sst2", split="train")["sentence"])
    minilm = load_tokenizer("sentence-transformers/all-MiniLM-L6-v2")
    minilm.padding = minilm.truncation = None
    minilm_reference = Reference.from_file(str(save_tokenizer(minilm, tempfile.mkdtemp())))

    def fresh_wordpiece():
        minilm.model.cache.clear()
        return [minilm.encode(s) for s in sentences]

    n = len(sentences)
    ours, theirs = side_by_side([fresh_wordpiece, lambda: minilm_reference.encode_batch(sentences)], repeat=3)
    rows.append(Result("WordPiece encode, SST-2 train sentences (MiniLM)", n / ours, "sentences/s", n / theirs,
                       "tokenizers (Rust)"))
    return rows


def saved_for_backward_mb(model, ids) -> float:
    """Megabytes of activations autograd keeps for the backward pass of one forward: what dominates training memory.

    Counted per storage (views of one tensor count once), parameters excluded. Unlike the process's peak resident
    memory, which varied from 1.4 to 2.4 GB between identical runs here, this is the same every run.
    """
    import torch

    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def keep(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        loss = model(ids).last_hidden_state.sum()
    loss.backward()
    return sum(storages.values()) / 2**20


@benchmark
def encoder() -> list[Result]:
    """Chapter 4: MiniLM forward and forward+backward at batch 32 x 128, course_lib against transformers, same
    weights; memory kept for backward; achieved FLOP/s as a fraction of the float32 matmul peak measured in this run."""
    import torch
    import transformers
    from huggingface_hub import snapshot_download

    from course_lib.bert import BertModel

    folder = snapshot_download("sentence-transformers/all-MiniLM-L6-v2")
    ours = BertModel.from_pretrained(folder)
    theirs = transformers.BertModel.from_pretrained(folder).eval()
    torch.manual_seed(0)
    ids = torch.randint(1000, 30000, (32, 128))
    tokens = ids.numel()

    def forward(model):
        with torch.no_grad():
            return model(ids).last_hidden_state

    def train_step(model):
        model.zero_grad(set_to_none=True)
        model(ids).last_hidden_state.sum().backward()

    f_ours, f_theirs = side_by_side([lambda: forward(ours), lambda: forward(theirs)], repeat=7)
    ours.train()
    theirs.train()
    b_ours, b_theirs = side_by_side([lambda: train_step(ours), lambda: train_step(theirs)], repeat=5)
    # FLOPs: 2 per multiply-add in every linear layer, plus the two attention matmuls; backward costs twice forward.
    c = ours.config
    per_token = c.num_hidden_layers * (2 * (4 * c.hidden_size**2 + 2 * c.hidden_size * c.intermediate_size)
                                       + 4 * ids.shape[1] * c.hidden_size)
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    peak = 2 * n**3 / best_of(lambda: a @ b, repeat=20, warmup=3)
    return [
        Result("MiniLM encoder forward, 32 x 128", tokens / f_ours, "tokens/s", tokens / f_theirs, "transformers",
               note=f"{per_token * tokens / f_ours / peak:.0%} of matmul peak"),
        Result("MiniLM encoder forward+backward, 32 x 128", tokens / b_ours, "tokens/s", tokens / b_theirs,
               "transformers", note=f"{3 * per_token * tokens / b_ours / peak:.0%} of matmul peak"),
        Result("MiniLM activations saved for backward, 32 x 128", saved_for_backward_mb(ours, ids), "MB",
               saved_for_backward_mb(theirs, ids), "transformers", higher_is_better=False),
    ]


def _loaded_by_course_lib(theirs, course_lib_class):
    """transformers' model `theirs`, saved and loaded by `course_lib_class` (the same weights), and a prompt of 16
    tokens drawn after it (seeded by the caller): the decoding benchmarks compare the two on equal terms."""
    import torch

    folder = tempfile.mkdtemp()
    theirs.save_pretrained(folder)
    return (course_lib_class.from_pretrained(folder).eval(), theirs,
            torch.randint(0, theirs.config.vocab_size, (1, 16)))


def _same_gpt2():
    """A GPT-2-shaped model (6 layers x 384, random weights) as transformers builds it and as course_lib loads it
    from the same files, and a prompt of 16 tokens: the decoding benchmarks compare the two on equal terms."""
    import torch
    import transformers

    from course_lib.gpt2 import GPT2LMHeadModel

    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=6, n_embd=384, n_head=6, n_positions=512, vocab_size=50257)
    return _loaded_by_course_lib(transformers.GPT2LMHeadModel(config).eval(), GPT2LMHeadModel)


@benchmark
def decoding() -> list[Result]:
    """Chapter 4: greedy decoding with the key/value cache, against transformers' generate, same GPT-2 weights."""
    import torch

    ours, theirs, prompt = _same_gpt2()
    new = 128

    def generate_theirs():
        return theirs.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new, min_new_tokens=new,
                               do_sample=False, pad_token_id=0)

    cached, reference = side_by_side([lambda: ours.generate_greedy(prompt, new, use_cache=True), generate_theirs],
                                     repeat=5)
    uncached = best_of(lambda: ours.generate_greedy(prompt, new, use_cache=False), repeat=1)
    return [
        Result(f"GPT-2 (6 x 384) greedy decoding, {new} new tokens, cache", new / cached, "tokens/s", new / reference,
               "transformers generate"),
        Result(f"GPT-2 (6 x 384) greedy decoding, {new} new tokens", new / cached, "tokens/s", new / uncached,
               "course_lib without cache", note="cache vs no cache"),
    ]


@benchmark
def feature_extraction() -> list[Result]:
    """Chapter 5: sentence embeddings of 1,000 SST-2 sentences, course_lib's pipeline against the usual transformers
    recipe (tokenizer, AutoModel, mean pooling, normalisation) in batches of 32, same weights."""
    import torch
    import torch.nn.functional as F
    import transformers
    from huggingface_hub import snapshot_download

    from course_lib.hub import load_hub_dataset
    from course_lib.pipelines import pipeline

    folder = snapshot_download("sentence-transformers/all-MiniLM-L6-v2")
    sentences = list(load_hub_dataset("nyu-mll/glue", "sst2", split="train")["sentence"][:1000])
    ours = pipeline("feature-extraction", model=folder, batch_size=32)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(folder).eval()

    def reference():
        out = []
        with torch.no_grad():
            for i in range(0, len(sentences), 32):
                batch = tok(sentences[i:i + 32], padding=True, truncation=True, return_tensors="pt")
                mask = batch["attention_mask"][..., None].float()
                out.append(F.normalize((model(**batch).last_hidden_state * mask).sum(1) / mask.sum(1), dim=-1))
        return torch.cat(out)

    mine, theirs = side_by_side([lambda: ours.embed(sentences), reference], repeat=3)
    n = len(sentences)
    return [Result("feature-extraction, 1,000 SST-2 sentences, batches of 32", n / mine, "sentences/s", n / theirs,
                   "transformers + mean pooling", note="course_lib batches by length")]


@benchmark
def trainer_overhead() -> list[Result]:
    """Chapter 6: the Trainer against a bare loop (same model, same batches, same optimizer, schedule, clipping and
    autocast) over 30 steps of 32 SST-2 sentences: what the Trainer's bookkeeping costs."""
    import torch

    from course_lib.bert import BertForSequenceClassification
    from course_lib.config import AutoConfig
    from course_lib.data import DataCollatorWithPadding, tokenize_function
    from course_lib.hub import load_hub_dataset
    from course_lib.tokenizer import Tokenizer
    from course_lib.trainer import Trainer, TrainingArguments, native_bf16
    from course_lib.training import create_optimizer, schedule

    name = "sentence-transformers/all-MiniLM-L6-v2"
    tokenizer = Tokenizer.from_pretrained(name)
    data = load_hub_dataset("nyu-mll/glue", "sst2", split="train").select(range(960))
    data = data.map(tokenize_function(tokenizer, "sentence"), batched=True)
    config = AutoConfig.from_pretrained(name)
    config.num_labels, config.classifier_pooling = 2, "mean"
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    model = BertForSequenceClassification.from_pretrained(name, config=config)
    model.bert.embeddings.word_embeddings.requires_grad_(False)
    collate = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8)
    bf16 = native_bf16()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(out, num_train_epochs=1, per_device_train_batch_size=32, learning_rate=1e-5,
                                 warmup_ratio=0.1, bf16=bf16, group_by_length=True, eval_strategy="no",
                                 disable_tqdm=True)
        batches = Trainer(model, args, data_collator=collate, train_dataset=data).epoch_batches(0)

        def with_trainer():
            Trainer(model, args, train_dataset=data, data_collator=collate).train()

        def bare_loop():
            optimizer = create_optimizer(model, args.learning_rate, args.weight_decay)
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule("linear", 3, len(batches)))
            model.train()
            for indices in batches:
                batch = collate([data[i] for i in indices])
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    loss = model(**batch).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()

        trainer_time, bare_time = side_by_side([with_trainer, bare_loop], repeat=3)
    steps = len(batches)
    return [Result("fine-tuning steps, MiniLM, batches of 32 SST-2 sentences", steps / trainer_time, "steps/s",
                   steps / bare_time, "bare loop, same batches", note=f"Trainer; bf16 {'on' if bf16 else 'off'}")]


@benchmark
def generation() -> list[Result]:
    """Chapter 8: course_lib's generate (greedy, key/value cache) against itself without the cache and against
    transformers' generate, on the same GPT-2 weights (6 layers x 384, random), 256 new tokens after 16."""
    import torch

    from course_lib.generation import generate

    ours, theirs, prompt = _same_gpt2()
    new = 256

    def generate_theirs():
        return theirs.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new,
                               min_new_tokens=new, do_sample=False, pad_token_id=0)

    same = torch.equal(generate(ours, prompt, new), generate_theirs())
    cached, reference = side_by_side([lambda: generate(ours, prompt, new), generate_theirs], repeat=3)
    uncached = best_of(lambda: generate(ours, prompt, new, use_cache=False), repeat=1, warmup=0)
    return [
        Result(f"generation, GPT-2 (6 x 384), {new} new tokens, cache", new / cached, "tokens/s", new / reference,
               "transformers generate", note=f"greedy; same tokens: {same}"),
        Result(f"generation, GPT-2 (6 x 384), {new} new tokens", new / cached, "tokens/s", new / uncached,
               "course_lib without cache", note="cache vs no cache"),
    ]


@benchmark
def pretraining() -> list[Result]:
    """Chapter 7: pretraining steps of the Shakespeare GPT (4 x 128, 64 blocks of 64 tokens, bf16 where native),
    the same Trainer driving course_lib's model and transformers' GPT2LMHeadModel with the same initial weights; and
    the fraction of this machine's measured matrix-product peak that the training reaches."""
    import torch
    import transformers

    from course_lib.data import DataCollatorForLanguageModeling
    from course_lib.gpt2 import GPT2LMHeadModel
    from course_lib.lm import TokenBlocks
    from course_lib.pretraining import SHAKESPEARE_GPT, flops_per_token, matmul_peak
    from course_lib.tokenizer import Tokenizer
    from course_lib.trainer import Trainer, TrainingArguments, native_bf16

    tokenizer = Tokenizer.from_pretrained(SHAKESPEARE_GPT)
    ids = tokenizer.encode(_shakespeare()[:300_000]).ids
    steps, batch, block = 30, 64, 64
    bf16 = native_bf16()
    torch.manual_seed(0)
    ours = GPT2LMHeadModel(GPT2LMHeadModel.config_class.from_pretrained(SHAKESPEARE_GPT))
    folder = tempfile.mkdtemp()
    ours.save_pretrained(folder)
    theirs = transformers.GPT2LMHeadModel.from_pretrained(folder)
    data = TokenBlocks(ids, block, num_blocks=steps * batch, seed=0)
    collate = DataCollatorForLanguageModeling(tokenizer, mlm=False)

    def train(model):
        def run():
            args = TrainingArguments(tempfile.mkdtemp(), max_steps=steps, per_device_train_batch_size=batch,
                                     learning_rate=1e-3, bf16=bf16, eval_strategy="no", disable_tqdm=True)
            Trainer(model, args, train_dataset=data, data_collator=collate).train()
        return run

    mine, reference = side_by_side([train(ours), train(theirs)], repeat=3)
    tokens = steps * batch * block
    peak = matmul_peak(torch.bfloat16 if bf16 else torch.float32, seconds=1.0)
    fraction = flops_per_token(ours.config) * tokens / mine / peak
    return [Result("pretraining, Shakespeare GPT (4 x 128), 64 x 64 tokens a step", tokens / mine, "tokens/s",
                   tokens / reference, "transformers GPT2LMHeadModel, same Trainer",
                   note=f"{fraction:.0%} of the {'bf16' if bf16 else 'fp32'} matmul peak, "
                        f"{peak / 1e9:,.0f} GFLOP/s measured")]


@benchmark
def bleu() -> list[Result]:
    """Chapter 10: corpus BLEU of Multi30k's test set (1,000 sentences), against sacreBLEU."""
    import random

    import sacrebleu

    from course_lib.bleu import corpus_bleu
    from course_lib.hub import load_hub_dataset

    references = list(load_hub_dataset("bentrevett/multi30k", split="test", revision="refs/convert/parquet")["en"])
    rng = random.Random(0)
    hypotheses = [" ".join(rng.sample(s.split(), len(s.split()))) for s in references]  # shuffled words
    assert abs(corpus_bleu(hypotheses, references).score
               - sacrebleu.corpus_bleu(hypotheses, [references]).score) < 1e-9
    # sacreBLEU caches its tokenizer's answers per line: a new object each time, as for a new system's outputs.
    ours, theirs = side_by_side([lambda: corpus_bleu(hypotheses, references),
                                 lambda: sacrebleu.metrics.BLEU().corpus_score(hypotheses, [references])])
    n = len(references)
    return [Result("corpus BLEU, Multi30k test2016 (13a)", n / ours, "sentences/s", n / theirs, "sacrebleu")]


@benchmark
def translation() -> list[Result]:
    """Chapter 10: the course's German→English translator on Multi30k's test set (1,000 sentences, batches of 64
    sorted by length): beam search (4 beams) against transformers' generate with the same weights and the same
    batches; greedy decoding with and without the cache."""
    import torch
    import transformers

    from course_lib.beam_search import generate
    from course_lib.encoder_decoder import MarianMTModel
    from course_lib.hub import load_hub_dataset
    from course_lib.tokenizer import Tokenizer
    from course_lib.translation import MULTI30K_TRANSLATOR

    ours = MarianMTModel.from_pretrained(MULTI30K_TRANSLATOR)
    theirs = transformers.MarianMTModel.from_pretrained(str(MULTI30K_TRANSLATOR), dtype=torch.float32).eval()
    tokenizer = Tokenizer.from_pretrained(MULTI30K_TRANSLATOR)
    sources = list(load_hub_dataset("bentrevett/multi30k", split="test", revision="refs/convert/parquet")["de"])
    sources.sort(key=len)
    batches = [tokenizer(sources[i:i + 64], padding=True, return_tensors="pt") for i in range(0, len(sources), 64)]
    beam = dict(num_beams=4, max_new_tokens=80)

    def run_ours(**settings):
        return lambda: [generate(ours, b["input_ids"], b["attention_mask"], **settings) for b in batches]

    def run_theirs():
        with torch.no_grad():
            return [theirs.generate(input_ids=b["input_ids"], attention_mask=b["attention_mask"], **beam)
                    for b in batches]

    assert all(torch.equal(a, b) for a, b in zip(run_ours(**beam)(), run_theirs()))  # the same translations
    mine, reference = side_by_side([run_ours(**beam), run_theirs], repeat=3)
    cached, uncached = side_by_side([run_ours(max_new_tokens=80, num_beams=1),
                                     run_ours(max_new_tokens=80, num_beams=1, use_cache=False)],
                                    repeat=3)
    n = len(sources)
    return [
        Result("translation, Multi30k test2016, beam search (4 beams)", n / mine, "sentences/s", n / reference,
               "transformers generate"),
        Result("translation, Multi30k test2016, greedy", n / cached, "sentences/s", n / uncached,
               "course_lib without cache", note="cache vs no cache"),
    ]


@benchmark
def seq2seq_training() -> list[Result]:
    """Chapter 10: training steps of the translator's shape (Marian, 3 + 3 layers of 256) on Multi30k batches of
    about 6,000 tokens, course_lib's model against transformers' MarianMTModel with the same initial weights, the
    same loop (label-smoothed loss, AdamW, bf16 where native)."""
    import torch
    import torch.nn.functional as F
    import transformers

    from course_lib.encoder_decoder import MarianMTModel
    from course_lib.hub import load_hub_dataset
    from course_lib.tokenizer import Tokenizer
    from course_lib.training import autocast
    from course_lib.translation import MULTI30K_TRANSLATOR, collate_pairs, encode_pairs, token_batches

    tokenizer = Tokenizer.from_pretrained(MULTI30K_TRANSLATOR)
    train = load_hub_dataset("bentrevett/multi30k", split="train", revision="refs/convert/parquet")
    examples = encode_pairs(tokenizer, list(train["de"][:6000]), list(train["en"][:6000]), max_length=128)
    batches = [collate_pairs([examples[i] for i in b], tokenizer.pad_token_id)
               for b in token_batches(examples, 6000, seed=0)[:10]]
    torch.manual_seed(0)
    ours = MarianMTModel(MarianMTModel.config_class.from_pretrained(MULTI30K_TRANSLATOR))
    folder = tempfile.mkdtemp()
    ours.save_pretrained(folder)
    theirs = transformers.MarianMTModel.from_pretrained(folder, dtype=torch.float32)

    def steps(model, seq2seq_call):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model.train()

        def run():
            for b in batches:
                with autocast():
                    logits = seq2seq_call(model, b)
                loss = F.cross_entropy(logits.flatten(0, 1).float(), b["labels"].flatten(), ignore_index=-100,
                                       label_smoothing=0.1)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        return run

    mine, reference = side_by_side([
        steps(ours, lambda m, b: m(b["input_ids"], b["attention_mask"], labels=b["labels"]).logits),
        steps(theirs, lambda m, b: m(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                                     labels=b["labels"]).logits)], repeat=3)
    tokens = sum(int(b["attention_mask"].sum() + (b["labels"] != -100).sum()) for b in batches)
    return [Result("seq2seq training, translator shape (3 + 3 x 256), Multi30k", tokens / mine, "tokens/s",
                   tokens / reference, "transformers MarianMTModel, same loop")]


def _minilm_with_head(head: str, **config) -> Path:
    """MiniLM's weights with a new, seeded head of the given transformers class, saved with MiniLM's tokenizer: the
    same weights for both libraries."""
    import shutil
    import tempfile

    import torch
    import transformers
    from huggingface_hub import snapshot_download

    source = Path(snapshot_download("sentence-transformers/all-MiniLM-L6-v2"))
    torch.manual_seed(0)
    transformers.logging.set_verbosity_error()
    model = getattr(transformers, head).from_pretrained(source, **config)
    folder = Path(tempfile.mkdtemp())
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    return folder


@benchmark
def ner_pipeline() -> list[Result]:
    """Chapter 11.1: the named-entity pipeline (entities grouped, "simple") on 500 CoNLL-2003 validation sentences,
    batches of 32, against transformers' token-classification pipeline on the same weights."""
    import transformers

    from course_lib.hub import load_hub_dataset
    from course_lib.pipelines import pipeline

    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    folder = _minilm_with_head("BertForTokenClassification", num_labels=9, id2label=dict(enumerate(names)),
                               label2id={n: i for i, n in enumerate(names)})
    data = load_hub_dataset("eriktks/conll2003", "conll2003", split="validation", revision="refs/convert/parquet")
    texts = [" ".join(words) for words in data["tokens"][:500]]
    ours = pipeline("ner", model=folder, aggregation_strategy="simple", batch_size=32)
    theirs = transformers.pipeline("token-classification", model=str(folder), aggregation_strategy="simple",
                                   batch_size=32)
    mine, reference = side_by_side([lambda: ours(texts), lambda: theirs(texts)], repeat=3)
    return [Result("ner pipeline, 500 CoNLL-2003 sentences, aggregation simple", len(texts) / mine, "sentences/s",
                   len(texts) / reference, "transformers token-classification pipeline")]


@benchmark
def question_answering() -> list[Result]:
    """Chapter 11.2: the question-answering pipeline on 300 SQuAD questions (windows of 384 tokens, stride 128).
    Transformers 5 has no question-answering pipeline: the reference is its tokenizer (same windows) and its model in
    batches of 32, without choosing the answers, so it does less work than a pipeline."""
    import torch
    import transformers

    from course_lib.hub import load_hub_dataset
    from course_lib.pipelines import pipeline

    folder = _minilm_with_head("BertForQuestionAnswering")
    rows = load_hub_dataset("rajpurkar/squad", "plain_text", split="validation").select(range(300))
    questions, contexts = list(rows["question"]), list(rows["context"])
    ours = pipeline("question-answering", model=folder, batch_size=32)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForQuestionAnswering.from_pretrained(folder).eval()

    def reference():
        windows = tok(questions, contexts, truncation="only_second", max_length=384, stride=128,
                      return_overflowing_tokens=True, padding=True, return_tensors="pt")
        windows.pop("overflow_to_sample_mapping")
        with torch.no_grad():
            return [model(**{k: v[i:i + 32] for k, v in windows.items()}).start_logits
                    for i in range(0, len(windows["input_ids"]), 32)]

    mine, theirs = side_by_side([lambda: ours(question=questions, context=contexts), reference], repeat=3)
    return [Result("question-answering pipeline, 300 SQuAD questions", len(questions) / mine, "questions/s",
                   len(questions) / theirs, "transformers tokenizer + model, no answer selection")]


def _same_llama(num_key_value_heads: int = 2):
    """A Llama-shaped model (6 layers x 384, 6 query heads sharing `num_key_value_heads` key/value heads, Llama 2's
    32,000-token vocabulary, an untied output layer, random weights) as transformers builds it and as course_lib
    loads it from the same files, and a prompt of 16 tokens: the Llama decoding benchmark compares the two."""
    import torch
    import transformers

    from course_lib.llama import LlamaForCausalLM

    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=32000, hidden_size=384, intermediate_size=1024, num_hidden_layers=6,
                                      num_attention_heads=6, num_key_value_heads=num_key_value_heads,
                                      max_position_embeddings=512)
    return _loaded_by_course_lib(transformers.LlamaForCausalLM(config).eval(), LlamaForCausalLM)


@benchmark
def llama_decoding() -> list[Result]:
    """Chapter 12: greedy decoding of a Llama-shaped model (6 x 384, grouped-query attention) with chapter 8's
    generate, which gets a cache allocated once, against transformers' generate on the same weights; with the
    weights stored by column (`column_major_`), and as nn.Linear stores them, for both libraries, so that the table
    shows what the layout gives and what the code gives; the fraction of the memory-bandwidth bound (a step's bytes
    at the speed of a plain sum) each reaches. And the key/value cache's bytes per token, measured from the cache
    tensors, with 2 key/value heads against full multi-head attention's 6."""
    import copy

    import torch

    from course_lib.generation import generate
    from course_lib.llama import (
        LlamaConfig,
        LlamaForCausalLM,
        column_major_,
        decoding_bytes,
        memory_bandwidth,
    )

    ours, theirs, prompt = _same_llama()
    new = 128
    ours_by_column, theirs_by_column = column_major_(copy.deepcopy(ours)), column_major_(copy.deepcopy(theirs))

    def generate_theirs(model):
        return lambda: model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new,
                                      min_new_tokens=new, do_sample=False, pad_token_id=0)

    same = torch.equal(generate(ours_by_column, prompt, new), generate_theirs(theirs)()) and torch.equal(
        generate(ours, prompt, new), generate_theirs(theirs)())
    times = side_by_side([lambda: generate(ours_by_column, prompt, new), lambda: generate(ours, prompt, new),
                          generate_theirs(theirs_by_column), generate_theirs(theirs)], repeat=5)
    speed = dict(zip(["ours by column", "ours", "theirs by column", "theirs"], [new / t for t in times]))
    bandwidth = memory_bandwidth()
    bound = bandwidth / decoding_bytes(ours, prompt.size(1) + new // 2)  # a step's bytes halfway through
    reached = ", ".join(f"{name} {s / bound:.0%}" for name, s in speed.items())
    name = f"Llama (6 x 384, 6 query / 2 key-value heads) greedy decoding, {new} new tokens, cache"
    rows = [
        Result(f"{name}, weights by column", speed["ours by column"], "tokens/s", speed["theirs"],
               "transformers generate", note=f"same tokens: {same}; of the memory bound ({bound:,.0f} tokens/s at "
                                             f"{bandwidth / 1e9:.0f} GB/s): {reached}"),
        Result(f"{name}, weights by column for both", speed["ours by column"], "tokens/s", speed["theirs by column"],
               "transformers generate, weights by column", note="the same layout: what the code gives"),
        Result(f"{name}, weights as nn.Linear stores them", speed["ours"], "tokens/s", speed["theirs"],
               "transformers generate", note="the cache allocated once and the per-step savings alone"),
    ]
    per_token = {}
    for kv_heads in (2, 6):
        model = ours if kv_heads == 2 else LlamaForCausalLM(LlamaConfig.from_dict({**ours.config.to_dict(),
                                                                                   "num_key_value_heads": kv_heads}))
        cache = model.allocate_cache(batch_size=1, max_length=512)
        per_token[kv_heads] = sum(layer.keys.nbytes + layer.values.nbytes for layer in cache) / 512
    rows.append(Result("Llama (6 x 384) key/value cache per token, 2 key/value heads (grouped-query)", per_token[2],
                       "bytes/token", per_token[6], "course_lib, 6 key/value heads (full multi-head)",
                       higher_is_better=False, note="float32, from the allocated cache tensors"))
    return rows


# --- the harness ----------------------------------------------------------------------------------------------

@benchmark
def modern_training() -> list[Result]:
    """Chapter 12.2: training steps of the Llama arm (chapter 12's LlamaForCausalLM at chapter 7's shape and
    parameter count) against chapter 7's GPT-2 and against transformers' LlamaForCausalLM with the same weights, all
    driven by the same Trainer with chapter 7's recipe (bf16 where native)."""
    import torch
    import transformers

    from course_lib.ablation import build_arm, recipe_arguments
    from course_lib.data import DataCollatorForLanguageModeling
    from course_lib.lm import TokenBlocks
    from course_lib.pretraining import SHAKESPEARE_GPT
    from course_lib.tokenizer import Tokenizer
    from course_lib.trainer import Trainer

    tokenizer = Tokenizer.from_pretrained(SHAKESPEARE_GPT)
    ids = tokenizer.encode(_shakespeare()[:300_000]).ids
    config = _chapter7_config(len(tokenizer), tokenizer.eos_token_id)
    steps = 30
    torch.manual_seed(0)
    gpt2, llama = build_arm("gpt2", config), build_arm("llama", config)
    folder = tempfile.mkdtemp()
    llama.save_pretrained(folder)
    theirs = transformers.LlamaForCausalLM.from_pretrained(folder)
    data = TokenBlocks(ids, 64, num_blocks=steps * 64, seed=0)
    collate = DataCollatorForLanguageModeling(tokenizer, mlm=False)

    def train(model):
        def run():
            Trainer(model, recipe_arguments(steps, tempfile.mkdtemp()), train_dataset=data,
                    data_collator=collate).train()
        return run

    ours, reference, chapter7 = side_by_side([train(llama), train(theirs), train(gpt2)], repeat=3)
    tokens = steps * 64 * 64
    shape = f"{llama.num_parameters() / 1e6:.2f}M parameters, 64 x 64 tokens a step"
    return [Result(f"training, Llama arm of chapter 12.2 ({shape})", tokens / ours, "tokens/s", tokens / reference,
                   "transformers LlamaForCausalLM, same Trainer"),
            Result(f"training, Llama arm vs chapter 7's GPT-2 ({shape})", tokens / ours, "tokens/s", tokens / chapter7,
                   "course_lib GPT-2, same parameters")]


def _chapter7_config(vocab_size: int, eos_token_id: int):
    """Chapter 7's GPT-2 configuration (4 x 128, 64 positions) for a tokenizer of `vocab_size` tokens."""
    from course_lib.config import GPT2Config

    return GPT2Config(vocab_size=vocab_size, n_positions=64, n_embd=128, n_layer=4, n_head=4, resid_pdrop=0.0,
                      embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=eos_token_id, eos_token_id=eos_token_id)


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
