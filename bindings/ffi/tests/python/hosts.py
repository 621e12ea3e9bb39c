"""Python hosts: each implements the delegate (``OpenApiHandler``) the way a
super app would, in Python, with ``async def`` methods."""

import json

import superapp_openapi_ffi as ffi
import superapp_openapi as core

from conftest import USER


class Host(ffi.OpenApiHandler):
    """Answers nothing: every API method raises ``HostError.NotImplemented``
    and the hooks answer ``None``, as the core's default bodies do. The
    hosts below override what they offer."""

    async def login(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def check_session(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def get_phone_number(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def get_email(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def choose_avatar(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def get_nick_name(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def get_user_info(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def get_user_profile(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def request_payment(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def request_midas_payment_game_item(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def request_virtual_payment(self, app, params):
        raise ffi.HostError.NotImplemented()

    async def get_auth_code(self, app, request):
        raise ffi.HostError.NotImplemented()

    def open_api_version(self, app):
        return None

    def app_uid(self, app):
        return None

    async def consent_prompt(self, app, prompt):
        raise ffi.HostError.NotImplemented()

    async def open_setting(self, app, settings):
        raise ffi.HostError.NotImplemented()


USER_INFO = {
    "nickName": "xcode",
    "avatarUrl": "https://example.com/a.png",
    "gender": 1,
    "country": "China",
    "province": "ChongQing",
    "city": "ChongQing",
    "language": "zh_CN",
}


class V1Host(Host):
    """v1: the host answers getUserInfo and requestPayment itself."""

    def __init__(self):
        self.payments = []

    async def get_user_info(self, app, params):
        return json.dumps({"userInfo": USER_INFO})

    async def request_payment(self, app, params):
        params = json.loads(params)
        self.payments.append((app.app_id, params))
        if params.get("total_fee", 0) <= 0:
            raise ffi.HostError.Failed(detail="total_fee must be positive", errno=40100)
        return json.dumps({"pay_time": 1700000000, "order_no": params["order_no"]})


class V2Host(Host):
    """v2: the built-ins identify the user by the host's UID."""

    def __init__(self, uid=USER):
        self.uid = uid

    def app_uid(self, app):
        return self.uid


class V3Host(V2Host):
    """v3: asks the (embedded) super-app server for an authCode, granting
    every scope but the email, which the user refuses."""

    def __init__(self, server):
        super().__init__()
        self.server = server
        self.requests = []

    async def get_auth_code(self, app, request):
        self.requests.append((request.api, list(request.scopes)))
        granted = [s for s in request.scopes if s != core.Scope.EMAIL]
        refused = {s: "the user declined to share their email" for s in request.scopes
                   if s == core.Scope.EMAIL}
        code = await self.server.issue_auth_code(app.app_id, USER, granted)
        return ffi.AuthGrant(
            auth_code=code.reveal(),
            auth_success_scopes=granted,
            auth_error_scopes=refused,
        )
