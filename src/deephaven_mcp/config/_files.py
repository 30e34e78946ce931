"""Bounded, non-blocking reads of user-named files with one clear message per failure."""

from __future__ import annotations

import aiofiles

from deephaven_mcp.errors import DeephavenMcpError


async def read_text_file(
    path: str, *, what: str, max_bytes: int, error: type[DeephavenMcpError]
) -> str:
    """Read a UTF-8 file of at most ``max_bytes``; failures raise ``error`` naming ``what``."""
    try:
        async with aiofiles.open(path, encoding="utf-8") as handle:
            text = await handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{what} is a directory, not a file: {path}") from None
    except PermissionError:
        raise error(f"{what} is not readable (permission denied): {path}") from None
    except UnicodeDecodeError:
        raise error(f"{what} is not UTF-8 text: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(text) > max_bytes:
        raise error(f"{what} is larger than {max_bytes} bytes: {path}")
    return text
