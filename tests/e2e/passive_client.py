#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Client of tests/e2e/daemon_passive.sh, run in the lab's node namespace (one process, threads:
# no process start per request, so a request's timestamps are the connection's).
#
#   passive_client.py loop CA VIP PORT SECONDS GAP_MS TIMEOUT_S
#       starts a new HTTPS GET /version through the VIP every GAP_MS for SECONDS, each in its own
#       thread with TIMEOUT_S for the whole request; prints one line per request, in start order:
#       "<start_ms> <end_ms> ok <server>" or "<start_ms> <end_ms> fail <error>"; "started <ms>" on
#       stderr when the first request goes out.
#   passive_client.py rstburst CA VIP PORT COUNT THREADS
#       COUNT connections through the VIP, THREADS at a time: half make one request and then close
#       with a RST (SO_LINGER 0), half send the RST right after the TCP handshake; prints
#       "<requests ok> <connections>".
#   passive_client.py ports VIP PORT FIRST LAST
#       one TCP connect through the VIP from each local port FIRST..LAST (then a normal close);
#       prints "<connected> <refused> <other errors>".
import socket
import ssl
import struct
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


def request(ctx, vip, port, timeout):
    s = socket.create_connection((vip, port), timeout=timeout)
    try:
        t = ctx.wrap_socket(s, server_hostname=vip)
        t.sendall(b"GET /version HTTP/1.1\r\nHost: apiserver\r\nConnection: close\r\n\r\n")
        data = b""
        while b"}" not in data:
            chunk = t.recv(4096)
            if not chunk:
                break
            data += chunk
        body = data.decode(errors="replace")
        key = '"server":"'
        i = body.find(key)
        if i < 0:
            raise OSError("no server in answer")
        return body[i + len(key):].split('"', 1)[0]
    finally:
        s.close()


def loop(ca, vip, port, seconds, gap_ms, timeout):
    ctx = ssl.create_default_context(cafile=ca)
    results = []
    lock = threading.Lock()

    def one(start):
        try:
            srv = request(ctx, vip, port, timeout)
            line = "%d %d ok %s" % (start, now_ms(), srv)
        except Exception as e:  # refused, timeout, aborted: the kind is the error's class
            line = "%d %d fail %s" % (start, now_ms(), type(e).__name__)
        with lock:
            results.append((start, line))

    threads = []
    sys.stderr.write("started %d\n" % now_ms())  # the caller waits for this line
    sys.stderr.flush()
    end = time.time() + seconds
    while time.time() < end:
        th = threading.Thread(target=one, args=(now_ms(),), daemon=True)
        th.start()
        threads.append(th)
        time.sleep(gap_ms / 1000.0)
    for th in threads:
        th.join(timeout + 1)
    for _, line in sorted(results):
        print(line)


def rstburst(ca, vip, port, count, nthreads):
    ctx = ssl.create_default_context(cafile=ca)
    ok = [0]
    lock = threading.Lock()
    todo = list(range(count))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            try:
                s = socket.create_connection((vip, port), timeout=3)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                if i % 2 == 0:
                    t = ctx.wrap_socket(s, server_hostname=vip)
                    t.sendall(b"GET /version HTTP/1.1\r\nHost: apiserver\r\n\r\n")
                    if t.recv(4096):
                        with lock:
                            ok[0] += 1
                    t.close()  # SO_LINGER 0: RST, no close_notify
                s.close()
            except OSError:
                pass

    ths = [threading.Thread(target=worker) for _ in range(nthreads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    print("%d %d" % (ok[0], count))


def ports(vip, port, first, last):
    refused = ok = other = 0
    for p in range(first, last + 1):
        try:
            s = socket.create_connection((vip, port), timeout=3, source_address=("", p))
            s.close()
            ok += 1
        except ConnectionRefusedError:
            refused += 1
        except OSError:
            other += 1
    print("%d %d %d" % (ok, refused, other))


def main():
    mode = sys.argv[1]
    if mode == "loop":
        loop(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]),
             float(sys.argv[7]))
    elif mode == "ports":
        ports(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "rstburst":
        rstburst(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit("usage: passive_client.py loop|rstburst|ports ...")


if __name__ == "__main__":
    main()
