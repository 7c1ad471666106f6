"""Signing in, as idmsa.apple.com and setup.icloud.com answer a web client such as pyicloud.

The steps and what each hands out (pyicloud keeps the headers in its session file, the cookies
in its cookie jar):

1. ``GET /appleauth/auth/authorize/signin``: an idmsa session, ``X-Apple-ID-Session-Id`` and
   ``scnt`` headers that the client sends back on every later idmsa request.
2. ``POST .../signin/init`` ``{a, accountName, protocols}``: ``{salt, b, c, iteration,
   protocol}`` for SRP (``srp``); an unknown account gets a challenge too, and fails at 3.
3. ``POST .../signin/complete`` ``{m1, m2, c, trustTokens}``: 401 (-20101) for a wrong
   password; else an ``X-Apple-Session-Token``, with 409 ``{"authType": "hsa2"}`` when a code is
   still needed (no valid trust token sent), 200 when not.
4. The code: ``GET /appleauth/auth`` tells where it went (HTML ``boot_args``, or JSON); by
   default to a trusted device (``POST .../verify/trusteddevice/securitycode``), with
   ``code_by_sms`` by text (``PUT .../verify/phone``, then ``POST .../verify/phone/
   securitycode``). A wrong code is 400 (-21669). ``GET .../2sv/trust`` then gives a new session
   token and an ``X-Apple-TwoSV-Trust-Token`` that spares the code at later sign-ins.
5. ``POST /setup/ws/1/accountLogin`` ``{dsWebAuthToken, trustToken}``: the account (``dsInfo``,
   ``webservices``, ``hsaTrustedBrowser``) and the web session cookies
   (``X-APPLE-WEBAUTH-TOKEN``...). ``POST .../validate`` with those cookies answers the same
   while the web session lasts (421 after), which is how a second client with the same cookie
   folder gets in without signing in. The answers never name ``auth/bridge/step``: that route
   would send pyicloud to a websocket bridge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from companion.simulator.icloud import srp
from companion.simulator.icloud.faults import Counters
from companion.simulator.icloud.wire import Reply, Request, json_reply

_ITERATIONS = 20_000
_COUNTRY = "FRA"
_BAD_PASSWORD = {
    "serviceErrors": [
        {
            "code": "-20101",
            "message": "Your Apple ID or password was incorrect.",
            "suppressDismissal": False,
        }
    ]
}
# Not an Apple code on purpose: -20209, say, is the locked account (pyicloud raises on it).
_BAD_REQUEST = {"error": "Bad request"}
_BAD_CODE = {
    "service_errors": [
        {
            "code": "-21669",
            "title": "Incorrect Verification Code",
            "message": "Incorrect verification code.",
        }
    ],
    "hasError": True,
}


@dataclass(frozen=True, slots=True)
class Account:
    """Who may sign in, and how: password, two-factor code and where the code goes."""

    apple_id: str
    password: str
    code: str
    two_factor: bool
    code_by_sms: bool
    security_keys: tuple[str, ...] = ()  # names of FIDO security keys, when it signs in with them

    @property
    def dsid(self) -> str:
        digest = hashlib.sha256(self.apple_id.lower().encode("utf-8")).digest()
        return str(10**10 + int.from_bytes(digest[:5], "big") % (9 * 10**10))

    @property
    def owner(self) -> str:
        """The CloudKit owner record name of the account's zones."""
        return "_" + hashlib.md5(self.dsid.encode(), usedforsecurity=False).hexdigest()


@dataclass
class _Idms:
    scnt: str
    attributes: str
    pending: str | None = None  # the session token waiting for a code
    verified: bool = False


@dataclass
class WebSession:
    """A signed-in web session (the ``X-APPLE-WEBAUTH-TOKEN`` cookie)."""

    passed: bool  # the two-factor step is done (or was not needed)
    trusted_browser: bool
    expired: bool = False


@dataclass
class Tokens:
    """What idmsa hands out and setup checks: session tokens, trust tokens, web sessions."""

    sessions: dict[str, bool] = field(default_factory=dict)  # token -> two-factor step passed
    trust: set[str] = field(default_factory=set)
    web: dict[str, WebSession] = field(default_factory=dict)

    def new_session(self, passed: bool) -> str:
        token = "AQE" + secrets.token_urlsafe(96)
        self.sessions[token] = passed
        return token


