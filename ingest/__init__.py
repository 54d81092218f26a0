"""Turning files into clean, chunked, embedded passages in the store."""
