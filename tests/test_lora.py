"""Chapter 13.1: LoRA (course_lib.lora) against 🤗 PEFT on the same weights, offline.

PEFT adapts 🤗 Transformers' models; course_lib adapts its own, which load the same files under the same names. So
the reference for a course_lib model is the 🤗 Transformers model loaded from the same folder, with PEFT's adapter:
MiniLM (the real weights in the offline cache), chapter 7's shipped Shakespeare GPT (GPT-2, whose PEFT layers are
Conv1D with fan_in_fan_out) and a small random Llama that 🤗 Transformers saves.
"""

from __future__ import annotations

import copy
import json
import warnings

import pytest
import torch
from huggingface_hub import snapshot_download
from safetensors.torch import load_file, save_file
from torch import nn

from course_lib.config import BertConfig
from course_lib.lora import (
    LoraConfig,
    LoraLinear,
    LoraModel,
    find_target_modules,
    get_peft_model,
    matches,
)
from course_lib.modeling import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    CheckpointError,
)
from course_lib.pretraining import SHAKESPEARE_GPT
from course_lib.tokenizer_json import load_tokenizer


transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SENTENCES = ["A gripping, funny and moving film.", "Dull, and far too long.", "it 's a charming and often affecting journey .",
             "the plot is nothing but boilerplate clichés from start to finish"]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


@pytest.fixture(autouse=True)
def _quiet():
    transformers.logging.set_verbosity_error()  # the report of the new classification head: expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def folder():
    return snapshot_download(MINILM)


@pytest.fixture(scope="module")
def batch(folder):
    return dict(load_tokenizer(folder)(SENTENCES, padding=True, return_tensors="pt"))


def ours_classifier(folder):
    return AutoModelForSequenceClassification.from_pretrained(folder)


def their_classifier(folder):
    return transformers.BertForSequenceClassification.from_pretrained(folder, num_labels=2).eval()


