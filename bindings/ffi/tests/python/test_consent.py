"""Consent and custom APIs from Python: the consent prompt and the settings
view answered in Python, a custom API with intermediate states (by name and
through invokeNativePlugin), the host's list / set / clear, a Python
ConsentStore, and consent that survives a restart of the host process."""

import json
import os
import subprocess
import sys
import tempfile

import superapp_openapi_ffi as ffi
import superapp_openapi as core
from conftest import run
from hosts import Host

V1 = core.ApiVersion.V1
APP = ffi.AppInfo(app_id="wx-consent")
HERE = os.path.dirname(os.path.abspath(__file__))


class ConsentHost(Host):
    """Allows every scope but scope.record; its settings view turns
    everything off."""

    def __init__(self):
        self.prompts = []

    async def get_user_info(self, app, params):
        return json.dumps({"userInfo": {"nickName": "py"}})

    async def consent_prompt(self, app, prompt):
        self.prompts.append((prompt.scope, prompt.title))
        if prompt.scope == "scope.record":
            return ffi.ConsentAnswer.DENY
        return ffi.ConsentAnswer.ALLOW

    async def open_setting(self, app, settings):
        return [ffi.ScopeConsent(scope=s.scope, state=core.ConsentState.DENIED)
                for s in settings]


class Progress(ffi.CustomApiHandler):
    """Sends three states, then echoes its params."""

    async def call(self, app, params, states):
        for n in range(3):
            states.send(json.dumps({"progress": (n + 1) * 25}))
        return json.dumps({"echo": json.loads(params)})


class Collect(ffi.StateSink):
    def __init__(self):
        self.states = []

    def state(self, state):
        self.states.append(json.loads(state))


async def build(host, store=None, apis=(), guards=None):
    return await ffi.Dispatcher.with_consent(
        host, V1, 5_000, None, store, None, list(apis), guards or {})


async def call(d, api, params):
    return json.loads(await d.invoke(APP, api, json.dumps(params)))


def test_the_prompt_is_answered_in_python_once_and_remembered():
    host = ConsentHost()

    async def scenario():
        d = await build(host, guards={"getUserInfo": "scope.userInfo"})
        first = await call(d, "wx.authorize", {"scope": "scope.userInfo"})
        second = await call(d, "wx.authorize", {"scope": "scope.userInfo"})
        denied = await call(d, "wx.authorize", {"scope": "scope.record"})
        setting = await call(d, "wx.getSetting", {})
        user_info = await call(d, "wx.getUserInfo", {})
        opened = await call(d, "wx.openSetting", {})
        after = await call(d, "wx.getUserInfo", {})
        return first, second, denied, setting, user_info, opened, after

    first, second, denied, setting, user_info, opened, after = run(scenario)
    assert first == {"errMsg": "authorize:ok"}
    assert second == {"errMsg": "authorize:ok"}
    assert denied == {"errMsg": "authorize:fail auth deny", "errno": 202}
    assert setting == {"errMsg": "getSetting:ok",
                       "authSetting": {"scope.userInfo": True, "scope.record": False}}
    assert user_info["errMsg"] == "getUserInfo:ok"
    assert opened["authSetting"] == {"scope.userInfo": False, "scope.record": False}
    assert after == {"errMsg": "getUserInfo:fail auth deny", "errno": 202}
    assert host.prompts == [("scope.userInfo", "User information"),
                            ("scope.record", "Microphone")]


def test_a_custom_api_streams_its_states_in_order_then_answers():
    async def scenario():
        api = ffi.CustomApi("scanBadge", Progress(), "scope.camera", None, False)
        d = await build(ConsentHost(), apis=[api])
        by_name, plugin = Collect(), Collect()
        r1 = json.loads(await d.invoke_with_states(
            APP, "scanBadge", json.dumps({"door": 1}), by_name))
        r2 = json.loads(await d.invoke_with_states(
            APP, "wx.invokeNativePlugin",
            json.dumps({"api_name": "scanBadge", "data": {"door": 1}}), plugin))
        return r1, r2, by_name.states, plugin.states

    r1, r2, s1, s2 = run(scenario)
    assert r1 == {"errMsg": "scanBadge:ok", "echo": {"door": 1}}
    assert r2 == {"errMsg": "invokeNativePlugin:ok", "echo": {"door": 1}}
    assert s1 == s2 == [{"progress": 25}, {"progress": 50}, {"progress": 75}]


def test_bad_custom_apis_are_refused_when_the_dispatcher_is_built():
    async def scenario():
        for name, take_over in [("getUserInfo", False), ("not valid", False),
                                ("authorize", False), ("mine", True)]:
            api = ffi.CustomApi(name, Progress(), None, None, take_over)
            try:
                await build(ConsentHost(), apis=[api])
            except ffi.OpenApiError.Build as err:
                assert name in str(err)
            else:
                raise AssertionError(f"{name} was accepted")

    run(scenario)


class DictStore(ffi.ConsentStore):
    """The host's own consent storage: a dict."""

    def __init__(self):
        self.rows = {}

    async def get(self, user, app_id, scope):
        state = self.rows.get((user, app_id, scope))
        return None if state is None else state == core.ConsentState.GRANTED

    async def set(self, user, app_id, scope, state):
        if state == core.ConsentState.NOT_ASKED:
            self.rows.pop((user, app_id, scope), None)
        else:
            self.rows[(user, app_id, scope)] = state

    async def list(self, user, app_id):
        return [ffi.ScopeConsent(scope=s, state=v)
                for (u, a, s), v in sorted(self.rows.items()) if (u, a) == (user, app_id)]

    async def clear(self, user, app_id):
        keys = [k for k in self.rows if k[:2] == (user, app_id)]
        for k in keys:
            del self.rows[k]
        return len(keys)


def test_a_python_consent_store_and_the_hosts_list_set_clear():
    store = DictStore()

    async def scenario():
        d = await build(ConsentHost(), store=store)
        await call(d, "wx.authorize", {"scope": "scope.camera"})
        await d.consent_set("", APP.app_id, "scope.werun", core.ConsentState.DENIED)
        listed = await d.consent_list("", APP.app_id)
        cleared = await d.consent_clear("", APP.app_id)
        return listed, cleared, await d.consent_list("", APP.app_id)

    listed, cleared, after = run(scenario)
    assert [(r.scope, r.state) for r in listed] == [
        ("scope.camera", core.ConsentState.GRANTED),
        ("scope.werun", core.ConsentState.DENIED)]
    assert cleared == 2 and after == [] and store.rows == {}


def test_consent_survives_a_restart_of_the_host_process():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "consent.db")

        def host_process(phase):
            out = subprocess.run(
                [sys.executable, os.path.join(HERE, "consent_host.py"), db, phase],
                cwd=HERE, capture_output=True, text=True, timeout=60, check=True)
            return json.loads(out.stdout.strip().splitlines()[-1])

        first = host_process("first")
        second = host_process("second")
    assert first["authorize"] == {"errMsg": "authorize:ok"}
    assert first["prompts"] == ["scope.camera"]
    assert second["getSetting"]["authSetting"] == {"scope.camera": True}
    assert second["again"] == {"errMsg": "authorize:ok"}
    assert second["prompts"] == []
