"""Scoring answers: retrieval, answer and citation metrics, and the judges of support."""
