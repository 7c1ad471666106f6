"""setup.icloud.com: the iCloud web session that follows a sign-in, and the account it opens.

``accountLogin`` turns an idmsa session token into a web session (the ``X-APPLE-WEBAUTH-TOKEN``
cookie and its siblings, host-only, ``Secure``) and answers the account: ``dsInfo`` (the dsid
every later call carries), ``webservices`` (where CloudKit is: this server), and whether the
browser is trusted (``hsaTrustedBrowser``, from the trust token sent). ``validate`` answers the
same for a live web session and 421 for none or an expired one. ``requestWebAccessState``,
``enableDeviceConsentForPCS`` and ``requestPCS`` are the Advanced Data Protection handshake
pyicloud runs before Photos; with ``Faults.web_access_off`` they answer as Apple does when
"Access iCloud Data on the Web" is off.
"""

from __future__ import annotations

import secrets
import uuid

from companion.simulator.icloud.auth import Account, Tokens, WebSession, json_object
from companion.simulator.icloud.faults import Faults
from companion.simulator.icloud.wire import Reply, Request, json_reply

WEB_COOKIE = "X-APPLE-WEBAUTH-TOKEN"
_COOKIE_ATTRIBUTES = "Path=/; Secure; HttpOnly"
_DOMAINS = (".icloud.com", ".icloud.com.cn")
_COUNTRY = "FRA"
_NO_SESSION = {"success": False, "error": "Missing X-APPLE-WEBAUTH-TOKEN cookie"}


class Setup:
    """setup.icloud.com for one account."""

    def __init__(self, account: Account, tokens: Tokens, faults: Faults, base_url: str) -> None:
        self.account = account
        self._tokens = tokens
        self._faults = faults
        self._base = base_url

    def answer(self, request: Request, name: str) -> Reply:
        if name == "accountLogin":
            return self._account_login(request)
        web = self.web_session(request)
        if web is None or web.expired:
            return json_reply(421, _NO_SESSION)
        if name == "validate":
            return json_reply(200, self.account_data(web))
        if name == "requestWebAccessState":
            off = self._faults.web_access_off
            return json_reply(200, {"isICDRSDisabled": off, "isDeviceConsentedForPCS": not off})
        if name == "enableDeviceConsentForPCS":
            return json_reply(200, {"isDeviceConsentNotificationSent": False})
        if name == "requestPCS":
            if self._faults.web_access_off:
                message = "Access iCloud Data on the Web is turned off for this account."
                return json_reply(200, {"status": "failure", "message": message})
            return json_reply(200, {"status": "success", "message": "PCS cookies are available."})
        if name == "logout":
            self._tokens.web.pop(request.cookies.get(WEB_COOKIE, ""), None)
            return json_reply(200, {"success": True}, _cookies(request, {}, clear=True))
        return json_reply(404, {"error": f"no such setup route: {name}"})

    def web_session(self, request: Request) -> WebSession | None:
        return self._tokens.web.get(request.cookies.get(WEB_COOKIE, ""))

    def _account_login(self, request: Request) -> Reply:
        body = json_object(request.json())
        passed = self._tokens.sessions.get(str(body.get("dsWebAuthToken", "")))
        if passed is None:
            return json_reply(421, {"success": False, "error": "Invalid global session"})
        trusted = not self.account.two_factor or body.get("trustToken") in self._tokens.trust
        web = WebSession(passed=passed, trusted_browser=bool(trusted))
        token = f"v=2:t={'AQE' + secrets.token_urlsafe(96)}"
        self._tokens.web[token] = web
        values = {
            WEB_COOKIE: token,
            "X-APPLE-WEBAUTH-USER": f"v=1:s=0:d={self.account.dsid}",
            "X-APPLE-DS-WEB-SESSION-TOKEN": "AQE" + secrets.token_urlsafe(48),
            "X-APPLE-WEBAUTH-LOGIN": "v=1:t=" + secrets.token_urlsafe(32),
        }
        if trusted:
            values["X-APPLE-WEBAUTH-HSA-TRUST"] = secrets.token_urlsafe(64)
        return json_reply(200, self.account_data(web), _cookies(request, values))

    def account_data(self, web: WebSession) -> dict[str, object]:
        """What accountLogin and validate answer: the account and, once in, its services."""
        apple_id, dsid = self.account.apple_id, self.account.dsid
        services = {}
        if web.passed:
            services = {
                "ckdatabasews": {"url": self._base, "pcsRequired": True, "status": "active"},
                "photos": {"url": self._base, "pcsRequired": True, "status": "active"},
            }
        return {
            "dsInfo": {
                "dsid": dsid,
                "appleId": apple_id,
                "primaryEmail": apple_id,
                "appleIdAlias": "",
                "fullName": "Simulated Owner",
                "firstName": "Simulated",
                "lastName": "Owner",
                "hsaVersion": 2,
                "hsaEnabled": True,
                "locked": False,
                "countryCode": _COUNTRY,
                "languageCode": "en-us",
                "locale": "en_US",
                "isManagedAppleID": False,
                "hasICloudQualifyingDevice": True,
                "primaryEmailVerified": True,
                "statusCode": 2,
                "aDsID": str(uuid.uuid5(uuid.NAMESPACE_URL, dsid)).upper(),
            },
            "hasMinimumDeviceForPhotosWeb": True,
            "iCDPEnabled": False,
            "webservices": services,
            "pcsEnabled": True,
            "hsaTrustedBrowser": web.trusted_browser,
            "hsaChallengeRequired": not web.passed,
            "version": 2,
            "isExtendedLogin": True,
            "pcsServiceIdentitiesIncluded": web.passed,
            "requestInfo": {"country": "FR", "timeZone": "GMT+1", "region": "IDF"},
            "apps": {"photos": {}, "iclouddrive": {}},
        }


def _cookies(
    request: Request, values: dict[str, str], *, clear: bool = False
) -> list[tuple[str, str]]:
    """Set-Cookie headers: host-only, or for the whole domain when asked as setup.icloud.com.

    Apple scopes the web session to ``.icloud.com``, which is how it reaches the CloudKit host
    (``pNN-ckdatabasews.icloud.com``). A client that reaches this server by address gets
    host-only cookies: a ``Domain`` that does not match the address would be refused.
    """
    host = request.header("Host").rpartition(":")[0] or request.header("Host")
    domain = next((d for d in _DOMAINS if host.lower().endswith(d)), None)
    attributes = f"Domain={domain}; {_COOKIE_ATTRIBUTES}" if domain else _COOKIE_ATTRIBUTES
    if clear:
        names = (WEB_COOKIE, "X-APPLE-WEBAUTH-USER", "X-APPLE-DS-WEB-SESSION-TOKEN")
        return [("Set-Cookie", f"{name}=; Max-Age=0; {attributes}") for name in names]
    return [("Set-Cookie", f"{name}={value}; {attributes}") for name, value in values.items()]
