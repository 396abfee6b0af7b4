# SPDX-License-Identifier: MIT
"""What machine the figures come from, and what kind of KVM it has."""

import os
import platform
import subprocess


def _read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def cpu_info(cpuinfo_text=None):
    text = _read("/proc/cpuinfo") if cpuinfo_text is None else cpuinfo_text
    model, flags, count = "unknown CPU", set(), 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            count += 1
        elif key == "model name" and model == "unknown CPU":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return model, count, flags


def kvm_kind(modules, flags, dev_kvm=True):
    """Classify this machine's KVM from the loaded kvm_* modules and the CPU
    flags. Returns (hardware_assisted, short, description)."""
    if not dev_kvm:
        return False, "none", "no /dev/kvm"
    nested = "hypervisor" in flags
    if "kvm_pvm" in modules:
        return (False, "nested/emulated",
                "nested/emulated (kvm_pvm: shadow paging without VT-x/AMD-V; "
                "guest kernel code is run by KVM's instruction emulator)")
    for mod, tech in (("kvm_intel", "VT-x"), ("kvm_amd", "AMD-V")):
        if mod in modules:
            if nested:
                return (True, "hardware-assisted (nested)",
                        "hardware-assisted, nested (%s, %s; this host is itself a VM)" % (mod, tech))
            return True, "hardware-assisted", "hardware-assisted (%s, %s)" % (mod, tech)
    others = sorted(m for m in modules if m.startswith("kvm_"))
    if others:
        return False, "unknown", "unknown KVM provider (%s)" % ", ".join(others)
    return False, "unknown", "/dev/kvm present, no kvm_intel/kvm_amd module found"


def kvm_modules():
    try:
        return {m for m in os.listdir("/sys/module") if m == "kvm" or m.startswith("kvm_")}
    except OSError:
        return set()


def _version(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=10).stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.strip().splitlines()[0] if out.strip() else None
    return line


def describe(tools=None):
    """A dict describing this machine; tools maps a name to a version
    command (only those that exist are run)."""
    model, ncpu, flags = cpu_info()
    mods = kvm_modules()
    hw, short, desc = kvm_kind(mods, flags, os.path.exists("/dev/kvm"))
    mem_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    info = {
        "cpu_model": model,
        "cpus": ncpu,
        "memory_gib": round(mem_kib / 1048576, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "kvm_hardware_assisted": hw,
        "kvm": short,
        "kvm_detail": desc,
        "kvm_modules": sorted(mods),
        "loadavg_at_start": _read("/proc/loadavg").split()[:3],
        "tools": {},
    }
    for name, cmd in (tools or {}).items():
        v = _version(cmd)
        if v:
            info["tools"][name] = v
    return info


def _os_name():
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def one_line(info):
    return "%s (%d CPUs, %s GiB), Linux %s, KVM: %s" % (
        info["cpu_model"], info["cpus"], info["memory_gib"], info["kernel"], info["kvm_detail"])