def randomise_b(model, std=0.05):
    """Every B matrix (and nothing else) set at random, as if trained, so that the adapters change the outputs."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, std)


def max_difference(a, b, mask=None) -> float:
    """The largest difference; of hidden states (B, T, C), only at real tokens when `mask` (B, T) is given."""
    difference = (a - b).abs()
    return (difference[mask.bool()] if mask is not None else difference).max().item()


class Wrapper(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)


# --- one layer ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("r, alpha, dropout, rslora, bias", [(4, 8, 0.0, False, True), (8, 16, 0.1, False, False),
                                                             (16, 8, 0.3, True, True), (1, 1, 0.0, False, True)])
def test_layer_equals_peft_forward_gradients_and_merge(r, alpha, dropout, rslora, bias):
    torch.manual_seed(0)
    base = nn.Linear(24, 20, bias=bias)
    settings = dict(r=r, lora_alpha=alpha, lora_dropout=dropout, use_rslora=rslora, target_modules=["layer"])
    torch.manual_seed(1)
    ours = get_peft_model(Wrapper(copy.deepcopy(base)), LoraConfig(**settings))
    torch.manual_seed(1)
    theirs = peft.get_peft_model(Wrapper(copy.deepcopy(base)), peft.LoraConfig(**settings))
    a, b = ours.model.layer, theirs.base_model.model.layer
    assert torch.equal(a.lora_A.weight, b.lora_A["default"].weight)  # same seed, same Kaiming-uniform A
    assert torch.equal(a.lora_B.weight, b.lora_B["default"].weight) and not a.lora_B.weight.any()  # both zero
    assert a.scaling == b.scaling["default"]
    randomise_b(ours, 0.1)
    with torch.no_grad():
        b.lora_B["default"].weight.copy_(a.lora_B.weight)

    x = torch.randn(3, 7, 24)
    x_ours, x_theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours.train(), theirs.train()
    torch.manual_seed(5)  # the same dropout mask in both
    y_ours = ours(x_ours)
    torch.manual_seed(5)
    y_theirs = theirs(x_theirs)
    torch.testing.assert_close(y_ours, y_theirs, rtol=0, atol=1e-6)
    (y_ours * torch.arange(20)).square().mean().backward()
    (y_theirs * torch.arange(20)).square().mean().backward()
    torch.testing.assert_close(a.lora_A.weight.grad, b.lora_A["default"].weight.grad, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(a.lora_B.weight.grad, b.lora_B["default"].weight.grad, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(x_ours.grad, x_theirs.grad, rtol=1e-5, atol=1e-7)
    assert a.base_layer.weight.grad is None and b.base_layer.weight.grad is None  # frozen in both
    assert ours.get_nb_trainable_parameters() == theirs.get_nb_trainable_parameters()

    with torch.no_grad():
        adapted = ours.eval()(x)  # without dropout
    merged_ours, merged_theirs = ours.merge_and_unload(), theirs.merge_and_unload()
    assert type(merged_ours.layer) is nn.Linear and type(merged_theirs.layer) is nn.Linear
    torch.testing.assert_close(merged_ours.layer.weight, merged_theirs.layer.weight, rtol=0, atol=1e-7)
    with torch.no_grad():
        torch.testing.assert_close(merged_ours(x), adapted, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_merge_and_unmerge(dtype):
    torch.manual_seed(0)
    base = nn.Linear(32, 16).to(dtype)
    original = base.weight.detach().clone()
    layer = LoraLinear(base, r=4, lora_alpha=8)
    randomise_b(layer, 0.1)
    x = torch.randn(5, 32, dtype=dtype)
    with torch.no_grad():
        before = layer(x)
        delta = (layer.lora_B.weight.float() @ layer.lora_A.weight.float() * 2.0).to(dtype)
        torch.testing.assert_close(layer.delta_weight(), delta, rtol=0, atol=0)  # computed in float32 on a CPU
        layer.merge()
        assert layer.merged
        torch.testing.assert_close(layer(x), before, **({} if dtype == torch.float32 else dict(rtol=0.02, atol=0.02)))
        with pytest.warns(UserWarning, match="already merged"):
            layer.merge()
        layer.unmerge()
    assert not layer.merged
    torch.testing.assert_close(base.weight, original, rtol=0, atol=1e-6 if dtype == torch.float32 else 0.02)


def test_layer_starts_as_its_base_layer_and_only_b_moves_first():
    torch.manual_seed(0)
    base = nn.Linear(16, 8)
    layer = LoraLinear(base, r=4, lora_alpha=8, lora_dropout=0.0)
    x = torch.randn(3, 16)
    assert torch.equal(layer(x), base(x))
    layer(x).sum().backward()
    assert not layer.lora_A.weight.grad.any() and layer.lora_B.weight.grad.any() and base.weight.grad is None
    bound = 1 / 16 ** 0.5  # Kaiming-uniform with a = √5 on 16 inputs: U(-1/√16, 1/√16), nn.Linear's own
    assert layer.lora_A.weight.abs().max() <= bound


# --- choosing layers ---------------------------------------------------------------------------------------------------

TARGETS = [["query", "value"], ["attention.output.dense"], ["dense"], r".*\.layer\.[0-2]\..*\.(key|value)", "all-linear",
           ["bert.encoder.layer.3.attention.self.query", "value"], None]


@pytest.mark.parametrize("targets", TARGETS, ids=str)
@pytest.mark.parametrize("task_type", ["SEQ_CLS", None])
def test_selected_layers_equal_peft(folder, targets, task_type):
    exclude = ["pooler.dense"] if targets == ["dense"] else None
    settings = dict(target_modules=targets, task_type=task_type, exclude_modules=exclude)
    if task_type:
        ours, theirs = ours_classifier(folder), their_classifier(folder)
    else:
        ours, theirs = AutoModel.from_pretrained(folder), transformers.AutoModel.from_pretrained(folder)
    expected = set(peft.get_peft_model(theirs, peft.LoraConfig(**settings)).base_model.targeted_module_names)
    assert set(find_target_modules(ours, LoraConfig(**settings))) == expected
    assert len(expected) > 0


def test_matches_is_peft_matching():
    name = "bert.encoder.layer.0.attention.self.query"
    assert matches(["query"], name) and matches(["self.query"], name) and matches([name], name)
    assert not matches(["uery"], name) and not matches("query", name)  # a string is a regex over the whole name
    assert matches(r".*\.(query|value)", name) and not matches(r"query", name)


# --- adapters exchanged with PEFT --------------------------------------------------------------------------------------

def test_course_lib_adapter_loads_in_peft_with_the_same_logits(folder, batch, tmp_path):
    torch.manual_seed(0)
    ours = get_peft_model(ours_classifier(folder), LoraConfig(r=8, lora_alpha=16, lora_dropout=0.1, task_type="SEQ_CLS",
                                                                target_modules=["query", "value"],
                                                                base_model_name_or_path=MINILM))
    randomise_b(ours)
    ours.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    state = load_file(str(tmp_path / "adapter_model.safetensors"))
    assert "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight" in state
    assert "base_model.model.classifier.weight" in state and len(state) == 6 * 2 * 2 + 2

    theirs = peft.PeftModel.from_pretrained(their_classifier(folder), tmp_path)
    assert isinstance(theirs, peft.PeftModelForSequenceClassification)
    config = theirs.peft_config["default"]
    assert (config.r, config.lora_alpha, config.lora_dropout, set(config.target_modules)) == (8, 16, 0.1, {"query", "value"})
    ours.eval()
    with torch.no_grad():
        assert max_difference(ours(**batch).logits, theirs(**batch).logits) < 1e-5

    merged_ours, merged_theirs = ours.merge_and_unload().state_dict(), theirs.merge_and_unload().state_dict()
    assert set(merged_ours) <= set(merged_theirs)
    for name, tensor in merged_ours.items():
        torch.testing.assert_close(tensor, merged_theirs[name], rtol=0, atol=1e-6)


PEFT_CONFIGS = {
    "query-value": dict(r=8, lora_alpha=16, target_modules=["query", "value"]),
    "regex-rslora": dict(r=4, lora_alpha=8, target_modules=r".*\.(query|key|value|dense)", use_rslora=True,
                         lora_dropout=0.05),
    "all-linear": dict(r=2, lora_alpha=32, target_modules="all-linear"),
    "default-targets": dict(r=16, lora_alpha=16),
    "exclude": dict(r=4, lora_alpha=4, target_modules=["dense"], exclude_modules=r".*\.layer\.[3-5]\..*"),
}


@pytest.mark.parametrize("name", PEFT_CONFIGS)
def test_peft_adapter_loads_in_course_lib_with_the_same_logits(folder, batch, tmp_path, name):
    torch.manual_seed(0)
    theirs = peft.get_peft_model(their_classifier(folder), peft.LoraConfig(task_type="SEQ_CLS", **PEFT_CONFIGS[name]))
    randomise_b(theirs)
    theirs.save_pretrained(tmp_path)
    ours = LoraModel.from_pretrained(ours_classifier(folder), tmp_path)
    assert set(ours.targets) == set(theirs.base_model.targeted_module_names)
    assert ours.get_nb_trainable_parameters()[0] == 0 and not ours.training  # loaded for inference, as PEFT does
    theirs.eval()
    with torch.no_grad():
        assert max_difference(ours(**batch).logits, theirs(**batch).logits) < 1e-5
    trainable = LoraModel.from_pretrained(ours_classifier(folder), tmp_path, is_trainable=True)
    ours_counts, their_counts = trainable.get_nb_trainable_parameters(), theirs.get_nb_trainable_parameters()
    assert trainable.training and ours_counts[0] == their_counts[0]
    assert ours_counts[1] == their_counts[1] - (2 * 384 + 2)  # PEFT keeps the original head beside the trained copy


def test_adapters_on_the_base_model_both_ways(folder, batch, tmp_path):
    torch.manual_seed(0)
    ours = get_peft_model(AutoModel.from_pretrained(folder), LoraConfig(target_modules=["key", "intermediate.dense"]))
    randomise_b(ours)
    ours.save_pretrained(tmp_path / "ours")
    theirs = peft.PeftModel.from_pretrained(transformers.AutoModel.from_pretrained(folder), tmp_path / "ours")
    with torch.no_grad():
        assert max_difference(ours.eval()(**batch).last_hidden_state, theirs(**batch).last_hidden_state,
                              batch["attention_mask"]) < 1e-5

    theirs = peft.get_peft_model(transformers.AutoModel.from_pretrained(folder),
                                 peft.LoraConfig(r=4, lora_alpha=12, target_modules=["value", "output.dense"]))
    randomise_b(theirs)
    theirs.save_pretrained(tmp_path / "theirs")
    ours = LoraModel.from_pretrained(AutoModel.from_pretrained(folder), tmp_path / "theirs")
    with torch.no_grad():
        assert max_difference(ours(**batch).last_hidden_state, theirs.eval()(**batch).last_hidden_state,
                              batch["attention_mask"]) < 1e-5


def test_gpt2_adapters_both_ways(tmp_path):
    """PEFT adapts GPT-2's Conv1D layers (weights stored (in, out), fan_in_fan_out=True); A and B have the same shapes
    as for a linear layer, so adapters move between them and course_lib's GPT-2 (nn.Linear) unchanged."""
    ids = torch.randint(0, 500, (2, 24), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    their_gpt = transformers.GPT2LMHeadModel.from_pretrained(str(SHAKESPEARE_GPT)).eval()
    theirs = peft.get_peft_model(their_gpt, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"]))
    randomise_b(theirs)
    theirs.save_pretrained(tmp_path / "theirs")
    ours = LoraModel.from_pretrained(AutoModelForCausalLM.from_pretrained(SHAKESPEARE_GPT), tmp_path / "theirs")
    theirs.eval()
    with torch.no_grad():
        assert max_difference(ours(ids).logits, theirs(ids).logits) < 1e-4
        merged_theirs = theirs.merge_and_unload()(ids).logits
        assert max_difference(ours.merge_and_unload()(ids).logits, merged_theirs) < 1e-4

    ours = get_peft_model(AutoModelForCausalLM.from_pretrained(SHAKESPEARE_GPT), LoraConfig(r=8, lora_alpha=8))
    assert ours.targets == [f"transformer.h.{i}.attn.c_attn" for i in range(ours.config.n_layer)]  # PEFT's default
    randomise_b(ours)
    ours.save_pretrained(tmp_path / "ours")
    theirs = peft.PeftModel.from_pretrained(transformers.GPT2LMHeadModel.from_pretrained(str(SHAKESPEARE_GPT)),
                                            tmp_path / "ours").eval()
    with torch.no_grad():
        assert max_difference(ours.eval()(ids).logits, theirs(ids).logits) < 1e-4
        assert max_difference(ours.merge_and_unload()(ids).logits, theirs.merge_and_unload()(ids).logits) < 1e-4


def test_llama_adapters_both_ways(tmp_path):
    torch.manual_seed(0)
    reference = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=300, hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64)).eval()
    reference.save_pretrained(tmp_path / "llama")
    ids = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(0))
    theirs = peft.get_peft_model(reference, peft.LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    randomise_b(theirs)
    theirs.save_pretrained(tmp_path / "theirs")
    ours = LoraModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tmp_path / "llama"), tmp_path / "theirs")
    assert "lm_head" not in ours.targets and len(ours.targets) == 2 * 7  # q, k, v, o, gate, up, down per layer
    with torch.no_grad():
        assert max_difference(ours(ids).logits, theirs.eval()(ids).logits) < 1e-5


