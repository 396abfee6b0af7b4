#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small GDB remote-protocol client for tests/vm/debug.sh: what Debian's
gdb in batch mode cannot do (a Ctrl-C it waits for, a second client,
leaving without detaching) and what it never would (a hostile stream).

  rsp.py ADDR interrupt      stop the running guest with Ctrl-C (0x03):
                             prints "stop T02..."; then leaves without a
                             word (the connection just closes)
  rsp.py ADDR second         while connected, a second client gets nothing
                             and is closed: prints "second refused"
  rsp.py ADDR swbreak SYM HEX resume  Z0 at SYM (an address); memory read
                             back shows the original byte; prints "masked
                             ok"; with "resume" the guest runs with it set
  rsp.py ADDR hostile SEED   garbage, malformed and out-of-range packets,
                             then a sane '?' and 'g' and a detach: prints
                             "hostile survived N packets"

ADDR is a TCP port on 127.0.0.1 or a Unix socket path. Exit status 0 when
what the mode expects happened, 1 otherwise (with a line on stderr)."""

import os
import random
import socket
import sys
import time


def connect(addr):
    if addr.isdigit():
        s = socket.create_connection(("127.0.0.1", int(addr)), timeout=20)
    else:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(addr)
    return s


def frame(data):
    return b"$" + data + b"#" + b"%02x" % (sum(data) & 0xFF)


class Client:
    def __init__(self, addr):
        self.s = connect(addr)
        self.buf = b""

    def send(self, raw):
        self.s.sendall(raw)

    def packet(self, timeout=20):
        """The next packet's data (acks skipped); None on timeout."""
        end = time.time() + timeout
        while True:
            start = self.buf.find(b"$")
            if start >= 0:
                hash_ = self.buf.find(b"#", start)
                if hash_ >= 0 and len(self.buf) >= hash_ + 3:
                    data = self.buf[start + 1:hash_]
                    self.buf = self.buf[hash_ + 3:]
                    return data
            left = end - time.time()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise EOFError("the stub closed the connection")
            self.buf += chunk

    def ask(self, data, timeout=20):
        self.send(frame(data))
        return self.packet(timeout)

    def drain(self, wait=0.05):
        """Whatever the stub sent, until it is quiet for `wait` s."""
        self.s.settimeout(wait)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError("the stub closed the connection")
        except socket.timeout:
            pass
        self.buf = b""


def die(msg):
    print("rsp.py: " + msg, file=sys.stderr)
    sys.exit(1)


def mode_interrupt(addr):
    c = Client(addr)
    c.ask(b"QStartNoAckMode")
    if not c.ask(b"?").startswith(b"T05"):
        die("the first stop is not a SIGTRAP")
    c.send(frame(b"vCont;c"))
    if c.packet(timeout=1) is not None:
        die("the guest stopped before Ctrl-C")
    c.send(b"\x03")
    stop = c.packet(timeout=10)
    if not stop or not stop.startswith(b"T02"):
        die("no SIGINT stop within 10 s after Ctrl-C: %r" % stop)
    print("stop " + stop.decode())
    # gone without detaching: the guest must run on
    c.s.close()


def mode_second(addr):
    c = Client(addr)
    if not c.ask(b"?"):
        die("the first client gets no answer")
    d = connect(addr)
    d.settimeout(5)
    d.sendall(b"+" + frame(b"?"))
    try:
        got = d.recv(100)
    except socket.timeout:
        die("the second client was left hanging")
    except ConnectionResetError:
        got = b""  # closed with our bytes unread: a reset
    if got:
        die("the second client was answered: %r" % got)
    # the first still works, and detaches
    if not c.ask(b"g"):
        die("the first client lost its session")
    if c.ask(b"D") != b"OK":
        die("detach refused")
    print("second refused")


def mode_swbreak(addr, sym, want, resume):
    c = Client(addr)
    c.ask(b"QStartNoAckMode")
    a = b"%x" % int(sym, 16)
    if c.ask(b"Z0," + a + b",1") != b"OK":
        die("Z0 refused")
    got = c.ask(b"m" + a + b",1")
    if got != want.encode():
        die("memory at the breakpoint reads %r, not the original %s" % (got, want))
    print("masked ok")
    if resume:
        c.send(frame(b"vCont;c"))
        # the guest ends (W) or stops; either way it has run with it set
        c.packet(timeout=30)
    else:
        if c.ask(b"z0," + a + b",1") != b"OK":
            die("z0 refused")
        if c.ask(b"D") != b"OK":
            die("detach refused")


