#!/usr/bin/env python3
"""A real SMTP server for tests/integration/email.test.mjs (aiosmtpd).

Usage: smtpd.py CERT KEY USER PASSWORD [PORT [RCPT_DELAY_MS [DATA_DELAY_MS
                 [RCPT_REPLIES]]]]

Listens on 127.0.0.1 (PORT, or a free one), requires STARTTLS before
anything else (the certificate and key given) and AUTH with USER and
PASSWORD. With CERT "-": a plain server, no STARTTLS offered, AUTH
accepted in clear (what a client that must not send a password in
clear has to refuse). RCPT_DELAY_MS: each RCPT TO is answered that
long after it came; DATA_DELAY_MS: the end of each message likewise,
once it is printed (a slow server; other sessions go on meanwhile).
RCPT_REPLIES ("-": none): a JSON file {address: reply line}, read at
each RCPT TO: an address in it is answered that line (a refusal, "450
4.2.0 Greylisted", is not a recipient of the message), any other "250
OK". The test may rewrite it between sessions.
Prints one JSON line per event on stdout:
  {"ready": port}                          once listening
  {"rcpt": address, "reply": line}          each RCPT TO answered
  {"auth": user, "ok": bool, "tls": bool}   each AUTH attempt
  {"mail_from", "rcpt_tos", "data", "tls", "peer"}  each message received
"""
import asyncio
import json
import signal
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, SMTP


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def rcpt_reply(path, address):
    """The line RCPT_REPLIES gives address, else "250 OK"."""
    if path == "-":
        return "250 OK"
    with open(path) as f:
        return json.load(f).get(address, "250 OK")


class Handler:
    def __init__(self, rcpt_delay_ms=0, data_delay_ms=0, rcpt_replies="-"):
        self.rcpt_delay = rcpt_delay_ms / 1000
        self.data_delay = data_delay_ms / 1000
        self.rcpt_replies = rcpt_replies

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay > 0:
            await asyncio.sleep(self.rcpt_delay)
        reply = rcpt_reply(self.rcpt_replies, address)
        say({"rcpt": address, "reply": reply})
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server, session, envelope):
        say({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "peer": session.peer[0],
        })
        if self.data_delay > 0:
            await asyncio.sleep(self.data_delay)
        return "250 OK"


class Auth:
    def __init__(self, user, password):
        self.user = user
        self.password = password

    def __call__(self, server, session, envelope, mechanism, data):
        user = data.login.decode() if isinstance(data.login, bytes) else data.login
        pw = data.password.decode() if isinstance(data.password, bytes) else data.password
        ok = user == self.user and pw == self.password
        say({"auth": user, "ok": ok, "tls": session.ssl is not None})
        return AuthResult(success=ok)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How long Controller.start() waits for its own server thread to answer
# (aiosmtpd's default is 5 s): the start of make test, while the unit
# tests build beside three test files, once took longer.
READY_TIMEOUT = 30


def main():
    cert, key, user, password = sys.argv[1:5]
    port = int(sys.argv[5]) if len(sys.argv) > 5 else free_port()
    handler = Handler(*(int(a) for a in sys.argv[6:8]),
                      *sys.argv[8:9])
    if cert == "-":
        controller = Controller(
            handler, hostname="127.0.0.1", port=port,
            authenticator=Auth(user, password), auth_required=True,
            auth_require_tls=False, server_hostname="localhost", ready_timeout=READY_TIMEOUT)
    else:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        controller = Controller(
            handler, hostname="127.0.0.1", port=port,
            tls_context=ctx, require_starttls=True,
            authenticator=Auth(user, password), auth_required=True,
            auth_require_tls=True, server_hostname="localhost", ready_timeout=READY_TIMEOUT)
    controller.start()
    say({"ready": port})
    stop = asyncio.new_event_loop()
    done = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        stop.add_signal_handler(s, done.set)
    stop.run_until_complete(done.wait())
    controller.stop()


if __name__ == "__main__":
    main()
