"""HTTP APIs of the hub that are not a customer channel (the agents' API)."""
