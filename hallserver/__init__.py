"""govhall hall server: domain core, store, bus, web, rules and CLI."""
