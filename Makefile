# Shortcuts for the two README commands (tasks.py does the work and needs only Python 3.11).
.PHONY: run test lab lint format strip
run:
	python3 tasks.py run
test:
	python3 tasks.py test
lab:
	python3 tasks.py lab
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
strip:
	.venv/bin/nbstripout notebooks/*.ipynb
