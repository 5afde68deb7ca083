"""Evidence files: what a file is (decided from its bytes), cleaning its metadata, and storing it
encrypted in chunks under its report's key."""
