# SPDX-License-Identifier: MIT
"""The README is tested: every fenced block of README.md carries an
annotation (an HTML comment on the line above it) saying how it is
tested, and this runs it so (tests/README.md has the syntax).

Shell blocks are typed, line by line, into an interactive bash on a
pseudo-terminal (tests/readme/type.sh), here or inside the emulated x86-64
host of tests/e2e/x86_64.sh; output blocks are compared with what was
printed. One line per block: PASS: readme.NAME, FAIL: readme.NAME: why,
SKIP: readme.NAME: why. Exit status 1 if any block failed."""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TYPE_SH = os.path.join(REPO, "tests/readme/type.sh")
WHERE = ("local", "e2e", "guest", "fresh")
# seconds a typed line may take to give the prompt back: here, and in
# the emulated host (whose whole run is bounded too)
LINE_TIMEOUT = 300
HOST_LINE_TIMEOUT = 60
# what the emulated host needs to type blocks and run their commands
HOST_TOOLS = ("bash", "script", "curl")
# the guest kernel command line of a `guest` block's VM
GUEST_CMDLINE = "console=ttyS0 reboot=k panic=-1"


class Bad(Exception):
    """An annotation that does not parse."""


class Block:
    def __init__(self, line, lang, body, name, note):
        self.line = line          # line number of the opening fence
        self.lang = lang          # "sh", "json", "" ...
        self.body = body          # the text between the fences
        self.name = name          # readme.<section>-<n>
        self.note = note          # the annotation text, or None
        self.kind = None          # set of WHERE words, or "skip", "text",
        self.reason = None        # "output", "file"
        self.mode = "exact"       # output: exact, figures, json-shape
        self.file = None          # file: the name it is saved as
        self.of = None            # (where, command) of an output/file block
        self.xfail = None
        self.timeout = None       # per line; None: the default of where
        self.prints = []
        self.job = None           # the Job that runs it or shows its output


class Job:
    """One typed session: a block's lines, or the command an output or
    file block names."""

    def __init__(self, name, where, script, timeout):
        self.name = name
        self.where = where        # local, e2e or guest
        self.script = script
        self.timeout = timeout or (LINE_TIMEOUT if where == "local" else HOST_LINE_TIMEOUT)
        self.files = {}           # name -> content, written before it runs
        self.guest_init = None    # guest: the block, run by the guest's /init
        self.transcript = None
        self.result = None        # "done", "timeout N", or None (not run)
        self.problems = None      # computed once: list of reasons

    def command_lines(self):
        return self.script.rstrip("\n").split("\n")


def slug(heading):
    s = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
    return s or "top"


def parse_note(b):
    """Fill in b's fields from its annotation; raise Bad."""
    text = b.note
    m = re.search(r"(?:^|;)\s*of\s+(local|e2e):\s*(.+)$", text)
    if m:
        b.of = (m.group(1), m.group(2).strip())
        text = text[:m.start()]
    # a skip's or a text's reason is prose: it runs to the end, ';' and all
    if re.match(r"\s*(skip|text):", text):
        clauses = [text.strip()]
    else:
        clauses = [c.strip() for c in text.split(";") if c.strip()]
    if not clauses:
        raise Bad("empty annotation")
    head, rest = clauses[0], clauses[1:]
    words = head.split()
    if head.startswith("skip:") or head.startswith("text:"):
        b.kind, b.reason = head[:4], head[5:].strip()
        if not b.reason:
            raise Bad("%s needs a reason" % head[:4])
    elif words[0] == "output":
        b.kind = "output"
        if len(words) > 2 or (len(words) == 2 and words[1] not in ("figures", "json-shape")):
            raise Bad("output [figures|json-shape], not %r" % head)
        if len(words) == 2:
            b.mode = words[1]
    elif words[0] == "file":
        if len(words) != 2 or not b.of:
            raise Bad("file NAME; of WHERE: COMMAND")
        b.kind, b.file = "file", words[1]
    elif all(w in WHERE for w in words):
        b.kind = set(words)
    else:
        raise Bad("unknown annotation %r" % head)
    for c in rest:
        if c.startswith("xfail:") and c[6:].strip():
            b.xfail = c[6:].strip()
        elif re.fullmatch(r"timeout \d+", c):
            b.timeout = int(c.split()[1])
        elif c.startswith("prints "):
            b.prints.append(c[7:].strip())
        else:
            raise Bad("unknown clause %r" % c)
    if isinstance(b.kind, set) and b.lang != "sh":
        raise Bad("%s is for ```sh blocks" % head)
    if b.kind in ("output", "file") and b.lang == "sh":
        raise Bad("a ```sh block is run, not shown: local, e2e, guest or fresh")
    if b.of and b.kind not in ("output", "file"):
        raise Bad("'of WHERE: COMMAND' belongs to output and file blocks")


