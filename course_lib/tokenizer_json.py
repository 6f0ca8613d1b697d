import json
from pathlib import Path

from huggingface_hub import snapshot_download

from course_lib.bpe import BPE
from course_lib.tokenizer import (
    BertPreTokenizer,
    ByteLevel,
    Padding,
    TemplateProcessing,
    Tokenizer,
    Truncation,
    WordPieceDecoder,
)
from course_lib.wordpiece import BertNormalizer, WordPiece


class TokenizerFileError(ValueError):
    """A tokenizer.json that course_lib cannot read: the message names the file and the field."""


class _Reader:
    """Reads fields of a tokenizer.json and names the file and the field in every error."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str) -> TokenizerFileError:
        return TokenizerFileError(f"{self.path}: field '{where}' {problem}")

    def get(self, obj, where: str, key: str, kind=None, default=...):
        if not isinstance(obj, dict):
            raise self.fail(where, f"should be an object, got {type(obj).__name__}")
        if key not in obj:
            if default is not ...:
                return default
            raise self.fail(f"{where}.{key}" if where else key, "is missing")
        value = obj[key]
        if kind is not None and value is not None and not isinstance(value, kind):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise self.fail(f"{where}.{key}" if where else key, f"should be {names}, got {type(value).__name__}")
        return value


SUPPORTED = {
    "normalizer": ["BertNormalizer"],
    "pre_tokenizer": ["BertPreTokenizer", "ByteLevel"],
    "model": ["WordPiece", "BPE"],
    "post_processor": ["TemplateProcessing", "BertProcessing", "ByteLevel"],
    "decoder": ["WordPiece", "ByteLevel"],
}


def _component(r: _Reader, data: dict, name: str):
    """The `type` of one component, checked against what course_lib implements (None when the field is null)."""
    part = r.get(data, "", name, dict, default=None)
    if part is None:
        if name == "model":
            raise r.fail("model", "is missing")
        return None, None
    kind = r.get(part, name, "type", str)
    if kind not in SUPPORTED[name]:
        raise r.fail(f"{name}.type", f"is {kind!r}, which course_lib does not implement "
                                     f"(it reads {', '.join(SUPPORTED[name])})")
    return kind, part


def _template(r: _Reader, items, where: str) -> list[tuple[str, int]]:
    out = []
    for i, item in enumerate(r.get({"x": items}, where, "x", list)):
        if not isinstance(item, dict) or len(item) != 1:
            raise r.fail(f"{where}[{i}]", "should be {\"SpecialToken\": ...} or {\"Sequence\": ...}")
        (kind, body), = item.items()
        if kind == "Sequence":
            out.append(("$A" if r.get(body, f"{where}[{i}].Sequence", "id", str) == "A" else "$B",
                        r.get(body, f"{where}[{i}].Sequence", "type_id", int)))
        elif kind == "SpecialToken":
            out.append((r.get(body, f"{where}[{i}].SpecialToken", "id", str),
                        r.get(body, f"{where}[{i}].SpecialToken", "type_id", int)))
        else:
            raise r.fail(f"{where}[{i}]", f"has unknown kind {kind!r}")
    return out


def tokenizer_from_dict(data: dict, path: Path | str = "tokenizer.json") -> Tokenizer:
    """Build a course_lib Tokenizer from the parsed contents of a 🤗 tokenizers tokenizer.json."""
    r = _Reader(Path(path))
    if not isinstance(data, dict):
        raise TokenizerFileError(f"{path}: should hold a JSON object, got {type(data).__name__}")

    kind, part = _component(r, data, "model")
    vocab = r.get(part, "model", "vocab", dict)
    if not all(isinstance(i, int) for i in vocab.values()):
        raise r.fail("model.vocab", "should map every token to an integer id")
    if kind == "WordPiece":
        model = WordPiece(vocab, r.get(part, "model", "unk_token", str, "[UNK]"),
                          r.get(part, "model", "continuing_subword_prefix", str, "##"),
                          r.get(part, "model", "max_input_chars_per_word", int, 100))
    else:
        for unsupported in ("continuing_subword_prefix", "end_of_word_suffix", "dropout"):
            if part.get(unsupported) not in (None, ""):
                raise r.fail(f"model.{unsupported}", "is set; course_lib's BPE supports only GPT-2 style (null)")
        merges = []
        for i, m in enumerate(r.get(part, "model", "merges", list)):
            pair = m.split(" ") if isinstance(m, str) else m
            if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(x, str) for x in pair):
                raise r.fail(f"model.merges[{i}]", f"should be \"a b\" or [\"a\", \"b\"], got {m!r}")
            merges.append(tuple(pair))
        try:
            model = BPE(vocab, merges, r.get(part, "model", "unk_token", str, None))
        except ValueError as e:
            raise r.fail("model.merges", f"is inconsistent with model.vocab: {e}") from None

    added = []
    for i, t in enumerate(r.get(data, "", "added_tokens", list, [])):
        content = r.get(t, f"added_tokens[{i}]", "content", str)
        token_id = r.get(t, f"added_tokens[{i}]", "id", int)
        if vocab.get(content, token_id) != token_id:
            raise r.fail(f"added_tokens[{i}].id", f"is {token_id} but model.vocab gives {content!r} id {vocab[content]}")
        added.append({"content": content, "id": token_id, "special": r.get(t, f"added_tokens[{i}]", "special", bool, True)})

    normalizer = None
    kind, part = _component(r, data, "normalizer")
    if kind == "BertNormalizer":
        normalizer = BertNormalizer(*(r.get(part, "normalizer", k, bool, d) for k, d in
                                      [("clean_text", True), ("handle_chinese_chars", True), ("strip_accents", None),
                                       ("lowercase", True)]))
    pre_tokenizer = None
    kind, part = _component(r, data, "pre_tokenizer")
    if kind == "BertPreTokenizer":
        pre_tokenizer = BertPreTokenizer()
    elif kind == "ByteLevel":
        pre_tokenizer = ByteLevel(*(r.get(part, "pre_tokenizer", k, bool, d) for k, d in
                                    [("add_prefix_space", False), ("trim_offsets", True), ("use_regex", True)]))

    post_processor, trim = None, False
    kind, part = _component(r, data, "post_processor")
    ids = {t["content"]: t["id"] for t in added} | vocab
    if kind == "TemplateProcessing":
        special = {}
        for name, spec in r.get(part, "post_processor", "special_tokens", dict).items():
            token_ids = r.get(spec, f"post_processor.special_tokens.{name}", "ids", list)
            special[name] = token_ids[0]
        post_processor = TemplateProcessing(_template(r, part.get("single"), "post_processor.single"),
                                            _template(r, part.get("pair"), "post_processor.pair"), special)
    elif kind == "BertProcessing":
        sep, cls = r.get(part, "post_processor", "sep", list), r.get(part, "post_processor", "cls", list)
        post_processor = TemplateProcessing([(cls[0], 0), ("$A", 0), (sep[0], 0)],
                                            [(cls[0], 0), ("$A", 0), (sep[0], 0), ("$B", 1), (sep[0], 1)],
                                            {cls[0]: cls[1], sep[0]: sep[1]})
    elif kind == "ByteLevel":
        trim = r.get(part, "post_processor", "trim_offsets", bool, True)

    decoder = None
    kind, part = _component(r, data, "decoder")
    if kind == "WordPiece":
        decoder = WordPieceDecoder(r.get(part, "decoder", "prefix", str, "##"), r.get(part, "decoder", "cleanup", bool, True))
    elif kind == "ByteLevel":
        decoder = pre_tokenizer if isinstance(pre_tokenizer, ByteLevel) else ByteLevel()

    truncation = None
    if (t := r.get(data, "", "truncation", dict, None)) is not None:
        strategy = {"LongestFirst": "longest_first", "OnlyFirst": "only_first", "OnlySecond": "only_second"}
        name = r.get(t, "truncation", "strategy", str, "LongestFirst")
        if name not in strategy:
            raise r.fail("truncation.strategy", f"is {name!r}; expected one of {', '.join(strategy)}")
        truncation = Truncation(r.get(t, "truncation", "max_length", int), strategy[name],
                                r.get(t, "truncation", "direction", str, "Right").lower())
    padding = None
    if (p := r.get(data, "", "padding", dict, None)) is not None:
        length = r.get(p, "padding", "strategy", (str, dict))
        padding = Padding(r.get(p, "padding", "pad_id", int, 0), r.get(p, "padding", "pad_token", str, "[PAD]"),
                          r.get(p, "padding", "pad_type_id", int, 0),
                          length.get("Fixed") if isinstance(length, dict) else None,
                          r.get(p, "padding", "pad_to_multiple_of", int, None),
                          r.get(p, "padding", "direction", str, "Right").lower())

    # Name the usual special tokens when the vocabulary has them (tokenizer_config.json may say more).
    names = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
             "mask_token": "[MASK]"}
    special_map = {name: token for name, token in names.items() if token in ids}
    if getattr(model, "unk_token", None):
        special_map["unk_token"] = model.unk_token
    tokenizer = Tokenizer(model, normalizer, pre_tokenizer, post_processor, decoder, added, truncation, padding,
                          special_map)
    tokenizer._trim = trim
    return tokenizer


def load_tokenizer_file(path: str | Path) -> Tokenizer:
    """Read a 🤗 tokenizers `tokenizer.json`; errors name the file and the field that is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist") from None
    except UnicodeDecodeError as e:
        raise TokenizerFileError(f"{path}: is not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        hint = " (the file looks truncated)" if e.pos >= len(text.rstrip()) - 1 else ""
        raise TokenizerFileError(f"{path}: is not valid JSON{hint}: {e.msg} at line {e.lineno}, column {e.colno}") from None
    return tokenizer_from_dict(data, path)


def load_tokenizer(name_or_path: str | Path, revision: str | None = None) -> Tokenizer:
    """A tokenizer from a folder, a tokenizer.json file, or a Hub repository id ("sentence-transformers/all-MiniLM-L6-v2").

    Reads tokenizer.json, and tokenizer_config.json when present (the model's maximum length, special tokens).
    """
    path = Path(name_or_path)
    if path.is_file():
        return load_tokenizer_file(path)
    if not path.is_dir():
        path = Path(snapshot_download(str(name_or_path), revision=revision,
                                      allow_patterns=["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]))
    if not (path / "tokenizer.json").exists():
        raise FileNotFoundError(f"{path} has no tokenizer.json (course_lib reads the 🤗 tokenizers format only)")
    tokenizer = load_tokenizer_file(path / "tokenizer.json")
    config_path = path / "tokenizer_config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        max_length = config.get("model_max_length")
        if isinstance(max_length, int) and max_length < 10**9:  # 🤗 writes a huge number for "no maximum"
            tokenizer.model_max_length = max_length
        for key, value in config.items():
            if key.endswith("_token") and isinstance(value, str) and value in tokenizer.model.vocab:
                tokenizer.special_tokens_map[key] = value
    return tokenizer


def tokenizer_to_dict(tokenizer: Tokenizer) -> dict:
    """The tokenizer.json contents for a course_lib Tokenizer, in the format 🤗 tokenizers reads."""
    model = tokenizer.model
    if isinstance(model, WordPiece):
        model_dict = {"type": "WordPiece", "unk_token": model.unk_token, "continuing_subword_prefix": model.prefix,
                      "max_input_chars_per_word": model.max_input_chars_per_word, "vocab": model.vocab}
    else:
        model_dict = {"type": "BPE", "dropout": None, "unk_token": model.unk_token, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": model.vocab, "merges": [list(m) for m in model.merges]}
    n = tokenizer.normalizer
    normalizer = None if n is None else {"type": "BertNormalizer", "clean_text": n.clean_text,
                                         "handle_chinese_chars": n.handle_chinese_chars,
                                         "strip_accents": n.strip_accents, "lowercase": n.lowercase}
    p = tokenizer.pre_tokenizer
    pre_tokenizer = {"type": "BertPreTokenizer"} if isinstance(p, BertPreTokenizer) else None if p is None else \
        {"type": "ByteLevel", "add_prefix_space": p.add_prefix_space, "trim_offsets": p.trim_offsets, "use_regex": p.use_regex}
    post = tokenizer.post_processor

    def template(items):
        return [{"Sequence": {"id": name[1], "type_id": t}} if name in ("$A", "$B")
                else {"SpecialToken": {"id": name, "type_id": t}} for name, t in items]

    if isinstance(post, TemplateProcessing):
        post_processor = {"type": "TemplateProcessing", "single": template(post.single), "pair": template(post.pair),
                          "special_tokens": {k: {"id": k, "ids": [v], "tokens": [k]} for k, v in post.special_tokens.items()}}
    elif tokenizer._trim and isinstance(p, ByteLevel):
        post_processor = {"type": "ByteLevel", "add_prefix_space": p.add_prefix_space, "trim_offsets": True, "use_regex": p.use_regex}
    else:
        post_processor = None
    d = tokenizer.decoder
    decoder = {"type": "WordPiece", "prefix": d.prefix, "cleanup": d.cleanup} if isinstance(d, WordPieceDecoder) else \
        None if d is None else {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    t = tokenizer.truncation
    truncation = None if t is None else {"direction": t.direction.capitalize(), "max_length": t.max_length, "stride": 0,
                                         "strategy": "".join(w.capitalize() for w in t.strategy.split("_"))}
    q = tokenizer.padding
    padding = None if q is None else {"strategy": {"Fixed": q.length} if q.length else "BatchLongest",
                                      "direction": q.direction.capitalize(), "pad_to_multiple_of": q.pad_to_multiple_of,
                                      "pad_id": q.pad_id, "pad_type_id": q.pad_type_id, "pad_token": q.pad_token}
    return {"version": "1.0", "truncation": truncation, "padding": padding, "added_tokens": tokenizer.added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
            "decoder": decoder, "model": model_dict}


def save_tokenizer(tokenizer: Tokenizer, folder: str | Path) -> Path:
    """Write tokenizer.json (and tokenizer_config.json for 🤗 Transformers) into `folder`; returns the json's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.json"
    path.write_text(json.dumps(tokenizer_to_dict(tokenizer), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "PreTrainedTokenizerFast", **tokenizer.special_tokens_map}
    if tokenizer.model_max_length:
        config["model_max_length"] = tokenizer.model_max_length
    (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
