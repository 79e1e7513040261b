"""http_test_receiver.py (tests/notify_service/delivery) plus failures that
recover, for the dispatcher tests. Run with /usr/bin/python3; same flags,
same record file, same answers, and:

    /flaky/<n>/<code>[/...]   the first <n> requests to this exact path are
                              answered <code>, later ones 200 as /ok

so a test sees a webhook refused (e.g. 503) and then accepted on the retry.
"""

import json
import os
import sys
import threading
import urllib.parse
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "delivery"))
import http_test_receiver as base  # noqa: E402

COUNTS = {}
COUNTS_LOCK = threading.Lock()


class FlakyReceiver(base.Receiver):
    def answer(self, code, text, extra_headers=None):
        path = urllib.parse.urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if parts[0] == "flaky" and len(parts) >= 3:
            with COUNTS_LOCK:
                COUNTS[path] = COUNTS.get(path, 0) + 1
                seen = COUNTS[path]
            if seen <= int(parts[1]):
                failure = int(parts[2])
                return super().answer(failure, json.dumps({"error": "flaky %d" % failure}))
        return super().answer(code, text, extra_headers)


def main():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--record_file", required=True)
    parser.add_argument("--webhook_secret", default="")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--metrics_listen", default="")  # accepted, unused
    args = parser.parse_args()
    FlakyReceiver.record_file = args.record_file
    FlakyReceiver.webhook_secret = args.webhook_secret
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), FlakyReceiver)
    server.daemon_threads = True
    sys.stderr.write(json.dumps({"msg": "serving", "port": server.server_address[1],
                                 "metrics_port": 0}, separators=(",", ":")) + "\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
