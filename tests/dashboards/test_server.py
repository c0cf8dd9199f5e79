"""The limits of ``observatory serve`` decided without a running server (observatory/dashboards/
limits.py and server.py): the cap derived from memory, the static page offered instead of a
refused one, the visitor's address, the message rate, and the Voilà bug our handler fixes.
The same limits on a real server: test_security.py and test_load.py."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from types import SimpleNamespace

import psutil
import pytest
import websocket
from tornado import web
from tornado.ioloop import IOLoop
from voila.request_info_handler import RequestInfoSocketHandler

from observatory.dashboards import limits
from observatory.dashboards.server import Guard, QueryHandler, well_framed, widget_change


def test_the_cap_is_the_memory_left_by_the_server_and_the_preheated_kernels():
    # 24 GB available, 12 preheated kernels of 300 MB, a server of 400 MB: 20 000 MB left.
    assert limits.visitor_cap(12, available_mb=24_000) == (24_000 - 400 - 12 * 300) // 300 == 66
    assert limits.visitor_cap(0, available_mb=1_000) == 2
    assert limits.visitor_cap(12, available_mb=2_000) == 1  # always one visitor at least
    assert 0 < limits.available_memory_mb() <= psutil.virtual_memory().total / 2**20


@pytest.mark.parametrize(
    ("notebook", "query", "path", "label"),
    [
        ("portrait.ipynb", "territoire=34", "departement/34.html", "le portrait du département 34"),
        ("portrait.ipynb", "territoire=2a&annee=2021", "departement/2A.html", None),
        ("portrait.ipynb", "territoire=76&niveau=r%C3%A9gion", "region/76.html", None),
        ("portrait.ipynb", "territoire=243400819", "epci/243400819.html", None),
        ("portrait.ipynb", "territoire=34172", "", "les portraits de tous les territoires"),
        ("portrait.ipynb", "territoire=34&niveau=commune", "", None),
        ("portrait.ipynb", "territoire=../../etc", "", None),
        ("portrait.ipynb", "territoire=%3Cb%3E", "", None),
        ("vue-regionale.ipynb", "region=11", "region/11.html", "le portrait de la région 11"),
        ("vue-regionale.ipynb", "", "region/76.html", None),
        ("comparaison.ipynb", "territoires=34,31", "", None),
    ],
)
def test_a_refused_page_offers_the_static_portrait_of_the_same_territory(
    notebook, query, path, label
):
    page = limits.static_portrait(notebook, query, "76")
    assert page.path == path
    assert label is None or page.label == label


def test_the_static_portrait_must_exist_when_the_site_is_served_here(tmp_path):
    (tmp_path / "departement").mkdir()
    (tmp_path / "departement" / "34.html").write_text("<title>Hérault</title>")
    assert limits.static_portrait("portrait.ipynb", "territoire=34", "76", tmp_path).path == (
        "departement/34.html"
    )
    assert limits.static_portrait("portrait.ipynb", "territoire=31", "76", tmp_path).path == ""


def test_the_visitor_address_is_the_proxy_header_only_over_loopback():
    proxied = {"X-Real-IP": "203.0.113.7", "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert limits.client_address("127.0.0.1", proxied) == "203.0.113.7"
    assert limits.client_address("::1", {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}) == (
        "203.0.113.9"  # the last hop, the one our proxy added
    )
    assert limits.client_address("192.0.2.10", proxied) == "192.0.2.10"  # forged from outside
    assert limits.client_address("127.0.0.1", {}) == "127.0.0.1"


def test_a_kernel_takes_a_burst_of_messages_then_its_rate():
    bucket, start = limits.TokenBucket(rate=5, burst=30), time.monotonic()
    bucket.last = start
    assert sum(bucket.allow(start) for _ in range(100)) == 30
    assert sum(bucket.allow(start + 2) for _ in range(100)) == 10  # 2 s at 5 per second
    assert sum(bucket.allow(start + 100) for _ in range(100)) == 30  # never more than the burst


def test_websockets_are_limited_per_kernel_and_per_address():
    limits_of = SimpleNamespace(sockets_per_kernel=3, sockets_per_address=20)
    guard = Guard(limits_of)
    assert [guard.take_socket("k1", "203.0.113.7") for _ in range(4)] == [True] * 3 + [False]
    assert guard.take_socket("k1", "198.51.100.1") is False  # the kernel is full for everyone
    taken = [guard.take_socket(f"k{i // 3 + 2}", "203.0.113.7") for i in range(20)]
    assert taken == [True] * 17 + [False] * 3  # 20 from one address in all
    assert guard.take_socket("k9", "198.51.100.1") is True  # another address still gets in
    guard.release_socket("k1", "203.0.113.7")
    assert guard.take_socket("k1", "203.0.113.7") is True  # a closed socket frees its place
    assert guard.take_socket("k1", "203.0.113.7") is False


def comm_message(msg_type: str, data: dict) -> dict:
    return {
        "header": {"msg_id": "1", "msg_type": msg_type, "session": "s", "version": "5.3"},
        "parent_header": {},
        "metadata": {},
        "content": {"comm_id": "c", "data": data},
        "channel": "shell",
    }


@pytest.mark.parametrize("protocol", ["v1", "json", "binary"])
def test_widget_changes_are_told_from_the_messages_that_only_read(protocol):
    """Widget changes (what makes a dashboard compute) have a rate of their own; the states a
    page asks for when it opens (40 at once seen) must not count against it."""
    from jupyter_server.services.kernels.connection.base import (
        serialize_binary_message,
        serialize_msg_to_ws_v1,
    )

    def wire(message: dict):
        if protocol == "v1":
            parts = [json.dumps(message[k]).encode() for k in ("header", "parent_header")]
            parts += [json.dumps(message[k]).encode() for k in ("metadata", "content")]
            return serialize_msg_to_ws_v1(parts, "shell")
        if protocol == "binary":
            return serialize_binary_message({**message, "buffers": [memoryview(b"x")]})
        return json.dumps(message)

    changes = [
        comm_message("comm_msg", {"method": "update", "state": {"index": 3}}),
        comm_message("comm_msg", {"method": "custom", "content": {"event": "click"}}),
    ]
    reads = [
        comm_message("comm_msg", {"method": "request_state"}),
        comm_message("comm_msg", {"method": "request_states"}),
        comm_message("comm_info_request", {}),
        comm_message("kernel_info_request", {}),
        comm_message("comm_open", {}),
    ]
    v1 = protocol == "v1"
    assert [widget_change(wire(m), v1) for m in changes] == [True, True]
    assert [widget_change(wire(m), v1) for m in reads] == [False] * len(reads)
    assert widget_change(b"\x01" + bytes(15) if v1 else "{not json", v1) is True


def test_a_v1_message_announcing_more_parts_than_it_holds_is_not_read():
    """Jupyter's v1 reader lists every announced offset first: 2**40 of them in 8 bytes kept
    the server busy for ever. Such a message is dropped before anyone reads it."""
    from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

    good = serialize_msg_to_ws_v1([b"{}", b"{}", b"{}", b"{}"], "shell")
    assert well_framed(good)
    assert not well_framed((2**40).to_bytes(8, "little") + b"shell{}")
    assert not well_framed(b"\x00\x01")
    assert not well_framed("text")


@pytest.fixture()
def waiters():
    """Voilà's class-level table of the kernels waiting on /voila/query/, emptied for a test."""
    table = RequestInfoSocketHandler._waiters
    saved = dict(table)
    table.clear()
    yield table
    table.clear()
    table.update(saved)


