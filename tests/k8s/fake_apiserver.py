#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted HTTPS stand-in for the Kubernetes apiserver's EndpointSlice LIST/WATCH, for the
apilb_k8s tests (no apiserver can be installed on the test machines).

Usage: fake_apiserver.py --cert C --key K [--client-ca CA] --script S.json --log L.jsonl
Listens on 127.0.0.1, port 0, and prints "PORT <n>" once it accepts connections.

The script is a JSON list of steps; each request takes the next one:
  {"expect": "list"|"watch", "status": 200, "json": {...}}          one JSON body
  {"expect": "watch", "events": [WatchEvent...], "end": "close"|"drop"|"hold"}
      a chunked 200 response, one event per line, each line split over two chunks;
      close = terminating chunk (the apiserver's timeoutSeconds), drop = a truncated chunk then
      the TCP connection is cut, hold = stay open until the client goes away. With
      "wait_for": PATH the headers go out at once and the events only once PATH exists (a
      test's trigger; 120 s at most).
When the script is exhausted every request is held open (a watch with no events).
A request of the wrong kind gets 500 and "expect_mismatch" in the log.
Every request is logged as one JSON line: path, query, authorization, client_cn, step, time.
"""
import argparse
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Script:
    def __init__(self, steps, log_path):
        self.steps = steps
        self.next = 0
        self.lock = threading.Lock()
        self.log_path = log_path

    def take(self):
        with self.lock:
            i = self.next
            self.next += 1
        return i, (self.steps[i] if i < len(self.steps) else None)

    def log(self, entry):
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    def client_cn(self):
        cert = self.connection.getpeercert()
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return ""

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        kind = "watch" if query.get("watch") in ("1", "true") else "list"
        index, step = self.server.script.take()
        self.step = step
        entry = {"path": url.path, "query": query, "kind": kind, "step": index,
                 "authorization": self.headers.get("Authorization", ""),
                 "host": self.headers.get("Host", ""), "client_cn": self.client_cn(),
                 "time": time.time()}
        if step is not None and step.get("expect", kind) != kind:
            entry["expect_mismatch"] = step["expect"]
            self.server.script.log(entry)
            return self.send_json(500, status_obj(500, "InternalError", "script expected " + step["expect"]))
        self.server.script.log(entry)
        if step is None:
            return self.stream([], "hold")
        if "events" in step:
            return self.stream(step["events"], step.get("end", "close"))
        return self.send_json(step.get("status", 200), step.get("json", {}))

    def send_json(self, status, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, events, end):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        trigger = self.step.get("wait_for") if self.step else None
        if trigger:
            deadline = time.time() + 120
            while not os.path.exists(trigger) and time.time() < deadline:
                time.sleep(0.05)
        for ev in events:
            line = (json.dumps(ev) + "\n").encode()
            half = len(line) // 2
            self.chunk(line[:half])  # a line split over chunks must still parse
            time.sleep(0.01)
            self.chunk(line[half:])
        if end == "close":
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
        elif end == "drop":
            self.wfile.write(b"400\r\n{\"type\":\"MODIF")  # announces 1 KiB, sends 14 bytes
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        else:  # hold until the client disconnects (readable + EOF) or 60 s
            deadline = time.time() + 60
            while time.time() < deadline:
                r, _, _ = select.select([self.connection], [], [], 0.2)
                if r:
                    try:
                        if not self.connection.recv(1):
                            break
                    except (ssl.SSLError, OSError):
                        break
            self.close_connection = True


def status_obj(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--script", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    with open(a.script) as f:
        steps = json.load(f)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.load_verify_locations(a.client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.script = Script(steps, a.log)
    open(a.log, "w").close()
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