def test_same_initial_adapters_as_peft_on_minilm(folder):
    ours, theirs = ours_classifier(folder), their_classifier(folder)
    torch.manual_seed(3)
    ours = get_peft_model(ours, LoraConfig(r=8, target_modules=["query", "value"], task_type="SEQ_CLS"))
    torch.manual_seed(3)
    theirs = peft.get_peft_model(theirs, peft.LoraConfig(r=8, target_modules=["query", "value"], task_type="SEQ_CLS"))
    their_layers = {name: module for name, module in theirs.base_model.model.named_modules()
                    if isinstance(module, peft.tuners.lora.LoraLayer)}
    assert list(their_layers) == ours.targets
    for name, layer in ours.lora_layers().items():
        assert torch.equal(layer.lora_A.weight, their_layers[name].lora_A["default"].weight), name


def test_training_moves_only_adapters_and_head(folder, batch):
    torch.manual_seed(0)
    ours = get_peft_model(ours_classifier(folder), LoraConfig(target_modules=["query", "value"], task_type="SEQ_CLS"))
    before = {name: p.detach().clone() for name, p in ours.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in ours.parameters() if p.requires_grad], lr=1e-2)
    ours.train()
    for _ in range(2):
        ours(**batch, labels=torch.tensor([1, 0, 1, 0])).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    moved = {name for name, p in ours.named_parameters() if not torch.equal(p, before[name])}
    assert moved == {name for name in before if "lora_" in name or name.startswith("model.classifier.")}