def hostile_packets(rnd):
    """Packets no gdb sends: out of range, malformed, oversized."""
    big = ["ffffffffffffffff", "fffffffffffff000", "8000000000000000",
           "7ffffffff000", "100000000000", "4000000", "3fff000",
           "ffffffff", "0"]
    fixed = [
        b"m", b"m,", b"m0", b"m0,", b"m,10", b"mzz,10", b"m0,zz",
        b"m0,ffffffffffffffff", b"m0,100000", b"m" + b"f" * 40 + b",1",
        b"M0,4:", b"M0,4:00", b"Mffffffffffffffff,2:0000", b"X0,4:",
        b"Xffffffffffffffff,1:\x00", b"G", b"G00", b"g00",
        b"p", b"p9999", b"pffffffff", b"P9999=00", b"P0=", b"P0=zz",
        b"Z0,ffffffffffffffff,1", b"Z0,0", b"Z0,1000,99", b"Z9,1000,1",
        b"Z2,1000,0", b"Z2,ffffffffffffffff,8", b"Z3,1000,4",
        b"z0,1000,1", b"z2,1000,4", b"z1,0,1",
        b"Hg99", b"Hgzz", b"Hc-7", b"Hg-1", b"T0", b"T999", b"Tzz",
        b"qXfer:features:read:target.xml:ffffffff,ffff",
        b"qXfer:features:read:../../../etc/passwd:0,100",
        b"qXfer:features:read:target.xml:0,0", b"qThreadExtraInfo,99",
        b"qThreadExtraInfo,zz", b"qSupported:" + b"x" * 3000,
        b"vCont;x", b"vCont;s:99", b"vCont;c:zz", b"vCont", b"vCont;",
        b"vMustReplyEmpty", b"qfThreadInfo", b"qsThreadInfo", b"qC",
        b"}" * 50, b"\x00" * 20,
    ]
    for p in fixed:
        yield frame(p)
    # bad checksums, an oversized packet, a stray '#', unframed noise
    yield b"$g#00"
    yield b"$" + b"a" * 10000 + b"#00"
    yield b"$m0,1#zz"
    yield b"#$#$##$$"
    yield bytes(rnd.getrandbits(8) for _ in range(65536)).replace(b"\x03", b"")
    # reads anywhere, writes and breakpoints only where no RAM is mapped
    for _ in range(2000):
        kind = rnd.choice("mmmmMXZzpPg")
        addr = rnd.choice(big + ["%x" % rnd.getrandbits(rnd.choice((12, 32, 48, 64)))])
        ln = rnd.choice((0, 1, 2, 4, 8, 16, 4095, 4096, 65536, 1 << 40))
        if kind == "m":
            yield frame(b"m%s,%x" % (addr.encode(), ln))
        elif kind == "M":
            hi = "%x" % (0xffff800000000000 | rnd.getrandbits(40))
            yield frame(b"M%s,%x:%s" % (hi.encode(), min(ln, 64),
                                        b"5a" * min(ln, 64)))
        elif kind == "X":
            hi = "%x" % (0x8000000000000000 | rnd.getrandbits(60))
            yield frame(b"X%s,%x:" % (hi.encode(), min(ln, 64)) +
                        b"\xa5" * min(ln, 64))
        elif kind in "Zz":
            hi = "%x" % (0xffff800000000000 | rnd.getrandbits(40))
            yield frame(b"%c%d,%s,%x" % (ord(kind), rnd.randrange(6),
                                         hi.encode(), rnd.choice((0, 1, 4, 8, 9999))))
        elif kind == "p":
            yield frame(b"p%x" % rnd.getrandbits(rnd.choice((4, 8, 32))))
        elif kind == "P":
            yield frame(b"P%x=%s" % (rnd.randrange(200, 100000), b"00" * rnd.randrange(20)))
        else:
            yield frame(b"g")


def mode_hostile(addr, seed):
    rnd = random.Random(seed)
    c = Client(addr)
    n = 0
    for raw in hostile_packets(rnd):
        c.send(raw)
        n += 1
        # read as we go: the stub stops reading a client that never reads
        if n % 16 == 0:
            c.drain(0.01)
    c.drain(0.5)
    # still a working stub, stopped where it was
    c.send(b"+")
    stop = c.ask(b"?")
    if not stop or not stop.startswith(b"T"):
        die("no sane stop reply after the garbage: %r" % stop)
    regs = c.ask(b"g")
    if not regs or len(regs) < 100:
        die("no registers after the garbage: %r" % regs)
    if c.ask(b"D") != b"OK":
        die("detach refused after the garbage")
    print("hostile survived %d packets" % n)


def main(argv):
    if len(argv) < 3:
        die(__doc__)
    addr, mode = argv[1], argv[2]
    try:
        if mode == "interrupt":
            mode_interrupt(addr)
        elif mode == "second":
            mode_second(addr)
        elif mode == "swbreak" and len(argv) >= 5:
            mode_swbreak(addr, argv[3], argv[4], len(argv) > 5)
        elif mode == "hostile" and len(argv) >= 4:
            mode_hostile(addr, int(argv[3]))
        else:
            die(__doc__)
    except (EOFError, OSError) as e:
        die("%s: %s" % (mode, e))


if __name__ == "__main__":
    main(sys.argv)
