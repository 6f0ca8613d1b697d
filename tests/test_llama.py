"""Chapter 12: the Llama-style decoder (Llama, Qwen2, Qwen3) against 🤗 Transformers on the same weights, offline.

No Llama or Qwen checkpoint is in the offline cache: 🤗 Transformers makes small ones with random weights (every
weight randomised, norms and biases included, so that a norm or bias in the wrong place shows) and saves them.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings

import pytest
import torch

from course_lib.config import AutoConfig, ConfigError
from course_lib.generation import generate
from course_lib.llama import (
    KeyValueCache,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaModel,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
    RMSNorm,
    RotaryEmbedding,
    apply_rotary,
    column_major_,
    decoding_bytes,
)
from course_lib.modeling import AutoModel, AutoModelForCausalLM
from course_lib.pipelines import pipeline
from course_lib.pretraining import SHAKESPEARE_GPT
from course_lib.tokenizer_json import load_tokenizer


transformers = pytest.importorskip("transformers")

SHAPE = dict(vocab_size=500, hidden_size=64, intermediate_size=172, num_hidden_layers=3, num_attention_heads=8,
             num_key_value_heads=2, max_position_embeddings=96)
# name -> (🤗 architecture, config, course_lib class)
CASES = {
    "llama-gqa-untied": ("Llama", dict(SHAPE, rope_parameters={"rope_type": "default", "rope_theta": 5e5}),
                         LlamaForCausalLM),
    "llama-tied": ("Llama", dict(SHAPE, tie_word_embeddings=True, rope_parameters={"rope_type": "default",
                                                                                   "rope_theta": 2500.0}),
                   LlamaForCausalLM),
    "llama-mqa-biases": ("Llama", dict(SHAPE, num_key_value_heads=1, attention_bias=True, mlp_bias=True),
                         LlamaForCausalLM),
    "qwen2-tied": ("Qwen2", dict(SHAPE, tie_word_embeddings=True, rope_parameters={"rope_type": "default",
                                                                                   "rope_theta": 1e6}),
                   Qwen2ForCausalLM),
    "qwen3": ("Qwen3", dict(SHAPE, num_key_value_heads=4, head_dim=32), Qwen3ForCausalLM),
}


def reference_model(architecture: str, config: dict):
    torch.manual_seed(0)
    reference = getattr(transformers, f"{architecture}ForCausalLM")(
        getattr(transformers, f"{architecture}Config")(**config)).eval()
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            parameter.normal_(1.0 if "norm" in name else 0.0, 0.2 if "norm" in name else 0.1)
    return reference


@pytest.fixture(scope="module", params=list(CASES))
def pair(request, tmp_path_factory):
    """(course_lib's model loaded from the folder 🤗 Transformers saved, the 🤗 model, the folder)."""
    architecture, config, _ = CASES[request.param]
    reference = reference_model(architecture, config)
    folder = tmp_path_factory.mktemp(request.param)
    reference.save_pretrained(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no missing, unexpected or misspelt anything
        ours = AutoModelForCausalLM.from_pretrained(folder)
    return ours, reference, request.param


def ids_and_mask(seed: int, batch: int = 3, length: int = 40):
    ids = torch.randint(0, SHAPE["vocab_size"], (batch, length), generator=torch.Generator().manual_seed(seed))
    mask = torch.ones_like(ids)
    mask[1, length - 12:] = 0  # right padding
    mask[2, :7] = 0  # left padding
    return ids, mask


def test_checkpoints_load_with_nothing_missing_or_unexpected(pair):
    ours, reference, name = pair
    assert type(ours) is CASES[name][2]
    assert ours.loading_report.missing == [] == ours.loading_report.unexpected == ours.loading_report.mismatched
    assert ours.num_parameters() == reference.num_parameters()
    assert ours.config.rope_theta == reference.config.rope_parameters["rope_theta"]
    assert (ours.lm_head.weight is ours.model.embed_tokens.weight) == reference.config.tie_word_embeddings


def test_logits_match_transformers_with_padding(pair):
    ours, reference, _ = pair
    ids, mask = ids_and_mask(1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: real tokens start at position 0, as generate does
    with torch.no_grad():
        assert (ours(ids).logits - reference(ids).logits).abs().max() < 1e-5
        real = mask.bool()
        theirs = reference(ids, attention_mask=mask, position_ids=positions).logits
        assert (ours(ids, mask, position_ids=positions).logits - theirs).abs()[real].max() < 1e-5
        ours_h = ours(ids, output_hidden_states=True).hidden_states
        theirs_h = reference(ids, output_hidden_states=True).hidden_states
    assert len(ours_h) == len(theirs_h) and all((a - b).abs().max() < 1e-5 for a, b in zip(ours_h, theirs_h))


def test_step_by_step_with_the_cache_equals_a_full_pass(pair):
    ours, _, _ = pair
    ids, mask = ids_and_mask(2)
    with torch.no_grad():
        full = ours(ids, mask).logits
        out = ours(ids[:, :25], mask[:, :25], use_cache=True)
        steps = [out.logits]
        for t in range(25, ids.size(1)):
            out = ours(ids[:, t:t + 1], mask[:, :t + 1], past_key_values=out.past_key_values, use_cache=True)
            steps.append(out.logits)
    real = mask.bool()
    assert (torch.cat(steps, dim=1) - full).abs()[real].max() < 1e-5
    keys, values = out.past_key_values[0]
    config = ours.config
    assert keys.shape == values.shape == (3, config.num_key_value_heads, ids.size(1), config.head_dim)


def test_greedy_decoding_is_token_identical_to_transformers_generate(pair):
    ours, reference, _ = pair
    prompt = torch.randint(0, SHAPE["vocab_size"], (2, 7), generator=torch.Generator().manual_seed(3))
    theirs = reference.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=50, do_sample=False,
                                pad_token_id=0, eos_token_id=None)
    assert torch.equal(generate(ours, prompt, 50), theirs)
    assert torch.equal(generate(ours, prompt, 50, use_cache=False), theirs)


def test_what_course_lib_saves_transformers_loads(pair, tmp_path):
    ours, _, name = pair
    ours.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["rope_parameters"] == {"rope_type": "default", "rope_theta": ours.config.rope_theta}
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert type(theirs).__name__ == type(ours).__name__
    ids, mask = ids_and_mask(4)
    with torch.no_grad():
        assert (ours(ids, mask).logits - theirs(ids, attention_mask=mask).logits).abs()[mask.bool()].max() < 1e-5
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert reloaded.loading_report.missing == [] == reloaded.loading_report.unexpected


def test_rotary_embedding_equals_transformers_beyond_the_training_length():
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    config = transformers.LlamaConfig(**dict(SHAPE, rope_parameters={"rope_type": "default", "rope_theta": 5e5}))
    theirs = LlamaRotaryEmbedding(config)
    ours = RotaryEmbedding(SHAPE["hidden_size"] // SHAPE["num_attention_heads"], 5e5)
    positions = torch.tensor([[0, 1, 95, 96, 500, 4095, 100_000]])  # the model was trained on 96 positions
    x = torch.randn(1, 7, 8)
    cos, sin = theirs(x, positions)
    our_cos, our_sin = ours(positions)
    assert torch.allclose(our_cos, cos, atol=1e-6) and torch.allclose(our_sin, sin, atol=1e-6)
    q, k = torch.randn(1, 2, 7, 8), torch.randn(1, 2, 7, 8)
    q_theirs, k_theirs = apply_rotary_pos_emb(q, k, cos, sin)
    assert torch.allclose(apply_rotary(q, our_cos[:, None], our_sin[:, None]), q_theirs, atol=1e-5)
    assert torch.allclose(apply_rotary(k, our_cos[:, None], our_sin[:, None]), k_theirs, atol=1e-5)


def test_rotation_makes_scores_depend_on_distance_only():
    rotary = RotaryEmbedding(16, 10000.0)
    q, k = torch.randn(16), torch.randn(16)

    def at(x, p):
        cos, sin = rotary(torch.tensor([p]))
        return apply_rotary(x, cos[0], sin[0])

    assert torch.isclose(at(q, 5) @ at(k, 3), at(q, 1005) @ at(k, 1003), atol=1e-4)
    assert torch.isclose(at(q, 40).norm(), q.norm())


def test_rms_norm_matches_the_formula_and_transformers():
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    x = torch.randn(2, 5, 32) * 3 + 1
    ours, theirs = RMSNorm(32, eps=1e-5), LlamaRMSNorm(32, eps=1e-5)
    with torch.no_grad():
        ours.weight.normal_(1, 0.3)
        theirs.weight.copy_(ours.weight)
    formula = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * ours.weight
    assert torch.allclose(ours(x), formula, atol=1e-6) and torch.allclose(ours(x), theirs(x), atol=1e-6)
    half = x.bfloat16()
    assert ours(half).dtype == torch.float32 == theirs(half).dtype  # float32 weight times bfloat16: as 🤗 does
    assert torch.equal(ours.bfloat16()(half), theirs.bfloat16()(half))


def test_bfloat16_logits_match_transformers(tmp_path):
    reference = reference_model("Llama", dict(SHAPE, rope_parameters={"rope_type": "default", "rope_theta": 5e5}))
    reference.save_pretrained(tmp_path)
    ours = LlamaForCausalLM.from_pretrained(tmp_path).to(torch.bfloat16)
    reference = reference.to(torch.bfloat16)
    ids, _ = ids_and_mask(5)
    with torch.no_grad():
        ours_logits, theirs = ours(ids).logits.float(), reference(ids).logits.float()
    assert (ours_logits - theirs).abs().max() < 0.05 * theirs.abs().max()
    assert ours.model.rotary.inv_freq.dtype == torch.float32  # the frequencies stay float32


def test_auto_classes_and_configs_pick_the_architecture(tmp_path):
    for model_type, config_class, base, head in [("llama", LlamaConfig, "LlamaModel", LlamaForCausalLM),
                                                 ("qwen2", Qwen2Config, "Qwen2Model", Qwen2ForCausalLM),
                                                 ("qwen3", Qwen3Config, "Qwen3Model", Qwen3ForCausalLM)]:
        folder = tmp_path / model_type
        head(config_class(**SHAPE)).save_pretrained(folder)
        assert type(AutoConfig.from_pretrained(folder)) is config_class
        assert type(AutoModel.from_pretrained(folder)).__name__ == base
        assert type(AutoModelForCausalLM.from_pretrained(folder)) is head
    assert isinstance(AutoModel.from_pretrained(tmp_path / "llama"), LlamaModel)


def test_legacy_rope_fields_are_read(tmp_path):
    config = LlamaConfig.from_dict({**SHAPE, "rope_theta": 123.0, "rope_scaling": None})
    assert config.rope_theta == 123.0 and config.rope_scaling is None
    newer = LlamaConfig.from_dict({**SHAPE, "rope_theta": 10.0, "rope_parameters": {"rope_type": "default",
                                                                                    "rope_theta": 77.0}})
    assert newer.rope_theta == 77.0 and "rope_parameters" not in newer.extra
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    assert transformers.AutoConfig.from_pretrained(tmp_path).rope_parameters["rope_theta"] == 123.0


def test_the_text_generation_pipeline_runs_a_llama():
    tokenizer = load_tokenizer(SHAKESPEARE_GPT)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**dict(SHAPE, vocab_size=len(tokenizer), tie_word_embeddings=True))).eval()
    out = pipeline("text-generation", model=model, tokenizer=tokenizer)("ROMEO:", max_new_tokens=5)
    assert out[0]["generated_text"].startswith("ROMEO:")


# --- faster decoding: a cache allocated once, the weights stored by column --------------------------------------

def test_a_cache_allocated_once_gives_the_logits_of_a_full_pass(pair):
    """A prompt, a chunk of 5 tokens, then one token a step, with padding on both sides, into one allocated cache."""
    ours, _, _ = pair
    ids, mask = ids_and_mask(6)
    config, real = ours.config, mask.bool()
    with torch.no_grad():
        full = ours(ids, mask, output_attentions=True)
        cache = ours.allocate_cache(batch_size=3, max_length=ids.size(1))
        addresses = [layer.keys.data_ptr() for layer in cache]
        out = ours(ids[:, :20], mask[:, :20], past_key_values=cache, use_cache=True)
        steps = [out.logits]
        out = ours(ids[:, 20:25], mask[:, :25], past_key_values=out.past_key_values, use_cache=True)
        steps.append(out.logits)
        for t in range(25, ids.size(1)):
            out = ours(ids[:, t:t + 1], mask[:, :t + 1], past_key_values=out.past_key_values, use_cache=True,
                       output_attentions=True)
            steps.append(out.logits)
    assert (torch.cat(steps, dim=1) - full.logits).abs()[real].max() < 1e-5
    assert all(a is b for a, b in zip(out.past_key_values, cache, strict=True))  # the same objects, ...
    assert [layer.keys.data_ptr() for layer in cache] == addresses  # ... written in place
    keys, values = out.past_key_values[0]  # read like a (keys, values) pair
    assert keys.shape == values.shape == cache[0].keys.shape == (3, config.num_key_value_heads, 40, config.head_dim)
    # one new token's attention weights (its queries viewed in groups, the keys not copied): the full pass's last row
    for step, whole in zip(out.attentions, full.attentions, strict=True):
        assert step.shape == (3, config.num_attention_heads, 1, 40)
        assert (step[:, :, 0] - whole[:, :, -1]).abs().max() < 1e-5


def test_generate_asks_the_model_for_a_cache_and_gives_transformers_tokens(pair, monkeypatch):
    ours, reference, _ = pair
    prompt = torch.randint(0, SHAPE["vocab_size"], (2, 7), generator=torch.Generator().manual_seed(8))
    asked, allocate = [], ours.allocate_cache
    monkeypatch.setattr(ours, "allocate_cache", lambda *sizes: asked.append(sizes) or allocate(*sizes))
    theirs = reference.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=30, do_sample=False,
                                pad_token_id=0, eos_token_id=None)
    assert torch.equal(generate(ours, prompt, 30), theirs)
    assert asked == [(2, 37)]  # the prompt and the new tokens, once
    # a text that reaches the context while generating: a cache as long as the context; a longer prompt: none
    long = torch.randint(0, SHAPE["vocab_size"], (1, 90), generator=torch.Generator().manual_seed(9))
    assert torch.equal(generate(ours, long, 12), generate(ours, long, 12, use_cache=False))
    assert asked[1:] == [(1, 96)]
    assert torch.equal(generate(ours, torch.cat([long, long], dim=1)[:, :100], 3),
                       generate(ours, torch.cat([long, long], dim=1)[:, :100], 3, use_cache=False))
    assert asked[1:] == [(1, 96)]