def test_config_round_trip_and_peft_reads_it(tmp_path):
    config = LoraConfig(r=4, lora_alpha=12.5, lora_dropout=0.2, target_modules=r".*\.(query|value)",
                        modules_to_save=["pooler"], task_type="SEQ_CLS", use_rslora=True,
                        base_model_name_or_path=MINILM, exclude_modules=["bert.encoder.layer.0.attention.self.query"])
    assert config.modules_to_save == ["pooler", "classifier", "score"]
    config.save_pretrained(tmp_path)
    assert LoraConfig.from_pretrained(tmp_path) == config
    theirs = peft.LoraConfig.from_pretrained(str(tmp_path))
    for field in ("r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora", "base_model_name_or_path",
                  "exclude_modules"):
        theirs_value, ours_value = getattr(theirs, field), getattr(config, field)
        if isinstance(ours_value, list):  # PEFT keeps name lists as sets
            theirs_value, ours_value = set(theirs_value), set(ours_value)
        assert theirs_value == ours_value, field
    assert set(theirs.modules_to_save) == set(config.modules_to_save) and theirs.task_type == "SEQ_CLS"
    assert not theirs.use_dora and theirs.bias == "none"


# --- bad input ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("targets", [["q_proj", "v_proj"], r".*\.q_proj", ["uery"]], ids=str)
def test_targets_that_match_nothing_are_refused_with_the_names(folder, targets):
    with pytest.raises(ValueError) as error:
        get_peft_model(ours_classifier(folder), LoraConfig(target_modules=targets))
    message = str(error.value)
    assert repr(targets) in message and "matches no linear layer" in message
    assert "'query'" in message and "bert.encoder.layer.0.attention.self.query" in message  # what the layers are called


