"""One app process on a loopback port, as one of several workers: `python -m
tests.serve_worker PORT`, settings from the environment. Prints "ready" once it listens."""

from __future__ import annotations

import sys

from werkzeug.serving import make_server

from web.app import create_app


def main(port: int) -> None:
    server = make_server("127.0.0.1", port, create_app(start_jobs=False), threaded=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
