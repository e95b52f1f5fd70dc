"""The contract of extracts.md as data: canonical columns, Chinese headers, rules, and pandera schemas."""
