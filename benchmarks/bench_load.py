"""Load test on the loopback: 5, 10, 20 and 50 visitors opening portraits at once, and the
processor time of one preheated portrait page.

Each visitor is a client doing what Voilà's page does, without drawing: it loads the page
(which runs the notebook in a kernel), opens the kernel's websocket, asks for the widgets'
state (``request_states`` on the ``jupyter.widget.control`` comm) and waits until an output
holds a plotly chart. Real browsers are not used here: on this 2-core machine their own work
(about 3 s of processor per page) would be counted against the server.

The portrait views are stored first, as ``observatory serve`` does at its first start on a
warehouse. Then a server on which ``PAGES`` preheated portraits are opened one after the other,
each until its kernel is idle: processor time of that kernel and of the server, its memory.
For each level: a fresh ``observatory serve`` (the repository's ``voila.json``), warmed up, then
every visitor at once with a hard deadline; time to first chart (median, 95th percentile),
failed sessions, French busy pages above the cap (and their time), memory of each visitor's
kernel and of the whole server; then everything is stopped. ``run(workdir)`` returns a
Markdown section.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Server, pool_sizes
from observatory import formatting

LEVELS = {5: 180.0, 10: 240.0, 20: 360.0, 50: 360.0}  # visitors: hard deadline of the level (s)
# 50 visitors again with the cap a server of about 8 GB derives: those above it get the busy page.
IMPOSED_CAP = 20
BUSY = "Trop de visiteurs en ce moment"  # the French page above the cap on visitors
PAGES = 6  # preheated portraits opened one after the other to measure their processor time
# Départements of several régions, so that visitors do not all ask for cached figures.
CODES = [
    "34",
    "31",
    "11",
    "30",
    "66",
    "12",
    "46",
    "81",
    "82",
    "65",
    "09",
    "32",
    "48",
    "13",
    "33",
    "69",
    "59",
    "75",
    "35",
    "67",
]
PLOTLY = "application/vnd.plotly.v1+json"
CONTROL_VERSION = "1.0.0"  # ipywidgets' jupyter.widget.control protocol


@dataclass
class Visit:
    """One visitor: seconds to the page and to its first chart (``None`` if it never came),
    and its kernel."""

    seconds: float | None
    kernel_id: str | None
    error: str | None = None
    page: float | None = None
    busy: bool = False  # answered at once by the French page (above the cap)


def _decode(frame) -> dict:
    """A kernel message from the websocket (JSON text, or binary with buffers)."""
    if isinstance(frame, str):
        return json.loads(frame)
    count = struct.unpack("!I", frame[:4])[0]
    offsets = struct.unpack("!" + "I" * count, frame[4 : 4 * (count + 1)])
    end = offsets[1] if count > 1 else len(frame)
    return json.loads(frame[offsets[0] : end].decode("utf-8"))


def _message(session: str, msg_type: str, content: dict, metadata: dict | None = None) -> str:
    return json.dumps(
        {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "username": "visiteur",
                "session": session,
                "msg_type": msg_type,
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": metadata or {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
    )


def _has_chart(states: dict) -> bool:
    return any(
        PLOTLY in output.get("data", {})
        for model in states.values()
        for output in model.get("state", {}).get("outputs", []) or []
    )


def _shows(states: dict, code: str) -> bool:
    """True when the portrait's title is the requested département's (not another one's)."""
    return f"(département {code}), " in json.dumps(states, ensure_ascii=False)


async def visit(base: str, path: str, sockets: list, address: str = "192.0.2.1") -> Visit:
    """Open a page like Voilà's front end and wait for its first chart. Each visitor comes
    from its own ``address``, named by the reverse proxy in front of the server (``X-Real-IP``,
    as docs/deploy.md's nginx sets it): the server allows a few websockets per address."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    started = time.monotonic()
    proxy = {"X-Real-IP": address}
    response = await AsyncHTTPClient().fetch(
        base + path,
        connect_timeout=3600,
        request_timeout=3600,
        raise_error=False,
        headers=proxy,
    )
    page, page_seconds = response.body.decode("utf-8"), time.monotonic() - started
    if response.code == 503 and BUSY in page:
        return Visit(None, None, None, page_seconds, busy=True)
    found = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', page)
    if found is None:
        return Visit(None, None, "page sans noyau", page_seconds)
    kernel_id, session = found.group(1), uuid.uuid4().hex
    socket = await websocket_connect(
        HTTPRequest(
            f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels?session_id={session}",
            connect_timeout=3600,
            request_timeout=3600,
            headers=proxy,
        ),
        max_message_size=256 * 2**20,
    )
    sockets.append(socket)
    comm = uuid.uuid4().hex
    await socket.write_message(
        _message(
            session,
            "comm_open",
            {"comm_id": comm, "target_name": "jupyter.widget.control", "data": {}},
            {"version": CONTROL_VERSION},
        )
    )
    request = _message(session, "comm_msg", {"comm_id": comm, "data": {"method": "request_states"}})
    await socket.write_message(request)
    while True:
        frame = await socket.read_message()
        if frame is None:
            return Visit(None, kernel_id, "websocket fermée", page_seconds)
        msg = _decode(frame)
        if f"No such comm: {comm}" in str(msg.get("content", {}).get("text")):
            await socket.write_message(request)  # the request overtook the comm's opening
            continue
        data = msg.get("content", {}).get("data", {})
        # A widget created after the request for states (a page whose kernel started for it
        # fills its widgets after the page is sent) comes with its state in its comm_open.
        opened = msg.get("msg_type") == "comm_open"
        if (msg.get("msg_type") == "comm_msg" and isinstance(data, dict)) or opened:
            charted = (
                _has_chart(data.get("states", {}))
                if data.get("method") == "update_states"
                else (opened or data.get("method") == "update") and _has_chart({"": data})
            )
            if charted:
                code = path.rsplit("=", 1)[1]
                error = (
                    None
                    if opened or data.get("method") == "update" or _shows(data["states"], code)
                    else "autre portrait"
                )
                return Visit(time.monotonic() - started, kernel_id, error, page_seconds)


async def _level(base: str, visitors: int, deadline: float) -> tuple[list[Visit], list]:
    """Every visitor at once; those without a chart at the deadline count as failed."""
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=visitors + 5)
    sockets: list = []
    tasks = [
        asyncio.ensure_future(
            visit(
                base,
                "/voila/render/portrait.ipynb?territoire=" + CODES[i % len(CODES)],
                sockets,
                f"192.0.2.{i + 1}",
            )
        )
        for i in range(visitors)
    ]
    _done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    visits = []
    for task in tasks:
        if task in pending:
            visits.append(Visit(None, None, "délai dépassé"))
        elif task.exception() is not None:
            visits.append(Visit(None, None, f"{type(task.exception()).__name__}"))
        else:
            visits.append(task.result())
    return visits, sockets


def measure_level(
    db: Path, workdir: Path, visitors: int, deadline: float, cap: int | None = None
) -> dict:
    """One level on a fresh server (its cap imposed if ``cap``): visits, then memory, then
    everything stopped."""
    extra = [f"--DashboardServer.max_visitors={cap}"] if cap else []
    server = Server.start(db, workdir / f"voila-{visitors}-{cap or 'auto'}.log", extra=extra)
    try:
        server.wait_until_ready(sum(pool_sizes().values()), timeout=600)
        idle = server.memory()
        loop = asyncio.new_event_loop()
        try:
            visits, sockets = loop.run_until_complete(_level(server.url, visitors, deadline))
            memory = server.memory()  # every visitor still connected
            for socket in sockets:
                socket.close()
        finally:
            loop.close()
    finally:
        server.stop()
    kernels = [memory[v.kernel_id] for v in visits if v.kernel_id in memory]
    derived = re.search(r"Au plus (\d+) visiteurs", server.log.read_text(encoding="utf-8"))
    return {
        "cap": cap or (int(derived.group(1)) if derived else None),
        "imposed": bool(cap),
        "load": os.getloadavg()[0],
        "visitors": visitors,
        "visits": visits,
        "kernels": kernels,
        "memory": memory,
        "idle": idle,
    }


def _processor(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def _settled(process, quiet: float = 2.0, limit: float = 60.0) -> None:
    """Until ``process`` has used no processor for ``quiet`` seconds (at most ``limit``)."""
    last, since, started = _processor(process), time.monotonic(), time.monotonic()
    while time.monotonic() - started < limit and time.monotonic() - since < quiet:
        await asyncio.sleep(0.5)
        now = _processor(process)
        if now - last > 0.02:
            last, since = now, time.monotonic()


def measure_pages(db: Path, workdir: Path) -> list[dict]:
    """Processor time of preheated portrait pages opened one after the other (each waited
    for until its kernel is idle: every block, the map): the visitor's kernel and the server."""
    import psutil

    server = Server.start(db, workdir / "voila-pages.log")
    pages = []
    try:
        server.wait_until_ready(sum(pool_sizes().values()), timeout=900)
        time.sleep(5)
        loop = asyncio.new_event_loop()
        main = psutil.Process(server.process.pid)
        own = lambda: sum(_processor(p) for p in [main, *main.children()])  # noqa: E731
        try:
            for code in CODES[:PAGES]:
                before = {k: _processor(p) for k, p in server.kernels().items()}
                server_before, sockets = own(), []
                visit_ = loop.run_until_complete(
                    visit(server.url, "/voila/render/portrait.ipynb?territoire=" + code, sockets)
                )
                kernel = server.kernels()[visit_.kernel_id]
                loop.run_until_complete(_settled(kernel))
                memory = server.memory()[visit_.kernel_id]
                pages.append(
                    {
                        "kernel": _processor(kernel) - before.get(visit_.kernel_id, 0.0),
                        "server": own() - server_before,
                        "preheated": visit_.kernel_id in before,
                        **memory,
                    }
                )
                for socket in sockets:
                    socket.close()
        finally:
            loop.close()
    finally:
        server.stop()
    return pages


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(0.95 * len(values) + 0.5) - 1))]


