"""The library from Python, with the host's delegate written in Python.

Each test builds a Dispatcher over a Python host, invokes wx APIs as a mini
program's bridge would (JSON text in, reply JSON text out) and checks the
reply, the platform's answers and what the host saw. Nothing sleeps to
synchronise: a test waits on asyncio events the host sets, each wait bounded.
"""

import asyncio
import json
import socket

import pytest

import superapp_openapi_ffi as ffi
import superapp_openapi as core
from conftest import (
    EMAIL, GAME, GAME_SECRET, PHONE, SHOP, SHOP_SECRET, USER, populate, run,
)
from hosts import USER_INFO, Host, V1Host, V2Host, V3Host

V1, V2, V3 = core.ApiVersion.V1, core.ApiVersion.V2, core.ApiVersion.V3
SHOP_APP = ffi.AppInfo(app_id=SHOP)
GAME_APP = ffi.AppInfo(app_id=GAME, kind=core.AppKind.MINI_GAME)


def dispatcher(host, version=V1, timeout_ms=5_000, server=None):
    return ffi.Dispatcher(host, version, timeout_ms, server)


async def invoke(d, app, api, params=None):
    reply = await d.invoke(app, api, json.dumps(params if params is not None else {}))
    return json.loads(reply)


# ---- v1


def test_a_v1_host_answers_get_user_info():
    async def scenario():
        reply = await invoke(dispatcher(V1Host()), SHOP_APP, "wx.getUserInfo")
        assert reply == {"errMsg": "getUserInfo:ok", "userInfo": USER_INFO}

    run(scenario)


def test_a_v1_host_answers_request_payment_with_the_params_it_was_given():
    host = V1Host()

    async def scenario():
        d = dispatcher(host)
        params = {"order_no": "o-42", "total_fee": 100}
        reply = await invoke(d, SHOP_APP, "requestPayment", params)
        assert reply == {"errMsg": "requestPayment:ok", "pay_time": 1700000000, "order_no": "o-42"}
        refused = await invoke(d, SHOP_APP, "wx.requestPayment", {"order_no": "o-43", "total_fee": 0})
        assert refused == {"errMsg": "requestPayment:fail total_fee must be positive", "errno": 40100}

    run(scenario)
    assert host.payments == [(SHOP, {"order_no": "o-42", "total_fee": 100}),
                             (SHOP, {"order_no": "o-43", "total_fee": 0})]


def test_a_method_the_host_does_not_offer_is_not_implemented_errno_103():
    class Bare(ffi.OpenApiHandler):
        """Only the hooks: the generated base class's NotImplementedError
        answers every API method."""

        def open_api_version(self, app):
            return None

        def app_uid(self, app):
            return None

    async def scenario():
        for host in (V1Host(), Bare()):
            reply = await invoke(dispatcher(host), SHOP_APP, "wx.requestVirtualPayment")
            assert reply == {
                "errMsg": "requestVirtualPayment:fail requestVirtualPayment is not implemented by the host",
                "errno": 103,
                "errCode": 103,
            }

    run(scenario)


def test_v1_login_is_the_hosts_own():
    class LoginHost(Host):
        async def login(self, app, params):
            return json.dumps({"code": "code-from-my-backend", "errMsg": "ignored"})

    async def scenario():
        reply = await invoke(dispatcher(LoginHost()), SHOP_APP, "wx.login")
        assert reply == {"errMsg": "login:ok", "code": "code-from-my-backend"}

    run(scenario)


# ---- v2


def test_a_v2_host_logs_in_with_its_app_uid_and_the_session_checks():
    async def scenario():
        d = dispatcher(V2Host(), V2)
        server = populate(d.open_server())
        login = await invoke(d, SHOP_APP, "wx.login")
        assert login["errMsg"] == "login:ok"
        assert len(login["code"]) == 32
        session = await server.jscode2session(SHOP, SHOP_SECRET, login["code"])
        assert len(session.openid) == 64
        check = await invoke(d, SHOP_APP, "wx.checkSession")
        assert check == {"errMsg": "checkSession:ok"}

    run(scenario)


