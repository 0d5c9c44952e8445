#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The tcx programs of a device (Linux 6.6+), for the tests and scripts/bench-conn.sh: `tc filter
# show` lists only classic filters and Debian 12's bpftool (7.1) predates tcx (`apilb status`
# names the hook of apilb's own programs). Run it inside the device's namespace.
#
#   tcx.py supported                    exit 0 if the kernel has tcx, 1 if not
#   tcx.py list DEV ingress|egress      one line per program, in run order: "ID NAME"
#   tcx.py show DEV...                  every program of the devices (those that exist), both
#                                       directions: "DEV tcx_ingress|tcx_egress ID NAME"
#   tcx.py detach DEV ingress|egress NAME
#                                       detaches the program NAME, as an operator would by hand
#
# A kernel without tcx has no tcx programs: `list` prints nothing. Exit 1 on any other error.
import ctypes
import os
import platform
import socket
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
BPF_PROG_DETACH, BPF_PROG_QUERY = 9, 16
BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD = 13, 15
TCX = {"ingress": 46, "egress": 47}  # BPF_TCX_INGRESS, BPF_TCX_EGRESS
EINVAL = 22

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    rc = libc.syscall(SYS_BPF, cmd, buf, 128)
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc, buf.raw


def prog_ids(ifindex, attach_type):
    ids = (ctypes.c_uint32 * 64)()
    # query: target_ifindex, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
    attr = struct.pack("=IIIIQI", ifindex, attach_type, 0, 0, ctypes.addressof(ids), 64)
    try:
        _, out = bpf(BPF_PROG_QUERY, attr)
    except OSError as e:
        if e.errno == EINVAL:  # no tcx in this kernel
            return []
        raise
    (count,) = struct.unpack_from("=I", out, 24)
    return list(ids[: min(count, 64)])


def has_tcx():
    attr = struct.pack("=IIIIQI", 1, TCX["ingress"], 0, 0, 0, 0)  # lo is ifindex 1
    try:
        bpf(BPF_PROG_QUERY, attr)
    except OSError as e:
        if e.errno == EINVAL:
            return False
        raise
    return True


def prog_fd(prog_id):
    fd, _ = bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("=III", prog_id, 0, 0))
    return fd


def prog_name(prog_id):
    fd = prog_fd(prog_id)
    try:
        info = ctypes.create_string_buffer(256)
        bpf(BPF_OBJ_GET_INFO_BY_FD, struct.pack("=IIQ", fd, 256, ctypes.addressof(info)))
        return info.raw[64:80].split(b"\0")[0].decode()  # bpf_prog_info.name
    finally:
        os.close(fd)


def show(devs):
    for dev in devs:
        try:
            ifindex = socket.if_nametoindex(dev)
        except OSError:  # no such device (here)
            continue
        for direction, attach_type in TCX.items():
            for i in prog_ids(ifindex, attach_type):
                print(dev, "tcx_" + direction, i, prog_name(i))
    return 0


def main(argv):
    if argv[1:] == ["supported"]:
        return 0 if has_tcx() else 1
    if argv[1:2] == ["show"]:
        return show(argv[2:])
    if len(argv) < 4 or argv[1] not in ("list", "detach") or argv[3] not in TCX:
        sys.exit("usage: tcx.py supported | show DEV... | list|detach DEV ingress|egress [NAME]")
    ifindex, attach_type = socket.if_nametoindex(argv[2]), TCX[argv[3]]
    progs = [(i, prog_name(i)) for i in prog_ids(ifindex, attach_type)]
    if argv[1] == "list":
        for i, name in progs:
            print(i, name)
        return 0
    for i, name in progs:
        if len(argv) > 4 and name == argv[4]:
            fd = prog_fd(i)
            try:
                # detach: target_ifindex, attach_bpf_fd, attach_type
                bpf(BPF_PROG_DETACH, struct.pack("=III", ifindex, fd, attach_type))
            finally:
                os.close(fd)
            return 0
    sys.exit(f"tcx.py: no tcx program {argv[4:]} on {argv[2]} {argv[3]}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
