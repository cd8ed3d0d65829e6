"""The composition root: the `cunban` command, the embedded system and the demo county."""
