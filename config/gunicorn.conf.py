# gunicorn settings for `nextstep serve`. Edit for your host.
# The address comes from `nextstep serve --host/--port`; the access log from the
# access_log setting (NEXTSTEP_ACCESS_LOG=true or `nextstep serve --access-log`).
import multiprocessing
import os

# One worker per core, each with threads: a request mostly waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
# gunicorn 25+ opens a control socket at one path per user; a second instance would take it.
control_socket_disable = True