def test_weights_stored_by_column_give_the_same_logits_tokens_and_files(pair, tmp_path):
    ours, reference, _ = pair
    by_column = column_major_(copy.deepcopy(ours))
    weight = by_column.lm_head.weight
    assert weight.shape == ours.lm_head.weight.shape and weight.stride() == (1, weight.size(0))
    assert (weight is by_column.model.embed_tokens.weight) == (ours.lm_head.weight is ours.model.embed_tokens.weight)
    assert all(torch.equal(a, b) for a, b in zip(by_column.state_dict().values(), ours.state_dict().values()))
    ids, mask = ids_and_mask(7)
    with torch.no_grad():
        assert (by_column(ids, mask).logits - ours(ids, mask).logits).abs()[mask.bool()].max() < 1e-5
    prompt = ids[:, :7]
    theirs = reference.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=30, do_sample=False,
                                pad_token_id=0, eos_token_id=None)
    assert torch.equal(generate(by_column, prompt, 30), theirs)
    by_column.save_pretrained(tmp_path)
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert (reloaded(ids).logits - ours(ids).logits).abs().max() < 1e-5


def test_decoding_bytes_and_the_cache_per_token_with_grouped_heads():
    sizes = {}
    for kv_heads in (2, 8):  # grouped-query attention, and full multi-head attention (8 query heads)
        torch.manual_seed(0)
        model = LlamaForCausalLM(LlamaConfig(**dict(SHAPE, num_key_value_heads=kv_heads)))
        cache = model.allocate_cache(batch_size=1, max_length=96)
        sizes[kv_heads] = sum(layer.keys.nbytes + layer.values.nbytes for layer in cache) // 96
        assert sizes[kv_heads] == 2 * SHAPE["num_hidden_layers"] * kv_heads * 8 * 4  # k and v, layers, heads, head_dim
        assert decoding_bytes(model, 10) - decoding_bytes(model, 0) == 10 * sizes[kv_heads]
        embedding = SHAPE["vocab_size"] * SHAPE["hidden_size"] * 4
        assert decoding_bytes(model, 0) == 4 * model.num_parameters() - embedding + SHAPE["hidden_size"] * 4
    assert sizes[8] == 4 * sizes[2]
    tied = LlamaForCausalLM(LlamaConfig(**dict(SHAPE, tie_word_embeddings=True)))
    assert decoding_bytes(tied, 0) == 4 * tied.num_parameters()  # the head reads the whole shared matrix
    assert tied.to(torch.bfloat16).allocate_cache(1, 4)[0].keys.dtype == torch.bfloat16


