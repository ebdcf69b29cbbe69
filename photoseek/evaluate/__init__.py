"""Evaluation on labelled photo folders (`photoseek eval`): retrieval (text → photo R@k, relevance
feedback), composed retrieval ("this scene but at night": R@k, mAP), tags (accuracy, P/R/F1).
Builds temporary libraries through the `Library` façade, so it sits above it.
"""
