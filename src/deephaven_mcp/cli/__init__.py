"""``dh-mcp``: Deephaven sessions, tables and persistent queries from the shell, for people.

A thin layer over :class:`~deephaven_mcp.DeephavenSystems`: every command is one call of
the public Python API, printed as rich tables on a terminal and as CSV or JSON when piped.
The commands are in :mod:`deephaven_mcp.cli.app`; :func:`main` adds the exit codes.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

PROG = "dh-mcp"
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _error(message: str) -> None:
    """One line on stderr; the message is the API's, written for a person."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"{PROG}: error: {first}", file=sys.stderr, flush=True)


def _logging() -> None:
    """The library's log stays off a person's terminal unless asked for: with
    ``PYTHONLOGLEVEL`` set it goes to stderr through the servers' redacting handler;
    otherwise nothing is logged, so an answer or an error is all that is printed."""
    level = os.environ.get("PYTHONLOGLEVEL", "").strip()
    if level:
        from deephaven_mcp.runtime.logging import setup_logging

        setup_logging(level)
    elif not logging.getLogger().handlers:  # keep a host's logging (tests, an embedding)
        logging.getLogger().addHandler(logging.NullHandler())


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dh-mcp`` with ``argv`` (default: the command line); the exit code.

    0 ok; 1 the operation failed; 2 bad usage, a bad configuration, or arguments the API
    refuses (:class:`~deephaven_mcp.errors.ConfigError`,
    :class:`~deephaven_mcp.errors.InvalidArgumentError` except a failed script); 130
    interrupted.
    """
    from dotenv import load_dotenv

    # The working directory's .env, as the systems server reads it.
    load_dotenv(Path.cwd() / ".env", override=False)
    _logging()

    from cyclopts import CycloptsError

    from deephaven_mcp.cli.app import app
    from deephaven_mcp.errors import (
        ConfigError,
        DeephavenMcpError,
        InvalidArgumentError,
        ScriptFailedError,
    )

    tokens = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app.meta(
            tokens,
            result_action="return_value",
            exit_on_error=False,
            print_error=False,
        )
    except CycloptsError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except ScriptFailedError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except (ConfigError, InvalidArgumentError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except DeephavenMcpError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except OSError as exc:  # e.g. the state directory cannot be written
        _error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # --help, --version and the completion installer exit here
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return result if isinstance(result, int) else 0
