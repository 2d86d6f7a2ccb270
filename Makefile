# Shortcuts for the README's commands (tasks.py does the work and needs only Python 3.11).
.PHONY: run test lab setup reset lint format strip
run:
	python3 tasks.py run
test:
	python3 tasks.py test
lab:
	python3 tasks.py lab
setup:
	python3 tasks.py setup
reset:
	python3 tasks.py reset
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
strip:
	.venv/bin/nbstripout notebooks/*.ipynb
