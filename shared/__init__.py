"""Platform pieces every cunban service imports: settings, contracts, persistence, messaging, errors,
logging and metrics. Nothing domain-specific lives here."""
