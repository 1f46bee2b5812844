.PHONY: run test lint bench tiny

run:
	python3 -m pip install -q -r requirements.txt && python3 -m streamlit run app.py

test:
	python3 -m pip install -q -r requirements-dev.txt && python3 -m pytest

lint:
	python3 -m ruff check . && python3 -m ruff format --check . && python3 -c "from importlinter.cli import lint_imports_command as lint; lint()"

bench:
	python3 bench/store_bench.py && python3 bench/zeroshot.py && python3 bench/finetune.py --quick

tiny:
	python3 tests/tiny_models.py tiny-models
