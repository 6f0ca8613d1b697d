"""Chapter 10: the encoder-decoder (Marian and BART shapes), seq2seq generation and beam search, and the
text2text pipelines, against 🤗 Transformers on random-weight checkpoints it saves (no trained Marian or BART
checkpoint is in the offline cache)."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
import transformers
from safetensors.torch import load_file

from course_lib.beam_search import generate
from course_lib.config import AutoConfig, ConfigError
from course_lib.encoder_decoder import BartForConditionalGeneration, MarianConfig, MarianMTModel
from course_lib.modeling import AutoModelForSeq2SeqLM
from course_lib.pipelines import pipeline
from course_lib.tokenizer_json import load_tokenizer


transformers.logging.set_verbosity_error()

SIZES = dict(vocab_size=99, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
             decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64)


def reference_model(kind: str, seed: int = 0, **overrides):
    """A random-weight 🤗 model of each family; layer norms and the logits bias randomised too (saved as trained)."""
    torch.manual_seed(seed)
    sizes = SIZES | overrides
    if kind == "marian":
        config = transformers.MarianConfig(**sizes, pad_token_id=sizes["vocab_size"] - 1, eos_token_id=0,
                                           decoder_start_token_id=sizes["vocab_size"] - 1, forced_eos_token_id=0,
                                           scale_embedding=True, activation_function="swish")
        model = transformers.MarianMTModel(config)
    else:
        model = transformers.BartForConditionalGeneration(transformers.BartConfig(**sizes))
    with torch.no_grad():
        model.final_logits_bias.normal_()
        for name, p in model.named_parameters():
            if "layer_norm" in name or "layernorm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
    return model.eval()


@pytest.fixture(scope="module", params=["marian", "bart"])
def pair(request, tmp_path_factory):
    theirs = reference_model(request.param)
    folder = tmp_path_factory.mktemp(request.param)
    theirs.save_pretrained(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing or unused tensor warns: fail instead
        ours = AutoModelForSeq2SeqLM.from_pretrained(folder)
    return request.param, theirs, ours, folder


def batch(vocab: int = 99, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    source = torch.randint(3, vocab - 2, (3, 9), generator=g)
    mask = torch.ones_like(source)
    mask[1, 6:] = 0  # padding on the right
    mask[2, :3] = 0  # and on the left
    target = torch.randint(3, vocab - 2, (3, 7), generator=g)
    return source, mask, target


def test_loads_every_tensor_into_the_right_class(pair):
    kind, _, ours, _ = pair
    assert type(ours) is {"marian": MarianMTModel, "bart": BartForConditionalGeneration}[kind]
    assert ours.loading_report.missing == [] and ours.loading_report.unexpected == []


def test_logits_and_loss_match(pair):
    _, theirs, ours, _ = pair
    source, mask, target = batch()
    decoder_mask = torch.ones_like(target)
    decoder_mask[0, 5:] = 0
    labels = target.masked_fill(decoder_mask == 0, -100)
    with torch.no_grad():
        a = theirs(input_ids=source, attention_mask=mask, decoder_input_ids=target, decoder_attention_mask=decoder_mask)
        b = ours(source, mask, target, decoder_mask)
        assert torch.allclose(a.logits, b.logits, atol=1e-5)
        assert ours(source, mask, labels=labels).loss.item() == pytest.approx(
            theirs(input_ids=source, attention_mask=mask, labels=labels).loss.item(), abs=1e-5)


def test_cache_step_by_step_equals_one_pass(pair):
    _, _, ours, _ = pair
    source, mask, target = batch()
    with torch.no_grad():
        full = ours(source, mask, target).logits
        encoded = ours.get_encoder()(source, mask)
        past, steps = None, []
        for t in range(target.size(1)):
            out = ours(attention_mask=mask, decoder_input_ids=target[:, t:t + 1], encoder_outputs=encoded,
                       past_key_values=past, use_cache=True)
            past, steps = out.past_key_values, steps + [out.logits]
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)


def test_transformers_loads_what_we_save(pair, tmp_path):
    kind, theirs, ours, _ = pair
    ours.save_pretrained(tmp_path)
    saved = load_file(str(tmp_path / "model.safetensors"))
    assert "lm_head.weight" not in saved and "model.encoder.embed_tokens.weight" not in saved  # tied: stored once
    back = type(theirs).from_pretrained(tmp_path).eval()
    source, mask, target = batch()
    with torch.no_grad():
        assert torch.allclose(back(input_ids=source, attention_mask=mask, decoder_input_ids=target).logits,
                              ours(source, mask, target).logits, atol=1e-5)


SETTINGS = [
    dict(max_new_tokens=15),
    dict(max_new_tokens=15, num_beams=4),
    dict(max_length=12, num_beams=4, length_penalty=2.0, no_repeat_ngram_size=2),
    dict(max_new_tokens=10, num_beams=3, early_stopping=True, num_return_sequences=2),
    dict(max_new_tokens=20, num_beams=5, length_penalty=0.5, early_stopping="never", num_return_sequences=3),
    dict(max_new_tokens=12, no_repeat_ngram_size=3, repetition_penalty=1.3, min_length=5),
    dict(max_new_tokens=12, num_beams=4, min_length=6, bad_words_ids=[[7], [9]], renormalize_logits=True),
    dict(max_new_tokens=8, num_beams=2, forced_bos_token_id=5),
]


@pytest.mark.parametrize("kind", ["marian", "bart"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generate_is_token_identical_to_transformers(kind, seed, tmp_path):
    theirs = reference_model(kind, seed, vocab_size=50, init_std=0.3)  # peaked: hypotheses end early, and differ
    theirs.save_pretrained(tmp_path)
    ours = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    source, mask, _ = batch(vocab=50, seed=seed)
    ended_early = 0
    for s in SETTINGS:
        expected = theirs.generate(input_ids=source, attention_mask=mask, **s)
        got = generate(ours, source, mask, **s)
        assert torch.equal(got, expected), s
        assert torch.equal(generate(ours, source, mask, use_cache=False, **s), got), s
        ended_early += int((got == ours.config.eos_token_id).any(1).sum())
    assert ended_early > 0  # the end-of-sequence logic was exercised


def test_generation_config_gives_the_defaults(tmp_path):
    theirs = reference_model("bart", 1, vocab_size=50, init_std=0.3)
    theirs.generation_config.num_beams = 3
    theirs.generation_config.no_repeat_ngram_size = 2
    theirs.generation_config.max_length = 14
    theirs.save_pretrained(tmp_path)
    ours = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    assert ours.generation_config["num_beams"] == 3
    source, mask, _ = batch(vocab=50, seed=3)
    assert torch.equal(generate(ours, source, mask), theirs.generate(input_ids=source, attention_mask=mask))
    ours.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "generation_config.json").read_text())["num_beams"] == 3


def test_sampling_is_seeded_and_draws_distinct_sequences(pair):
    _, _, ours, _ = pair
    source, mask, _ = batch()
    draw = [generate(ours, source, mask, do_sample=True, max_new_tokens=10, num_return_sequences=3,
                     generator=torch.Generator().manual_seed(0)) for _ in range(2)]
    assert torch.equal(draw[0], draw[1]) and draw[0].size(0) == 9
    assert len({tuple(row) for row in draw[0].tolist()}) > 3


@pytest.mark.parametrize("bad, message", [
    (dict(num_beams=0), "num_beams"), (dict(num_beams=2, num_return_sequences=3), "more than num_beams"),
    (dict(num_return_sequences=2), "greedy decoding gives one answer"), (dict(max_length=1000), "positions"),
    (dict(max_new_tokens=0), "at least 1"), (dict(num_beams=2, do_sample=True), "not implemented"),
    (dict(early_stopping="sometimes"), "early_stopping"), (dict(bad_words_ids=[[1, 2]]), "single tokens"),
])
def test_bad_generation_settings_say_what_to_do(pair, bad, message):
    _, _, ours, _ = pair
    source, mask, _ = batch()
    with pytest.raises(ValueError, match=message):
        generate(ours, source, mask, **bad)


def test_source_longer_than_the_positions_is_refused_by_the_model(pair):
    _, _, ours, _ = pair
    with pytest.raises(ValueError, match="longer than the model's 64 positions"):
        ours.get_encoder()(torch.ones(1, 65, dtype=torch.long))


def test_decoder_only_checkpoint_in_the_seq2seq_auto_class(tmp_path):
    transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)).save_pretrained(
        tmp_path)
    with pytest.raises(ConfigError, match="AutoModelForSeq2SeqLM has no course_lib model for model_type 'gpt2'"):
        AutoModelForSeq2SeqLM.from_pretrained(tmp_path)


def test_auto_config_knows_the_later_families(pair):
    kind, _, _, folder = pair
    assert AutoConfig.from_pretrained(folder).model_type == kind


def test_separate_target_vocabulary_is_refused():
    with pytest.raises(ConfigError, match="separate source and target vocabularies"):
        MarianConfig.from_dict({"vocab_size": 10, "decoder_vocab_size": 12, "pad_token_id": 9,
                                "decoder_start_token_id": 9})


# --- pipelines --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bart_folder(tmp_path_factory):
    """A random BART with a byte-level BPE tokenizer.json made by 🤗 tokenizers with RoBERTa's post-processor,
    as BART's checkpoints ship it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from course_lib.hub import load_hub_dataset

    texts = list(load_hub_dataset("nyu-mll/glue", "sst2", split="validation")["sentence"])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    folder = tmp_path_factory.mktemp("bart")
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
         "unk_token": "<unk>", "mask_token": "<mask>", "model_max_length": 64}))
    reference_model("bart", 0, vocab_size=300, init_std=0.2).save_pretrained(folder)
    return folder, texts