def test_other_bad_targets(folder):
    model = ours_classifier(folder)
    with pytest.raises(ValueError, match=r"matches bert\.encoder\.layer\.0\.attention\.self, a BertSelfAttention.*query"):
        find_target_modules(model, LoraConfig(target_modules=["attention.self"]))
    with pytest.raises(ValueError, match="not a valid regular expression"):
        LoraConfig(target_modules=r".*\.(query")
    for bad in ([], [1], {"query": 1}, 3):
        with pytest.raises(ValueError, match="give a list of module names"):
            LoraConfig(target_modules=bad)
    with pytest.raises(ValueError, match="give a list of module names"):
        LoraConfig(modules_to_save="classifier")
    with pytest.raises(ValueError, match=r"modules_to_save=\['head'\] names no module"):
        get_peft_model(model, LoraConfig(target_modules=["query"], modules_to_save=["head"]))
    lora = get_peft_model(model, LoraConfig(target_modules=["query"]))
    with pytest.raises(ValueError, match="already has a LoRA adapter"):
        get_peft_model(lora.model, LoraConfig(target_modules=["query"]))
    with pytest.raises(ValueError, match="no default target_modules for model_type None"):
        get_peft_model(Wrapper(nn.Linear(2, 2)), LoraConfig())


@pytest.mark.parametrize("r", [0, -1, 2.5, True, "8", None])
def test_rank_below_one_is_refused(r):
    with pytest.raises(ValueError, match=r"^r=.*whole number >= 1"):
        LoraConfig(r=r)
    with pytest.raises(ValueError, match=r"^r="):
        LoraLinear(nn.Linear(4, 4), r=r)


