"""How the two servers meet the outside world: console entry points, the stdio and HTTP
transports and their guards, the tool-answer envelope, and process-wide start-up settings."""
