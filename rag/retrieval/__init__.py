"""Finding passages: hybrid search (dense and BM25, fused), and the passages answerers read.

Also a cited passage shown inside its document, for the one-click check.
"""
