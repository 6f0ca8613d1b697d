"""course_lib.hub (chapter 0): environment report and Hub datasets, read offline from the shared Hub cache."""

from __future__ import annotations

import pytest
from datasets import Dataset, DatasetDict

from course_lib.hub import LIBRARIES, environment, load_hub_dataset, print_environment


def test_environment_reports_every_library_the_device_and_the_hub_mode():
    env = environment()
    assert list(env) == ["python", *LIBRARIES, "device", "hub"]
    assert env["torch"].startswith("2.13.0") and env["course-lib"] != "not installed"
    assert env["device"].split()[0] in {"cpu", "cuda", "mps"}
    assert env["hub"].startswith("offline")  # the tests run with HF_HUB_OFFLINE=1


def test_print_environment_aligns_the_values(capsys):
    print_environment()
    lines = capsys.readouterr().out.splitlines()
    env = environment()
    assert len(lines) == len(env)
    column = max(map(len, env)) + 2  # every value starts in the same column
    assert [(line[:column].strip(), line[column:]) for line in lines] == list(env.items())


def test_mrpc_has_the_hubs_splits_in_order_with_label_names():
    mrpc = load_hub_dataset("nyu-mll/glue", "mrpc")
    assert isinstance(mrpc, DatasetDict)
    assert list(mrpc) == ["train", "validation", "test"]
    assert {name: ds.num_rows for name, ds in mrpc.items()} == {"train": 3668, "validation": 408, "test": 1725}
    assert mrpc["train"].features["label"].names == ["not_equivalent", "equivalent"]
    assert set(mrpc["test"]["label"]) == {-1}  # test labels are hidden, as on the Hub


def test_one_split_of_sst2():
    sst2 = load_hub_dataset("nyu-mll/glue", "sst2", split="validation")
    assert isinstance(sst2, Dataset) and sst2.num_rows == 872
    assert sst2.column_names == ["sentence", "label", "idx"]


def test_a_dataset_with_one_config_lives_under_data():
    shakespeare = load_hub_dataset("karpathy/tiny_shakespeare")
    assert [len(shakespeare[s][0]["text"]) for s in ("train", "validation", "test")] == [1_003_854, 55_770, 55_770]


def test_an_unknown_config_lists_the_configs_there_are():
    with pytest.raises(ValueError, match=r"no parquet files for config 'mrcp' in the local Hub cache \(offline\)\. "
                                         r"Configs downloaded to this machine so far: mrpc, sst2"):
        load_hub_dataset("nyu-mll/glue", "mrcp")


def test_an_unknown_split_lists_the_splits_there_are():
    with pytest.raises(ValueError, match=r"no split 'dev'; choose from test, train, validation"):
        load_hub_dataset("nyu-mll/glue", "mrpc", split="dev")


def test_a_dataset_missing_from_the_offline_cache_says_what_to_do():
    with pytest.raises(FileNotFoundError, match=r"nor in the Hub cache .* unset HF_HUB_OFFLINE .* set HF_HUB_CACHE"):
        load_hub_dataset("nobody/no-such-dataset")


def test_the_hubs_parquet_conversion_is_read_at_its_revision():
    """The layout <config>/<split>/0000.parquet at revision refs/convert/parquet ('default' for one config)."""
    multi30k = load_hub_dataset("bentrevett/multi30k", revision="refs/convert/parquet")
    assert {name: ds.num_rows for name, ds in multi30k.items()} == {"train": 29000, "validation": 1014, "test": 1000}
    assert multi30k["train"].column_names == ["en", "de"]
    conll = load_hub_dataset("eriktks/conll2003", "conll2003", split="validation", revision="refs/convert/parquet")
    assert conll.num_rows == 3250 and conll.features["ner_tags"].feature.names[:3] == ["O", "B-PER", "I-PER"]
    squad = load_hub_dataset("rajpurkar/squad", "plain_text")  # main's layout; only validation is cached here
    assert list(squad) == ["validation"] and squad["validation"].num_rows == 10570
