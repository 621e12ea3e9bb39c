"""A super-app host written in Python: the whole login story of
``examples/login_walkthrough.rs``, with the host's delegate in Python and
the dispatcher and the embedded platform in Rust behind UniFFI.

First a v2 host (the host's UID), then a v3 host (an authCode from the
super-app server, with scopes, the email refused by the user); the mini
program's developer server exchanges the codes on the platform. It also
shows that the unionid is the same in two apps of one team and that a
reused code is refused with 40163.

Run it after ``bash bindings/ffi/generate.sh`` has put the bindings and the
library in ``bindings/ffi/generated/python`` (``test.sh`` does both):

    python3 bindings/ffi/examples/host.py

Codes, keys, tokens and the phone number are shown masked. It exits
non-zero if any step does not behave as it prints.
"""

import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "generated", "python"))

import superapp_openapi_ffi as ffi  # noqa: E402
import superapp_openapi as core  # noqa: E402
from superapp_openapi_ffi import uniffi_set_event_loop  # noqa: E402

# The same apps, user and team as examples/openserver.json.
TEAM = "team-demo"
SHOP = "wxdemo00000000001"
SHOP_SECRET = "demo-app-secret-change-me"
GAME = "wxdemogame0000001"
GAME_SECRET = "demo-game-secret-change-me"
USER = "u-1001"
PHONE = "+8613800000000"


def short(value):
    """An id, shortened for reading (ids are not secrets)."""
    return value[:12] + "…" if len(value) > 12 else value


def masked(secret):
    """A secret's shape, not its value."""
    if len(secret) <= 8:
        return "*" * len(secret)
    return f"{secret[:4]}{'*' * 6}{secret[-2:]} ({len(secret)} chars)"


class Story:
    """Every step printed, every surprise counted."""

    def __init__(self):
        self.surprises = []

    def chapter(self, title):
        print(f"\n== {title}")

    def say(self, who, what):
        print(f"[{who}] {what}")

    def check(self, ok, what):
        print(f"    {'ok' if ok else 'NOT AS EXPECTED'}: {what}")
        if not ok:
            self.surprises.append(what)


class Host(ffi.OpenApiHandler):
    """The delegate's API methods this host does not offer answer "not
    implemented"; the v2 and v3 hosts below add what they do."""

    async def login(self, app, params):
        raise ffi.HostError.NotImplemented()

    check_session = get_phone_number = get_email = choose_avatar = login
    get_nick_name = get_user_info = get_user_profile = request_payment = login
    request_midas_payment_game_item = request_virtual_payment = login

    async def get_auth_code(self, app, request):
        raise ffi.HostError.NotImplemented()

    def open_api_version(self, app):
        return None

    def app_uid(self, app):
        return None


class V2Host(Host):
    """The user signed in to the super app is u-1001."""

    def app_uid(self, app):
        return USER


class V3Host(V2Host):
    """Asks the super-app server for an authCode; the user allows
    everything but their email."""

    def __init__(self, server):
        self.server = server

    async def get_auth_code(self, app, request):
        granted = [s for s in request.scopes if s != core.Scope.EMAIL]
        refused = [s for s in request.scopes if s == core.Scope.EMAIL]
        asked = ", ".join(s.name for s in request.scopes)
        print(f"[host] get_auth_code for {request.api} (scopes asked: [{asked}]) "
              "-> the super-app server issues an authCode")
        code = await self.server.issue_auth_code(app.app_id, USER, granted)
        for scope in refused:
            print(f"[user] refuses to share {scope.name}")
        return ffi.AuthGrant(
            auth_code=code.reveal(),
            auth_success_scopes=granted,
            auth_error_scopes={s: "the user declined to share their email" for s in refused},
        )


async def invoke(dispatcher, app, api, params=None):
    return json.loads(await dispatcher.invoke(app, api, json.dumps(params or {})))


async def platform_error(call):
    """The errcode of a developer-server call that should fail, or None."""
    try:
        await call
    except ffi.OpenApiError.Platform as err:
        return err.errcode, err.errmsg
    return None


