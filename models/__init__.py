"""Tortoise models, one module per aggregate. ``MODEL_MODULES`` lists them for Tortoise."""

MODEL_MODULES = [
    "models.follow",
    "models.licence",
    "models.outbox",
    "models.payment",
    "models.pending",
    "models.processing",
    "models.user",
    "models.vehicle",
    "models.verification",
    "models.violation",
]
