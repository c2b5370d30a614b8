"""The worker: a stateless browser-driving process that claims jobs through the
orchestrator and reports every attempt. It holds no database credentials."""
