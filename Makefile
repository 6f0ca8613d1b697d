# Transformers from scratch: everything a learner, maintainer or translator runs.
# `make install` then `make test` on a fresh machine; `make help` lists the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# A virtual environment in .venv by default; `make VENV= install` uses the current Python instead.
VENV ?= .venv
PYTHON ?= python3
ifeq ($(strip $(VENV)),)
  PY := $(PYTHON)
else
  PY := $(VENV)/bin/python
endif

# Developers and CI have an offline Hub cache beside the checkout (see ../shared/README.md): use it, offline.
# Elsewhere (a learner's machine) the notebooks download from the Hub as usual.
SHARED_HUB_CACHE := $(abspath ../shared/hf-cache/hub)
ifneq ($(wildcard $(SHARED_HUB_CACHE)),)
  HF_HUB_CACHE ?= $(SHARED_HUB_CACHE)
  HF_HUB_OFFLINE ?= 1
endif
ifdef HF_HUB_CACHE
  export HF_HUB_CACHE := $(abspath $(HF_HUB_CACHE))
endif
ifdef HF_HUB_OFFLINE
  export HF_HUB_OFFLINE
endif

# Which notebooks `make test-notebooks` executes. English by default: a translation runs the English code (only its
# comments differ) and stores the English outputs, which `make check` proves for every translated notebook, so
# executing it again would repeat the English run (tools/translations.py explains). LANGS=ko executes the Korean
# notebooks, LANGS=all every language.
LANGS ?= en
NB ?=
NOTEBOOKS := $(if $(filter all,$(LANGS)),chapters,$(foreach l,$(LANGS),chapters/$(l)))
# pytest exits 5 when it selects no test (e.g. a language with no notebook yet): that is not a failure.
PYTEST_OK := rc=$$?; if [ $$rc -eq 5 ]; then echo "(no tests selected)"; rc=0; fi; exit $$rc

.PHONY: help install lib check lint test test-unit test-notebooks test-portable times execute translation-status lab \
	bench clean build site-test new-language translate translator ablation

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

install:  ## set everything up: a venv with the pinned requirements (test tools included) and course_lib
ifneq ($(strip $(VENV)),)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
endif
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install -e .

lib:  ## regenerate course_lib from the English notebooks' `#| export` cells
	$(PY) -m tools.export

lint:  ## ruff over the library, tools, tests and every notebook
	$(PY) -m ruff check .

check: lint  ## fast structural checks: lint, toctree, clean notebooks, course_lib sync, translation parity, Colab
	$(PY) -m tools.check

test: check test-unit test-notebooks  ## everything: the checks (translations included), unit tests, the notebooks (nbval)

test-unit:  ## unit tests in tests/
	$(PY) -m pytest tests -q; $(PYTEST_OK)

# The cell timeout catches a hung cell; it is not a speed test (times are reported, never asserted). Float32
# training on a slow 2-core CPU takes longer: 11.2's training cell ran past 300 s there, so the portable run allows more.
CELL_TIMEOUT ?= 300

test-notebooks:  ## run the notebooks, compare with their stored outputs (strict nbval); LANGS=ko|all, NB=... for some
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg \
		--nbval-cell-timeout=$(CELL_TIMEOUT) -p tools.nbval_plugin -q $(if $(NB),$(NB),$(NOTEBOOKS)); $(PYTEST_OK)

# A CPU without AVX-512 (most laptops, Colab's free CPU), simulated on this one: PyTorch, oneDNN and MKL dispatch to
# their AVX2 kernels, so matrix products round as they would there, and course_lib.training.native_bf16() answers
# False: training runs in float32. The stored outputs must hold here too, within the tolerances cells state.
PORTABLE_ENV := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2

test-portable:  ## the notebooks again on a simulated CPU without AVX-512 (float32 training), same stored outputs; NB=...
	$(PORTABLE_ENV) $(MAKE) --no-print-directory test-notebooks CELL_TIMEOUT=900

times:  ## NOTEBOOK_TIMES.md from the times the last test-notebooks and test-portable runs measured
	$(PY) -m tools.times

execute:  ## re-run notebooks in a fresh kernel and store their outputs: NB="chapters/en/chapter0/setup.ipynb ..."; NB=all for every one
	@test -n "$(NB)" || { echo 'name the notebooks: make execute NB=chapters/en/chapter0/setup.ipynb (or NB=all)'; exit 2; }
	$(PY) -m tools.execute $(if $(filter all,$(NB)),--all,$(NB))

translation-status:  ## per language: each section translated, stale or missing
	@$(PY) -m tools.translations status

# LANG is also the locale variable of every shell: these targets take it only from the command line.
new-language:  ## scaffold a language: make new-language LANG=fr NAME=Français
	@test "$(origin LANG)" = "command line" || { echo 'name the language: make new-language LANG=fr NAME=Français'; exit 2; }
	$(PY) -m tools.translations new-language $(LANG) $(NAME)

translate:  ## start translating a section: make translate SECTION=attention LANG=ko (ids in _toctree.yml)
	@test -n "$(SECTION)" -a "$(origin LANG)" = "command line" || { echo 'name both: make translate SECTION=attention LANG=ko'; exit 2; }
	$(PY) -m tools.translations translate $(SECTION) $(LANG)

build:  ## the course as a website in _site/, every language, from the stored outputs (offline, warnings are errors)
	$(PY) -m tools.site

site-test: build  ## the site in headless Chromium: switcher, figure, formula, no outside request; screenshots in build/
	$(PY) -m tools.site_test

lab:  ## open the course in JupyterLab
	$(PY) -m jupyter lab chapters

bench:  ## benchmarks against the reference implementations, side by side in one run (markdown table + JSON)
	$(PY) -m tools.bench --json build/bench.json

translator:  ## train the shipped German→English translator again (about 45 min on 2 cores): course_lib/models/multi30k-de-en
	$(PY) -m tools.train_translator --out course_lib/models/multi30k-de-en

ablation:  ## chapter 12.2's sweep again (about 15 min on 2 cores): course_lib/results/modern_ablation.json
	$(PY) -m tools.ablation_modern --out course_lib/results/modern_ablation.json

clean:  ## remove build outputs (not the venv)
	rm -rf build _site .pytest_cache .ruff_cache
