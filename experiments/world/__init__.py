"""Parts of the synthetic province simulator; :mod:`experiments.simulate` is the entry point and
documents the generative model."""
