"""The HTTP gateway: authentication, tenancy, validation, OpenAPI and /metrics in front of the services."""
