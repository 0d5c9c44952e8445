// SPDX-License-Identifier: Apache-2.0
// tcx_attach OBJ DEV head|tail: attaches the first program of the BPF object OBJ to DEV's tcx
// ingress chain, at its head (BPF_F_BEFORE: before apilb's) or its tail (as Cilium 1.16+ does),
// the way "someone else's" tool would (tests/e2e/their_tc_lib.sh). Exit 0 on success.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

// Debian 12's kernel headers predate tcx (Linux 6.6): its uapi values.
#define TCX_INGRESS 46          // BPF_TCX_INGRESS
#define TCX_F_BEFORE (1U << 3)  // BPF_F_BEFORE

int main(int argc, char** argv) {
  if (argc != 4 || (strcmp(argv[3], "head") != 0 && strcmp(argv[3], "tail") != 0)) {
    fprintf(stderr, "usage: tcx_attach OBJ DEV head|tail\n");
    return 2;
  }
  struct bpf_object* o = bpf_object__open_file(argv[1], NULL);
  if (!o || bpf_object__load(o)) return 1;
  LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = strcmp(argv[3], "head") == 0 ? TCX_F_BEFORE : 0);
  return bpf_prog_attach_opts(bpf_program__fd(bpf_object__next_program(o, NULL)),
                              (int)if_nametoindex(argv[2]), (enum bpf_attach_type)TCX_INGRESS,
                              &opts)
             ? 1
             : 0;
}