def query_sockets(handler_class, count: int) -> list:
    """Sockets of ``handler_class`` without a connection: only their waiter bookkeeping runs."""
    return [object.__new__(handler_class) for _ in range(count)]


def test_voila_still_has_the_query_socket_bug_our_handler_fixes(waiters):
    """Voilà 0.5.13: two sockets open on one made-up kernel id, a preheated kernel starts
    waiting, the first socket closes: ``on_close`` deletes the kernel's waiter. Should this test
    fail, Voilà has fixed its bug: ``QueryHandler.on_close`` and docs/voila-query-bug.md can go."""
    first, second, kernel = query_sockets(RequestInfoSocketHandler, 3)
    RequestInfoSocketHandler.open(first, "made-up")
    RequestInfoSocketHandler.open(second, "made-up")
    RequestInfoSocketHandler.open(kernel, "newest-kernel")
    RequestInfoSocketHandler.on_close(first)
    assert waiters == {"made-up": second}  # the kernel lost its waiter, the attacker kept his


def test_a_closed_query_socket_leaves_the_other_waiters_alone(waiters):
    first, second, kernel = query_sockets(QueryHandler, 3)
    for socket, kernel_id in ((first, "made-up"), (second, "made-up"), (kernel, "newest-kernel")):
        QueryHandler.open(socket, kernel_id)
    QueryHandler.on_close(first)
    assert waiters == {"made-up": second, "newest-kernel": kernel}
    QueryHandler.on_close(second)
    QueryHandler.on_close(kernel)
    assert waiters == {}