def test_the_text_generation_pipeline_loads_a_llama_folder_and_writes_transformers_text(tmp_path):
    tokenizer = load_tokenizer(SHAKESPEARE_GPT)
    reference = reference_model("Llama", dict(SHAPE, vocab_size=len(tokenizer), max_position_embeddings=128))
    reference.save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(SHAKESPEARE_GPT / name, tmp_path / name)
    generator = pipeline("text-generation", model=str(tmp_path))
    assert type(generator.model) is LlamaForCausalLM
    for prompt in ("ROMEO:", "JULIET:\nO"):
        ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False).ids])
        theirs = reference.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=20, do_sample=False,
                                    pad_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
        new = theirs[0, ids.size(1):].tolist()
        new = new[:new.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in new else new
        assert generator(prompt, max_new_tokens=20)[0]["generated_text"] == prompt + tokenizer.decode(new)


# --- bad input --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"num_key_value_heads": 3}, r"num_attention_heads=8 is not a multiple of num_key_value_heads=3.*\[1, 2, 4, 8\]"),
    ({"rope_theta": 0}, r"rope_theta=0.0, but the base of the rotary frequencies must be above 0"),
    ({"rope_theta": -5.0}, r"rope_theta=-5.0"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, r"rope scaling of type 'llama3'.*not implemented"),
    ({"rope_scaling": {"type": "linear", "factor": 2.0}}, r"rope scaling of type 'linear'"),
    ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4, "factor": 4.0}}, r"rope scaling of type 'yarn'"),
    ({"hidden_size": 60}, r"hidden_size=60 does not divide into num_attention_heads=8 heads"),
    ({"head_dim": 7}, r"head_dim=7 is odd"),
    ({"num_key_value_heads": 0}, r"num_key_value_heads=0, but it must be a positive whole number"),
    ({"use_sliding_window": True}, r"sliding-window attention .* is not implemented"),
])
def test_bad_configs_say_what_is_wrong(change, message):
    with pytest.raises(ConfigError, match=message):
        LlamaConfig.from_dict({**SHAPE, **change}, "config.json")


