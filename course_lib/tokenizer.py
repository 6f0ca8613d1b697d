import re
from dataclasses import dataclass, field

import torch

from course_lib.bpe import BPE, BYTE_TO_CHAR, CHAR_TO_BYTE
from course_lib.bpe_naive import WHITESPACE, gpt2_pattern
from course_lib.wordpiece import Normalized, bert_pre_tokenize


class BertPreTokenizer:
    """Words split on whitespace and punctuation; each word's units are its characters."""

    def split(self, text: str) -> list[tuple[str, list[int]]]:
        return [(text[s:e], list(range(s, e))) for s, e in bert_pre_tokenize(text)]


class ByteLevel:
    """GPT-2's pre-tokenizer and decoder: regex words, every UTF-8 byte one unit, shown as a printable character."""

    def __init__(self, add_prefix_space: bool = False, trim_offsets: bool = True, use_regex: bool = True):
        self.add_prefix_space, self.trim_offsets, self.use_regex = add_prefix_space, trim_offsets, use_regex

    def split(self, text: str) -> list[tuple[str, list[int]]]:
        # Offsets refer to `text`; a prefix space, when added, belongs to the first character.
        prefix = self.add_prefix_space and not text.startswith(" ")
        source = " " + text if prefix else text
        spans = [m.span() for m in gpt2_pattern().finditer(source)] if self.use_regex else [(0, len(source))]
        words = []
        for s, e in spans:
            chars, origin = [], []
            for i in range(s, e):
                encoded = source[i].encode("utf-8")
                chars.append("".join(BYTE_TO_CHAR[b] for b in encoded))
                origin += [max(i - prefix, 0)] * len(encoded)
            words.append(("".join(chars), origin))
        return words

    def decode(self, tokens: list[str]) -> str:
        data = bytearray()
        for token in tokens:
            if all(c in CHAR_TO_BYTE for c in token):
                data += bytes(CHAR_TO_BYTE[c] for c in token)
            else:  # an added token such as "<|endoftext|>" that is not byte-level text
                data += token.encode("utf-8")
        return data.decode("utf-8", errors="replace")


class WordPieceDecoder:
    """Join WordPiece tokens back into text: "##" pieces stick to the previous token, and spaces before
    punctuation and English contractions are cleaned up ("hello , world" -> "hello, world")."""

    def __init__(self, prefix: str = "##", cleanup: bool = True):
        self.prefix, self.cleanup = prefix, cleanup

    def decode(self, tokens: list[str]) -> str:
        out = []
        for i, token in enumerate(tokens):
            if i > 0 and token.startswith(self.prefix):
                out.append(token[len(self.prefix):])
            else:
                out.append((" " if i > 0 else "") + token)
        text = "".join(out)
        if self.cleanup:
            for dirty, clean in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                                 (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
                text = text.replace(dirty, clean)
        return text


@dataclass
class Encoding:
    """One encoded sequence (or pair): what 🤗 tokenizers calls an Encoding."""

    ids: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)  # (start, end) in characters of the input text
    type_ids: list[int] = field(default_factory=list)  # 0 for the first sequence, 1 for the second
    attention_mask: list[int] = field(default_factory=list)  # 1 for real tokens, 0 for padding
    special_tokens_mask: list[int] = field(default_factory=list)  # 1 for [CLS], [SEP], [PAD], ...
    word_ids: list[int | None] = field(default_factory=list)  # which word of its sequence each token comes from
    sequence_ids: list[int | None] = field(default_factory=list)  # 0 or 1; None for special tokens

    def __len__(self) -> int:
        return len(self.ids)

    def _keep(self, index: slice) -> "Encoding":
        return Encoding(*(getattr(self, f)[index] for f in self.__dataclass_fields__))