def test_v2_with_nobody_signed_in_is_errno_105():
    async def scenario():
        d = dispatcher(V2Host(uid=None), V2)
        populate(d.open_server())
        reply = await invoke(d, SHOP_APP, "wx.login")
        assert reply["errno"] == 105
        assert reply["errMsg"].startswith("login:fail")

    run(scenario)


def test_app_json_beats_the_hook_and_the_hook_beats_the_default():
    class HookHost(V2Host):
        def open_api_version(self, app):
            return V2

    d = dispatcher(HookHost(), V1)
    by_hook = d.explain(SHOP_APP, "wx.login")
    assert (by_hook.version, by_hook.source, by_hook.answered_by) == (
        V2, core.VersionSource.HOOK, core.Responder.BUILT_IN)
    app = ffi.app_info_from_app_json(SHOP, '{"pages":["index"],"apiVersion":"v1"}')
    assert app.api_version == V1
    by_app_json = d.explain(app, "login")
    assert (by_app_json.version, by_app_json.source, by_app_json.answered_by) == (
        V1, core.VersionSource.APP_JSON, core.Responder.HOST)
    assert by_app_json.summary == "login: v1 (from apiVersion in app.json) -> the host's handler"
    with pytest.raises(ffi.OpenApiError.InvalidArgument):
        ffi.app_info_from_app_json(SHOP, '{"apiVersion": 2}')
    with pytest.raises(ffi.OpenApiError.InvalidArgument):
        d.explain(SHOP_APP, "wx.shareAppMessage")


def test_a_hook_that_raises_counts_as_no_answer():
    class RaisingHook(V2Host):
        def open_api_version(self, app):
            raise RuntimeError("no version today")

    d = dispatcher(RaisingHook(), V2)
    explained = d.explain(SHOP_APP, "login")
    assert (explained.version, explained.source) == (V2, core.VersionSource.DEFAULT)


# ---- v3


def test_a_v3_host_grants_some_scopes_and_the_refused_one_is_a_deny_errno_202():
    async def scenario():
        server = populate(ffi.OpenServer())
        host = V3Host(server)
        d = dispatcher(host, V3, server=server)
        login = await invoke(d, GAME_APP, "wx.login")
        assert login["errMsg"] == "login:ok"
        session = await server.jscode2session(GAME, GAME_SECRET, login["code"])
        token = await server.token(GAME, GAME_SECRET)

        phone = await invoke(d, GAME_APP, "wx.getPhoneNumber")
        assert phone["errMsg"] == "getPhoneNumber:ok"
        number = await server.getuserphonenumber(token.access_token, session.openid, phone["code"])
        assert number.phone_number.reveal() == PHONE

        email = await invoke(d, GAME_APP, "wx.getEmail")
        assert email == {
            "errMsg": "getEmail:fail auth deny: SCOPE_EMAIL was not granted "
                      "(the user declined to share their email)",
            "errno": 202,
        }
        return host.requests

    requests = run(scenario)
    assert requests == [
        ("login", []),
        ("getPhoneNumber", [core.Scope.PHONE_NUMBER]),
        ("getEmail", [core.Scope.EMAIL]),
    ]


def test_v3_without_get_auth_code_is_errno_104():
    async def scenario():
        d = dispatcher(V2Host(), V3)
        populate(d.open_server())
        reply = await invoke(d, SHOP_APP, "wx.login")
        assert reply["errno"] == 104

    run(scenario)


# ---- the whole login story on the embedded platform


