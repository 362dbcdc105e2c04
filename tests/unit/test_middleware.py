import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from web.middleware import json_errors


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"fine": True})


async def _crash(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


async def _read(request: web.Request) -> web.Response:
    return web.json_response({"bytes": len(await request.read())})


async def _ask(method: str, path: str, data: bytes | None = None) -> tuple[int, dict, dict]:
    app = web.Application(middlewares=[json_errors], client_max_size=1024)
    app.router.add_get("/ok", _ok)
    app.router.add_get("/crash", _crash)
    app.router.add_post("/read", _read)
    async with TestClient(TestServer(app)) as client:
        response = await client.request(method, path, data=data)
        return response.status, await response.json(), dict(response.headers)


def ask(method: str, path: str, data: bytes | None = None) -> tuple[int, dict, dict]:
    return asyncio.run(_ask(method, path, data))


def test_answers_pass_through():
    assert ask("GET", "/ok")[:2] == (200, {"fine": True})


def test_unknown_path_is_a_json_404():
    status, body, _ = ask("GET", "/nowhere")
    assert status == 404
    assert body == {"error": "no such endpoint: /nowhere (see /api)", "status": 404}


def test_wrong_method_is_a_json_405_with_allow():
    status, body, headers = ask("DELETE", "/ok")
    assert status == 405
    assert body["error"] == "DELETE is not allowed on /ok"
    assert "GET" in headers["Allow"]


def test_oversized_body_is_a_json_413():
    status, body, _ = ask("POST", "/read", b"x" * 5000)
    assert status == 413
    assert body["status"] == 413
    assert body["error"]


def test_unexpected_exception_is_a_logged_json_500(caplog):
    status, body, _ = ask("GET", "/crash")
    assert status == 500
    assert "log" in body["error"]
    assert "boom" not in body["error"]  # internals stay in the log
    assert "RuntimeError: boom" in caplog.text
