"""gunicorn's settings (docker-compose.yml and the Dockerfile start it with --config this file).

gunicorn is reached only through the reverse proxy (service proxy), which ends TLS and refuses
bodies over its limit; these are gunicorn's own limits on what a request may be."""

import os

bind = "0.0.0.0:8000"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Request line (method, path and query) and headers: how many, how long (gunicorn's defaults,
# written down so that a change is seen).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# A worker is replaced after this many requests (memory does not creep).
max_requests = 2000
max_requests_jitter = 200
# The proxy is the only client (no published port): its X-Forwarded-* headers are trusted.
forwarded_allow_ips = "*"
accesslog = "-"
errorlog = "-"