def test_the_login_story_login_jscode2session_checksession_phone_number():
    async def scenario():
        d = dispatcher(V2Host(), V2)
        server = populate(d.open_server())

        login = await invoke(d, SHOP_APP, "wx.login")
        session = await server.jscode2session(SHOP, SHOP_SECRET, login["code"])
        token = await server.token(SHOP, SHOP_SECRET)
        assert token.expires_in == 7200

        signature = ffi.session_signature(session.session_key)
        assert len(signature) == 64
        checked = await server.checksession(token.access_token, session.openid, signature)
        assert (checked.errcode, checked.errmsg) == (0, "ok")
        with pytest.raises(ffi.OpenApiError.Platform) as wrong:
            await server.checksession(token.access_token, session.openid, "00" * 32)
        assert wrong.value.errcode == 87009

        phone = await invoke(d, SHOP_APP, "wx.getPhoneNumber")
        number = await server.getuserphonenumber(token.access_token, session.openid, phone["code"])
        assert number.phone_number.reveal() == PHONE

        email = await invoke(d, SHOP_APP, "wx.getEmail")
        address = await server.getemailaddress(token.access_token, session.openid, email["code"])
        assert address.email_address.reveal() == EMAIL

        with pytest.raises(ffi.OpenApiError.Platform) as reused:
            await server.jscode2session(SHOP, SHOP_SECRET, login["code"])
        assert reused.value.errcode == 40163

        # The unionid is the team's: the same in the game, the openid is not.
        game = await invoke(d, GAME_APP, "wx.login")
        game_session = await server.jscode2session(GAME, GAME_SECRET, game["code"])
        assert game_session.unionid == session.unionid
        assert game_session.openid != session.openid

    run(scenario)


# ---- a host that fails, hangs, or is cancelled


def test_a_host_method_that_raises_is_a_fail_reply_errno_301():
    class Raising(Host):
        async def get_user_info(self, app, params):
            raise RuntimeError("boom")

        async def get_user_profile(self, app, params):
            raise ffi.HostError.Cancelled()

        async def request_payment(self, app, params):
            raise ffi.HostError.Denied(reason="the user closed the cashier")

        async def get_nick_name(self, app, params):
            return "[1, 2]"

    async def scenario():
        d = dispatcher(Raising())
        raised = await invoke(d, SHOP_APP, "wx.getUserInfo")
        assert raised == {"errMsg": "getUserInfo:fail the host raised RuntimeError('boom')", "errno": 301}
        cancelled = await invoke(d, SHOP_APP, "wx.getUserProfile")
        assert cancelled == {"errMsg": "getUserProfile:fail cancel", "errno": 201}
        denied = await invoke(d, SHOP_APP, "wx.requestPayment")
        assert denied == {"errMsg": "requestPayment:fail auth deny: the user closed the cashier", "errno": 202}
        not_object = await invoke(d, SHOP_APP, "wx.getNickName")
        assert not_object == {"errMsg": "getNickName:fail the host's result is not a JSON object", "errno": 301}
        # And the dispatcher goes on serving.
        assert (await invoke(d, SHOP_APP, "wx.getUserInfo"))["errno"] == 301

    run(scenario)


def test_a_host_that_answers_the_wrong_type_fails_the_call_not_the_process():
    class Wrong(Host):
        async def get_user_info(self, app, params):
            return {"userInfo": {}}  # a dict, not JSON text

        def app_uid(self, app):
            return 42  # not a string

    async def scenario():
        d = dispatcher(Wrong(), V2)
        populate(d.open_server())
        info = await invoke(d, SHOP_APP, "wx.getUserInfo")
        assert info["errno"] == 301
        assert info["errMsg"].startswith("getUserInfo:fail the host raised AttributeError")
        login = await invoke(d, SHOP_APP, "wx.login")
        assert login["errno"] == 105

    run(scenario)


def test_params_that_are_not_a_json_object_never_reach_the_host():
    async def scenario():
        d = dispatcher(V1Host())
        bad = json.loads(await d.invoke(SHOP_APP, "wx.getUserInfo", "{not json"))
        assert bad["errno"] == 102
        array = json.loads(await d.invoke(SHOP_APP, "wx.getUserInfo", "[1]"))
        assert array["errno"] == 102
        unknown = json.loads(await d.invoke(SHOP_APP, "wx.shareAppMessage", "{}"))
        assert unknown["errno"] == 101

    run(scenario)


class Hanging(Host):
    """A host whose getUserInfo never answers: it says when it started and
    when it was cancelled."""

    def __init__(self):
        self.entered = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def get_user_info(self, app, params):
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def test_a_host_that_never_answers_times_out_errno_408_and_is_cancelled():
    async def scenario():
        host = Hanging()
        d = dispatcher(host, timeout_ms=200)
        reply = await invoke(d, SHOP_APP, "wx.getUserInfo")
        assert reply == {"errMsg": "getUserInfo:fail timeout: no answer within 200 ms", "errno": 408}
        # The host's coroutine is cancelled, not left running.
        await asyncio.wait_for(host.cancelled.wait(), 5)

    run(scenario)


