"""The supplier upload portal: per-supplier tokens and the checked upload of a file."""
