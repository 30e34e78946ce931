#!/usr/bin/env bash
# Run every hook of .pre-commit-config.yaml on every tracked file. That file is the one list
# of checks: the git hook (`uv run pre-commit install`), this script and .ci/run all use it.
#
#   bin/precommit.sh           fix what can be fixed (ruff check --fix, ruff format,
#                              markdownlint --fix) and report the rest; a run that changed
#                              files fails, so look at the diff and run it again
#   bin/precommit.sh --check   change nothing and fail on any finding (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1-}" in
    "") ;;
    --check) export PRECOMMIT_CHECK_ONLY=1 ;;  # read by bin/hook.sh
    *)
        echo "usage: bin/precommit.sh [--check]" >&2
        exit 2
        ;;
esac

exec uv run pre-commit run --all-files