def run(workdir) -> str:
    workdir = Path(workdir)
    db = workdir / "observatory.duckdb"
    subprocess.run(
        [sys.executable, "-m", "observatory.cli", "build", "--db", str(db)],
        check=True,
        capture_output=True,
    )
    # What observatory serve does at its first start on a warehouse: store the portrait views.
    subprocess.run(
        [sys.executable, "-m", "observatory.dashboards.views", str(db)],
        check=True,
        capture_output=True,
    )
    pages = measure_pages(db, workdir)
    results = [
        measure_level(db, workdir, visitors, deadline) for visitors, deadline in LEVELS.items()
    ]
    results.append(measure_level(db, workdir, 50, LEVELS[50], cap=IMPOSED_CAP))
    fmt = lambda s: formatting.number(s, 1)  # noqa: E731
    fmt2 = lambda s: formatting.number(s, 2)  # noqa: E731
    rows = []
    for r in results:
        times = [v.seconds for v in r["visits"] if v.error is None and v.seconds is not None]
        busy = [v.page for v in r["visits"] if v.busy]
        failed = len(r["visits"]) - len(times) - len(busy)
        total = sum(m["pss"] for m in r["memory"].values())
        rows.append(
            f"| {r['visitors']} | {r['cap'] or '–'}{' (imposé)' if r['imposed'] else ''} | "
            f"{fmt(r['load'])} | "
            f"{fmt(statistics.median(times)) if times else '–'} s | "
            f"{fmt(_p95(times)) if times else '–'} s | {failed} | "
            f"{len(busy)}{f' (au plus {fmt2(max(busy))} s)' if busy else ''} | "
            f"{formatting.number(statistics.mean(k['pss'] for k in r['kernels'])) if r['kernels'] else '–'} Mo | "
            f"{formatting.number(max(k['rss'] for k in r['kernels'])) if r['kernels'] else '–'} Mo | "
            f"{formatting.number(total)} Mo |"
        )
    preheated = [p for p in pages if p["preheated"]]
    page_rows = (
        f"| médiane de {len(preheated)} pages | {fmt2(statistics.median(p['kernel'] for p in preheated))} s | "
        f"{fmt2(statistics.median(p['server'] for p in preheated))} s | "
        f"{formatting.number(max(p['rss'] for p in preheated))} Mo | "
        f"{formatting.number(max(p['pss'] for p in preheated))} Mo |"
        if preheated
        else "| aucune page préchauffée | – | – | – | – |"
    )
    return (
        "## Montée en charge (Voilà, visiteurs simultanés)\n\n"
        "Vues du portrait de la France, des régions et des départements enregistrées d'avance "
        "(`observatory.dashboards.views`, comme `observatory serve` le fait à son premier "
        f"démarrage sur un entrepôt). Temps de processeur de {PAGES} pages de portrait "
        "préchauffées ouvertes l'une après l'autre, chacune jusqu'à ce que son noyau soit "
        "inactif (tous les blocs et la carte), et mémoire de ce noyau :\n\n"
        "| pages | processeur du noyau | processeur du serveur | RSS maximal | PSS maximal |\n"
        "| --- | ---: | ---: | ---: | ---: |\n" + page_rows + "\n\n"
        "Chaque visiteur ouvre un portrait de département au même instant, sur la boucle "
        "locale, avec sa propre adresse, que nomme le mandataire inverse (`X-Real-IP`, comme "
        "le nginx de docs/deploy.md), comme le fait la page de Voilà sans dessiner : "
        "chargement de la page (le "
        "carnet s'exécute dans un noyau), websocket du noyau, état des widgets, jusqu'au "
        "premier graphique. Serveur neuf pour chaque palier, réglages du `voila.json` du "
        "dépôt ; délai maximal par palier : "
        + ", ".join(f"{formatting.number(d)} s pour {v}" for v, d in LEVELS.items())
        + ". Mémoire en PSS (la part de chaque processus dans la mémoire partagée : les "
        "chiffres s'additionnent) et RSS. Chiffres provisoires : la machine est partagée.\n\n"
        "Plafond : visiteurs servis à la fois, calculé par le serveur d'après la mémoire "
        "disponible à son démarrage (`observatory serve` l'affiche ; réglable par "
        "`--DashboardServer.max_visitors`), sauf au dernier palier où il est imposé à "
        f"{IMPOSED_CAP}, le plafond d'un serveur d'environ 8 Go : les visiteurs au-delà "
        "reçoivent la page française qui propose le portrait statique ; charge : charge "
        "moyenne de la machine sur une minute à la fin du palier.\n\n"
        "| visiteurs | plafond | charge | premier graphique, médiane | 95e centile | "
        "sessions en échec | "
        "page « trop de visiteurs » (plafond) | "
        "mémoire par noyau de visiteur (PSS moyen) | RSS maximal d'un noyau | "
        "mémoire totale du serveur (PSS) |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        + "\n".join(rows)
        + "\n"
    )