async def walkthrough(story):
    story.chapter("The parties")
    server = ffi.OpenServer()
    story.say("platform", "the embedded OpenServer, in this process (Rust, behind UniFFI)")
    server.register_app(SHOP, SHOP_SECRET, TEAM, core.AppKind.MINI_PROGRAM)
    server.register_app(GAME, GAME_SECRET, TEAM, core.AppKind.MINI_GAME)
    server.add_user(ffi.SuperappUser(id=USER, phone_number=PHONE, email="ada@example.com",
                                     nickname="Ada"))
    story.say("platform", f"apps {SHOP} (mini program) and {GAME} (mini game), both of {TEAM}")
    story.say("super-app server", f"user {USER}, phone {masked(PHONE)}")

    # ---- v2
    story.chapter("v2: the host says who is signed in (app_uid), the built-in flow does the rest")
    v2 = ffi.Dispatcher(V2Host(), core.ApiVersion.V2, 30_000, server)
    shop = ffi.AppInfo(app_id=SHOP)
    story.say("host", v2.explain(shop, "login").summary)

    reply = await invoke(v2, shop, "wx.login")
    story.say("mini program", f"wx.login -> errMsg {reply['errMsg']!r}")
    story.check(reply["errMsg"] == "login:ok", "the v2 host answers wx.login with a code")
    code = reply.get("code", "")
    story.say("mini program", f"sends the code {masked(code)} to its developer server")

    session = await server.jscode2session(SHOP, SHOP_SECRET, code)
    story.check(len(session.openid) == 64 and session.unionid != "",
                "jscode2session gives openid, session_key and unionid")
    story.say("developer server", f"openid {short(session.openid)}, unionid {short(session.unionid)}, "
                                  f"session_key {masked(session.session_key.reveal())}")

    token = await server.token(SHOP, SHOP_SECRET)
    story.check(token.expires_in == 7200, "the developer server gets an access token (cgi-bin/token)")
    story.say("developer server", f"access_token {masked(token.access_token.reveal())}")

    story.say("developer server", 'checksession with signature = hex(hmac_sha256(session_key, ""))')
    checked = await server.checksession(token.access_token, session.openid,
                                        ffi.session_signature(session.session_key))
    story.check(checked.errcode == 0, "the platform accepts the signature")

    reply = await invoke(v2, shop, "wx.checkSession")
    story.say("mini program", f"wx.checkSession -> errMsg {reply['errMsg']!r}")
    story.check(reply["errMsg"] == "checkSession:ok", "the session is valid after the exchange")

    reply = await invoke(v2, shop, "wx.getPhoneNumber")
    story.say("mini program", f"wx.getPhoneNumber -> errMsg {reply['errMsg']!r}")
    story.check(reply["errMsg"] == "getPhoneNumber:ok",
                "the built-in getPhoneNumber hands out a one-time code")
    phone = await server.getuserphonenumber(token.access_token, session.openid, reply.get("code", ""))
    story.say("developer server", f"getuserphonenumber -> {masked(phone.phone_number.reveal())}")
    story.check(phone.phone_number.reveal() == PHONE,
                "the developer server reads the user's phone number")

    again = await platform_error(server.jscode2session(SHOP, SHOP_SECRET, code))
    story.say("developer server", f"jscode2session with the same code again -> {again}")
    story.check(again is not None and again[0] == 40163 and "code been used" in again[1],
                "a reused code is refused with 40163")

    # ---- v3
    story.chapter("v3: mutual trust — the host asks the super-app server for an authCode first")
    v3 = ffi.Dispatcher(V3Host(server), core.ApiVersion.V3, 30_000, server)
    game = ffi.AppInfo(app_id=GAME, kind=core.AppKind.MINI_GAME)
    story.say("host", v3.explain(game, "getPhoneNumber").summary)

    reply = await invoke(v3, game, "wx.login")
    story.say("mini program", f"wx.login -> errMsg {reply['errMsg']!r}")
    story.check(reply["errMsg"] == "login:ok", "the v3 host answers wx.login after getting an authCode")
    game_session = await server.jscode2session(GAME, GAME_SECRET, reply.get("code", ""))
    story.say("developer server", f"in {GAME}: openid {short(game_session.openid)}, "
                                  f"unionid {short(game_session.unionid)}")
    story.check(game_session.unionid == session.unionid,
                f"the unionid is the same in {SHOP} and {GAME} (one team)")
    story.check(game_session.openid != session.openid, "the openid differs from app to app")

    game_token = await server.token(GAME, GAME_SECRET)
    reply = await invoke(v3, game, "wx.getPhoneNumber")
    story.say("mini program", f"wx.getPhoneNumber -> errMsg {reply['errMsg']!r}")
    phone = await server.getuserphonenumber(game_token.access_token, game_session.openid,
                                            reply.get("code", ""))
    story.check(phone.phone_number.reveal() == PHONE,
                "with SCOPE_PHONE_NUMBER granted, the developer server reads the phone number")

    reply = await invoke(v3, game, "wx.getEmail")
    story.say("mini program", f"wx.getEmail -> {json.dumps(reply, ensure_ascii=False)}")
    story.check(
        reply.get("errMsg") == "getEmail:fail auth deny: SCOPE_EMAIL was not granted "
                               "(the user declined to share their email)"
        and reply.get("errno") == 202,
        "the refused scope reaches the mini program as an auth deny (errno 202)",
    )


async def main():
    # Rust calls the host's async methods from its own threads: tell UniFFI
    # which loop runs them.
    uniffi_set_event_loop(asyncio.get_running_loop())
    story = Story()
    try:
        await walkthrough(story)
    except ffi.OpenApiError as err:
        print(f"\nthe walkthrough stopped: {err!r}", file=sys.stderr)
        return 1
    if story.surprises:
        print(f"\n{len(story.surprises)} step(s) did not behave as printed:", file=sys.stderr)
        for s in story.surprises:
            print(f"  - {s}", file=sys.stderr)
        return 1
    print("\nEvery step behaved as printed.")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
