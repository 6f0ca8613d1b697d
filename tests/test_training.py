"""Chapter 6 and 9: collators, metrics, schedules, the Trainer (accumulation, resume, atomic checkpoints, DDP) and
what push_to_hub prepares; all offline, on tiny models except where the real tokenizer is the point."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from course_lib.data import (
    DataCollatorForLanguageModeling,
    DataCollatorWithPadding,
    length_grouped_batches,
    tokenize_function,
)
from course_lib.hub import load_hub_dataset
from course_lib.tokenizer import Tokenizer
from course_lib.trainer import Trainer, TrainingArguments, latest_checkpoint, list_checkpoints
from course_lib.training import (
    accuracy,
    classification_metrics,
    confusion,
    create_optimizer,
    f1,
    precision,
    recall,
    schedule,
)
from tests.ddp_script import Collate, tiny_data, tiny_model
from tools.course import ROOT


MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer.from_pretrained(MINILM)


@pytest.fixture(scope="module")
def mrpc(tokenizer):
    raw = load_hub_dataset("nyu-mll/glue", "mrpc", split="validation").select(range(64))
    return raw.map(tokenize_function(tokenizer, "sentence1", "sentence2"), batched=True)


# --- data -----------------------------------------------------------------------------------------------------------
def test_the_collator_pads_to_the_longest_in_the_batch(mrpc, tokenizer):
    rows = [mrpc[i] for i in range(8)]
    batch = DataCollatorWithPadding(tokenizer)(rows)
    longest = max(len(r["input_ids"]) for r in rows)
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
    assert all(t.shape == (8, longest) for k, t in batch.items() if k != "labels")
    assert batch["labels"].tolist() == [r["label"] for r in rows]
    for row, ids, mask, types in zip(rows, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]):
        n = len(row["input_ids"])
        assert ids[:n].tolist() == row["input_ids"] and set(ids[n:].tolist()) <= {tokenizer.pad_token_id}
        assert mask.tolist() == [1] * n + [0] * (longest - n)
        assert types[:n].tolist() == row["token_type_ids"] and set(types[n:].tolist()) <= {0}


def test_the_collator_matches_transformers(mrpc, tokenizer):
    from transformers import AutoTokenizer
    from transformers import DataCollatorWithPadding as Reference

    reference = Reference(AutoTokenizer.from_pretrained(MINILM), pad_to_multiple_of=8)
    rows = [{k: mrpc[i][k] for k in ("input_ids", "token_type_ids", "attention_mask", "label")} for i in range(16)]
    ours, theirs = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8)(rows), reference(rows)
    assert set(ours) == set(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


def test_the_collator_says_what_is_wrong(tokenizer):
    collate = DataCollatorWithPadding(tokenizer)
    with pytest.raises(ValueError, match="empty"):
        collate([])
    with pytest.raises(KeyError, match="tokenize them first"):
        collate([{"sentence": "hello"}])
    with pytest.raises(ValueError, match="line up"):
        collate([{"input_ids": [1, 2, 3], "attention_mask": [1, 1]}])
    with pytest.raises(ValueError, match="positive"):
        DataCollatorWithPadding(tokenizer, pad_to_multiple_of=0)


def test_the_causal_lm_collator_ignores_padding(tokenizer):
    batch = DataCollatorForLanguageModeling(tokenizer)([{"input_ids": [101, 7, 8, 102]}, {"input_ids": [101, 9, 102]}])
    assert batch["labels"].tolist() == [[101, 7, 8, 102], [101, 9, 102, -100]]
    blocks = DataCollatorForLanguageModeling(tokenizer)([torch.arange(5), torch.arange(5, 10)])
    assert torch.equal(blocks["labels"], blocks["input_ids"]) and blocks["input_ids"].shape == (2, 5)


def test_masked_lm_collator_follows_berts_recipe(tokenizer):
    collate = DataCollatorForLanguageModeling(tokenizer, mlm=True, generator=torch.Generator().manual_seed(0))
    rows = [{"input_ids": [101] + list(range(2000, 2200)) + [102]} for _ in range(50)]
    batch = collate(rows)
    original = torch.tensor([r["input_ids"] for r in rows])
    chosen = batch["labels"] != -100
    assert 0.13 < chosen.float().mean().item() < 0.17  # 15% of the 202 tokens, specials never
    assert not chosen[:, 0].any() and not chosen[:, -1].any()
    assert torch.equal(batch["labels"][chosen], original[chosen])
    masked = (batch["input_ids"] == tokenizer.mask_token_id) & chosen
    kept = (batch["input_ids"] == original) & chosen
    assert 0.75 < masked.sum() / chosen.sum() < 0.85 and 0.06 < kept.sum() / chosen.sum() < 0.14
    assert torch.equal(batch["input_ids"][~chosen], original[~chosen])


def test_length_grouped_batches_cover_everything_once_with_little_padding():
    lengths = [(i * 37) % 101 + 1 for i in range(1000)]
    batches = length_grouped_batches(lengths, 16, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert batches == length_grouped_batches(lengths, 16, seed=3) != length_grouped_batches(lengths, 16, seed=4)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded < 1.1 * sum(lengths)  # random batches of 16 would pad to ~1.9x


# --- metrics --------------------------------------------------------------------------------------------------------
def test_metrics_on_a_case_worked_by_hand():
    predictions, references = [1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]  # tp 2, fp 1, fn 1, tn 2
    assert confusion(predictions, references) == (2, 1, 1, 2)
    assert accuracy(predictions, references) == 4 / 6
    assert precision(predictions, references) == recall(predictions, references) == 2 / 3
    assert f1(predictions, references) == pytest.approx(2 / 3)
    assert precision([0, 0], [1, 0]) == 0.0 and recall([1, 1], [0, 0]) == 0.0 and f1([0, 0], [0, 0]) == 0.0
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0], [0.5, 0.6]])
    assert classification_metrics(logits, torch.tensor([1, 1, 1])) == \
        {"accuracy": 2 / 3, "precision": 1.0, "recall": 2 / 3, "f1": pytest.approx(0.8)}


def test_metrics_refuse_what_cannot_be_scored():
    with pytest.raises(ValueError, match="pair up"):
        accuracy([1, 0], [1])
    with pytest.raises(ValueError, match="no predictions"):
        f1([], [])


# --- schedules and the optimizer --------------------------------------------------------------------------------------
def test_schedules_by_value():
    linear = schedule("linear", 10, 110)
    assert [linear(s) for s in (0, 5, 10, 60, 110, 120)] == [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    cosine = schedule("cosine", 0, 100)
    assert cosine(0) == 1.0 and cosine(50) == pytest.approx(0.5) and cosine(100) == pytest.approx(0.0)
    assert schedule("constant", 4, 8)(2) == 0.5 and schedule("constant", 4, 8)(7) == 1.0
    with pytest.raises(ValueError, match="unknown schedule"):
        schedule("exponential", 0, 10)
    with pytest.raises(ValueError, match="warmup_steps"):
        schedule("linear", 20, 10)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedules_match_transformers(name):
    import transformers

    reference = getattr(transformers, f"get_{name}_schedule_with_warmup")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    lr_lambda = reference(optimizer, 7, 50).lr_lambdas[0]
    ours = schedule(name, 7, 50)
    assert all(ours(s) == pytest.approx(lr_lambda(s), abs=1e-12) for s in range(60))


def test_no_weight_decay_on_biases_and_layer_norms():
    groups = create_optimizer(tiny_model(), lr=1e-3, weight_decay=0.1).param_groups
    assert groups[0]["weight_decay"] == 0.1 and all(p.ndim == 2 for p in groups[0]["params"])
    assert groups[1]["weight_decay"] == 0.0 and all(p.ndim == 1 for p in groups[1]["params"])


# --- the Trainer ----------------------------------------------------------------------------------------------------
def _args(tmp_path, **kwargs) -> TrainingArguments:
    defaults = dict(num_train_epochs=2, per_device_train_batch_size=8, learning_rate=1e-3, warmup_ratio=0.1,
                    eval_strategy="no", disable_tqdm=True, logging_steps=1)
    return TrainingArguments(str(tmp_path), **{**defaults, **kwargs})


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def test_training_learns_and_logs(tmp_path):
    data = tiny_data(96)
    trainer = Trainer(tiny_model(), _args(tmp_path, num_train_epochs=8, eval_strategy="epoch"), train_dataset=data,
                      eval_dataset=data, data_collator=Collate(), compute_metrics=classification_metrics)
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()
    assert after["eval_loss"] < before and set(after) == {"eval_loss", "eval_accuracy", "eval_precision",
                                                           "eval_recall", "eval_f1"}
    history = trainer.state.log_history
    assert [h["step"] for h in history if "loss" in h] == list(range(1, 8 * 12 + 1))
    assert sum("eval_loss" in h for h in history) == 1 + 8 + 1  # before, every epoch, after
    assert history[-2]["epoch"] == 8.0


def test_callbacks_see_every_log_and_evaluation(tmp_path):
    data, seen = tiny_data(32), []
    trainer = Trainer(tiny_model(), _args(tmp_path, num_train_epochs=2, eval_strategy="epoch", logging_steps=2),
                      train_dataset=data, eval_dataset=data, data_collator=Collate(),
                      callbacks=[lambda t, logs: seen.append((t.state.global_step, sorted(logs)))])
    trainer.train()
    assert seen == [(2, ["epoch", "learning_rate", "loss", "step"]), (4, ["epoch", "learning_rate", "loss", "step"]),
                    (4, ["epoch", "eval_loss", "step"]), (6, ["epoch", "learning_rate", "loss", "step"]),
                    (8, ["epoch", "learning_rate", "loss", "step"]), (8, ["epoch", "eval_loss", "step"])]
    assert [logs for _, logs in seen] == [sorted(h) for h in trainer.state.log_history]


def test_predictions_come_back_in_the_datasets_order(tmp_path):
    data = tiny_data(30)
    trainer = Trainer(tiny_model(), _args(tmp_path, group_by_length=True, per_device_eval_batch_size=7),
                      data_collator=Collate())
    out = trainer.predict(data)
    model = tiny_model().eval()
    with torch.no_grad():
        one_by_one = torch.cat([model(**Collate()([data[i]])).logits for i in range(len(data))])
    assert torch.allclose(out.predictions, one_by_one, atol=1e-5)
    assert out.label_ids.tolist() == data["label"] and "test_loss" in out.metrics


def test_gradient_accumulation_equals_the_larger_batch(tmp_path):
    results = []
    for batch_size, accumulation in [(16, 1), (8, 2), (4, 4)]:
        model = tiny_model()
        Trainer(model, _args(tmp_path / str(batch_size), per_device_train_batch_size=batch_size,
                             gradient_accumulation_steps=accumulation), train_dataset=tiny_data(64),
                data_collator=Collate()).train()
        results.append(_weights(model))
    # not quite the same batches: accumulation over 4 x 4 samples the same 16 rows as one batch of 16 (the global
    # batch is cut from the same shuffled order), so the updates agree to float rounding
    assert _max_difference(results[0], results[1]) < 1e-5 and _max_difference(results[0], results[2]) < 1e-5


class Interrupt(Exception):
    pass


def test_resume_continues_exactly_where_it_stopped(tmp_path, monkeypatch):
    def run(output_dir, stop_at=None, resume=None):
        model = tiny_model(dropout=0.1)  # dropout on: the random state must be restored too
        trainer = Trainer(model, _args(output_dir, num_train_epochs=3, save_strategy="steps", save_steps=5,
                                       save_total_limit=2), train_dataset=tiny_data(48), data_collator=Collate())
        if stop_at:
            step = trainer._optimizer_step

            def stopping(*a):
                if trainer.state.global_step == stop_at:
                    raise Interrupt
                return step(*a)
            monkeypatch.setattr(trainer, "_optimizer_step", stopping)
        try:
            trainer.train(resume_from_checkpoint=resume)
        except Interrupt:
            pass
        return model, trainer

    whole, whole_trainer = run(tmp_path / "a")
    _, stopped = run(tmp_path / "b", stop_at=12)  # mid-epoch 3 (6 steps per epoch), after the save at step 10
    assert [p.name for p in list_checkpoints(tmp_path / "b")] == ["checkpoint-5", "checkpoint-10"]
    resumed, resumed_trainer = run(tmp_path / "b", resume=True)
    assert all(torch.equal(a, b) for a, b in zip(_weights(whole).values(), _weights(resumed).values()))
    assert resumed_trainer.state.log_history == whole_trainer.state.log_history
    assert [p.name for p in list_checkpoints(tmp_path / "b")] == ["checkpoint-10", "checkpoint-15"]  # save_total_limit=2


KILLED_MID_SAVE = """
import os, signal, sys
import torch
sys.path.insert(0, {root!r})
from course_lib import trainer as T
from tests.ddp_script import Collate, tiny_data, tiny_model