class TemplateProcessing:
    """Wrap sequences in special tokens: single "[CLS] $A [SEP]", pair "[CLS] $A [SEP] $B:1 [SEP]:1"."""

    def __init__(self, single: list[tuple[str, int]], pair: list[tuple[str, int]], special_tokens: dict[str, int]):
        # Each template item is (name, type id); "$A" and "$B" stand for the sequences, anything else is a token.
        self.single, self.pair, self.special_tokens = single, pair, special_tokens
        for name, _ in single + pair:
            if name not in ("$A", "$B") and name not in special_tokens:
                raise ValueError(f"template token {name!r} has no id; give it in special_tokens")

    def added_tokens(self, is_pair: bool) -> int:
        """How many special tokens the template adds."""
        return sum(1 for name, _ in (self.pair if is_pair else self.single) if name not in ("$A", "$B"))

    def process(self, first: Encoding, second: Encoding | None) -> Encoding:
        out = Encoding()
        for name, type_id in self.pair if second is not None else self.single:
            if name in ("$A", "$B"):
                part = first if name == "$A" else second
                out.ids += part.ids
                out.tokens += part.tokens
                out.offsets += part.offsets
                out.word_ids += part.word_ids
                out.sequence_ids += [0 if name == "$A" else 1] * len(part)
                out.special_tokens_mask += [0] * len(part)
                out.type_ids += [type_id] * len(part)
            else:
                out.ids.append(self.special_tokens[name])
                out.tokens.append(name)
                out.offsets.append((0, 0))
                out.word_ids.append(None)
                out.sequence_ids.append(None)
                out.special_tokens_mask.append(1)
                out.type_ids.append(type_id)
        out.attention_mask = [1] * len(out.ids)
        return out


def _trim_offsets(encoding: Encoding, add_prefix_space: bool) -> None:
    """ByteLevel's post-processing: offsets of tokens that start or end with spaces exclude those spaces."""
    space = BYTE_TO_CHAR[ord(" ")]
    for i, (token, (start, end)) in enumerate(zip(encoding.tokens, encoding.offsets)):
        lead = len(token) - len(token.lstrip(space + WHITESPACE))
        trail = len(token) - len(token.rstrip(space + WHITESPACE))
        if lead and (i == 0 or start == 0) and add_prefix_space and lead == 1:
            lead = 0
        if lead:
            start = min(start + lead, end)
        if trail and end >= trail:
            end = max(end - trail, start)
        encoding.offsets[i] = (start, end)


@dataclass
class Truncation:
    """Cut encodings to `max_length` tokens, special tokens included, as 🤗 tokenizers does."""

    max_length: int
    strategy: str = "longest_first"  # or "only_first", "only_second"
    direction: str = "right"  # keep the start ("right" cuts the end) or the end ("left")


@dataclass
class Padding:
    """Pad encodings with `pad_token` to the longest in the batch (length=None) or to a fixed length."""

    pad_id: int
    pad_token: str
    pad_type_id: int = 0
    length: int | None = None
    pad_to_multiple_of: int | None = None
    direction: str = "right"


TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")


def truncate(first: Encoding, second: Encoding | None, max_length: int, strategy: str = "longest_first",
             direction: str = "right") -> tuple[Encoding, Encoding | None]:
    """Shorten one sequence or a pair to `max_length` tokens in all, by 🤗 tokenizers' rules.

    "longest_first" takes tokens from the longer sequence until both fit (pairs that are both long get half each);
    "only_first" and "only_second" cut one sequence and fail if that is not enough.
    """
    if strategy not in TRUNCATION_STRATEGIES:
        raise ValueError(f"truncation strategy {strategy!r} is not one of {', '.join(TRUNCATION_STRATEGIES)}")

    def cut(e: Encoding, n: int) -> Encoding:
        return e._keep(slice(0, n) if direction == "right" else slice(len(e) - n, len(e)))

    total = len(first) + (len(second) if second is not None else 0)
    if total <= max_length:
        return first, second
    if strategy == "longest_first":
        if second is None:
            return cut(first, max_length), None
        n1, n2 = len(first), len(second)
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > max_length else max(n1, max_length - n1)
        if n1 + n2 > max_length:
            n1 = max_length // 2
            n2 = n1 + max_length % 2
        if swap:
            n1, n2 = n2, n1
        return cut(first, n1), cut(second, n2)
    if strategy == "only_second" and second is None:
        raise ValueError("truncation='only_second' needs a pair of sequences; got one")
    target = first if strategy == "only_first" else second
    if len(target) <= total - max_length:
        raise ValueError(f"cannot truncate to max_length={max_length} with {strategy!r}: that sequence has only "
                         f"{len(target)} tokens and {total - max_length} must go; use truncation='longest_first'")
    kept = cut(target, len(target) - (total - max_length))
    return (kept, second) if strategy == "only_first" else (first, kept)


