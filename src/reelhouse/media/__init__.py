"""The domain's use cases.

Each function takes an ``AsyncSession`` and runs inside the caller's transaction: it reads, checks
states, writes rows and appends outbox events, and flushes, but never commits. The caller opens one
transaction per use case (``async with factory.begin() as session``), so a state change and the
events it causes commit together or not at all. Clocks and random sources are arguments.
"""
