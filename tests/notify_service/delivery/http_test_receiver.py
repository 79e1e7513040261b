"""A local HTTP receiver for the delivery tests: webhooks and provider APIs.

Run with /usr/bin/python3. Started by the tests through
cxp::testing::ServerProcess:

    /usr/bin/python3 http_test_receiver.py --record_file=FILE
        [--webhook_secret=whsec_...] --listen=127.0.0.1:0 [--metrics_listen=...]

It reports its port on stderr as CXP servers do:
{"msg":"serving","port":N,"metrics_port":0}.

Every request is appended to FILE as one JSON line, written before the
answer goes out: method, path, headers (names lower-cased), body, and, when
the request has a webhook-id header and --webhook_secret was given,
"signature_valid": the Standard Webhooks v1 check done here with Python's
hmac, hashlib and base64 (independent of the C++ signer under test), plus
"timestamp_fresh" (within 5 minutes of this machine's clock).

What it answers depends on the path:
    /ok                     200 {"message":{"id":"msg-<n>"},"ids":["a-<n>"],"n":<n>}
    /status/<code>          <code> {"error":"status <code> on demand"}
        ?retry_after=<v>    ... with a Retry-After: <v> header
    /drop                   closes the connection without an answer
    /delay/<ms>             sleeps <ms> then 200 as /ok
    /body/<text>            200 with <text> (URL-decoded) as the body
    /flaky/<k>/<code>[/...] the first <k> requests to this exact path are
                            answered <code>, later ones 200 as /ok (a
                            failure that recovers, for retries)
where <n> counts the requests received.
"""

import argparse
import base64
import hashlib
import hmac
import json
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"count": 0}


def verify_standard_webhook(secret, headers, body):
    key = base64.b64decode(secret[len("whsec_"):])
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signed = (msg_id + "." + timestamp + ".").encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    valid = False
    for entry in headers.get("webhook-signature", "").split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            valid = True
    try:
        fresh = abs(time.time() - int(timestamp)) <= 300
    except ValueError:
        fresh = False
    return valid, fresh


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers
    record_file = None
    webhook_secret = ""

    def log_message(self, format, *args):  # quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        with LOCK:
            STATE["count"] += 1
            n = STATE["count"]
            per_path = STATE.setdefault("per_path", {})
            per_path[self.path] = per_path.get(self.path, 0) + 1
            seen_on_path = per_path[self.path]
            record = {"n": n, "method": "POST", "path": self.path, "headers": headers,
                      "body": body.decode("utf-8", errors="replace")}
            if self.webhook_secret and "webhook-id" in headers:
                record["signature_valid"], record["timestamp_fresh"] = verify_standard_webhook(
                    self.webhook_secret, headers, body)
            with open(self.record_file, "a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        path = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(path.query)
        parts = path.path.strip("/").split("/", 1)
        if parts[0] == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if parts[0] == "delay":
            time.sleep(int(parts[1]) / 1000.0)
        if parts[0] == "status":
            code = int(parts[1])
            extra = {}
            if "retry_after" in query:
                extra["Retry-After"] = query["retry_after"][0]
            self.answer(code, json.dumps({"error": "status %d on demand" % code}), extra)
            return
        if parts[0] == "flaky":
            times, code = (int(x) for x in parts[1].split("/")[:2])
            if seen_on_path <= times:
                self.answer(code, json.dumps({"error": "flaky %d" % code}))
                return
        if parts[0] == "body":
            self.answer(200, urllib.parse.unquote(parts[1]))
            return
        self.answer(200, json.dumps({"message": {"id": "msg-%d" % n}, "ids": ["a-%d" % n],
                                     "n": n}))

    def answer(self, code, text, extra_headers=None):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record_file", required=True)
    parser.add_argument("--webhook_secret", default="")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--metrics_listen", default="")  # accepted, unused
    args = parser.parse_args()
    Receiver.record_file = args.record_file
    Receiver.webhook_secret = args.webhook_secret
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Receiver)
    server.daemon_threads = True
    sys.stderr.write(json.dumps({"msg": "serving", "port": server.server_address[1],
                                 "metrics_port": 0}, separators=(",", ":")) + "\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