def test_a_call_cancelled_from_python_cancels_the_host_call_under_it():
    async def scenario():
        host = Hanging()
        d = dispatcher(host, timeout_ms=60_000)
        call = asyncio.ensure_future(d.invoke(SHOP_APP, "wx.getUserInfo", "{}"))
        await asyncio.wait_for(host.entered.wait(), 5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.wait_for(host.cancelled.wait(), 5)
        # The dispatcher still answers afterwards.
        other = dispatcher(V1Host())
        assert (await invoke(other, SHOP_APP, "wx.getUserInfo"))["errMsg"] == "getUserInfo:ok"

    run(scenario)


def test_an_unreachable_remote_platform_is_errno_402():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port any more: the connection is refused.

    async def scenario():
        d = ffi.Dispatcher.from_remote_platform(
            V2Host(), V2, 5_000, f"http://127.0.0.1:{port}", "host-sdk-key-0123456789")
        assert d.open_server() is None
        reply = await invoke(d, SHOP_APP, "wx.login")
        assert reply["errno"] == 402, reply
        assert "host-sdk-key" not in repr(d)

    run(scenario)


# ---- many at once


def test_a_thousand_concurrent_invokes_get_their_own_replies():
    class Echo(Host):
        def __init__(self):
            self.in_flight = 0
            self.most_in_flight = 0

        async def get_user_info(self, app, params):
            n = json.loads(params)["n"]
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await asyncio.sleep(0)
            self.in_flight -= 1
            return json.dumps({"userInfo": {"nickName": f"user-{n}"}, "n": n, "app": app.app_id})

    host = Echo()

    async def scenario():
        d = dispatcher(host)
        apps = [ffi.AppInfo(app_id=f"wx-{n % 7}") for n in range(1000)]
        replies = await asyncio.gather(*(
            d.invoke(apps[n], "wx.getUserInfo", json.dumps({"n": n})) for n in range(1000)))
        return [json.loads(r) for r in replies]

    replies = run(scenario, timeout=60)
    assert [r["n"] for r in replies] == list(range(1000))
    for n, r in enumerate(replies):
        assert r == {"errMsg": "getUserInfo:ok", "userInfo": {"nickName": f"user-{n}"},
                     "n": n, "app": f"wx-{n % 7}"}
    assert host.most_in_flight > 1


# ---- secrets


def test_no_secret_in_any_repr():
    async def scenario():
        d = dispatcher(V2Host(), V2)
        server = populate(d.open_server())
        login = await invoke(d, SHOP_APP, "wx.login")
        session = await server.jscode2session(SHOP, SHOP_SECRET, login["code"])
        token = await server.token(SHOP, SHOP_SECRET)
        phone = await invoke(d, SHOP_APP, "wx.getPhoneNumber")
        number = await server.getuserphonenumber(token.access_token, session.openid, phone["code"])
        auth_code = await server.issue_auth_code(SHOP, USER, [core.Scope.PHONE_NUMBER])
        grant = ffi.AuthGrant(auth_code=auth_code.reveal(), code="other-code-123",
                              auth_success_scopes=[core.Scope.PHONE_NUMBER])
        user = ffi.SuperappUser(id=USER, phone_number=PHONE, email=EMAIL)
        secrets = [session.session_key.reveal(), token.access_token.reveal(), PHONE, EMAIL,
                   auth_code.reveal(), "other-code-123", SHOP_SECRET]
        things = [d, server, session, token, number, grant, user, auth_code,
                  session.session_key, token.access_token, number.phone_number]
        return secrets, things

    secrets, things = run(scenario)
    assert all(len(s) >= 8 for s in secrets)
    for thing in things:
        for text in (repr(thing), str(thing)):
            for secret in secrets:
                assert secret not in text, f"{type(thing).__name__} shows a secret: {text}"
    assert repr(things[-1]) == "Secret([redacted])"
    assert "[redacted]" in str(things[5])  # the grant says its codes are hidden
