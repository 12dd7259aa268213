"""On-device training: what to train (spec), the plan of its backward (plan), the numpy
reference of a step (reference, grads) and its lowering to C records (lower)."""
