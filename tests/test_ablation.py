"""Chapter 12.2: the arms of the ablation (chapter 7's GPT-2 changed one part at a time) and the table the sweep wrote.

The table, course_lib/results/modern_ablation.json, comes from tools/ablation_modern.py (`make ablation`, about 15
minutes): these tests tie it to the code that made it (its fingerprint), and check every figure the code can recompute
without training (parameters, widths, cache sizes, the steps each arm's measured time allowed).
"""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.ablation import (
    ARMS,
    GPT2StyleAttention,
    arm_width,
    build_arm,
    cache_values_per_token,
    count_parameters,
    drop_biases,
    gpt2_variant,
    llama_config,
    load_ablation_table,
    steps_in_budget,
    use_rmsnorm,
)
from course_lib.attention import causal_mask
from course_lib.config import ConfigError, GPT2Config
from course_lib.gpt2 import GPT2LMHeadModel
from course_lib.llama import LlamaForCausalLM, RMSNorm
from tools.ablation_modern import recipe_fingerprint


CONFIG = GPT2Config(vocab_size=1024, n_positions=64, n_embd=128, n_layer=4, n_head=4, resid_pdrop=0.0,
                    embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)


@pytest.mark.parametrize("name", list(ARMS))
def test_every_arm_has_gpt2s_parameter_count(name):
    gpt2 = GPT2LMHeadModel(CONFIG).num_parameters()
    model = build_arm(name, CONFIG)
    assert abs(model.num_parameters() - gpt2) / gpt2 < 5e-4
    assert count_parameters(lambda: build_arm(name, CONFIG)) == model.num_parameters()
    ids = torch.randint(0, 1024, (2, 64))
    assert model(ids, labels=ids).loss.isfinite()


def test_meta_counting_draws_no_random_numbers():
    torch.manual_seed(0)
    arm_width("grouped_query", CONFIG)
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), after)


def test_each_change_changes_what_it_says():
    rms = gpt2_variant(CONFIG, rmsnorm=True)
    assert not any(isinstance(m, torch.nn.LayerNorm) for m in rms.modules())
    assert sum(isinstance(m, RMSNorm) for m in rms.modules()) == 2 * CONFIG.n_layer + 1
    rotary = gpt2_variant(CONFIG, rotary=True)
    assert not any("wpe" in name for name, _ in rotary.named_parameters())
    assert all(block.attn.rotary is not None for block in rotary.transformer.h)
    grouped = gpt2_variant(CONFIG, num_key_value_heads=2)
    assert all(block.attn.rotary is None for block in grouped.transformer.h)
    assert cache_values_per_token(grouped) == cache_values_per_token(GPT2LMHeadModel(CONFIG)) // 2
    swiglu = gpt2_variant(CONFIG, swiglu=True, width=341)
    assert swiglu.transformer.h[0].mlp.gate_proj.out_features == 341
    no_bias = drop_biases(GPT2LMHeadModel(CONFIG))
    assert not [name for name, _ in no_bias.named_parameters() if name.endswith("bias")]
    assert use_rmsnorm(GPT2LMHeadModel(CONFIG)).num_parameters() == GPT2LMHeadModel(CONFIG).num_parameters() - 9 * 128


