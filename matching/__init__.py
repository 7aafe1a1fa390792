"""Duplicates and matching across suppliers: blocking, pair scoring, clustering, merges."""
