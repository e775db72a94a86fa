"""Make k8s_fakes importable from the tests in this folder; a recording stand-in for the API server."""
import http.server
import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with {} and records (request line, headers) in ``seen``."""

    seen = []

    def do_GET(self):
        RecordingHandler.seen.append((self.requestline, self.headers))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api_recorder():
    """A loopback stand-in for the API server: yields (base URL, list of (request line, headers))."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    RecordingHandler.seen = []
    yield "http://127.0.0.1:%d" % server.server_address[1], RecordingHandler.seen
    server.shutdown()
    server.server_close()
