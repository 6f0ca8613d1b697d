"""The sweep of chapter 12.2: chapter 7's GPT-2 with one modern change at a time, then chapter 12's Llama, every arm at
GPT-2's parameter count and trained for the time GPT-2 takes for chapter 7's 450 steps (course_lib.ablation).

`make ablation` runs it (about 15 minutes on 2 CPU cores with native bfloat16) and writes the table the notebook
shows, course_lib/results/modern_ablation.json, with its provenance: the machine, the precision, the command, and a
fingerprint of the code (this script, course_lib/ablation.py and the models it uses, docstrings and comments aside).
tests/test_ablation.py fails when the fingerprint no longer matches the code: run the sweep again, commit the table.

    python -m tools.ablation_modern [--seeds 0 1] [--arms gpt2 llama] [--out course_lib/results/modern_ablation.json]
"""

import argparse
import ast
import datetime
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from course_lib import ablation, gpt2, llama
from course_lib.ablation import (
    ARMS,
    arm_width,
    build_arm,
    cache_values_per_token,
    seconds_per_step,
    steps_in_budget,
    train_and_score,
)
from course_lib.config import GPT2Config
from course_lib.hub import load_hub_dataset
from course_lib.lm import train_byte_level_bpe
from course_lib.training import native_bf16, set_seed
from tools.nbval_plugin import machine


ROOT = Path(__file__).resolve().parent.parent
BUDGET_STEPS = 450  # chapter 7's run


def _code_only(source: str) -> str:
    """The syntax tree of `source` without docstrings, as text: what changes when the code does, not its prose."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def recipe_fingerprint() -> str:
    """sha256 of the code that makes the table, docstrings and comments aside: this script, the arms
    (course_lib/ablation.py) and the two models they are made of (course_lib/gpt2.py, course_lib/llama.py)."""
    digest = hashlib.sha256()
    for path in (Path(__file__), Path(ablation.__file__), Path(gpt2.__file__), Path(llama.__file__)):
        digest.update(_code_only(path.read_text()).encode())
    return digest.hexdigest()


def chapter7_data():
    """Chapter 7's tokenizer, ids and GPT-2 configuration."""
    shakespeare = load_hub_dataset("karpathy/tiny_shakespeare")
    train_text, validation_text = shakespeare["train"][0]["text"], shakespeare["validation"][0]["text"]
    tokenizer = train_byte_level_bpe(train_text, vocab_size=1024)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=128, n_layer=4, n_head=4,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    return tokenizer, config, tokenizer.encode(train_text).ids, tokenizer.encode(validation_text).ids, validation_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--budget-steps", type=int, default=BUDGET_STEPS)
    parser.add_argument("--out", type=Path, default=ROOT / "course_lib" / "results" / "modern_ablation.json")
    args = parser.parse_args(argv)
    if args.arms[0] != "gpt2":
        parser.error("the first arm must be gpt2: its step time sets every arm's budget")

    start, fingerprint = time.perf_counter(), recipe_fingerprint()  # the code as it runs
    tokenizer, config, train_ids, validation_ids, validation_text = chapter7_data()
    output_dir = tempfile.mkdtemp()
    rows = []
    for name in args.arms:
        set_seed(0)
        seconds = seconds_per_step(build_arm(name, config), train_ids, tokenizer, output_dir)
        reference = rows[0]["seconds_per_step"] if rows else seconds
        steps = steps_in_budget(args.budget_steps, reference, seconds)
        runs = []
        for seed in args.seeds:
            set_seed(seed)
            model = build_arm(name, config)
            runs.append(train_and_score(model, steps, train_ids, validation_ids, validation_text, tokenizer,
                                        output_dir, seed))
            print(f"{name:14} seed {seed}: {steps} steps, {runs[-1]['bits_per_char']:.3f} bits per character, "
                  f"{runs[-1]['tokens_per_second']:,.0f} tokens/s", flush=True)
        rows.append({"name": name, "label": ARMS[name][0], "parameters": model.num_parameters(),
                     "feed_forward_width": arm_width(name, config), "cache_values_per_token":
                     cache_values_per_token(model), "seconds_per_step": seconds,
                     "tokens_per_second": 64 * 64 / seconds, "steps": steps, "runs": runs})

    if recipe_fingerprint() != fingerprint:
        print("the code changed during the run: its table would not say which code made it; run again")
        return 1
    table = {"provenance": {"script": "tools/ablation_modern.py", "fingerprint": fingerprint,
                            "command": "python -m tools.ablation_modern " + " ".join(argv or sys.argv[1:]),
                            "machine": machine(), "precision": "bfloat16 autocast" if native_bf16() else "float32",
                            "torch": torch.__version__, "budget_steps": args.budget_steps, "seeds": args.seeds,
                            "date": datetime.date.today().isoformat(),
                            "seconds": round(time.perf_counter() - start)},
             "arms": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {args.out} in {table['provenance']['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