def pad(encoding: Encoding, length: int, padding: Padding) -> Encoding:
    """Add padding tokens until `encoding` has `length` tokens (attention mask 0, offsets (0, 0))."""
    n = length - len(encoding)
    if n <= 0:
        return encoding
    extra = Encoding([padding.pad_id] * n, [padding.pad_token] * n, [(0, 0)] * n, [padding.pad_type_id] * n,
                     [0] * n, [1] * n, [None] * n, [None] * n)
    first, second = (encoding, extra) if padding.direction == "right" else (extra, encoding)
    return Encoding(*(getattr(first, f) + getattr(second, f) for f in Encoding.__dataclass_fields__))


class BatchEncoding(dict):
    """The dictionary a tokenizer call returns (`input_ids`, `attention_mask`, ...), with attribute access too."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _check_text(text, what: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string, got {type(text).__name__}: {text!r:.60}")
    for i, c in enumerate(text):
        if "\ud800" <= c <= "\udfff":
            raise ValueError(f"{what} has a lone surrogate U+{ord(c):04X} at position {i}, which is not valid Unicode "
                             "text (it often comes from decoding bytes with errors='surrogateescape'); "
                             "remove it or replace it, e.g. text.encode('utf-8', 'replace').decode()")
    return text


class Tokenizer:
    """A tokenizer pipeline: normalizer -> pre-tokenizer -> model -> post-processor, like 🤗 tokenizers', with the
    calling conventions of 🤗 Transformers' tokenizers (`tok(texts, padding=True, return_tensors="pt")`)."""

    def __init__(self, model, normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None,
                 added_tokens: list[dict] | None = None, truncation: Truncation | None = None,
                 padding: Padding | None = None, special_tokens_map: dict[str, str] | None = None,
                 model_max_length: int | None = None):
        self.model, self.normalizer, self.pre_tokenizer = model, normalizer, pre_tokenizer
        self.post_processor, self.decoder = post_processor, decoder
        self.truncation, self.padding = truncation, padding  # the defaults `encode` applies, as in tokenizer.json
        self.special_tokens_map = dict(special_tokens_map or {})  # "cls_token" -> "[CLS]", ...
        self.model_max_length = model_max_length
        self.added_tokens: list[dict] = []
        for token in added_tokens or []:
            self._add_token(token)

    # --- vocabulary ---------------------------------------------------------------------------------------------
    def _add_token(self, token: dict) -> None:
        content = token["content"]
        if not content:
            raise ValueError("an added token cannot be empty")
        if content not in self.model.vocab:  # a new token gets the next free id
            new_id = token.get("id", max(self.model.vocab.values(), default=-1) + 1)
            self.model.vocab[content] = new_id
            self.model.id_to_token[new_id] = content
        self.added_tokens = [t for t in self.added_tokens if t["content"] != content]
        self.added_tokens.append({"id": self.model.vocab[content], "content": content, "single_word": False,
                                  "lstrip": False, "rstrip": False, "normalized": False,
                                  "special": token.get("special", True)})
        # Added tokens are matched in the raw text before anything else, longest first.
        contents = sorted((t["content"] for t in self.added_tokens), key=len, reverse=True)
        self._added_pattern = re.compile("|".join(map(re.escape, contents)))

    def add_special_tokens(self, special_tokens: dict[str, str] | list[str]) -> int:
        """Add special tokens, e.g. {"mask_token": "[MASK]"} or ["<|user|>"]; returns how many are new."""
        items = special_tokens.items() if isinstance(special_tokens, dict) else [(None, t) for t in special_tokens]
        new = 0
        for name, content in items:
            if not isinstance(content, str) or not content:
                raise ValueError(f"special token {name or ''} must be a non-empty string, got {content!r}")
            new += content not in self.model.vocab
            self._add_token({"content": content, "special": True})
            if name:
                self.special_tokens_map[name] = content
        return new

    @property
    def vocab_size(self) -> int:
        return len(self.model.vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.model.vocab)

    def __len__(self) -> int:
        return len(self.model.vocab)

    @property
    def all_special_tokens(self) -> list[str]:
        return [t["content"] for t in self.added_tokens if t["special"]]

    @property
    def all_special_ids(self) -> list[int]:
        return [t["id"] for t in self.added_tokens if t["special"]]

    def __getattr__(self, name):
        # cls_token, sep_token, pad_token, unk_token, mask_token, bos_token, eos_token and their *_id.
        special = self.__dict__.get("special_tokens_map", {})
        if name.endswith("_token_id") and name[:-3] in special:
            return self.model.vocab[special[name[:-3]]]
        if name.endswith("_token") and name in special:
            return special[name]
        if name.endswith(("_token", "_token_id")):
            return None  # this tokenizer has no such token, as in 🤗 Transformers
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        """Token -> id; an unknown token gives the unknown token's id (or an error if there is none)."""
        if isinstance(tokens, str):
            if tokens in self.model.vocab:
                return self.model.vocab[tokens]
            unk = getattr(self.model, "unk_token", None)
            if unk is None:
                raise KeyError(f"{tokens!r} is not in the vocabulary and this tokenizer has no unknown token")
            return self.model.vocab[unk]
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | list[int]) -> str | list[str]:
        if isinstance(ids, int):
            if ids not in self.model.id_to_token:
                raise IndexError(f"id {ids} is not in the vocabulary (ids go from 0 to {len(self) - 1})")
            return self.model.id_to_token[ids]
        return [self.convert_ids_to_tokens(int(i)) for i in ids]

    # --- encoding -------------------------------------------------------------------------------------------------
    def _encode_text(self, text: str) -> Encoding:
        """Tokens of one sequence, no special tokens added: split off added tokens, then normalize, split, model."""
        out = Encoding()
        pieces, last = [], 0
        if self.added_tokens:
            for m in self._added_pattern.finditer(text):
                pieces += [(last, m.start(), None), (m.start(), m.end(), m.group())]
                last = m.end()
        pieces.append((last, len(text), None))
        word = 0
        for start, end, added in pieces:
            if added is not None:
                out.ids.append(self.model.vocab[added])
                out.tokens.append(added)
                out.offsets.append((start, end))
                out.word_ids.append(word)
                word += 1
                continue
            if start == end:
                continue
            normalized = Normalized(text[start:end], list(range(start, end)))
            if self.normalizer is not None:
                normalized = self.normalizer.normalize(normalized)
            words = self.pre_tokenizer.split(normalized.text) if self.pre_tokenizer else \
                [(normalized.text, list(range(len(normalized.text))))]
            for chars, origin in words:
                for token_id, s, e in self._model_pieces(chars):
                    out.ids.append(token_id)
                    out.tokens.append(self.model.id_to_token[token_id])
                    out.offsets.append((normalized.origin[origin[s]], normalized.origin[origin[e - 1]] + 1))
                    out.word_ids.append(word)
                word += 1
        n = len(out.ids)
        out.type_ids, out.attention_mask, out.special_tokens_mask = [0] * n, [1] * n, [0] * n
        out.sequence_ids = [0] * n
        return out

    def _model_pieces(self, word: str) -> list[tuple[int, int, int]]:
        if isinstance(self.model, BPE):  # BPE returns ids; their tokens' lengths give the spans
            pieces, pos = [], 0
            for token_id in self.model.tokenize_word(word):
                size = len(self.model.id_to_token[token_id])
                pieces.append((token_id, pos, pos + size))
                pos += size
            return pieces
        return self.model.tokenize_word(word)

    def _n_added(self, is_pair: bool) -> int:
        return self.post_processor.added_tokens(is_pair) if self.post_processor else 0

    def _finish(self, first: Encoding, second: Encoding | None, add_special_tokens: bool,
                truncation: Truncation | None) -> Encoding:
        if truncation is not None:
            room = truncation.max_length - (self._n_added(second is not None) if add_special_tokens else 0)
            if room < 0:
                specials = self._n_added(second is not None)
                raise ValueError(f"max_length={truncation.max_length} leaves no room for the {specials} special tokens "
                                 f"this tokenizer adds; use max_length >= {specials} or add_special_tokens=False")
            first, second = truncate(first, second, room, truncation.strategy, truncation.direction)
        if second is not None:
            second.type_ids = [1] * len(second)
            second.sequence_ids = [1] * len(second)
        if add_special_tokens and self.post_processor is not None:
            out = self.post_processor.process(first, second)
        else:
            out = first if second is None else Encoding(
                *(getattr(first, f) + getattr(second, f) for f in Encoding.__dataclass_fields__))
        if isinstance(self.pre_tokenizer, ByteLevel) and self.pre_tokenizer.trim_offsets and self._trim:
            _trim_offsets(out, self.pre_tokenizer.add_prefix_space)
        return out

    _trim = False  # set when the tokenizer.json has a ByteLevel post-processor that trims offsets

    def encode(self, text: str, pair: str | None = None, add_special_tokens: bool = True) -> Encoding:
        """Encode one text (or a pair) with this tokenizer's own truncation and padding, like 🤗 tokenizers."""
        first = self._encode_text(_check_text(text))
        second = self._encode_text(_check_text(pair, "pair")) if pair is not None else None
        out = self._finish(first, second, add_special_tokens, self.truncation)
        return self._pad([out], self.padding)[0]

    def encode_batch(self, texts: list, add_special_tokens: bool = True) -> list[Encoding]:
        """Encode texts, or (text, pair) tuples, and pad them together if this tokenizer pads."""
        encodings = []
        for item in texts:
            text, pair = item if isinstance(item, tuple | list) else (item, None)
            first = self._encode_text(_check_text(text))
            second = self._encode_text(_check_text(pair, "pair")) if pair is not None else None
            encodings.append(self._finish(first, second, add_special_tokens, self.truncation))
        return self._pad(encodings, self.padding)

    @staticmethod
    def _pad(encodings: list[Encoding], padding: Padding | None) -> list[Encoding]:
        if padding is None or not encodings:
            return encodings
        length = padding.length if padding.length is not None else max(map(len, encodings))
        if padding.pad_to_multiple_of:
            length = -(-length // padding.pad_to_multiple_of) * padding.pad_to_multiple_of
        return [pad(e, length, padding) for e in encodings]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False) -> list[str]:
        """The tokens of a text: "Hello there!" -> ['hello', 'there', '!'] (no special tokens unless asked)."""
        first = self._encode_text(_check_text(text))
        second = self._encode_text(_check_text(pair, "pair")) if pair is not None else None
        return self._finish(first, second, add_special_tokens, None).tokens

    def __call__(self, text, text_pair=None, padding=False, truncation=None, max_length: int | None = None,
                 return_tensors: str | None = None, add_special_tokens: bool = True,
                 return_attention_mask: bool = True, return_token_type_ids: bool = True,
                 return_offsets_mapping: bool = False, return_special_tokens_mask: bool = False,
                 pad_to_multiple_of: int | None = None) -> BatchEncoding:
        """Encode a text or a batch, as 🤗 Transformers' tokenizers do.

        padding: False, True or "longest" (to the longest in the batch), "max_length" (to `max_length`).
        truncation: False, True or "longest_first", "only_first", "only_second"; to `max_length`, which defaults to
        the model's maximum. return_tensors="pt" gives PyTorch tensors (of shape (batch, length)).
        """
        batched = isinstance(text, list | tuple)
        texts = list(text) if batched else [text]
        if batched and not texts:
            raise ValueError("the batch is empty: give at least one text")
        if text_pair is not None:
            pairs = list(text_pair) if batched else [text_pair]
            if batched != isinstance(text_pair, list | tuple) or len(pairs) != len(texts):
                raise ValueError(f"text_pair must match text: {len(texts)} text(s) and "
                                 f"{len(pairs) if isinstance(text_pair, list | tuple) else 1} pair(s)")
        else:
            pairs = [None] * len(texts)

        if truncation is True or (truncation is None and max_length is not None and padding != "max_length"):
            truncation = "longest_first"
        if max_length is None and (truncation or padding == "max_length"):
            max_length = self.model_max_length
            if max_length is None:
                raise ValueError("this tokenizer has no model_max_length: give max_length")
        trunc = Truncation(max_length, truncation) if truncation else None

        encodings = []
        for t, p in zip(texts, pairs):
            first = self._encode_text(_check_text(t))
            second = self._encode_text(_check_text(p, "text_pair")) if p is not None else None
            encodings.append(self._finish(first, second, add_special_tokens, trunc))

        if padding is True or padding == "longest":
            length = None
        elif padding == "max_length":
            length = max_length
        elif padding in (False, None, "do_not_pad"):
            length = -1
        else:
            raise ValueError(f"padding={padding!r}: use True or 'longest', 'max_length', or False")
        if length != -1:
            if self.pad_token is None:
                raise ValueError("this tokenizer has no pad_token: add one with add_special_tokens({'pad_token': ...})")
            encodings = self._pad(encodings, Padding(self.pad_token_id, self.pad_token, length=length,
                                                     pad_to_multiple_of=pad_to_multiple_of))

        columns = {"input_ids": [e.ids for e in encodings]}
        if return_token_type_ids:
            columns["token_type_ids"] = [e.type_ids for e in encodings]
        if return_attention_mask:
            columns["attention_mask"] = [e.attention_mask for e in encodings]
        if return_special_tokens_mask:
            columns["special_tokens_mask"] = [e.special_tokens_mask for e in encodings]
        if return_offsets_mapping:
            columns["offset_mapping"] = [e.offsets for e in encodings]
        if return_tensors == "pt":
            lengths = {len(e) for e in encodings}
            if len(lengths) > 1:
                raise ValueError(f"sequences have different lengths ({min(lengths)} to {max(lengths)} tokens), so they "
                                 "cannot form one tensor: use padding=True (and truncation=True if some are too long)")
            columns = {k: torch.tensor(v, dtype=torch.long) for k, v in columns.items()}
        elif return_tensors is not None:
            raise ValueError(f"return_tensors={return_tensors!r}: course_lib supports 'pt' (PyTorch) or None")
        elif not batched:
            columns = {k: v[0] for k, v in columns.items()}
        result = BatchEncoding(columns)
        result.encodings = encodings
        return result

    # --- decoding -------------------------------------------------------------------------------------------------
    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """Ids back to text; with skip_special_tokens, [CLS], [SEP], [PAD] and the like are left out."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        if ids and isinstance(ids[0], list):
            raise ValueError("decode takes one sequence of ids; use batch_decode for a batch")
        special = set(self.all_special_ids) if skip_special_tokens else set()
        tokens = [self.convert_ids_to_tokens(int(i)) for i in ids if int(i) not in special]
        if self.decoder is None:
            return " ".join(tokens)
        return self.decoder.decode(tokens)

    def batch_decode(self, batch, skip_special_tokens: bool = False) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in batch]
