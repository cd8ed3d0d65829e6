#!/bin/sh
# The image's entrypoint: wait until RabbitMQ (and, for a service, its database) accepts connections, then
# hand over to cunban. `cunban run-service NAME` applies NAME's migrations before it starts serving.
set -eu
if [ "${1:-}" = "run-service" ] && [ -n "${2:-}" ]; then
  cunban wait --service "$2" --timeout "${CUNBAN_WAIT_SECONDS:-180}"
elif [ "${1:-}" = "gateway" ] || [ "${1:-}" = "bootstrap" ] || [ "${1:-}" = "migrate" ]; then
  cunban wait --timeout "${CUNBAN_WAIT_SECONDS:-180}"
fi
exec cunban "$@"