def read_blocks(path):
    """The fenced blocks of the Markdown file, with their annotations."""
    blocks, section, count, note = [], "top", {}, None
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            section = slug(m.group(1))
        m = re.match(r"^<!--\s*test:\s*(.*?)\s*-->\s*$", line)
        if m:
            note = (m.group(1), i)
        m = re.match(r"^```(\S*)\s*$", line)
        if m:
            start = i
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            count[section] = count.get(section, 0) + 1
            name = "readme.%s-%d" % (section, count[section])
            # the annotation must be the last non-blank line above
            above = start - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            text = note[0] if note and note[1] == above else None
            blocks.append(Block(start + 1, m.group(1), "\n".join(body) + "\n", name, text))
            note = None
        i += 1
    return blocks


def plan(blocks):
    """Jobs for the blocks; returns (jobs, {block name: problem})."""
    jobs, bad, last_sh = [], {}, None
    for b in blocks:
        if b.note is None:
            bad[b.name] = ("line %d: a ```%s block without a <!-- test: ... --> annotation "
                           "(see tests/README.md)" % (b.line, b.lang))
            continue
        try:
            parse_note(b)
        except Bad as e:
            bad[b.name] = "line %d: %s" % (b.line, e)
            continue
        if isinstance(b.kind, set):
            last_sh = b
            for where in ("local", "e2e", "guest"):
                if where in b.kind:
                    if b.job:
                        bad[b.name] = "line %d: one of local, e2e, guest" % b.line
                        break
                    b.job = Job(b.name, where, b.body, b.timeout)
                    if where == "guest":
                        b.job.guest_init = b.body
                        b.job.script = ("build/vmm run -k bzImage -i %s.img -p \"%s\"\n"
                                        % (b.name, GUEST_CMDLINE))
                    jobs.append(b.job)
        elif b.kind in ("output", "file"):
            if b.of:
                b.job = Job(b.name, b.of[0], b.of[1] + "\n", b.timeout)
                if b.kind == "file":
                    b.job.files[b.file] = b.body
                jobs.append(b.job)
            elif last_sh is None or blocks[blocks.index(b) - 1] is not last_sh:
                bad[b.name] = ("line %d: an output block without 'of WHERE: COMMAND' "
                               "must follow the ```sh block it shows" % b.line)
            elif last_sh.job is None:
                bad[b.name] = ("line %d: shows the output of %s, which is not run here"
                               % (b.line, last_sh.name))
            else:
                b.job = last_sh.job
    return jobs, bad


# ---- what a session printed

def sessions(transcript):
    """[(typed line, status after it or None, output lines)] of a
    type.sh transcript; the status is that of the prompt that followed."""
    text = transcript.replace("\r", "")
    parts = re.split(r"@@ps([12])(?: (\d+))?@@ ", text)
    out = []
    # parts: header, then (ps, status, segment) triples
    for k in range(1, len(parts) - 2, 3):
        seg = parts[k + 2]
        typed, _, rest = seg.partition("\n")
        nxt = parts[k + 3:k + 6]
        status = int(nxt[1]) if len(nxt) >= 2 and nxt[0] == "1" and nxt[1] else None
        lines = rest.split("\n")
        # script's closing line is not the session's
        lines = [l for l in lines if not l.startswith("Script done on ")]
        out.append((typed, status, lines))
    return out


