"""The report layer: what a report says and who can read it (its envelope)."""
