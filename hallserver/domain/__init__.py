"""The domain core: plain Python with an injected clock. No database, MQTT or Qt in here."""