def output_lines(job):
    lines = []
    for typed, _, out in sessions(job.transcript or ""):
        if typed in ("wait", "exit"):
            continue
        lines.extend(l.rstrip() for l in out)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def last_words(job, n=3):
    tail = [l for l in output_lines(job) if l.strip()][-n:]
    return " | ".join(tail) if tail else "(nothing printed)"


def job_problems(job):
    """Why the session did not go as a person would want: a line without a
    prompt back, a command that failed, a background job that did not end
    well. Empty when all went well."""
    if job.problems is not None:
        return job.problems
    p = []
    if job.result is None:
        p.append("not run (%s)" % (job.transcript or "no transcript"))
        job.transcript = job.transcript or ""
    else:
        lines = job.command_lines()
        m = re.match(r"timeout (\w+)(?:\nstopped: *(.*))?", job.result)
        if m:
            which = m.group(1)
            if which == "wait":
                what = "its background jobs did not end"
            elif which == "0":
                what = "the shell never prompted"
            else:
                what = "no prompt again after line %s (%s)" % (which, lines[int(which) - 1].strip())
            p.append("%s within %d s%s; last output: %s" % (
                what, job.timeout,
                ", stopped: %s" % m.group(2).strip() if m.group(2) and m.group(2).strip() else "",
                last_words(job)))
        prev_status, cmd = 0, []
        for typed, status, out in sessions(job.transcript):
            if typed == "exit":
                break
            cmd.append(typed)
            if status is None:
                continue           # a continuation line
            is_cmd = any(l.strip() and not l.strip().startswith("#") for l in cmd)
            if status != 0 and (is_cmd or status != prev_status) and typed != "wait":
                p.append("exit status %d from: %s" % (status, " ".join(c.strip() for c in cmd)))
                break
            prev_status, cmd = status, []
        for l in output_lines(job) + [l for t, _, o in sessions(job.transcript)
                                      if t == "wait" for l in o]:
            m = re.match(r"^\[\d+\][+-]?\s+(\S.*?)\s{2,}(\S.*)$", l)
            if m and not m.group(1).startswith("Done"):
                p.append("background job '%s': %s" % (m.group(2).strip(), m.group(1)))
    job.problems = p
    return p


def number_pattern(line):
    parts = re.split(r"(\d+(?:[.,]\d+)*)", line)
    return "".join(r"\d+(?:[.,]\d+)*" if i % 2 else re.escape(s) for i, s in enumerate(parts))


def compare_lines(want, got, figures):
    """None if the lines `want` appear consecutively in `got`, else why."""
    want = [w.rstrip() for w in want.rstrip("\n").split("\n")]
    pats = [re.compile(number_pattern(w) if figures else re.escape(w)) for w in want]
    best, at = -1, 0
    for i in range(len(got)):
        k = 0
        while k < len(want) and i + k < len(got) and pats[k].fullmatch(got[i + k]):
            k += 1
        if k == len(want):
            return None
        if k > best:
            best, at = k, i
    if best <= 0:
        return "README line %r printed nowhere%s" % (want[0], " (figures aside)" if figures else "")
    shown = got[at + best] if at + best < len(got) else "(end of output)"
    return "README line %r: printed %r instead" % (want[best], shown)


def json_shape(want, got, path="$"):
    """Where the JSON `got` lacks a key of `want` or has another type."""
    def kind(v):
        return {bool: "boolean", int: "number", float: "number", str: "string",
                list: "array", dict: "object", type(None): "null"}[type(v)]
    if kind(want) != kind(got):
        return "%s is %s, the README shows %s" % (path, kind(got), kind(want))
    if isinstance(want, dict):
        for k in want:
            if k not in got:
                return "%s has no %r (it has: %s)" % (path, k, ", ".join(sorted(got)))
            why = json_shape(want[k], got[k], "%s.%s" % (path, k))
            if why:
                return why
    if isinstance(want, list) and want and got:
        return json_shape(want[0], got[0], path + "[0]")
    return None


