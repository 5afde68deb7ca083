"""Alerts without content: the mail outbox, its sender and the daily digests."""
