# Two commands a user needs: `make demo` and `make test`. Both first run the shared,
# idempotent install step: tools/install_env.sh creates or reuses the environment and prints
# its path (a second run takes seconds).
SHELL := /bin/bash
WITH_ENV = set -e; venv=$$(bash tools/install_env.sh); py=$$venv/bin/python;
DEMO_DIR ?= work_dirs/demo

.PHONY: install demo test benchmark ablate

install:
	@$(WITH_ENV) echo "environment ready: $$venv"

demo:
	@$(WITH_ENV) $$py tools/run_demo.py --work-dir $(DEMO_DIR)

test:
	@$(WITH_ENV) $$py -m ruff check gain_mmseg tools tests benchmarks && $$py -m pytest -q

benchmark:
	@$(WITH_ENV) $$py benchmarks/bench_attention.py && $$py benchmarks/bench_pseudo_masks.py

ablate:
	@$(WITH_ENV) $$py tools/ablate.py --work-dir work_dirs/ablation --out docs/ablations.md
