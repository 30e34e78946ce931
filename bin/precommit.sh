#!/usr/bin/env bash
# Format, lint and type-check before committing (the same checks CI runs, minus the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
uv run ruff format .
uv run ruff check --fix .
uv run mypy
echo "precommit: all checks passed"
