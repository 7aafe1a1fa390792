"""Datasets of rows and columns, and the tasks that fill their cells (the seed-002 contract).

A dataset is a grid: input columns hold the data people bring, enrichment columns are
described like an output-schema field (name, type, description, unit, enum) and are filled by
tasks. A task locks its dataset from creation until it completes, fails or is cancelled.
"""