def compare_json(block_text, got_lines):
    text = re.sub(r",\s*\.\.\.", "", block_text)
    text = re.sub(r"\.\.\.\s*,?", "", text)
    try:
        want = json.loads(text)
    except ValueError as e:
        return "the README's JSON does not parse (after dropping '...'): %s" % e
    found = None
    for l in got_lines:
        if l.lstrip().startswith("{"):
            try:
                found = json.loads(l)
            except ValueError:
                pass
    if found is None:
        try:
            found = json.loads("\n".join(got_lines))
        except ValueError:
            return "no JSON object in the output: %s" % " | ".join(got_lines[-3:])
    return json_shape(want, found)


def judge(b):
    """(status, detail) of one block: PASS, FAIL or SKIP."""
    job = b.job
    where = job.where
    problems = list(job_problems(job))
    if not problems and b.kind == "output":
        why = (compare_json(b.body, output_lines(job)) if b.mode == "json-shape" else
               compare_lines(b.body, output_lines(job), b.mode == "figures"))
        if why:
            problems.append(why)
    if not problems:
        got = output_lines(job)
        for pat in b.prints:
            if not any(re.fullmatch(pat, l) for l in got):
                problems.append("no line matching %r in the output" % pat)
    what = {"local": "typed here", "e2e": "typed in the emulated x86-64 host",
            "guest": "run by a Linux guest's /init in the emulated host"}[where]
    if b.kind == "output":
        what = "%s output of %s, %s" % (b.mode, b.of[1] if b.of else job.name, what)
    if b.xfail:
        if problems:
            return "SKIP", "expected to fail (%s): %s" % (b.xfail, problems[0])
        return "FAIL", "passes although marked 'xfail: %s': remove the mark" % b.xfail
    if problems:
        return "FAIL", "; ".join(problems)
    return "PASS", what


# ---- running the sessions

def run_env():
    env = {"HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    for k in ("VMM_CACHE", "TMPDIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def scratch_tree(path):
    """A directory that looks like the top of the source tree (each entry a
    symlink to the real one, build/ included) where blocks run, so that
    what they write stays out of the tree."""
    os.makedirs(path, exist_ok=True)
    for e in os.listdir(REPO):
        if e != ".git" and not os.path.exists(os.path.join(path, e)):
            os.symlink(os.path.join(REPO, e), os.path.join(path, e))
    if not os.path.exists(os.path.join(path, "build")):
        os.makedirs(os.path.join(REPO, "build"), exist_ok=True)
        os.symlink(os.path.join(REPO, "build"), os.path.join(path, "build"))


def run_local(job, work):
    tree = os.path.join(work, "local")
    scratch_tree(tree)
    for name, content in job.files.items():
        with open(os.path.join(tree, name), "w") as f:
            f.write(content)
    block = os.path.join(work, job.name + ".sh")
    with open(block, "w") as f:
        f.write(job.script)
    tr = os.path.join(work, job.name + ".transcript")
    subprocess.run([TYPE_SH, block, tr, str(job.timeout)], cwd=tree, env=run_env(),
                   stdin=subprocess.DEVNULL)
    load_result(job, tr)


def load_result(job, tr):
    try:
        job.transcript = open(tr, errors="replace").read()
        job.result = open(tr + ".result").read().strip()
    except OSError as e:
        job.transcript = "no transcript: %s" % e
        job.result = None


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True, **kw).stdout