def test_the_wrapper_without_rotation_is_gpt2s_attention():
    torch.manual_seed(0)
    theirs = GPT2LMHeadModel(CONFIG).transformer.h[0].attn.eval()
    ours = GPT2StyleAttention(CONFIG, num_key_value_heads=4, rotary=False).eval()
    with torch.no_grad():
        for projection, weight, bias in zip((ours.attn.q_proj, ours.attn.k_proj, ours.attn.v_proj),
                                            theirs.c_attn.weight.split(128), theirs.c_attn.bias.split(128)):
            projection.weight.copy_(weight)
            projection.bias.copy_(bias)
        ours.attn.o_proj.load_state_dict(theirs.c_proj.state_dict())
        x, mask = torch.randn(2, 10, 128), causal_mask(10, 10, torch.float32, torch.device("cpu"))
        torch.testing.assert_close(ours(x, mask)[0], theirs(x, mask)[0], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("changes", [{"rotary": True}, {"num_key_value_heads": 2}])
def test_the_wrapper_continues_positions_after_the_cache(changes):
    torch.manual_seed(0)
    model = gpt2_variant(CONFIG, **changes).eval()
    ids = torch.randint(0, 1024, (2, 20))
    with torch.no_grad():
        full = model(ids).logits
        out = model(ids[:, :12], use_cache=True)
        steps = [out.logits]
        for t in range(12, 20):
            out = model(ids[:, t:t + 1], past_key_values=out.past_key_values, use_cache=True)
            steps.append(out.logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-4)


def test_gpt2_with_all_five_changes_is_llama():
    """The same weights under Llama's names give the same logits: the ablation's steps lead to chapter 12's model."""
    torch.manual_seed(0)
    width = 393
    ours = gpt2_variant(CONFIG, rmsnorm=True, rotary=True, swiglu=True, num_key_value_heads=2, bias=False,
                        width=width).eval()
    llama = LlamaForCausalLM(llama_config(CONFIG, width)).eval()
    names = {"transformer.wte": "model.embed_tokens", "transformer.ln_f": "model.norm", "transformer.h.": "model.layers.",
             ".ln_1": ".input_layernorm", ".ln_2": ".post_attention_layernorm", ".attn.attn.": ".self_attn."}
    state = {}
    for name, tensor in ours.state_dict().items():
        for old, new in names.items():
            name = name.replace(old, new)
        state[name] = tensor
    missing, unexpected = llama.load_state_dict(state, strict=False)
    assert set(missing) <= {"lm_head.weight"} and not unexpected  # the head is tied to the embeddings
    ids = torch.randint(0, 1024, (2, 64))
    with torch.no_grad():
        torch.testing.assert_close(llama(ids).logits, ours(ids).logits, atol=1e-6, rtol=1e-5)


def test_steps_in_budget():
    assert steps_in_budget(450, 1.0, 1.0) == 450
    assert steps_in_budget(450, 1.0, 1.25) == 360
    assert steps_in_budget(450, 0.2, 0.1) == 900


def test_bad_arms_and_shapes_are_refused_clearly():
    with pytest.raises(ValueError, match="the arms are gpt2, rmsnorm"):
        build_arm("mistral", CONFIG)
    with pytest.raises(ConfigError, match="not a multiple of num_key_value_heads=3"):
        gpt2_variant(CONFIG, num_key_value_heads=3)


# --- the table the sweep wrote -----------------------------------------------------------------------------------

TABLE = load_ablation_table()


def test_the_table_was_made_by_the_code_as_it_is():
    assert TABLE["provenance"]["fingerprint"] == recipe_fingerprint(), (
        "course_lib/ablation.py or tools/ablation_modern.py changed since the table was made: run `make ablation` "
        "(about 15 minutes) and commit course_lib/results/modern_ablation.json")


def test_the_table_has_every_arm_with_the_figures_the_code_gives():
    assert [row["name"] for row in TABLE["arms"]] == list(ARMS)
    for row in TABLE["arms"]:
        model = build_arm(row["name"], CONFIG)
        assert row["label"] == ARMS[row["name"]][0]
        assert row["parameters"] == model.num_parameters()
        assert row["feed_forward_width"] == arm_width(row["name"], CONFIG)
        assert row["cache_values_per_token"] == cache_values_per_token(model)


def test_the_table_holds_the_time_budget():
    provenance, (gpt2, *others) = TABLE["provenance"], TABLE["arms"]
    assert gpt2["steps"] == provenance["budget_steps"] == 450
    for row in others:
        assert row["steps"] == steps_in_budget(450, gpt2["seconds_per_step"], row["seconds_per_step"])
    for row in TABLE["arms"]:
        assert [run["seed"] for run in row["runs"]] == provenance["seeds"]
        for run in row["runs"]:
            assert math.isclose(run["tokens_per_second"], row["steps"] * 64 * 64 / run["seconds"], rel_tol=1e-9)
            assert 1.0 < run["bits_per_char"] < 4.0
            assert math.isclose(run["bits_per_char"] / run["loss"], TABLE["arms"][0]["runs"][0]["bits_per_char"]
                                / TABLE["arms"][0]["runs"][0]["loss"], rel_tol=1e-9)  # one tokenizer, one text
