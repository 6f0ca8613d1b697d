import heapq
from collections import defaultdict

from course_lib.bpe_naive import bytes_to_unicode, pre_tokenize_gpt2


def _merge_in_word(word: list[int], a: int, b: int, new: int) -> list[tuple[tuple[int, int], int]]:
    """Merge every (a, b) in `word` in place, left to right, and return how the counts of neighbouring pairs change.

    [x, a, b, y] -> [x, new, y], with changes [((x, a), -1), ((x, new), +1), ((b, y), -1), ((new, y), +1)].
    The merged pair's own count is left alone: the trainer never looks at it again.
    """
    changes = []
    i = 0
    while i < len(word) - 1:
        if word[i] == a and word[i + 1] == b:
            if i > 0:
                changes += [((word[i - 1], a), -1), ((word[i - 1], new), 1)]
            word[i : i + 2] = [new]
            if i < len(word) - 1:
                changes += [((b, word[i + 1]), -1), ((new, word[i + 1]), 1)]
        i += 1
    return changes


def train_bpe(word_counts: dict[str, int], vocab_size: int, alphabet=(), special_tokens=(),
              min_frequency: int = 0) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Learn BPE merges with incremental pair counts: the same vocabulary and merges as 🤗 `BpeTrainer`.

    Instead of recounting every pair after each merge, we keep the count of every pair and the set of words it
    occurs in. A merge only touches those words, and only the pairs next to each merged occurrence change count.
    A heap gives the most frequent pair (ties: the smallest pair of ids); its counts may be out of date, so a popped
    entry whose count changed since it was pushed goes back with its current count (a "lazy" heap).
    """
    id_to_token: list[str] = []
    token_to_id: dict[str, int] = {}

    def add(token: str) -> int:
        if token not in token_to_id:
            token_to_id[token] = len(id_to_token)
            id_to_token.append(token)
        return token_to_id[token]

    for token in special_tokens:  # 1. special tokens first: ids 0, 1, ...
        add(token)
    for char in sorted(set(alphabet) | {c for word in word_counts for c in word}):  # 2. the alphabet, by code point
        add(char)
    words = [[token_to_id[c] for c in word] for word in word_counts]  # 3. every distinct word once, with its count
    counts = list(word_counts.values())

    pair_counts: dict[tuple[int, int], int] = defaultdict(int)  # 4. count every pair, note where it occurs
    where: dict[tuple[int, int], set[int]] = defaultdict(set)
    for i, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += counts[i]
            where[pair].add(i)
    # Heap entries: (-count, pair, tie-breaker, words to update). heapq pops the smallest, so the largest count
    # comes first and, among equal counts, the smallest pair.
    heap = [(-pair_counts[pair], pair, n, positions) for n, (pair, positions) in enumerate(where.items())]
    heapq.heapify(heap)
    pushed = len(heap)

    merges: list[tuple[tuple[int, int], int]] = []
    while len(token_to_id) < vocab_size and heap:  # 5. merge until the vocabulary is full
        neg_count, pair, _, positions = heapq.heappop(heap)
        if -neg_count != pair_counts[pair]:  # out of date: put it back with its current count
            heapq.heappush(heap, (-pair_counts[pair], pair, pushed, positions))
            pushed += 1
            continue
        if pair_counts[pair] < 1 or pair_counts[pair] < min_frequency:
            break
        new_id = add(id_to_token[pair[0]] + id_to_token[pair[1]])
        merges.append((pair, new_id))
        new_where: dict[tuple[int, int], set[int]] = defaultdict(set)
        for i in positions:
            for changed, delta in _merge_in_word(words[i], pair[0], pair[1], new_id):
                pair_counts[changed] += delta * counts[i]
                if delta > 0:
                    new_where[changed].add(i)
        for changed, where_now in new_where.items():
            if pair_counts[changed] > 0:
                heapq.heappush(heap, (-pair_counts[changed], changed, pushed, where_now))
                pushed += 1

    # A pair can be merged twice when a merge rebuilds a token that already existed; its later rank is the one
    # that counts, as in 🤗 tokenizers.
    rank = {pair: r for r, (pair, _) in enumerate(merges)}
    ordered = sorted(rank, key=rank.__getitem__)
    return token_to_id, [(id_to_token[a], id_to_token[b]) for a, b in ordered]


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def byte_level_words(text: str) -> list[str]:
    """GPT-2 words with every UTF-8 byte shown as its printable character: "Hi there" -> ['Hi', 'Ġthere']."""
    return ["".join(BYTE_TO_CHAR[b] for b in word.encode("utf-8")) for word in pre_tokenize_gpt2(text)]


class BPE:
    """A BPE model: a vocabulary and ranked merges, applied lowest rank first to each word (as GPT-2 does)."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], unk_token: str | None = None):
        self.vocab = dict(vocab)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.merges = list(merges)
        # (left id, right id) -> (rank, merged id): ranks decide the order merges are applied in.
        self.ranks = {}
        for rank, (a, b) in enumerate(self.merges):
            for part in (a, b, a + b):
                if part not in self.vocab:
                    raise ValueError(f"merge {rank} ({a!r}, {b!r}): {part!r} is not in the vocabulary")
            self.ranks[(self.vocab[a], self.vocab[b])] = (rank, self.vocab[a + b])
        if unk_token is not None and unk_token not in self.vocab:
            raise ValueError(f"unk_token {unk_token!r} is not in the vocabulary")
        self.unk_token = unk_token
        self.cache: dict[str, list[int]] = {}

    def _merge(self, ids: list[int]) -> list[int]:
        while len(ids) > 1:
            # The adjacent pair with the lowest rank; None when no pair can be merged.
            best = min(((self.ranks[p][0], p) for p in zip(ids, ids[1:]) if p in self.ranks), default=None)
            if best is None:
                break
            (a, b), new = best[1], self.ranks[best[1]][1]
            merged, i = [], 0
            while i < len(ids):
                if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(ids[i])
                    i += 1
            ids = merged
        return ids

    def tokenize_word(self, word: str) -> list[int]:
        """The ids of one pre-tokenized word, cached: words repeat, so most are looked up, not merged."""
        ids = self.cache.get(word)
        if ids is None:
            unk = self.vocab.get(self.unk_token) if self.unk_token else None
            start = [self.vocab.get(c, unk) for c in word]
            ids = self._merge([i for i in start if i is not None])  # unknown characters without an unk token vanish
            if len(self.cache) < 100_000:
                self.cache[word] = ids
        return ids
