"""A minimal fake Kubernetes API server for the service-discovery router (loopback, plain HTTP).

It serves what a kube-rs pod watcher asks for: LIST and WATCH of core/v1 pods in one namespace
(`/api/v1/namespaces/<ns>/pods`, equality `labelSelector`, `resourceVersion`, `watch=true` streamed
as chunked newline-delimited JSON events). Tests change pods with `put_pod` / `delete_pod`; open
watches get ADDED / MODIFIED / DELETED events. Every request is recorded in `requests`. Paths it
does not serve get 404 and are recorded in `unknown`.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def pod(name: str, namespace: str, labels: dict[str, str], ip: str, ready: bool,
        annotations: dict[str, str] | None = None) -> dict:  # fmt: skip
    """A Running pod with the Ready condition `ready`."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": dict(labels),
                     "annotations": dict(annotations or {})},
        "spec": {"containers": [{"name": "sglang", "image": "fake"}]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }  # fmt: skip


def _selects(selector: str, labels: dict) -> bool:
    for term in filter(None, selector.split(",")):
        if "=" not in term:
            return False  # set-based selectors are not simulated: match nothing rather than everything
        k, v = term.replace("==", "=").split("=", 1)
        if labels.get(k) != v:
            return False
    return True


class FakeKubeAPI:
    def __init__(self, namespace: str, port: int = 0):
        self.namespace = namespace
        self.pods: dict[str, dict] = {}
        self.events: list[tuple[int, str, dict]] = []  # (resourceVersion, type, pod)
        self.rv = 1
        self.requests: list[str] = []
        self.unknown: list[str] = []
        self._cond = threading.Condition()
        self._stopping = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                api.requests.append(self.path)
                u = urlsplit(self.path)
                q = {k: v[-1] for k, v in parse_qs(u.query).items()}
                if u.path != f"/api/v1/namespaces/{api.namespace}/pods":
                    api.unknown.append(self.path)
                    return self._json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                            "reason": "NotFound", "message": f"fake: {u.path}"})  # fmt: skip
                selector = q.get("labelSelector", "")
                if q.get("watch") in ("true", "1"):
                    return self._watch(selector, int(q.get("resourceVersion") or 0), float(q.get("timeoutSeconds") or 290))
                with api._cond:
                    items = [copy.deepcopy(p) for p in api.pods.values() if _selects(selector, p["metadata"]["labels"])]
                    rv = api.rv
                self._json(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": str(rv)},
                                 "items": items})  # fmt: skip

            def _json(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _chunk(self, data: bytes):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def _watch(self, selector: str, since: int, timeout: float):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                sent = since
                end = time.monotonic() + min(timeout, 60.0)
                try:
                    while time.monotonic() < end and not api._stopping:
                        with api._cond:
                            new = [e for e in api.events if e[0] > sent]
                            if not new:
                                api._cond.wait(timeout=0.2)
                                continue
                        for rv, kind, p in new:
                            sent = rv
                            if _selects(selector, p["metadata"]["labels"]):
                                self._chunk(json.dumps({"type": kind, "object": p}).encode() + b"\n")
                    self._chunk(b"")  # end of the chunked body: the watch ends like a server timeout
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._srv = Server(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._srv.server_address[1]}"

    def kubeconfig(self) -> str:
        """A kubeconfig (YAML is a superset of JSON) for this server, namespace set, no credentials."""
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": self.namespace}}],
        })  # fmt: skip

    def put_pod(self, p: dict) -> None:
        with self._cond:
            self.rv += 1
            p = copy.deepcopy(p)
            p["metadata"]["resourceVersion"] = str(self.rv)
            kind = "MODIFIED" if p["metadata"]["name"] in self.pods else "ADDED"
            self.pods[p["metadata"]["name"]] = p
            self.events.append((self.rv, kind, p))
            self._cond.notify_all()

    def delete_pod(self, name: str) -> None:
        with self._cond:
            p = self.pods.pop(name)
            self.rv += 1
            self.events.append((self.rv, "DELETED", p))
            self._cond.notify_all()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._srv.shutdown()
        self._srv.server_close()
        self._thread.join(timeout=5)
