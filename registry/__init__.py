"""Joint-punishment lists: policy rules, procedure, derived status, audit chain, exports."""
