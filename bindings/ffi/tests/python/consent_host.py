"""A Python host process for the restart test: one run answers the consent
prompt and exits; the next run, a new process on the same SQLite file,
finds the answer without a prompt. Prints the replies as JSON lines.

    python consent_host.py DB_PATH first|second
"""

import asyncio
import json
import sys

from conftest import run  # puts the bindings on sys.path
import superapp_openapi_ffi as ffi
import superapp_openapi as core
from hosts import Host

APP = ffi.AppInfo(app_id="wx-restart")


class PromptingHost(Host):
    def __init__(self, answer):
        self.answer = answer
        self.prompts = []

    def app_uid(self, app):
        return "user-py"

    async def consent_prompt(self, app, prompt):
        self.prompts.append(prompt.scope)
        if self.answer is None:
            raise ffi.HostError.Failed(detail="no prompt expected", errno=None)
        return self.answer


def main(db, phase):
    host = PromptingHost(ffi.ConsentAnswer.ALLOW if phase == "first" else None)

    async def scenario():
        d = await ffi.Dispatcher.with_consent(
            host, core.ApiVersion.V1, 5_000, None, None, db, [], {})
        out = {}
        if phase == "first":
            out["authorize"] = json.loads(await d.invoke(
                APP, "wx.authorize", json.dumps({"scope": "scope.camera"})))
        out["getSetting"] = json.loads(await d.invoke(APP, "wx.getSetting", "{}"))
        out["again"] = json.loads(await d.invoke(
            APP, "wx.authorize", json.dumps({"scope": "scope.camera"})))
        out["prompts"] = host.prompts
        return out

    print(json.dumps(run(scenario)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
