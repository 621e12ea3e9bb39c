"""Shared fixtures of the Python suite: the generated bindings on the path,
one asyncio runner per test, and the population of the embedded platform.

The bindings and the library they load are in ``bindings/ffi/generated/python``
(``test.sh`` puts them there); ``SUPERAPP_FFI_PYTHON`` points elsewhere.
"""

import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BINDINGS = os.environ.get(
    "SUPERAPP_FFI_PYTHON", os.path.join(HERE, "..", "..", "generated", "python")
)
sys.path.insert(0, os.path.abspath(BINDINGS))

import superapp_openapi_ffi as ffi  # noqa: E402
import superapp_openapi as core  # noqa: E402

# Every await in a test is bounded by this, so a hang fails the test
# instead of the run.
TEST_TIMEOUT_S = 20

SHOP = "wx-shop-000000001"
SHOP_SECRET = "shop-secret-0123456789"
GAME = "wx-game-000000001"
GAME_SECRET = "game-secret-0123456789"
TEAM = "team-demo"
USER = "u-1001"
PHONE = "+8613800000000"
EMAIL = "ada@example.com"


def run(coro_fn, timeout=TEST_TIMEOUT_S):
    """Runs ``coro_fn()`` on a new event loop that UniFFI knows about
    (``uniffi_set_event_loop``: Rust calls the host's async methods from its
    own threads, where there is no running loop)."""

    async def main():
        ffi.uniffi_set_event_loop(asyncio.get_running_loop())
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(main())


def populate(server):
    """The apps and the user of the walkthrough, on an embedded platform."""
    server.register_app(SHOP, SHOP_SECRET, TEAM, core.AppKind.MINI_PROGRAM)
    server.register_app(GAME, GAME_SECRET, TEAM, core.AppKind.MINI_GAME)
    server.add_user(
        ffi.SuperappUser(id=USER, phone_number=PHONE, email=EMAIL, nickname="Ada")
    )
    return server