def test_a_config_made_in_code_is_checked_when_the_model_is_built():
    with pytest.raises(ConfigError, match=r"num_key_value_heads=3"):
        LlamaForCausalLM(LlamaConfig(**dict(SHAPE, num_key_value_heads=3)))
    with pytest.raises(ConfigError, match=r"rope_theta=0"):
        LlamaModel(LlamaConfig(**dict(SHAPE, rope_theta=0.0)))
    with pytest.raises(ConfigError, match=r"Qwen2 always has query, key and value biases"):
        Qwen2ForCausalLM(Qwen2Config(**dict(SHAPE, attention_bias=False)))


def test_positions_past_max_position_embeddings_are_refused():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SHAPE)).eval()
    with pytest.raises(ValueError, match=r"97 tokens is longer than the model's 96 positions"):
        model(torch.zeros(1, 97, dtype=torch.long))
    with torch.no_grad():
        past = model(torch.zeros(1, 96, dtype=torch.long), use_cache=True).past_key_values
    with pytest.raises(ValueError, match=r"97 tokens is longer"):
        model(torch.zeros(1, 1, dtype=torch.long), past_key_values=past)
    with pytest.raises(ValueError, match=r"position_ids go up to 96, past the model's max_position_embeddings=96"):
        model(torch.zeros(1, 2, dtype=torch.long), position_ids=torch.tensor([[95, 96]]))
    # chapter 8's generate keeps the last 96 tokens instead of failing
    assert generate(model, torch.zeros(1, 90, dtype=torch.long), 10).shape == (1, 100)


def test_a_cache_allocated_once_refuses_what_does_not_fit():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SHAPE)).eval()
    with pytest.raises(ValueError, match=r"holds 10 tokens and has 0: 11 more do not fit"):
        model(torch.zeros(2, 11, dtype=torch.long), past_key_values=model.allocate_cache(2, 10))
    with pytest.raises(ValueError, match=r"allocated for a batch of 2, not 1"):  # never broadcast over the batch
        model(torch.zeros(1, 1, dtype=torch.long), past_key_values=model.allocate_cache(2, 10))
    cache = KeyValueCache(batch_size=1, num_key_value_heads=2, max_length=3, head_dim=4)
    cache.update(torch.ones(1, 2, 3, 4), torch.ones(1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"holds 3 tokens and has 3: 1 more do not fit"):
        cache.update(torch.ones(1, 2, 1, 4), torch.ones(1, 2, 1, 4))