class Idmsa:
    """idmsa.apple.com for one account: SRP challenges, idmsa sessions, codes, trust."""

    def __init__(self, account: Account, tokens: Tokens, counters: Counters) -> None:
        self.account = account
        self._tokens = tokens
        self._counters = counters
        self._salt = srp.new_salt()
        self._verifiers = {
            protocol: srp.verifier(account.password, self._salt, _ITERATIONS, protocol)
            for protocol in srp.PROTOCOLS
        }
        self._challenges: dict[str, srp.Challenge] = {}
        self._idms: dict[str, _Idms] = {}

    def answer(self, request: Request, name: str) -> Reply:
        routes = {
            ("GET", "authorize/signin"): self._signin_page,
            ("POST", "signin/init"): self._init,
            ("POST", "signin/complete"): self._complete,
            ("GET", "auth"): self._options,
            ("PUT", "verify/phone"): self._send_sms,
            ("POST", "verify/phone/securitycode"): self._check_code,
            ("PUT", "verify/trusteddevice/securitycode"): self._push_code,
            ("POST", "verify/trusteddevice/securitycode"): self._check_code,
            ("GET", "2sv/trust"): self._trust_browser,
        }
        handler = routes.get((request.method, name))
        if handler is None:
            return json_reply(404, {"error": f"no such idmsa route: {request.method} {name}"})
        return handler(request)

    def _find(self, request: Request) -> tuple[str, _Idms] | None:
        """The idmsa session the request's ``X-Apple-ID-Session-Id`` and ``scnt`` name."""
        key = request.header("X-Apple-ID-Session-Id")
        known = self._idms.get(key)
        if known is None or known.scnt != request.header("scnt"):
            return None
        return key, known

    def _open(self, request: Request) -> tuple[str, _Idms]:
        """The request's idmsa session, or a new one."""
        found = self._find(request)
        if found is not None:
            return found
        key = secrets.token_hex(16)
        self._idms[key] = _Idms(secrets.token_urlsafe(24), secrets.token_urlsafe(16))
        return key, self._idms[key]

    def _idms_headers(self, key: str, session: _Idms) -> list[tuple[str, str]]:
        return [
            ("X-Apple-ID-Session-Id", key),
            ("scnt", session.scnt),
            ("X-Apple-Auth-Attributes", session.attributes),
        ]

    def _signin_page(self, request: Request) -> Reply:
        key, session = self._open(request)
        boot = {"direct": {"isPasswordSecuritySignin": True}, "additional": {}}
        page = _page("Sign In with your Apple ID", boot)
        return Reply(200, page, "text/html;charset=UTF-8", self._idms_headers(key, session))

    def _init(self, request: Request) -> Reply:
        key, session = self._open(request)
        body = json_object(request.json())
        protocols = body.get("protocols") or []
        protocol = next((p for p in srp.PROTOCOLS if p in protocols), None)
        try:
            a_bytes = base64.b64decode(str(body.get("a", "")), validate=True)
        except binascii.Error:
            a_bytes = b""
        name = str(body.get("accountName", ""))
        if protocol is None or not a_bytes:
            return json_reply(400, _BAD_REQUEST)
        verifier = self._verifiers[protocol]
        if name.lower() != self.account.apple_id.lower():
            verifier = srp.verifier(secrets.token_hex(16), self._salt, 1, protocol)
        challenge = srp.challenge(name, self._salt, verifier, a_bytes)
        if challenge is None:
            return json_reply(400, _BAD_REQUEST)
        ticket = "d-" + secrets.token_urlsafe(24)
        self._challenges[ticket] = challenge
        answer = {
            "iteration": _ITERATIONS,
            "salt": _b64(self._salt),
            "protocol": protocol,
            "b": _b64(challenge.b_bytes),
            "c": ticket,
        }
        return json_reply(200, answer, self._idms_headers(key, session))

    def _complete(self, request: Request) -> Reply:
        key, session = self._open(request)
        body = json_object(request.json())
        challenge = self._challenges.pop(str(body.get("c", "")), None)
        try:
            m1 = base64.b64decode(str(body.get("m1", "")), validate=True)
            m2 = base64.b64decode(str(body.get("m2", "")), validate=True)
        except binascii.Error:
            m1 = m2 = b""
        known = str(body.get("accountName", "")).lower() == self.account.apple_id.lower()
        if challenge is None or not known or not srp.check_proof(challenge, m1, m2):
            self._counters.failed_signins += 1
            return json_reply(401, _BAD_PASSWORD, self._idms_headers(key, session))
        self._counters.signins += 1
        sent = body.get("trustTokens") or []
        passed = not self.account.two_factor or any(token in self._tokens.trust for token in sent)
        token = self._tokens.new_session(passed)
        headers = [
            *self._idms_headers(key, session),
            ("X-Apple-Session-Token", token),
            ("X-Apple-ID-Account-Country", _COUNTRY),
        ]
        if passed:
            return json_reply(200, {"authType": "hsa2"}, headers)
        session.pending, session.verified = token, False
        if not self.account.code_by_sms:
            self._counters.codes_sent += 1  # Apple pushes the code to the devices at once
        return json_reply(409, {"authType": "hsa2"}, headers)

    def _options(self, request: Request) -> Reply:
        """Where the code went: JSON when asked for, else the HTML page with its boot_args."""
        verification = self._phone_verification()
        if "application/json" in request.header("Accept") and "html" not in request.header(
            "Accept"
        ):
            answer = {**verification, "trustedPhoneNumbers": [self._phone()]}
            if self.account.code_by_sms:
                answer["mode"] = "sms"
            if self.account.security_keys:
                answer["keyNames"] = list(self.account.security_keys)
                answer["fsaChallenge"] = {
                    "challenge": "c2ltdWxhdGVkLWNoYWxsZW5nZQ",
                    "keyHandles": ["c2ltdWxhdGVkLWtleQ"],
                    "rpId": "apple.com",
                }
            return json_reply(200, answer)
        two_sv: dict[str, object] = {
            "phoneNumberVerification": verification,
            "authFactors": ["sms"] if self.account.code_by_sms else ["trusteddevice", "sms"],
        }
        if self.account.code_by_sms:
            # Where pyicloud's page reader looks for the phone to text (a bridge is never offered).
            two_sv["bridgeInitiateData"] = {"phoneNumberVerification": verification}
        route = "auth/verify/phone" if self.account.code_by_sms else "auth/verify/trusteddevice"
        direct = {
            "authInitialRoute": route,
            "hasTrustedDevices": not self.account.code_by_sms,
            "twoSV": two_sv,
        }
        return Reply(200, _page("Two-Factor Authentication", {"direct": direct}), "text/html")

    def _send_sms(self, request: Request) -> Reply:
        found = self._find(request)
        body = json_object(request.json())
        phone = json_object(body.get("phoneNumber"))
        if found is None or found[1].pending is None or str(phone.get("id")) != "1":
            return json_reply(400, _BAD_REQUEST)
        self._counters.codes_sent += 1
        answer = {**self._phone_verification(), "mode": "sms", "type": "verification"}
        return json_reply(200, answer, self._idms_headers(*found))

    def _push_code(self, request: Request) -> Reply:
        found = self._find(request)
        if found is None or found[1].pending is None:
            return json_reply(400, _BAD_REQUEST)
        self._counters.codes_sent += 1
        return Reply(202, b"", headers=self._idms_headers(*found))

    def _check_code(self, request: Request) -> Reply:
        found = self._find(request)
        body = json_object(request.json())
        code = json_object(body.get("securityCode"))
        if found is None or found[1].pending is None or code.get("code") != self.account.code:
            return json_reply(400, _BAD_CODE)
        key, session = found
        session.verified = True
        self._tokens.sessions[str(session.pending)] = True
        if request.path.endswith("/phone/securitycode"):
            answer = {**self._phone_verification(), "mode": "sms"}
            return json_reply(200, answer, self._idms_headers(key, session))
        return Reply(204, b"", headers=self._idms_headers(key, session))

    def _trust_browser(self, request: Request) -> Reply:
        found = self._find(request)
        if found is None or not found[1].verified:
            return json_reply(401, {"error": "no verified code in this session"})
        key, session = found
        trust = "HSARMTKNSRVXWFla" + secrets.token_urlsafe(48)
        self._tokens.trust.add(trust)
        session.pending = None  # a second trust request is answered again, as Apple does
        headers = [
            *self._idms_headers(key, session),
            ("X-Apple-Session-Token", self._tokens.new_session(True)),
            ("X-Apple-TwoSV-Trust-Token", trust),
            ("X-Apple-TwoSV-Trust-Eligible", "true"),
        ]
        return Reply(204, b"", headers=headers)

    def _phone(self) -> dict[str, object]:
        return {
            "id": 1,
            "numberWithDialCode": "+33 •• •• •• •• 42",
            "obfuscatedNumber": "•• •• •• •• 42",
            "lastTwoDigits": "42",
            "pushMode": "sms",
            "nonFTEU": False,
        }

    def _phone_verification(self) -> dict[str, object]:
        return {
            "trustedPhoneNumber": self._phone(),
            "trustedPhoneNumbers": [self._phone()],
            "securityCode": {
                "length": len(self.account.code),
                "tooManyCodesSent": False,
                "tooManyCodesValidated": False,
                "securityCodeLocked": False,
                "securityCodeCooldown": False,
            },
            "authenticationType": "hsa2",
            "hsa2Account": True,
            "restrictedAccount": False,
            "managedAccount": False,
        }


def _page(title: str, boot: Mapping[str, object]) -> bytes:
    script = json.dumps(boot).replace("</", "<\\/")
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f'<script type="application/json" class="boot_args">{script}</script>'
        "</body></html>"
    ).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def json_object(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for bodies of the wrong shape)."""
    return value if isinstance(value, dict) else {}
