#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The include rules of the tree, checked (tests/run's "static" layer).

  1. No header includes itself through others (no cycle among headers).
  2. devices/ sees the VMM only through its device-facing headers: from
     vmm/ it includes the libraries below and nothing else (not vmm.h,
     console.h, kvm.h, ...), and nothing from arch/.
  3. The vmm/ libraries (guest memory, buses, event loop, timeline, log,
     util, HTTP, configuration) include no core header, nothing from
     devices/ and nothing from arch/.
  4. The core reaches arch/ only through arch/arch.h, and devices/ only
     through devices.h, host.h and virtio.h.
  5. Among the modules of vmm/ and devices/ (a header with the .c files
     of its name; devices.h and virtio.h with every device file; vmm.h
     with vm.c, vcpu.c and util.c) no dependency cycle. arch/ is left out
     on purpose: the core calls its hooks and its hooks use struct vm.

Prints PASS:/FAIL: lines; exit status 1 on a failure."""

import os
import re
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIBS = {"vmm/" + h for h in ("bus.h", "evloop.h", "memory.h", "timeline.h",
                             "log.h", "util.h", "http.h", "httpd.h",
                             "config.h", "kvm.h")}
DEVICE_SEES = {"vmm/bus.h", "vmm/evloop.h", "vmm/memory.h", "vmm/timeline.h", "vmm/util.h",
               "vmm/log.h", "vmm/config.h"}
# state.h: the devices' snapshot state, which the core saves and restores
CORE_SEES_DEVICES = {"devices/devices.h", "devices/host.h", "devices/virtio.h",
                     "devices/state.h"}

failed = 0


def report(name, problems):
    global failed
    if problems:
        failed = 1
        print("FAIL: static.includes.%s: %s" % (name, "; ".join(sorted(problems)[:8])))
    else:
        print("PASS: static.includes.%s" % name)


def sources():
    for d in ("vmm", "devices", "arch/x86_64", "arch/aarch64", "arch"):
        for f in sorted(os.listdir(os.path.join(TOP, d))):
            p = d + "/" + f
            if f.endswith((".c", ".h")) and os.path.isfile(os.path.join(TOP, p)):
                yield p


INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(path):
    text = open(os.path.join(TOP, path)).read()
    base = os.path.dirname(path)
    return [os.path.normpath(os.path.join(base, m)) for m in INC.findall(text)]


graph = {p: includes(p) for p in sources()}

# 1. header cycles
problems = set()
state = {}


def visit(h, stack):
    state[h] = 1
    for n in graph.get(h, []):
        if not n.endswith(".h"):
            continue
        if state.get(n) == 1:
            problems.add(" -> ".join(stack[stack.index(n):] + [n]) if n in stack else n)
        elif not state.get(n):
            visit(n, stack + [n])
    state[h] = 2


for h in graph:
    if h.endswith(".h") and not state.get(h):
        visit(h, [h])
report("no-header-cycle", problems)

# 2. what devices see
problems = set()
for f, incs in graph.items():
    if not f.startswith("devices/"):
        continue
    for i in incs:
        if i.startswith("arch/") or (i.startswith("vmm/") and i not in DEVICE_SEES):
            problems.add("%s includes %s" % (f, i))
report("devices-see-only-the-device-interface", problems)

# 3. libraries stay libraries
problems = set()
lib_files = set(LIBS) | {h[:-2] + ".c" for h in LIBS}
for f in lib_files:
    for i in graph.get(f, []):
        if not i.startswith("vmm/") or i not in LIBS:
            problems.add("%s includes %s" % (f, i))
report("vmm-libraries-include-only-libraries", problems)

# 4. the core's doors into arch/ and devices/
problems = set()
for f, incs in graph.items():
    if not f.startswith("vmm/"):
        continue
    for i in incs:
        if i.startswith("arch/") and i != "arch/arch.h":
            problems.add("%s includes %s" % (f, i))
        if i.startswith("devices/") and i not in CORE_SEES_DEVICES:
            problems.add("%s includes %s" % (f, i))
report("core-reaches-arch-and-devices-through-their-headers", problems)

# 5. module cycles in vmm/ and devices/
device_files = [f for f in graph if f.startswith("devices/") and f.endswith(".c")]
owner = {}
for f in graph:
    if f.startswith("arch"):
        continue
    owner[f] = f[:-2]                  # vmm/config.c and vmm/config.h: vmm/config
# snapshot.c is the VM's lifecycle too: vm_boot() restores through it
for f in ("vmm/vm.c", "vmm/vcpu.c", "vmm/util.c", "vmm/vmm.h", "vmm/snapshot.c",
          "vmm/snapshot.h"):
    owner[f] = "vmm/vm"
for f in device_files + ["devices/devices.h", "devices/virtio.h"]:
    owner[f] = "devices"
modules = {}
for f, incs in graph.items():
    if f not in owner:
        continue
    deps = modules.setdefault(owner[f], set())
    for i in incs:
        if i in owner and owner[i] != owner[f]:
            deps.add(owner[i])
problems = set()
state = {}


def visit_mod(m, stack):
    state[m] = 1
    for n in sorted(modules.get(m, ())):
        if state.get(n) == 1:
            problems.add(" -> ".join(stack[stack.index(n):] + [n]))
        elif not state.get(n):
            visit_mod(n, stack + [n])
    state[m] = 2


for m in sorted(modules):
    if not state.get(m):
        visit_mod(m, [m])
report("no-module-cycle", problems)
sys.exit(failed)