def test_roberta_post_processor_matches_tokenizers(bart_folder):
    from tokenizers import Tokenizer

    folder, texts = bart_folder
    theirs, ours = Tokenizer.from_file(str(folder / "tokenizer.json")), load_tokenizer(folder)
    for a, b in zip(texts[:300], texts[1:301]):
        for x, y in ((theirs.encode(a), ours.encode(a)), (theirs.encode(a, b), ours.encode(a, b))):
            assert (x.ids, x.offsets, x.type_ids) == (y.ids, y.offsets, y.type_ids)


def test_summarization_pipeline_answers_like_transformers(bart_folder):
    """🤗 Transformers 5 removed its summarization and translation pipelines; they were its tokenizer, `generate`
    and `batch_decode`, which are the reference here."""
    folder, texts = bart_folder
    ours = pipeline("summarization", model=folder, batch_size=2)
    model = transformers.BartForConditionalGeneration.from_pretrained(str(folder)).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    settings = dict(num_beams=3, max_new_tokens=12, no_repeat_ngram_size=2)
    texts = [t for t in texts if len(t.split()) < 15][:5]  # within the model's 64 positions
    expected = []
    for text in texts:
        ids = model.generate(**tokenizer([text], return_tensors="pt"), **settings)
        expected.append(tokenizer.decode(ids[0], skip_special_tokens=True).strip())
    assert ours(texts, **settings) == [{"summary_text": e} for e in expected]
    single = ours(texts[0], num_return_sequences=2, **settings)
    assert len(single) == 2 and single[0] == {"summary_text": expected[0]}


def test_text2text_pipeline_bad_input(bart_folder):
    folder, texts = bart_folder
    generator = pipeline("text2text-generation", model=folder, max_new_tokens=5)
    assert generator(["", texts[0], "  "])[0] == {"generated_text": ""}
    assert generator("") == [{"generated_text": ""}]
    with pytest.warns(UserWarning, match="truncated"):
        generator("word " * 200)
    with pytest.raises(TypeError, match="unknown generation setting"):
        generator(texts[0], beams=4)
    with pytest.raises(TypeError, match="takes a string or a list of strings"):
        generator(42)
    with pytest.raises(ValueError, match="no default model"):
        pipeline("translation_fr_to_en")
    with pytest.raises(ValueError, match="no default model"):
        pipeline("summarization")


def test_text2text_pipeline_refuses_a_decoder():
    from course_lib.gpt2 import GPT2LMHeadModel
    from course_lib.pretraining import SHAKESPEARE_GPT

    with pytest.raises(TypeError, match="needs an encoder-decoder model"):
        pipeline("text2text-generation", model=GPT2LMHeadModel.from_pretrained(SHAKESPEARE_GPT),
                 tokenizer=SHAKESPEARE_GPT)
