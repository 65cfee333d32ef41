"""toyticket: batched lottery-ticket cycles in toy combinatorial-interpretability models.

Modules: task (clause world), embeddings (C0 families), model (pure MLP), train
(lax.scan trainer), discovery (mask methods), codes (feature-space codes), metrics
(recalls, site classes), cycle (the batched dense → mask → rewind → sparse cycle),
checkpoints (orbax), plots (matplotlib), config (validation).
"""
__version__ = "0.1.0"
