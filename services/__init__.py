"""One package per nameko service; each owns its database and talks to others only by contracts."""
