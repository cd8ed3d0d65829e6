"""Every service the system runs, in the order they start: cunban/registry.py finds each one's class by its
name, and the gateway names them in its operations routes and pages. A module of its own, with no imports:
the command line reads it before eventlet's monkey patching, which must find no pydantic model loaded yet."""

SERVICE_NAMES: tuple[str, ...] = ("directory", "intake", "approvals", "scheduling", "complaints", "evaluation",
                                  "notifications")
