"""A local SMTP server for the delivery tests (Debian's python3-aiosmtpd).

Run with /usr/bin/python3 (the interpreter Debian's python3-* packages
belong to). Started by the tests through cxp::testing::ServerProcess:

    /usr/bin/python3 smtp_test_server.py --mail_dir=DIR [--user=U --password=P]
        --listen=127.0.0.1:0 [--metrics_listen=...]

It binds a free loopback port and reports it on stderr the way CXP servers
do: {"msg":"serving","port":N,"metrics_port":0}.

Every accepted message is stored as DIR/<n>.eml (the bytes received after
DATA) and DIR/<n>.json, which describes the message as Python's `email`
package parses it, independently of the C++ code that composed it:
envelope sender and recipients, decoded headers (Subject, From, To, ...),
the raw Subject line, the MIME parts (content type, charset, transfer
encoding, decoded text) and any parser defects.

Failures on demand, chosen by the recipient's local part:
    rcpt451@...  RCPT answered "451 4.7.1 try later"
    rcpt550@...  RCPT answered "550 5.1.1 no such user"
    data451@...  end of DATA answered "451 4.3.0 queue full, try later"
    data554@...  end of DATA answered "554 5.7.1 message refused"

With --user and --password, AUTH (PLAIN or LOGIN, allowed without TLS) is
required before MAIL, and other credentials get 535.

With --tls_cert and --tls_key (PEM files), the server offers STARTTLS and
requires it before anything else.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

RCPT_REPLIES = {
    "rcpt451": "451 4.7.1 try later",
    "rcpt550": "550 5.1.1 no such user",
}
DATA_REPLIES = {
    "data451": "451 4.3.0 queue full, try later",
    "data554": "554 5.7.1 message refused",
}


def local_part(address):
    return address.split("@", 1)[0].lower()


def describe(raw, envelope):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    raw_message = email.message_from_bytes(raw, policy=email.policy.compat32)
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "transfer_encoding": part.get("Content-Transfer-Encoding", ""),
            "text": part.get_content(),
        })
    headers = {}
    for name in ("Subject", "From", "To", "Date", "Message-ID", "MIME-Version",
                 "List-Unsubscribe", "List-Unsubscribe-Post"):
        value = message.get(name)
        if value is not None:
            headers[name] = str(value)
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "headers": headers,
        "raw_subject": raw_message.get("Subject", ""),
        "content_type": message.get_content_type(),
        "parts": parts,
        "defects": [type(d).__name__ for d in message.defects]
        + [type(d).__name__ for p in message.walk() for d in p.defects],
    }


class Handler:
    def __init__(self, mail_dir):
        self.mail_dir = mail_dir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = RCPT_REPLIES.get(local_part(address))
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for recipient in envelope.rcpt_tos:
            reply = DATA_REPLIES.get(local_part(recipient))
            if reply:
                return reply
        self.count += 1
        raw = envelope.original_content
        base = os.path.join(self.mail_dir, str(self.count))
        with open(base + ".eml.tmp", "wb") as out:
            out.write(raw)
        with open(base + ".json.tmp", "w", encoding="utf-8") as out:
            json.dump(describe(raw, envelope), out, ensure_ascii=False)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as Q%d" % self.count


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)
    return authenticate


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mail_dir", required=True)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--metrics_listen", default="")  # accepted, unused
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--tls_cert", default="")
    parser.add_argument("--tls_key", default="")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    handler = Handler(args.mail_dir)
    auth = {}
    if args.user:
        auth = dict(authenticator=make_authenticator(args.user, args.password),
                    auth_required=True, auth_require_tls=False)
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        auth.update(tls_context=context, require_starttls=True)

    def factory():
        return SMTP(handler, hostname="smtp.test", **auth)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host, int(port))
    bound_port = server.sockets[0].getsockname()[1]
    sys.stderr.write(json.dumps({"msg": "serving", "port": bound_port, "metrics_port": 0},
                                separators=(",", ":")) + "\n")
    sys.stderr.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