@pytest.mark.parametrize("alpha", [0, -8, 0.0, float("nan"), "16", None])
def test_alpha_not_above_zero_is_refused(alpha):
    with pytest.raises(ValueError, match=r"^lora_alpha=.*above 0"):
        LoraConfig(lora_alpha=alpha)
    with pytest.raises(ValueError, match=r"^lora_alpha="):
        LoraLinear(nn.Linear(4, 4), lora_alpha=alpha)


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5, float("nan"), "0.1"])
def test_dropout_outside_zero_one_is_refused(dropout):
    with pytest.raises(ValueError, match=r"^lora_dropout=.*up to but not including 1"):
        LoraConfig(lora_dropout=dropout)
    with pytest.raises(ValueError, match=r"^lora_dropout="):
        LoraLinear(nn.Linear(4, 4), lora_dropout=dropout)


def test_adapter_for_another_shape_is_refused(folder, tmp_path):
    torch.manual_seed(0)
    lora = get_peft_model(ours_classifier(folder), LoraConfig(target_modules=["query", "value"], task_type="SEQ_CLS",
                                                              base_model_name_or_path=MINILM))
    lora.save_pretrained(tmp_path)
    small = AutoModelForSequenceClassification.from_config(BertConfig(hidden_size=128, num_hidden_layers=6,
                                                                      num_attention_heads=4, intermediate_size=512))
    with pytest.raises(CheckpointError) as error:
        LoraModel.from_pretrained(small, tmp_path)
    message = str(error.value)
    assert "adapter (8, 384), model (8, 128)" in message and MINILM in message and "(and " in message
    three_labels = AutoModelForSequenceClassification.from_config(BertConfig.from_dict(
        {**ours_classifier(folder).config.to_dict(), "num_labels": 3}))
    with pytest.raises(CheckpointError, match=r"classifier\.weight: adapter \(2, 384\), model \(3, 384\)"):
        LoraModel.from_pretrained(three_labels, tmp_path)


def test_adapter_files_that_do_not_fit_are_refused(folder, tmp_path):
    torch.manual_seed(0)
    lora = get_peft_model(ours_classifier(folder), LoraConfig(target_modules=["query"]))
    lora.save_pretrained(tmp_path)
    path = tmp_path / "adapter_model.safetensors"
    state = load_file(str(path))
    del state["base_model.model.bert.encoder.layer.5.attention.self.query.lora_B.weight"]
    state["base_model.model.bert.encoder.layer.0.attention.self.key.lora_A.weight"] = torch.zeros(8, 384)
    save_file(state, str(path))
    with pytest.raises(CheckpointError, match=r"missing .*layer\.5\.attention\.self\.query\.lora_B.*unexpected .*key"):
        LoraModel.from_pretrained(ours_classifier(folder), tmp_path)
    path.write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="cannot be read as safetensors"):
        LoraModel.from_pretrained(ours_classifier(folder), tmp_path)
    with pytest.raises(FileNotFoundError, match="has no adapter_config.json"):
        LoraConfig.from_pretrained(tmp_path / "nowhere")


@pytest.mark.parametrize("field, value, words", [
    ("use_dora", True, "use_dora"), ("peft_type", "IA3", "peft_type='IA3'"), ("bias", "all", "bias='all'"),
    ("rank_pattern", {"query": 16}, "rank_pattern"), ("layers_to_transform", [0, 1], "layers_to_transform"),
    ("r", 0, "r=0")])
def test_adapter_configs_we_cannot_honour_are_refused(field, value, words):
    data = {**LoraConfig(target_modules=["query"]).to_dict(), field: value}
    with pytest.raises(ValueError, match=r"^source\.json: .*" + words.replace("(", r"\(").replace("[", r"\[")):
        LoraConfig.from_dict(data, "source.json")
    data = json.loads(json.dumps(LoraConfig(target_modules=["query"]).to_dict()))  # PEFT's defaults: accepted
    assert LoraConfig.from_dict(data).target_modules == ["query"]