def host_tools(out):
    """SRC=DEST lines for bash, script, curl and every library they load."""
    files = set()
    for tool in HOST_TOOLS:
        path = shutil.which(tool, path="/usr/bin:/bin")
        if not path:
            raise RuntimeError("%s is not installed" % tool)
        files.add(path)
        for l in sh("ldd %s" % path).split("\n"):
            m = re.search(r"(/\S+) \(0x", l)
            if m:
                files.add(m.group(1))
    with open(out, "w") as f:
        for p in sorted(files):
            f.write("%s=%s\n" % (os.path.realpath(p), p))


def make_fixtures(d, jobs, log):
    """The files the README takes for granted, real ones: the project's
    kernel and initramfs, an ext4 root filesystem booting the same /init,
    an ext4 data disk; the kernel and initramfs also where the README's
    Booting Linux section finds them (in the emulated host's /root)."""
    run = os.path.join(d, "run")
    os.makedirs(os.path.join(run, "build"))
    kernel = sh(os.path.join(REPO, "scripts/build-guest-kernel") + " 2>>%s | tail -n1" % log).strip()
    initramfs = sh(os.path.join(REPO, "scripts/build-initramfs") + " 2>>%s | tail -n1" % log).strip()
    shutil.copy(kernel, os.path.join(run, "bzImage"))
    shutil.copy(initramfs, os.path.join(run, "initrd.img"))
    cache = os.path.join(d, "root/.cache/vmm")
    os.makedirs(os.path.join(cache, "linux-x86_64"))
    shutil.copy(kernel, os.path.join(cache, "linux-x86_64/bzImage"))
    shutil.copy(initramfs, os.path.join(cache, "initramfs-x86_64.cpio.gz"))
    # the initramfs as an ext4 root: its /init as the kernel's /sbin/init
    root = os.path.join(d, "rootfs")
    os.makedirs(root)
    sh("zcat %s | cpio -idm --quiet --no-absolute-filenames" % initramfs, cwd=root)
    os.remove(os.path.join(root, "sbin/init"))
    shutil.copy(os.path.join(root, "init"), os.path.join(root, "sbin/init"))
    sh("mke2fs -q -F -t ext4 -L rootfs -d %s %s 24M" % (root, os.path.join(run, "rootfs.ext4")))
    shutil.rmtree(root)
    sh("mke2fs -q -F -t ext4 -L data %s 8M" % os.path.join(run, "data.img"))
    for job in jobs:
        for name, content in job.files.items():
            with open(os.path.join(run, name), "w") as f:
                f.write(content)
        if job.guest_init:
            init = os.path.join(d, job.name + ".init")
            with open(init, "w") as f:
                f.write("#!/bin/sh\n# a README block as the guest's /init (tests/readme)\n"
                        "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\n"
                        "mount -t proc proc /proc\nmount -t sysfs sysfs /sys\n"
                        "mount -t devtmpfs devtmpfs /dev\n" + job.guest_init +
                        "reboot -f\nwhile :; do sleep 1; done\n")
            sh("%s --init %s %s 2>>%s >/dev/null" % (os.path.join(REPO, "scripts/build-initramfs"),
                                                    init, os.path.join(run, job.name + ".img"), log))


