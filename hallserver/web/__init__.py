"""The hall server's web side: the manager dashboard (HTTP + server-sent events)."""
