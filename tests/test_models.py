"""Chapters 3 and 4: attention, configurations, and the BERT and GPT-2 models against 🤗 Transformers, offline."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
import torch.nn.functional as F
from huggingface_hub import snapshot_download

from course_lib.attention import attention, attention_by_hand, causal_mask, padding_mask
from course_lib.bert import (
    BertForMaskedLM,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
    mean_pooling,
)
from course_lib.config import AutoConfig, BertConfig, ConfigError, GPT2Config
from course_lib.embeddings import sinusoidal_positions
from course_lib.gpt2 import GPT2LMHeadModel, GPT2Model
from course_lib.hub import load_hub_dataset
from course_lib.modeling import AutoModel, AutoModelForCausalLM, CheckpointError
from course_lib.tokenizer_json import load_tokenizer


MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def folder():
    return snapshot_download(MINILM)


@pytest.fixture(scope="module")
def minilm(folder):
    return BertModel.from_pretrained(folder)


@pytest.fixture(scope="module")
def reference(folder):
    from transformers import BertModel as ReferenceBert

    return ReferenceBert.from_pretrained(folder).eval()


@pytest.fixture(scope="module")
def batch(folder):
    sentences = list(load_hub_dataset("nyu-mll/glue", "sst2", split="validation")["sentence"][:48])
    sentences += list(load_hub_dataset("nyu-mll/glue", "mrpc", split="validation")["sentence1"][:16])
    return load_tokenizer(folder)(sentences, padding=True, return_tensors="pt")


# --- building blocks ----------------------------------------------------------------------------------------------

def test_attention_by_hand_equals_the_fused_kernel():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 4, 7, 8), torch.randn(3, 4, 9, 8), torch.randn(3, 4, 9, 8)
    mask = padding_mask(torch.tensor([[1] * 9, [1] * 5 + [0] * 4, [1] * 2 + [0] * 7]))
    mask = mask + causal_mask(7, 9)
    by_hand, weights = attention_by_hand(q, k, v, mask)
    fused, none = attention(q, k, v, mask)
    assert none is None and torch.allclose(by_hand, fused, atol=1e-6)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4, 7))
    assert weights[1, :, :, 5:].max() < 1e-30  # padding gets no attention
    assert weights[0, 0].triu(diagonal=3).max() < 1e-30  # no query sees a later key


def test_sinusoidal_positions_match_the_formula():
    table = sinusoidal_positions(50, 16)
    p, i = 7, 3
    assert torch.isclose(table[p, 2 * i], torch.sin(torch.tensor(p / 10000 ** (2 * i / 16))))
    assert torch.isclose(table[p, 2 * i + 1], torch.cos(torch.tensor(p / 10000 ** (2 * i / 16))))


# --- configurations -----------------------------------------------------------------------------------------------

def test_config_round_trips_and_reads_minilm(folder, tmp_path):
    config = BertConfig.from_pretrained(folder)
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (6, 384, 12)
    assert config.extra["architectures"] == ["BertModel"]  # unknown fields are kept, and written back
    config.save_pretrained(tmp_path)
    assert BertConfig.from_pretrained(tmp_path) == config
    assert json.loads(repr(config).split(" ", 1)[1]) == config.to_dict()
    assert isinstance(AutoConfig.from_pretrained(folder), BertConfig)


def test_transformers_reads_our_configs(tmp_path):
    from transformers import AutoConfig as ReferenceAutoConfig

    for config in (BertConfig(hidden_size=128, num_attention_heads=4), GPT2Config(n_layer=3)):
        config.save_pretrained(tmp_path / config.model_type)
        theirs = ReferenceAutoConfig.from_pretrained(tmp_path / config.model_type)
        assert theirs.model_type == config.model_type
        assert all(getattr(theirs, k) == v for k, v in config.to_dict().items() if k != "model_type")


@pytest.mark.parametrize("data, message", [
    ({"model_type": "gpt2"}, r"model_type is 'gpt2', but BertConfig reads 'bert'.*AutoConfig"),
    ({"hidden_size": "384"}, r"field 'hidden_size' should be int, got '384'"),
    ({"num_hidden_layers": 6.5}, r"'num_hidden_layers' should be int"),
    ({"hidden_size": 100, "num_attention_heads": 12}, r"hidden_size=100 does not divide into num_attention_heads=12"),
    ({"hidden_act": "swish2"}, r"hidden_act='swish2'"),
    ({"hidden_size": -5}, r"hidden_size=-5, but it must be a positive whole number"),
    ({"num_attention_heads": 0}, r"num_attention_heads=0, but it must be a positive whole number"),
    ([1, 2], r"should hold a JSON object"),
])
def test_bad_configs_say_what_is_wrong(data, message):
    with pytest.raises(ConfigError, match=message):
        BertConfig.from_dict(data)


def test_a_misspelt_field_is_pointed_out():
    with pytest.warns(UserWarning, match=r"unknown field 'hiden_size' .* did you mean 'hidden_size'"):
        BertConfig.from_dict({"hiden_size": 384})


def test_a_config_of_another_architecture(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5", "d_model": 512}))
    with pytest.raises(ConfigError, match=r"model_type 't5' is not one course_lib implements \((.*)\)") as error:
        AutoConfig.from_pretrained(tmp_path)
    # After bert and gpt2 the order depends on which later chapters' modules earlier tests imported (each registers its types).
    listed = error.value.args[0].rsplit("(", 1)[1].rstrip(")").split(", ")
    assert listed[:2] == ["bert", "gpt2"]
    assert sorted(listed) == ["bart", "bert", "gpt2", "llama", "marian", "qwen2", "qwen3"]
    with pytest.raises(ConfigError, match=r"model_type is 't5', but BertConfig reads 'bert'"):
        BertModel.from_pretrained(tmp_path)


# --- the encoder with MiniLM's weights -----------------------------------------------------------------------------

def test_minilm_loads_every_weight(minilm):
    assert minilm.loading_report.missing == [] and minilm.loading_report.unexpected == []
    assert minilm.num_parameters() == 22_713_216 and not minilm.training


def test_every_layer_matches_transformers_on_a_padded_batch(minilm, reference, batch):
    with torch.no_grad():
        ours = minilm(**batch, output_hidden_states=True)
        theirs = reference(**batch, output_hidden_states=True)
    # Vectors at padding positions are never used (pooling and heads mask them) and are not compared.
    real = batch["attention_mask"].bool()
    assert len(ours.hidden_states) == len(theirs.hidden_states) == 7
    for layer, (a, b) in enumerate(zip(ours.hidden_states, theirs.hidden_states)):
        assert (a[real] - b[real]).abs().max() < 1e-5, f"layer {layer}"
    assert torch.allclose(ours.pooler_output, theirs.pooler_output, atol=1e-5)


def test_sentence_embeddings_match_to_cosine_099999(minilm, reference, batch):
    with torch.no_grad():
        ours = F.normalize(mean_pooling(minilm(**batch).last_hidden_state, batch["attention_mask"]), dim=-1)
        theirs = F.normalize(mean_pooling(reference(**batch).last_hidden_state, batch["attention_mask"]), dim=-1)
    assert (ours * theirs).sum(-1).min() >= 0.99999


def test_attention_weights_by_hand_match_transformers_eager(minilm, folder, batch):
    from transformers import BertModel as ReferenceBert

    eager = ReferenceBert.from_pretrained(folder, attn_implementation="eager").eval()
    with torch.no_grad():
        ours = minilm(**batch, output_attentions=True).attentions
        theirs = eager(**batch, output_attentions=True).attentions
    real = batch["attention_mask"].bool()
    for a, b in zip(ours, theirs):
        assert (a - b).abs().transpose(1, 2)[real].max() < 1e-5  # rows of real (not padding) queries


def test_what_we_save_transformers_loads(minilm, batch, tmp_path):
    from transformers import BertModel as ReferenceBert

    minilm.save_pretrained(tmp_path)
    theirs = ReferenceBert.from_pretrained(tmp_path).eval()
    real = batch["attention_mask"].bool()
    with torch.no_grad():
        assert (minilm(**batch).last_hidden_state - theirs(**batch).last_hidden_state).abs()[real].max() < 1e-5
    assert torch.equal(BertModel.from_pretrained(tmp_path).embeddings.word_embeddings.weight,
                       minilm.embeddings.word_embeddings.weight)


def test_heads_on_the_base_checkpoint_are_initialised_and_reported(folder, batch):
    for cls, shape in [(BertForSequenceClassification, (64, 2)), (BertForTokenClassification, (64, batch["input_ids"].shape[1], 2))]:
        with pytest.warns(UserWarning, match=r"newly initialised: classifier.weight, classifier.bias"):
            model = cls.from_pretrained(folder)
        assert model.loading_report.missing == ["classifier.weight", "classifier.bias"]
        with torch.no_grad():
            assert model(**batch).logits.shape == shape
    with pytest.warns(UserWarning, match=r"cls.predictions"):
        mlm = BertForMaskedLM.from_pretrained(folder)
    assert mlm.cls.predictions.decoder.weight is mlm.bert.embeddings.word_embeddings.weight  # tied
    labels = torch.full_like(batch["input_ids"], -100)
    labels[:, 1] = batch["input_ids"][:, 1]
    assert mlm(**batch, labels=labels).loss.item() > 0


def test_a_classifier_learns_and_its_loss_is_cross_entropy(folder, batch):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BertForSequenceClassification.from_pretrained(folder)
    labels = torch.arange(64) % 2
    out = model(**batch, labels=labels)
    assert torch.isclose(out.loss, F.cross_entropy(out.logits, labels))


# --- bad input -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ids, error, message", [
    (torch.tensor([[101, 102.0]]), TypeError, r"dtype torch.float32.*input_ids.long\(\)"),
    ([[101, 102]], TypeError, r"must be a torch.Tensor.*return_tensors='pt'"),
    (torch.tensor([101, 102]), ValueError, r"shape \(batch, sequence\), got \(2,\); for one sequence use input_ids\[None\]"),
    (torch.tensor([[101, 40000, 102]]), ValueError, r"contains 40000, outside the vocabulary \(0 to 30521\)"),
    (torch.tensor([[101, -1, 102]]), ValueError, r"contains -1"),
    (torch.ones(1, 513, dtype=torch.long), ValueError, r"513 tokens is longer than the model's 512 positions; truncate"),
])
def test_bad_input_ids(minilm, ids, error, message):
    with pytest.raises(error, match=message):
        minilm(ids)


def test_bad_attention_masks(minilm, batch):
    with pytest.raises(ValueError, match=r"rows \[1\] are all padding"):
        minilm(batch["input_ids"][:2], torch.stack([batch["attention_mask"][0], torch.zeros_like(batch["attention_mask"][1])]))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 3\), expected"):
        minilm(batch["input_ids"][:2], torch.ones(2, 3, dtype=torch.long))


def test_damaged_weights_say_download_again(folder, tmp_path):
    config = BertConfig.from_pretrained(folder)
    config.save_pretrained(tmp_path)
    data = (snapshot_download(MINILM) + "/model.safetensors")
    raw = open(data, "rb").read()
    (tmp_path / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match=r"model.safetensors: cannot be read as safetensors .* download it again"):
        BertModel.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="download it again"):
        BertModel.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(FileNotFoundError, match=r"no model.safetensors \(found: config.json, pytorch_model.bin\); .*never pickled"):
        BertModel.from_pretrained(tmp_path)


def test_weights_that_do_not_fit_the_config_are_named(folder, tmp_path):
    config = BertConfig.from_pretrained(folder)
    config.intermediate_size = 1000
    config.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").symlink_to(snapshot_download(MINILM) + "/model.safetensors")
    with pytest.raises(CheckpointError, match=r"intermediate.dense.weight: checkpoint \(1536, 384\), model \(1000, 384\)"):
        BertModel.from_pretrained(tmp_path)


# --- the decoder -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gpt2_pair(tmp_path_factory):
    """A small GPT-2 with random weights, saved by transformers, and course_lib's model loaded from that folder."""
    from transformers import GPT2Config as ReferenceConfig
    from transformers import GPT2LMHeadModel as ReferenceLM

    torch.manual_seed(0)
    config = ReferenceConfig(n_layer=3, n_embd=96, n_head=4, vocab_size=1000, n_positions=128, bos_token_id=0,
                             eos_token_id=0)
    reference = ReferenceLM(config).eval()
    folder = tmp_path_factory.mktemp("gpt2")
    reference.save_pretrained(folder)
    ours = AutoModelForCausalLM.from_pretrained(folder)
    return ours, reference