def run_e2e(jobs, work, vmm_static):
    """All e2e and guest jobs in one boot of the emulated host. Returns the
    e2e harness's own PASS/FAIL/SKIP lines, or a SKIP/FAIL reason for all."""
    d = os.path.join(work, "e2e")
    os.makedirs(os.path.join(d, "jobs"))
    log = os.path.join(work, "fixtures.log")
    try:
        make_fixtures(d, jobs, log)
        shutil.copy(vmm_static, os.path.join(d, "run/build/vmm"))
        host_tools(os.path.join(d, "tools.list"))
    except (subprocess.CalledProcessError, OSError, RuntimeError) as e:
        tail = open(log).read()[-400:] if os.path.exists(log) else ""
        return "FAIL", "fixtures: %s %s" % (e, tail.strip().replace("\n", " | "))
    for n, job in enumerate(jobs):
        base = os.path.join(d, "jobs", "%02d-%s" % (n, job.name))
        with open(base + ".sh", "w") as f:
            f.write(job.script)
        with open(base + ".timeout", "w") as f:
            f.write("%d\n" % job.timeout)
    shutil.copy(TYPE_SH, os.path.join(d, "type.sh"))
    proc = subprocess.run([os.path.join(REPO, "tests/e2e/x86_64.sh"), "--vmm", vmm_static,
                           "--scenarios", "readme", "--readme", d],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    with open(os.path.join(work, "e2e.log"), "w") as f:
        f.write(proc.stdout)
    for n, job in enumerate(jobs):
        load_result(job, os.path.join(d, "out", "%02d-%s.transcript" % (n, job.name)))
    lines = [l for l in proc.stdout.split("\n") if re.match(r"^(PASS|FAIL|SKIP): ", l)]
    if proc.returncode == 77:
        return "SKIP", "the emulated host cannot run: %s" % " ".join(lines)
    return lines, None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readme", default=os.path.join(REPO, "README.md"))
    ap.add_argument("--e2e", action="store_true",
                    help="also the blocks that boot Linux, in the emulated x86-64 host")
    ap.add_argument("--vmm-static", default=os.path.join(
        REPO, os.environ.get("BUILD", "build"), "vmm-static"))
    ap.add_argument("--blocks", metavar="WHERE",
                    help="print the ```sh blocks annotated WHERE (e.g. fresh), "
                         "each ended by a NUL byte, and exit")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--only", metavar="NAMES",
                    help="comma-separated block names (readme.NAME-N): run only these")
    args = ap.parse_args(argv[1:])

    blocks = read_blocks(args.readme)
    if args.blocks:
        for b in blocks:
            if b.note:
                try:
                    parse_note(b)
                except Bad:
                    continue
                if isinstance(b.kind, set) and args.blocks in b.kind:
                    sys.stdout.write(b.body + "\0")
        return 0

    jobs, bad = plan(blocks)
    if args.only:
        only = set(args.only.split(","))
        blocks = [b for b in blocks if b.name in only]
        jobs = [j for j in jobs if any(b.job is j for b in blocks)]
    work = tempfile.mkdtemp(prefix="vmm-readme.")
    failed = False
    try:
        local = [j for j in jobs if j.where == "local"]
        remote = [j for j in jobs if j.where in ("e2e", "guest")]
        for job in local:
            run_local(job, work)
        remote_skip = None
        if remote and not args.e2e:
            remote_skip = "boots Linux: run with the e2e layer (VMM_TESTS=...,e2e,readme)"
        elif remote and not os.path.exists(args.vmm_static):
            remote_skip = "%s not built (make static)" % args.vmm_static
        elif remote:
            res = run_e2e(remote, work, args.vmm_static)
            if isinstance(res[0], list):
                for l in res[0]:
                    print(l)
                    failed |= l.startswith("FAIL: ")
            elif res[0] == "SKIP":
                remote_skip = res[1]
            else:
                print("FAIL: readme.e2e: %s" % res[1])
                failed = True
                remote_skip = "see readme.e2e"
        for b in blocks:
            if b.name in bad:
                print("FAIL: %s: %s" % (b.name, bad[b.name]))
                failed = True
            elif b.kind == "text":
                continue
            elif b.kind == "skip":
                print("SKIP: %s: %s" % (b.name, b.reason))
            elif b.job is None:
                print("SKIP: %s: run by tests/fresh/run.sh on a fresh Debian 12 "
                      "(not in make check)" % b.name)
            elif b.job.where != "local" and remote_skip:
                print("SKIP: %s: %s" % (b.name, remote_skip))
            else:
                status, detail = judge(b)
                print("%s: %s: %s" % (status, b.name, detail) if status != "PASS"
                      else "PASS: %s (%s)" % (b.name, detail))
                failed |= status == "FAIL"
    finally:
        if args.keep:
            print("readme: work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
