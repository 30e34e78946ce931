"""Tool groups of the systems server; each module registers its tools on a FastMCP."""
