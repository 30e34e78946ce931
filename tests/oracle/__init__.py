"""Differential oracle: the table tools against an independent pyarrow/Python model."""
