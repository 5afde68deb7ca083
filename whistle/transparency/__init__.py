"""The public face beyond reporting: education pages the office can edit, and statistics."""