real_save = torch.save
def dying_save(obj, path, *a, **k):
    if str(path).endswith("optimizer.pt") and "checkpoint-4" in str(path):
        with open(path, "wb") as f:  # half a file, then the process is killed
            f.write(b"half")
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, path, *a, **k)
T.torch.save = dying_save
args = T.TrainingArguments({out!r}, num_train_epochs=1, per_device_train_batch_size=8, save_strategy="steps",
                           save_steps=2, eval_strategy="no", disable_tqdm=True)
T.Trainer(tiny_model(), args, train_dataset=tiny_data(48), data_collator=Collate()).train()
"""


def test_a_process_killed_mid_checkpoint_leaves_the_last_good_one(tmp_path):
    out = tmp_path / "run"
    script = KILLED_MID_SAVE.format(root=str(ROOT), out=str(out))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=ROOT)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-2", "tmp-checkpoint-4"]
    assert latest_checkpoint(out).name == "checkpoint-2"
    model = tiny_model()
    trainer = Trainer(model, _args(out, num_train_epochs=1, save_strategy="steps", save_steps=2),
                      train_dataset=tiny_data(48), data_collator=Collate())
    trainer.train(resume_from_checkpoint=True)  # the half-written folder is ignored, then replaced
    assert trainer.state.global_step == 6 and "tmp-checkpoint-4" not in {p.name for p in out.iterdir()}
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        trainer.train(resume_from_checkpoint=out / "tmp-checkpoint-4")


def test_ddp_on_two_processes_equals_one_process(tmp_path):
    script = str(ROOT / "tests" / "ddp_script.py")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          script, str(tmp_path / "two"), "4"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, script, str(tmp_path / "one"), "8"], capture_output=True, text=True, env=env,
                         cwd=ROOT)
    assert one.returncode == 0, one.stderr[-3000:]
    from safetensors.torch import load_file

    a, b = load_file(tmp_path / "two" / "model.safetensors"), load_file(tmp_path / "one" / "model.safetensors")
    start = tiny_model().state_dict()
    assert _max_difference(a, b) < 1e-5
    assert max((a[k] - start[k]).abs().max().item() for k in a) > 1e-2  # and training did move the weights


def test_bf16_autocast_trains(tmp_path):
    model = tiny_model()
    trainer = Trainer(model, _args(tmp_path, bf16=True), train_dataset=tiny_data(32), data_collator=Collate())
    trainer.train()
    assert all(math.isfinite(h["loss"]) for h in trainer.state.log_history)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast computes in bf16, keeps fp32 weights


@pytest.mark.parametrize("change, message", [
    (dict(per_device_train_batch_size=0), "per_device_train_batch_size must be at least 1"),
    (dict(eval_strategy="sometimes"), "eval_strategy must be"),
    (dict(save_strategy="steps"), "needs save_steps"),
    (dict(lr_scheduler_type="exponential"), "unknown schedule"),
    (dict(warmup_ratio=1.5), "warmup_ratio"),
])
def test_bad_arguments_are_refused(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        _args(tmp_path, **change)


def test_a_trainer_without_data_says_so(tmp_path):
    with pytest.raises(ValueError, match="data_collator"):
        Trainer(tiny_model(), _args(tmp_path))
    trainer = Trainer(tiny_model(), _args(tmp_path), data_collator=Collate())
    with pytest.raises(ValueError, match="no training data"):
        trainer.train()
    with pytest.raises(ValueError, match="no evaluation data"):
        trainer.evaluate()
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        Trainer(tiny_model(), _args(tmp_path), train_dataset=tiny_data(8), data_collator=Collate()).train(True)


# --- sharing ---------------------------------------------------------------------------------------------------------
class RecordingApi:
    """Stands in for huggingface_hub.HfApi: records the calls and what the uploaded folder held."""

    def __init__(self, fail_with: str | None = None):
        self.calls, self.fail_with = [], fail_with

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        if self.fail_with:
            raise OSError(self.fail_with)
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, repo_id, folder_path, **kwargs):
        files = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        self.calls.append(("upload_folder", repo_id, {**kwargs, "files": files}))


def _card() -> str:
    from course_lib.sharing import model_card

    return model_card("someone/tiny", base_model=MINILM, datasets=["nyu-mll/glue:sst2"], task="text-classification",
                      metrics={"validation accuracy": 0.8812, "validation f1": 0.8831}, training={"epochs": 1},
                      intended_use="Testing.", limitations="A tiny model.")


def test_the_model_card_has_hub_metadata_and_the_facts():
    card = _card()
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] == "apache-2.0" and header["base_model"] == MINILM
    assert header["datasets"] == ["nyu-mll/glue:sst2"] and header["pipeline_tag"] == "text-classification"
    assert header["library_name"] == "course_lib"  # 🤗 Transformers would load it with another head (chapter 9.1)
    for text in ("## Intended use", "Testing.", "## Training data", "| epochs | 1 |", "| validation accuracy | 0.8812 |",
                 "## Limitations", "A tiny model.", 'pipeline("text-classification", model="someone/tiny")'):
        assert text in card


def test_push_to_hub_creates_the_repo_and_uploads_model_tokenizer_and_card(tokenizer, monkeypatch, capsys):
    from course_lib import sharing

    monkeypatch.setattr(sharing.huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    api, token = RecordingApi(), "hf_" + "x" * 30
    url = sharing.push_to_hub("someone/tiny", tiny_model(), tokenizer, _card(), token=token, private=True, api=api)
    assert url == "https://huggingface.co/someone/tiny"
    (create, repo, options), (upload, repo2, upload_options) = api.calls
    assert (create, repo, upload, repo2) == ("create_repo", "someone/tiny", "upload_folder", "someone/tiny")
    assert options["private"] is True and options["exist_ok"] is True
    files = upload_options["files"]
    assert set(files) == {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"}
    assert json.loads(files["config.json"])["model_type"] == "bert" and files["README.md"].decode() == _card()
    assert token not in capsys.readouterr().out


def test_push_to_hub_never_shows_the_token(tokenizer, monkeypatch):
    from course_lib import sharing

    monkeypatch.setattr(sharing.huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    token = "hf_" + "s3cr3t" * 6
    api = RecordingApi(fail_with=f"401 Unauthorized for token {token}")
    with pytest.raises(RuntimeError) as error:
        sharing.push_to_hub("someone/tiny", tiny_model(), tokenizer, token=token, api=api)
    assert token not in str(error.value) and "hf_***" in str(error.value) and error.value.__cause__ is None


def test_push_to_hub_offline_or_logged_out_says_what_to_do(tokenizer, monkeypatch):
    from course_lib import sharing

    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE"):
        sharing.push_to_hub("someone/tiny", tiny_model(), tokenizer, token="hf_" + "x" * 30, api=RecordingApi())
    monkeypatch.setattr(sharing.huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(sharing.huggingface_hub, "get_token", lambda: None)
    with pytest.raises(PermissionError, match="hf auth login"):
        sharing.push_to_hub("someone/tiny", tiny_model(), tokenizer, api=RecordingApi())
    with pytest.raises(ValueError, match="your-name/model-name"):
        sharing.push_to_hub("tiny", tiny_model(), tokenizer, api=RecordingApi())


# --- what chapter 6 added to the model ------------------------------------------------------------------------------
def test_mean_pooling_classifier_reads_the_mean_of_the_tokens(recwarn):
    from course_lib.bert import BertForSequenceClassification, mean_pooling
    from course_lib.config import AutoConfig, ConfigError

    config = AutoConfig.from_pretrained(MINILM)
    config.classifier_pooling = "mean"
    model = BertForSequenceClassification.from_pretrained(MINILM, config=config)
    assert model.bert.pooler is None and model.loading_report.unexpected == []
    assert not [w for w in recwarn if "not used" in str(w.message)]  # the checkpoint's pooler is no surprise
    ids = torch.tensor([[101, 2023, 2003, 102, 0], [101, 2307, 102, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        hidden = model.bert(ids, mask).last_hidden_state
        assert torch.allclose(model(ids, mask).logits, model.classifier(mean_pooling(hidden, mask)), atol=1e-6)
    config.classifier_pooling = "max"
    with pytest.raises(ConfigError, match="classifier_pooling"):
        config.validate()


def test_attention_for_bf16_training_on_cpu_matches_the_fused_kernel():
    from course_lib.attention import attention

    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 16, 8, generator=g).bfloat16().requires_grad_() for _ in range(3))
    out, weights = attention(q, k, v)
    reference = torch.nn.functional.scaled_dot_product_attention(q.detach(), k.detach(), v.detach())
    assert weights is None and torch.allclose(out.float(), reference.float(), atol=2e-2)
    out.float().sum().backward()
    assert q.grad is not None and q.grad.dtype == torch.bfloat16


# --- precision follows the hardware -------------------------------------------------------------------------------

PRECISION_PROBE = """
import torch
from course_lib.training import autocast, native_bf16, training_precision
with autocast():
    dtype = (torch.ones(4, 4) @ torch.ones(4, 4)).dtype