def test_gpt2_loads_from_transformers_with_identical_logits(gpt2_pair):
    ours, reference = gpt2_pair
    assert isinstance(ours, GPT2LMHeadModel) and ours.loading_report.missing == [] == ours.loading_report.unexpected
    ids = torch.randint(0, 1000, (4, 40), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[0, 30:] = 0  # right padding
    with torch.no_grad():
        assert (ours(ids).logits - reference(ids).logits).abs().max() < 1e-5
        real = mask.bool()
        assert (ours(ids, mask).logits - reference(ids, attention_mask=mask).logits).abs()[real].max() < 1e-5
        ours_h = ours(ids, output_hidden_states=True).hidden_states
        theirs_h = reference(ids, output_hidden_states=True).hidden_states
    assert all((a - b).abs().max() < 1e-5 for a, b in zip(ours_h, theirs_h))


def test_greedy_decoding_is_identical_with_and_without_the_cache(gpt2_pair):
    ours, reference = gpt2_pair
    prompt = torch.randint(0, 1000, (2, 6), generator=torch.Generator().manual_seed(2))
    cached = ours.generate_greedy(prompt, 40, use_cache=True)
    uncached = ours.generate_greedy(prompt, 40, use_cache=False)
    theirs = reference.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=40, do_sample=False,
                                pad_token_id=0, eos_token_id=None)
    assert torch.equal(cached, uncached) and torch.equal(cached, theirs)


