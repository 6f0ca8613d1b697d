"""Chapter 11.3: the masked-LM head (training helpers, accuracy, frequency baseline) and fill-mask against 🤗
Transformers, offline, on small or briefly trained models."""

from __future__ import annotations

import tempfile
import warnings

import pytest
import torch
import transformers

from course_lib.bert import BertForMaskedLM
from course_lib.config import BertConfig
from course_lib.data import DataCollatorForLanguageModeling, tokenize_function
from course_lib.hub import load_hub_dataset
from course_lib.masked_lm import (
    SparseBertForMaskedLM,
    UnigramBaseline,
    freeze_encoder,
    frequency_baseline,
    masked_evaluation_batches,
    masked_token_accuracy,
)
from course_lib.modeling import ModelOutput
from course_lib.pipelines import pipeline
from course_lib.tokenizer_json import load_tokenizer
from course_lib.trainer import Trainer, TrainingArguments


transformers.logging.set_verbosity_error()
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TINY = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64)
TEXTS = ["Paris is the [MASK] of France.", "a [MASK] , funny film", "This man works as a [MASK]."]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(MINILM)


@pytest.fixture(scope="module")
def sentences():
    return list(load_hub_dataset("nyu-mll/glue", "sst2", split="validation")["sentence"][:64])


@pytest.fixture(scope="module")
def reference_folder(tmp_path_factory, tokenizer):
    """A random-weight 🤗 BertForMaskedLM (bias and layer norms random too), with MiniLM's tokenizer beside it."""
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM(transformers.BertConfig(**TINY))
    with torch.no_grad():
        model.cls.predictions.bias.normal_()
        model.cls.predictions.transform.LayerNorm.weight.normal_(1.0, 0.1)
    folder = tmp_path_factory.mktemp("reference-mlm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, tokenizer, sentences):
    """A tiny course model, its head and last layer trained for 8 steps with the Trainer, saved by course_lib."""
    torch.manual_seed(0)
    model = SparseBertForMaskedLM(BertConfig(**TINY))
    freeze_encoder(model, unfreeze_last_layers=1)
    data = load_hub_dataset("nyu-mll/glue", "sst2", split="validation").select(range(128))
    data = data.map(tokenize_function(tokenizer, "sentence"), batched=True)
    args = TrainingArguments(tempfile.mkdtemp(), max_steps=8, per_device_train_batch_size=16, learning_rate=1e-2,
                             eval_strategy="no", disable_tqdm=True, logging_steps=4)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, generator=torch.Generator().manual_seed(0))
    trainer = Trainer(model, args, train_dataset=data, data_collator=collator)
    before = model.cls.predictions.bias.detach().clone()
    trainer.train()
    assert not torch.equal(before, model.cls.predictions.bias)  # it did train
    folder = tmp_path_factory.mktemp("course-mlm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# --- saving and loading ----------------------------------------------------------------------------------------------

def test_transformers_loads_what_we_save_with_the_same_logits(tmp_path, tokenizer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MiniLM has no head: newly initialised
        ours = BertForMaskedLM.from_pretrained(MINILM)
    with torch.no_grad():  # a head as if trained
        ours.cls.predictions.bias.normal_()
        ours.cls.predictions.transform.dense.weight.normal_(0, 0.05)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = theirs(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        got = ours(batch["input_ids"], batch["attention_mask"]).logits
    real = batch["attention_mask"].bool()
    assert torch.allclose(got[real], expected[real], atol=1e-5, rtol=0)
    assert theirs.cls.predictions.decoder.weight.data_ptr() == theirs.bert.embeddings.word_embeddings.weight.data_ptr()


def test_sparse_prediction_gives_the_full_models_loss_and_logits(tokenizer, sentences):
    torch.manual_seed(0)
    full = BertForMaskedLM(BertConfig(**TINY)).eval()
    sparse = SparseBertForMaskedLM(BertConfig(**TINY)).eval()
    sparse.load_state_dict(full.state_dict())
    batch = DataCollatorForLanguageModeling(tokenizer, mlm=True, generator=torch.Generator().manual_seed(1))(
        [{"input_ids": ids} for ids in tokenizer(sentences[:16])["input_ids"]])
    with torch.no_grad():
        a, b = full(**batch), sparse(**batch)
    targets = batch["labels"] != -100
    assert b.logits.shape == (int(targets.sum()), TINY["vocab_size"])
    assert torch.allclose(b.logits, a.logits[targets], atol=1e-5)
    assert abs(a.loss.item() - b.loss.item()) < 1e-5
    with torch.no_grad():  # without labels: the whole (B, T, vocab) tensor, as BertForMaskedLM gives
        assert torch.allclose(sparse(batch["input_ids"], batch["attention_mask"]).logits, a.logits, atol=1e-6)


# --- the pipeline against 🤗 Transformers --------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["reference_folder", "trained_folder"])
@pytest.mark.parametrize("top_k", [1, 3, 5])
def test_fill_mask_answers_like_transformers(which, top_k, request):
    folder = request.getfixturevalue(which)
    ours = pipeline("fill-mask", model=folder)(TEXTS, top_k=top_k)
    theirs = transformers.pipeline("fill-mask", model=str(folder), device="cpu")(TEXTS, top_k=top_k)
    theirs = [t if isinstance(t, list) else [t] for t in theirs]  # top_k=1: 🤗 gives one dict per text
    for a, b in zip(ours, theirs, strict=True):
        assert len(a) == len(b) == top_k
        assert [x["token"] for x in a] == [y["token"] for y in b]
        assert [x["token_str"] for x in a] == [y["token_str"] for y in b]
        assert [x["sequence"] for x in a] == [y["sequence"] for y in b]
        assert all(abs(x["score"] - y["score"]) < 1e-5 for x, y in zip(a, b))


def test_fill_mask_needs_exactly_one_mask(reference_folder):
    fill_mask = pipeline("fill-mask", model=reference_folder)
    with pytest.raises(ValueError, match=r"exactly one \[MASK\].*has 0"):
        fill_mask("no mask here")
    with pytest.raises(ValueError, match=r"exactly one \[MASK\].*has 2"):
        fill_mask("[MASK] and [MASK]")
    # 🤗 Transformers answers two masks with one list of answers per mask, each as if the other gap stayed empty
    theirs = transformers.pipeline("fill-mask", model=str(reference_folder), device="cpu")("[MASK] and [MASK]", top_k=2)
    assert len(theirs) == 2 and all(len(answers) == 2 for answers in theirs)


# --- accuracy and the baseline -------------------------------------------------------------------------------------

class FixedLogits(torch.nn.Module):
    """A 'model' whose logits at every position are the same 4 scores."""

    def forward(self, input_ids, **kwargs):
        return ModelOutput(logits=torch.tensor([0.1, 0.4, 0.3, 0.2]).expand(*input_ids.shape, -1))


def test_masked_token_accuracy_on_a_hand_made_case():
    # ranking 1, 2, 3, 0. Targets 1 (top-1 right), 2 (second), 0 (last), padding (-100) ignored
    batch = {"input_ids": torch.zeros(2, 3, dtype=torch.long), "labels": torch.tensor([[1, -100, 2], [0, -100, -100]])}
    accuracy = masked_token_accuracy(FixedLogits(), [batch], k=(1, 2, 4))
    assert accuracy == {"top1": 1 / 3, "top2": 2 / 3, "top4": 1.0, "targets": 3}
    with pytest.raises(ValueError, match="more than the vocabulary's 4 tokens"):
        masked_token_accuracy(FixedLogits(), [batch], k=(5,))
    with pytest.raises(ValueError, match="positive whole numbers"):
        masked_token_accuracy(FixedLogits(), [batch], k=(0,))
    with pytest.raises(ValueError, match="no masked tokens"):
        masked_token_accuracy(FixedLogits(), [{"input_ids": batch["input_ids"], "labels": torch.full((2, 3), -100)}])


def test_frequency_baseline_counts_ordinary_tokens():
    baseline = frequency_baseline([[101, 7, 5, 5, 102], [101, 5, 3, 7, 102]], vocab_size=200, special_ids={101, 102})
    assert isinstance(baseline, UnigramBaseline)
    assert baseline.log_frequencies.topk(3).indices.tolist() == [5, 7, 3]  # counted 3, 2 and 1 times
    batch = {"input_ids": torch.zeros(1, 4, dtype=torch.long), "labels": torch.tensor([[5, 7, -100, 9]])}
    assert masked_token_accuracy(baseline, [batch], k=(1, 3)) == {"top1": 1 / 3, "top3": 2 / 3, "targets": 3}
    with pytest.raises(ValueError, match="no tokens to count"):
        frequency_baseline([[101, 102]], 200, {101, 102})
    with pytest.raises(ValueError, match=r"must be in \[0, 200\)"):
        frequency_baseline([[5, 300]], 200)


def test_evaluation_batches_mask_every_target_and_are_reproducible(tokenizer, sentences):
    ids = tokenizer(sentences)["input_ids"]
    a, b = masked_evaluation_batches(tokenizer, ids, batch_size=16), masked_evaluation_batches(tokenizer, ids, 16)
    assert len(a) == 4
    for x, y in zip(a, b):
        assert torch.equal(x["input_ids"], y["input_ids"]) and torch.equal(x["labels"], y["labels"])
        targets = x["labels"] != -100
        assert targets.any() and (x["input_ids"][targets] == tokenizer.mask_token_id).all()
        assert (x["input_ids"][~targets] != tokenizer.mask_token_id).all()
    with pytest.raises(ValueError, match="no sentences"):
        masked_evaluation_batches(tokenizer, [])


# --- freezing --------------------------------------------------------------------------------------------------------

def test_freeze_encoder_leaves_the_head_and_the_last_layers():
    model = BertForMaskedLM(BertConfig(**TINY))
    n = freeze_encoder(model)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"cls.predictions.bias", "cls.predictions.transform.dense.weight",
                         "cls.predictions.transform.dense.bias", "cls.predictions.transform.LayerNorm.weight",
                         "cls.predictions.transform.LayerNorm.bias"}
    assert n == 32 * 32 + 32 + 2 * 32 + 30522
    assert not model.cls.predictions.decoder.weight.requires_grad  # tied to the (frozen) embeddings
    layer = sum(p.numel() for p in model.bert.encoder.layer[-1].parameters())
    assert freeze_encoder(model, unfreeze_last_layers=1) == n + layer
    assert not any(p.requires_grad for p in model.bert.encoder.layer[0].parameters())
    assert freeze_encoder(model, 0) == n  # freezing again undoes the earlier unfreezing
    for bad in (3, -1, 1.5, True):
        with pytest.raises(ValueError, match="unfreeze_last_layers must be a whole number from 0 to 2"):
            freeze_encoder(model, bad)
    with pytest.raises(TypeError, match="needs a BertForMaskedLM"):
        freeze_encoder(torch.nn.Linear(2, 2))