print(torch.backends.cpu.get_cpu_capability(), native_bf16(), training_precision(), dtype)
"""


def test_a_cpu_without_avx512_trains_in_float32_and_the_simulation_is_respected():
    """ATEN_CPU_CAPABILITY=avx2 makes PyTorch use the kernels of a CPU without AVX-512 (a laptop, Colab's CPU), even
    on one that has AMX or AVX512-BF16: native_bf16() must then say False, so that nothing runs in emulated bfloat16."""
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    out = subprocess.run([sys.executable, "-c", PRECISION_PROBE], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["AVX2", "False", "float32", "(no", "native", "bfloat16", "here)", "torch.float32"]


def test_native_bf16_asks_the_hardware_where_the_kernels_allow_it(monkeypatch):
    from course_lib import training

    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    for amx, avx512_bf16, expected in [(True, False, True), (False, True, True), (False, False, False)]:
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda amx=amx: amx)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda b=avx512_bf16: b)
        assert training.native_bf16("cpu") is expected
        assert training.autocast("cpu").fast_dtype == torch.bfloat16 and training.autocast("cpu")._enabled is expected
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")  # AMX present, AVX2 kernels
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert training.native_bf16("cpu") is False and training.training_precision() == "float32 (no native bfloat16 here)"
    # A GPU counts only if it has bfloat16 units (a T4 emulates it): is_bf16_supported without emulation.
    calls = []
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: calls.append(including_emulation) or False)
    assert training.native_bf16("cuda") is False and calls == [False]
