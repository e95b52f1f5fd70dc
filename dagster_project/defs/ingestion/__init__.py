"""Ingestion's assets: the landing-zone state, the reference tables, the inventory, each agency's extracts, the ledger."""
