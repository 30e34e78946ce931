#!/usr/bin/env bash
# Run every hook of .pre-commit-config.yaml on every tracked file. That file is the one list
# of checks: the git hook (`uv run pre-commit install`), this script and .ci/run all use it.
#
#   bin/precommit.sh [HOOK_ID]           fix what can be fixed (ruff check --fix, ruff format,
#                                        markdownlint --fix) and report the rest; a run that
#                                        changed files fails, so review the diff and rerun
#   bin/precommit.sh --check [HOOK_ID]   change nothing and fail on any finding (what CI runs)
#
# HOOK_ID (e.g. markdownlint) runs that hook only.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1-}" = --check ]; then
    export PRECOMMIT_CHECK_ONLY=1  # read by bin/hook.sh
    shift
fi
case "${1-}" in
    -*)
        echo "usage: bin/precommit.sh [--check] [HOOK_ID]" >&2
        exit 2
        ;;
esac

exec uv run pre-commit run --all-files "$@"
