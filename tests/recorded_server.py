"""A real HTTP server on loopback that replays the publishers' recorded answers
(tests/data/recorded/, described in its README) under the same paths, for ``observatory
download``'s tests; it honours Range requests and can misbehave on demand."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

RECORDED = Path(__file__).resolve().parent / "data" / "recorded"
# The publishers' hosts named in the recorded metadata: the replay points them at itself, as a
# mirror would.
HOSTS = (
    "https://www.data.gouv.fr",
    "https://object.files.data.gouv.fr",
    "https://static.data.gouv.fr",
    "https://open.urssaf.fr",
)
HTML_ERROR_PAGE = (
    b'<!DOCTYPE html>\n<html lang="fr"><head><title>Maintenance</title></head>'
    b"<body><h1>Service momentan\xc3\xa9ment indisponible</h1></body></html>\n"
)


class RecordedServer:
    """``base`` is the server's address. Misbehaviours, by URL path: ``status`` answers that
    HTTP code; ``html`` answers 200 with an HTML error page; ``cut`` sends the first N bytes of
    the body (with the full Content-Length) and closes the connection, ``cut_times`` times;
    ``corrupt`` flips a byte of the body; ``extra`` appends bytes to it; ``ignore_range``
    answers 200 to a Range request.
    ``requests`` lists (path, Range header) of every request received."""

    def __init__(self):
        self.routes = json.loads((RECORDED / "routes.json").read_text(encoding="utf-8"))
        self.status: dict[str, int] = {}
        self.html: set[str] = set()
        self.cut: dict[str, int] = {}
        self.cut_times: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.extra: dict[str, bytes] = {}
        self.ignore_range: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True
        )

    def __enter__(self) -> RecordedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def body(self, path: str) -> bytes:
        """The recorded body of ``path``, with the publishers' hosts pointed at this server."""
        body = (RECORDED / self.routes[path]["file"]).read_bytes()
        if "json" in self.routes[path]["content_type"]:
            for host in HOSTS:
                body = body.replace(host.encode(), self.base.encode())
        return body

    def ranges(self, path: str) -> list[str | None]:
        """The Range headers of the requests of ``path``, in order."""
        return [header for got, header in self.requests if got == path]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                wanted = self.headers.get("Range")
                server.requests.append((path, wanted))
                if path in server.status:
                    return self._send(server.status[path], b"erreur\n", "text/plain")
                if path in server.html:
                    return self._send(200, HTML_ERROR_PAGE, "text/html; charset=utf-8")
                if path not in server.routes:
                    return self._send(404, b"introuvable\n", "text/plain")
                body = server.body(path)
                if path in server.corrupt:
                    body = body[:-1] + bytes([body[-1] ^ 0xFF])
                body += server.extra.get(path, b"")
                kind = server.routes[path]["content_type"]
                found = re.fullmatch(r"bytes=(\d+)-", wanted or "")
                if found and path not in server.ignore_range:
                    start = int(found.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return None
                    extra = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
                    return self._send(206, body[start:], kind, extra)
                return self._send(200, body, kind)

            def _send(self, code: int, body: bytes, kind: str, extra: dict | None = None):
                path = urlsplit(self.path).path
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", '"recorded"')
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if server.cut_times.get(path, 0) > 0 and path in server.cut:
                    server.cut_times[path] -= 1
                    self.wfile.write(body[: server.cut[path]])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler
