"""Train the German→English translator that ships with course_lib (course_lib/models/multi30k-de-en).

The same functions as chapter 10.3 (course_lib.translation), on the same data, seeded; only the number of steps
differs. `make translator` runs it (about an hour on 2 CPU cores with native bfloat16); the folder it writes
replaces the shipped one, with training.json recording the run: the log, the test-set BLEU and the machine.

    python -m tools.train_translator --steps 5400 --out course_lib/models/multi30k-de-en
"""

import argparse
import json
import time
from pathlib import Path

import torch

from course_lib.beam_search import generate
from course_lib.bleu import corpus_bleu
from course_lib.encoder_decoder import MarianMTModel
from course_lib.hub import load_hub_dataset
from course_lib.tokenizer import Tokenizer
from course_lib.training import set_seed, training_precision
from course_lib.translation import (
    encode_pairs,
    greedy_decode,
    train_translation_tokenizer,
    train_translator,
    translate,
    translator_config,
)
from tools.nbval_plugin import machine


GENERATION_DEFAULTS = {"num_beams": 4, "max_new_tokens": 80}


def test_scores(folder: Path, sources: list[str], references: list[str]) -> dict:
    """BLEU on test2016 of the model as saved (bfloat16 weights), greedy and with beam search."""
    model, tokenizer = MarianMTModel.from_pretrained(folder), Tokenizer.from_pretrained(folder)
    scores = {}
    for name, settings in {"greedy": {"decode": greedy_decode}, "beam4": {"decode": generate, "num_beams": 4}}.items():
        hypotheses = translate(model, tokenizer, sources, max_new_tokens=80, **settings)
        scores[name] = {"sacrebleu": round(corpus_bleu(hypotheses, references).score, 2),
                        "lowercased": round(corpus_bleu(hypotheses, references, lowercase=True).score, 2)}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5400)
    parser.add_argument("--max-tokens", type=int, default=6000)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--warmup-steps", type=int, default=500)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    start = time.perf_counter()
    multi30k = load_hub_dataset("bentrevett/multi30k", revision="refs/convert/parquet")
    train, test = multi30k["train"], multi30k["test"]
    tokenizer = train_translation_tokenizer(list(train["de"]) + list(train["en"]), args.vocab_size)
    examples = encode_pairs(tokenizer, list(train["de"]), list(train["en"]), max_length=128)
    set_seed(args.seed)
    model = MarianMTModel(translator_config(tokenizer))
    log = train_translator(model, examples, args.steps, max_tokens=args.max_tokens, learning_rate=args.learning_rate,
                           warmup_steps=args.warmup_steps, seed=args.seed, log_every=100,
                           callback=lambda entry: print(json.dumps(entry), flush=True))
    seconds = time.perf_counter() - start
    # What generate and the translation pipeline use unless told otherwise; 🤗 Transformers also wants the ids here.
    model.generation_config = {name: getattr(model.config, name) for name in
                               ("decoder_start_token_id", "eos_token_id", "forced_eos_token_id", "pad_token_id")}
    model.generation_config |= GENERATION_DEFAULTS
    model.to(torch.bfloat16).save_pretrained(args.out)  # half the size; the scores below are those of these weights
    tokenizer.save_pretrained(args.out)
    scores = test_scores(args.out, list(test["de"]), list(test["en"]))
    record = {"settings": vars(args) | {"out": str(args.out)}, "train_seconds": round(seconds),
              "precision": training_precision(), "machine": machine(),
              "torch": torch.__version__, "threads": torch.get_num_threads(), "test2016": scores, "log": log}
    (args.out / "training.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(scores))


if __name__ == "__main__":
    main()
