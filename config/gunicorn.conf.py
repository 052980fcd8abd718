# gunicorn settings for `nextstep serve`. Edit for your host.
import multiprocessing

workers = int(__import__("os").environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = 2
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
max_requests = 5000
max_requests_jitter = 500
