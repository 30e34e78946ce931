#!/usr/bin/env bash
# The hooks of .pre-commit-config.yaml that can fix files: `bin/hook.sh NAME [FILE...]`.
# They fix by default (a commit, `bin/precommit.sh`); with PRECOMMIT_CHECK_ONLY=1
# (`bin/precommit.sh --check`, CI) they write nothing and fail on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

hook=${1:?usage: bin/hook.sh ruff-check|ruff-format|markdownlint [FILE...]}
shift
check=${PRECOMMIT_CHECK_ONLY:-}

case "$hook" in
    ruff-check)
        if [ -n "$check" ]; then mode=--no-fix; else mode=--fix; fi
        exec uv run ruff check "$mode" --force-exclude "$@"
        ;;
    ruff-format)
        if [ -n "$check" ]; then
            exec uv run ruff format --diff --force-exclude "$@"
        fi
        exec uv run ruff format --force-exclude "$@"
        ;;
    markdownlint)
        # The files come from the globs in .markdownlint-cli2.jsonc, not from the arguments.
        # The linter is the version locked in ops/markdownlint; install it (again) when it is
        # missing or older than the lock file.
        dir=ops/markdownlint
        if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
            [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
            (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
        fi
        if [ -n "$check" ]; then
            exec "$dir/node_modules/.bin/markdownlint-cli2"
        fi
        exec "$dir/node_modules/.bin/markdownlint-cli2" --fix
        ;;
    *)
        echo "bin/hook.sh: unknown hook '$hook'" >&2
        exit 2
        ;;
esac
