#!/usr/bin/env python3
"""A capturing SMTP server for changedesk-notify's e-mail tests (aiosmtpd).

Listens on HOST:PORT (port 0 picks a free one) and prints `READY <port>` as
the first line on stdout once it accepts connections. Each accepted message
is written to the capture directory as `<n>.eml` (the raw DATA) and
`<n>.json`: the envelope (MAIL FROM, RCPT TO), the authenticated user, the
connection's TLS state, and the message as read back by Python's `email`
package (decoded headers and the decoded text of every leaf part), an
independent reader of what the client produced.

Options:
  --starttls CERT KEY      offer and require STARTTLS
  --implicit-tls CERT KEY  TLS from the first byte (port 465 style)
  --auth USER:PASSWORD     accept AUTH PLAIN and LOGIN with these
  --xoauth2 USER:TOKEN     accept AUTH XOAUTH2 with these
  --xoauth2-challenge      on a bad XOAUTH2 token, answer first with a 334
                           error challenge (as Gmail does), then 535
  --reject ADDR:CODE       answer RCPT TO:<ADDR> with CODE (repeatable)
  --verbose                log the SMTP exchange to stderr

AUTH is required when --auth or --xoauth2 is given, and refused before TLS in
the TLS modes. The server exits when its stdin closes (the test ended).
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import logging
import os
import ssl
import sys
from typing import NamedTuple

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class OAuthUser(NamedTuple):
    login: bytes
    token: bytes


REJECT_TEXT = {
    4: "4.2.1 mailbox temporarily unavailable, try again later",
    5: "5.1.1 no such user here",
}


def split_pair(text, what):
    if ":" not in text:
        raise SystemExit(f"{what}: expected X:Y, got {text!r}")
    left, right = text.split(":", 1)
    return left, right


def describe(message):
    """The message as Python's `email` package reads it."""
    headers = {}
    for name in (
        "Subject",
        "From",
        "Reply-To",
        "To",
        "Message-ID",
        "Date",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
    ):
        values = message.get_all(name)
        if values is not None:
            headers[name] = [str(v) for v in values]
    addresses = {}
    for name in ("From", "Reply-To", "To"):
        header = message.get(name)
        if header is not None:
            addresses[name] = [[a.display_name, a.addr_spec] for a in header.addresses]
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        parts.append(
            {
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "content": content,
            }
        )
    return {
        "headers": headers,
        "addresses": addresses,
        "header_names": [name for name, _ in message.raw_items()],
        "content_type": message.get_content_type(),
        "defects": [type(d).__name__ for d in message.defects],
        "parts": parts,
    }


class Capture:
    def __init__(self, directory, rejects, xoauth2, xoauth2_challenge):
        self.directory = directory
        self.rejects = rejects
        self.xoauth2 = xoauth2
        self.xoauth2_challenge = xoauth2_challenge
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.rejects.get(address.lower())
        if code is not None:
            return f"{code} {REJECT_TEXT.get(code // 100, 'rejected')}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        with open(os.path.join(self.directory, f"{n}.eml"), "wb") as f:
            f.write(raw)
        login = getattr(session.auth_data, "login", None)
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "auth_user": login,
            "tls": session.ssl is not None or getattr(server, "implicit_tls", False),
            "message": describe(
                email.message_from_bytes(raw, policy=email.policy.default)
            ),
        }
        tmp = os.path.join(self.directory, f"{n}.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
        # the .json appears complete or not at all
        os.replace(tmp, os.path.join(self.directory, f"{n}.json"))
        return "250 2.0.0 OK: queued"

    async def auth_XOAUTH2(self, server, args):
        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except Exception:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            blob = await server.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        fields = {}
        for item in blob.split(b"\x01"):
            if b"=" in item:
                key, value = item.split(b"=", 1)
                fields[key] = value
        user = fields.get(b"user", b"")
        token = fields.get(b"auth", b"").removeprefix(b"Bearer ")
        if self.xoauth2 is not None and (user, token) == self.xoauth2:
            return AuthResult(success=True, auth_data=OAuthUser(user, token))
        if self.xoauth2_challenge:
            error = json.dumps(
                {"status": "401", "schemes": "bearer", "scope": "https://mail.example/"}
            )
            # the client answers the error challenge with an empty line
            await server.challenge_auth(error)
        return AuthResult(
            success=False,
            handled=False,
            message="535 5.7.8 Username and Password not accepted",
        )


class ImplicitTlsSMTP(SMTP):
    """aiosmtpd only counts STARTTLS as TLS for `auth_require_tls`; a
    connection that is TLS from its first byte is marked the same way."""

    implicit_tls = False

    def connection_made(self, transport):
        super().connection_made(transport)
        if transport.get_extra_info("sslcontext") is not None:
            self.implicit_tls = True
            self._tls_protocol = True


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True, help="capture directory")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    tls.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--xoauth2", metavar="USER:TOKEN")
    parser.add_argument("--xoauth2-challenge", action="store_true")
    parser.add_argument("--reject", action="append", default=[], metavar="ADDR:CODE")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR,
        stream=sys.stderr,
    )
    os.makedirs(args.dir, exist_ok=True)

    rejects = {}
    for item in args.reject:
        addr, code = item.rsplit(":", 1)
        rejects[addr.lower()] = int(code)

    credentials = None
    if args.auth:
        user, password = split_pair(args.auth, "--auth")
        credentials = (user.encode(), password.encode())
    xoauth2 = None
    if args.xoauth2:
        user, token = split_pair(args.xoauth2, "--xoauth2")
        xoauth2 = (user.encode(), token.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        if (
            credentials is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login, auth_data.password) == credentials
        ):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    handler = Capture(args.dir, rejects, xoauth2, args.xoauth2_challenge)
    uses_tls = bool(args.starttls or args.implicit_tls)
    smtp_kwargs = {
        "hostname": "capture.test",
        "authenticator": authenticator,
        "auth_required": credentials is not None or xoauth2 is not None,
        "auth_require_tls": uses_tls,
        "timeout": 30,
    }
    server_ssl = None
    if args.starttls:
        smtp_kwargs["tls_context"] = tls_context(*args.starttls)
        smtp_kwargs["require_starttls"] = True
    if args.implicit_tls:
        server_ssl = tls_context(*args.implicit_tls)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ImplicitTlsSMTP(handler, loop=loop, **smtp_kwargs),
        host=args.host,
        port=args.port,
        ssl=server_ssl,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)

    # run until stdin closes: the test process ended or dropped the pipe
    stdin_closed = loop.create_future()

    def wait_stdin():
        try:
            sys.stdin.buffer.read()
        finally:
            loop.call_soon_threadsafe(
                lambda: stdin_closed.done() or stdin_closed.set_result(None)
            )

    loop.run_in_executor(None, wait_stdin)
    await stdin_closed
    server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