@pytest.fixture()
def query_route(waiters):
    """Voilà's /voila/query/ route with our handler, on a tornado server of its own (in a
    thread, on a free loopback port): ``(port, run)``, ``run(f)`` calling ``f`` in its loop."""
    ready, served = threading.Event(), {}

    def serve() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        app = web.Application([(r"/voila/query/(?P<kernel_id>[\w-]+)", QueryHandler)])
        server = app.listen(0, "127.0.0.1")
        served.update(server=server, loop=IOLoop.current())
        served["port"] = next(iter(server._sockets.values())).getsockname()[1]
        ready.set()
        served["loop"].start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    yield served["port"], lambda f, *args: served["loop"].add_callback(f, *args)
    served["loop"].add_callback(served["loop"].stop)
    thread.join(10)
    RequestInfoSocketHandler._cache.clear()


def test_a_preheated_kernel_gets_its_request_even_when_its_waiter_was_lost(query_route, waiters):
    """The kernel's side (``common.wait_for_request``): it asks with the server's token, and
    when its socket no longer receives (the waiter lost as with Voilà's bug, the request
    kept by the server instead), it asks again and gets the request, where Voilà's own helper
    waited for ever. A client without the token is refused before the socket opens."""
    from observatory.dashboards import common

    port, run = query_route
    kernel = "4f6b1c2e-0000-4000-8000-000000000001"
    names = (limits.QUERY_TOKEN_ENV, "VOILA_PREHEAT", "VOILA_KERNEL_ID", "VOILA_APP_PORT")
    saved = {name: os.environ.get(name) for name in (*names, "QUERY_STRING")}
    os.environ.update(dict(zip(names, ("jeton-de-test", "True", kernel, str(port)))))
    os.environ.pop("QUERY_STRING", None)
    recheck, common.REQUEST_RECHECK = common.REQUEST_RECHECK, 1
    try:
        waiting = threading.Thread(target=common.wait_for_request, daemon=True)
        waiting.start()
        deadline = time.monotonic() + 10
        while kernel not in waiters:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(f"ws://127.0.0.1:{port}/voila/query/{kernel}", timeout=5)
        assert refused.value.status_code == 403
        run(waiters.pop, kernel)  # the waiter lost, as Voilà's on_close did
        time.sleep(0.2)
        request = {"kernel_id": kernel, "payload": {"QUERY_STRING": "territoire=34"}}
        run(RequestInfoSocketHandler.send_updates, request)
        waiting.join(10)
        assert not waiting.is_alive() and os.environ["QUERY_STRING"] == "territoire=34"
    finally:
        common.REQUEST_RECHECK = recheck
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
