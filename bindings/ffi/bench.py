"""The dispatcher's share of an FFI round trip, from Python.

- ``invoke``: ``Dispatcher.invoke(app, "wx.getUserInfo", "{}")`` on a v1
  dispatcher whose Python host answers ``get_user_info``;
- baseline: ``host_round_trip(host, app, "{}")``, an exported async Rust
  function that runs on the same runtime, awaits the same Python method
  once and returns its text: the same crossings (Python → Rust task →
  Python coroutine → Rust → Python) with no dispatching around them.

The ratio invoke / baseline is the figure (target ≤ 1.3×); the absolute
times are this machine's. Then the calls per second of 1,000 concurrent
invokes from asyncio. Rounds alternate between the two so that drift hits
both; each figure is the median of its rounds.

Run by ``bindings/ffi/test.sh`` against the shipped (release-ffi) library:

    python3 bindings/ffi/bench.py
"""

import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated", "python"))

import superapp_openapi_ffi as ffi  # noqa: E402
import superapp_openapi as core  # noqa: E402
from superapp_openapi_ffi import uniffi_set_event_loop  # noqa: E402

CALLS_PER_ROUND = 500
ROUNDS = 21
CONCURRENT = 1_000
CONCURRENT_ROUNDS = 5
RESULT = json.dumps({"userInfo": {"nickName": "xcode", "gender": 1, "language": "zh_CN"}})


class Host(ffi.OpenApiHandler):
    """A v1 host that answers getUserInfo at once."""

    async def get_user_info(self, app, params):
        return RESULT

    def open_api_version(self, app):
        return None

    def app_uid(self, app):
        return None


async def per_call_us(call):
    start = time.perf_counter()
    for _ in range(CALLS_PER_ROUND):
        await call()
    return (time.perf_counter() - start) / CALLS_PER_ROUND * 1e6


async def main():
    uniffi_set_event_loop(asyncio.get_running_loop())
    host = Host()
    app = ffi.AppInfo(app_id="wx-bench")
    dispatcher = ffi.Dispatcher(host, core.ApiVersion.V1, 30_000, None)

    async def invoke():
        return await dispatcher.invoke(app, "wx.getUserInfo", "{}")

    async def baseline():
        return await ffi.host_round_trip(host, app, "{}")

    reply = json.loads(await invoke())
    assert reply["errMsg"] == "getUserInfo:ok", reply
    assert json.loads(await baseline()) == json.loads(RESULT)

    # Warm up both paths (the runtime's threads, the caches).
    await per_call_us(invoke)
    await per_call_us(baseline)
    invoke_rounds, baseline_rounds = [], []
    for _ in range(ROUNDS):
        invoke_rounds.append(await per_call_us(invoke))
        baseline_rounds.append(await per_call_us(baseline))
    invoke_us = statistics.median(invoke_rounds)
    baseline_us = statistics.median(baseline_rounds)
    ratio = invoke_us / baseline_us

    concurrent_rounds = []
    for _ in range(CONCURRENT_ROUNDS):
        start = time.perf_counter()
        replies = await asyncio.gather(*(invoke() for _ in range(CONCURRENT)))
        concurrent_rounds.append(time.perf_counter() - start)
        assert all(json.loads(r)["errMsg"] == "getUserInfo:ok" for r in replies)
    calls_per_s = CONCURRENT / statistics.median(concurrent_rounds)

    print(f"invoke (v1 getUserInfo, Python host)      {invoke_us:8.1f} µs/call")
    print(f"host_round_trip (same host method, once)  {baseline_us:8.1f} µs/call")
    print(f"ratio invoke / round trip                 {ratio:8.2f}x   (target <= 1.3x)")
    print(f"1,000 concurrent invokes                  {calls_per_s:8.0f} calls/s")
    if ratio > 1.3:
        # Reported, not failed: two cores shared with other builds make a
        # single run's ratio noisy; BENCHMARKS.md keeps the figures.
        print("the ratio is above its 1.3x target")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