def test_the_cache_gives_the_same_logits_as_the_full_sequence(gpt2_pair):
    ours, _ = gpt2_pair
    ids = torch.randint(0, 1000, (2, 12), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = ours(ids).logits
        first = ours(ids[:, :8], use_cache=True)
        rest = ours(ids[:, 8:], past_key_values=first.past_key_values).logits
    assert torch.allclose(full[:, 8:], rest, atol=1e-5)


def test_what_we_save_transformers_loads_gpt2(gpt2_pair, tmp_path):
    from transformers import GPT2LMHeadModel as ReferenceLM

    ours, _ = gpt2_pair
    ours.save_pretrained(tmp_path)
    theirs = ReferenceLM.from_pretrained(tmp_path).eval()
    ids = torch.randint(0, 1000, (2, 16), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert (ours(ids).logits - theirs(ids).logits).abs().max() < 1e-5
    reloaded = GPT2LMHeadModel.from_pretrained(tmp_path)
    assert reloaded.lm_head.weight is reloaded.transformer.wte.weight


def test_gpt2_bad_input(gpt2_pair):
    ours, _ = gpt2_pair
    with pytest.raises(ValueError, match=r"129 tokens is longer than the model's 128 positions"):
        ours(torch.zeros(1, 129, dtype=torch.long))
    with torch.no_grad():
        past = ours(torch.zeros(1, 100, dtype=torch.long), use_cache=True).past_key_values
    with pytest.raises(ValueError, match=r"130 tokens is longer"):
        ours(torch.zeros(1, 30, dtype=torch.long), past_key_values=past)
    with pytest.raises(ValueError, match=r"max_new_tokens=-1"):
        ours.generate_greedy(torch.zeros(1, 3, dtype=torch.long), -1)
    with pytest.raises(ValueError, match=r"prompt of 100 tokens plus max_new_tokens=29 is longer than the model's 128"):
        ours.generate_greedy(torch.zeros(1, 100, dtype=torch.long), 29)


def test_auto_classes_pick_the_architecture(folder, gpt2_pair, tmp_path):
    assert type(AutoModel.from_pretrained(folder)).__name__ == "BertModel"
    gpt2_pair[0].save_pretrained(tmp_path)
    assert isinstance(AutoModel.from_pretrained(tmp_path), GPT2Model)
    with pytest.raises(ConfigError, match=r"AutoModelForCausalLM has no course_lib model for model_type 'bert'"):
        AutoModelForCausalLM.from_pretrained(folder)


def test_a_gpt2_config_with_a_size_below_one_and_a_config_that_is_not_json(tmp_path):
    with pytest.raises(ConfigError, match=r"n_embd=0, but it must be a positive whole number"):
        GPT2Config.from_dict({"n_embd": 0})
    (tmp_path / "config.json").write_text("{'model_type': 'bert'}")  # Python, not JSON
    for load in (AutoConfig.from_pretrained, BertConfig.from_pretrained, BertModel.from_pretrained):
        with pytest.raises(ConfigError, match=rf"{tmp_path / 'config.json'} is not valid JSON"):
            load(tmp_path)
