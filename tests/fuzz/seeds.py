#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets added by issue 11 into
tests/fuzz/corpus/NAME/ (seed-* files; crash inputs kept as regressions
are named otherwise and left alone). Deterministic: run it again and
nothing changes. Usage: tests/fuzz/seeds.py [corpus dir]"""
import gzip, os, struct, sys, zlib

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")

def put(name, seed, data):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + seed), "wb") as f:
        f.write(data)

# --- devfuzz programs (tests/fuzz/devfuzz.h) ---------------------------------
OP = dict(WRITE=0, READ=1, MEM=2, DESC=3, AVAIL=4, AVAIL_IDX=5, KICK=6, INIT=7,
          PUMP=8, PEER_SEND=9, PEER_DRAIN=10, CON_RX=11, CHAIN=12, EVENT=13,
          STATUS=14)
u8 = lambda v: struct.pack("<B", v & 0xff)
u16 = lambda v: struct.pack("<H", v & 0xffff)
u32 = lambda v: struct.pack("<I", v & 0xffffffff)
u64 = lambda v: struct.pack("<Q", v & 0xffffffffffffffff)
VER1 = 1 << 32

def init(dev, feat, qlog, how=0):
    # how: bit0 no VERSION_1 added, bit1 offered only, bits 2..5 log2 size
    return u8(OP["INIT"]) + u8(dev) + u64(feat) + u8(how | (qlog << 2))

def mem(addr, data):
    return u8(OP["MEM"]) + u32(addr) + u8(len(data)) + data

def desc(dev, q, idx, addr, ln, flags, nxt):
    return u8(OP["DESC"]) + u8(dev) + u8(q) + u16(idx) + u32(addr) + u32(ln) + u16(flags) + u16(nxt)

def avail(dev, q, head):
    return u8(OP["AVAIL"]) + u8(dev) + u8(q) + u16(head)

def kick(dev, q):
    return u8(OP["KICK"]) + u8(dev) + u8(q)

def chain(dev, q, bufs):
    out = u8(OP["CHAIN"]) + u8(dev) + u8(q) + u8(len(bufs) - 1)
    for addr, ln, w in bufs:
        out += u32(addr) + u16(ln) + u8(w)
    return out

def wr(dev, off, width, val):
    return u8(OP["WRITE"]) + u8(dev) + u16(off) + u8(width) + u64(val)

def rd(dev, off, width):
    return u8(OP["READ"]) + u8(dev) + u16(off) + u8(width) + u64(0)

NEXT, WRITE, INDIRECT = 1, 2, 4
HDR, DATA, ST = 0x10000, 0x18000, 0x1f000
F_FLUSH, F_DISCARD, F_WZ = 1 << 9, 1 << 13, 1 << 14

def blkhdr(t, sector):
    return struct.pack("<IIQ", t, 0, sector)

def blk_req(t, sector, data_len, write, extra=b""):
    return (mem(HDR, blkhdr(t, sector)) + extra +
            chain(0, 0, [(HDR, 16, 0)] + ([(DATA, data_len, write)] if data_len else []) + [(ST, 1, 1)]))

blk = {
    "read": init(0, VER1 | F_FLUSH, 4) + blk_req(0, 0, 512, 1),
    "write-flush": init(0, VER1 | F_FLUSH, 4) + blk_req(1, 1, 1024, 0) + blk_req(4, 0, 0, 0),
    "write-through": init(0, VER1, 4) + blk_req(1, 2, 512, 0),
    "get-id-1-byte": init(0, VER1, 4) + blk_req(8, 0, 1, 1),
    "sector-overflow": init(0, VER1, 4) + blk_req(0, (1 << 64) // 512 + 1, 512, 1) + blk_req(0, 127, 1024, 1),
    "discard-huge": init(0, VER1 | F_DISCARD | F_WZ, 4) +
        mem(DATA, struct.pack("<QII", 0, 0xffffffff, 0)) + blk_req(11, 0, 16, 0) +
        mem(DATA, struct.pack("<QII", (1 << 63), 8, 1)) + blk_req(13, 0, 16, 0),
    "indirect": init(0, VER1 | (1 << 28), 4) + mem(HDR, blkhdr(0, 0)) +
        mem(0x1c000, struct.pack("<QIHH", HDR, 16, NEXT, 1) + struct.pack("<QIHH", DATA, 512, NEXT | WRITE, 2) +
            struct.pack("<QIHH", ST, 1, WRITE, 0)) +
        desc(0, 0, 0, 0x1c000, 48, INDIRECT, 0) + avail(0, 0, 0) + kick(0, 0),
    "indirect-in-indirect": init(0, VER1 | (1 << 28), 4) +
        mem(0x1c000, struct.pack("<QIHH", 0x1c100, 16, INDIRECT, 0)) +
        desc(0, 0, 0, 0x1c000, 16, INDIRECT, 0) + avail(0, 0, 0) + kick(0, 0),
    "span-gap": init(0, VER1, 4) + mem(HDR, blkhdr(0, 0)) +
        chain(0, 0, [(HDR, 16, 0), (0x1fe00, 0x400, 1), (ST, 1, 1)]),
    "wrap": init(0, VER1, 4) + desc(0, 0, 0, 0x8000fff0, 0x100, WRITE, 0) + avail(0, 0, 0) + kick(0, 0),
    "avail-jump": init(0, VER1, 4) + u8(OP["AVAIL_IDX"]) + u8(0) + u8(0) + u16(0x8000) + kick(0, 0),
    "event-idx": init(0, VER1 | (1 << 29), 4) + u8(OP["EVENT"]) + u8(0) + u8(0) + u16(3) + u8(1) +
        blk_req(0, 0, 512, 1) + blk_req(0, 1, 512, 1),
    "driver-ok-without-features-ok": init(0, VER1, 4, how=0x40) + u8(OP["STATUS"]) + u8(0) + u8(7) + blk_req(0, 0, 512, 1),
    "read-only": u8(1) + init(0, VER1, 4) + blk_req(1, 0, 512, 0),
}
for k, v in blk.items():
    put("virtio_blk", k, (b"" if k == "read-only" else u8(0)) + v)

ETH = bytes(12) + b"\x08\x00" + bytes(50)
NETHDR = struct.pack("<BBHHHHH", 0, 0, 0, 0, 0, 0, 1)
net = {
    "tx": init(0, VER1 | (1 << 15), 4) + mem(HDR, NETHDR + ETH) + chain(0, 1, [(HDR, 12 + 64, 0)]) +
        u8(OP["PEER_DRAIN"]),
    "tx-bogus-gso": init(0, VER1, 4) + mem(HDR, struct.pack("<BBHHHHH", 1, 4, 0xffff, 0xffff, 0xfff0, 0xffff, 0) + ETH) +
        chain(0, 1, [(HDR, 12 + 64, 0)]) + u8(OP["PEER_DRAIN"]),
    "tx-oversized": init(0, VER1, 4) + chain(0, 1, [(0x0, 0xffff, 0), (0x30000, 0xffff, 0), (0x10000, 0x8000, 0)]) +
        u8(OP["PEER_DRAIN"]),
    "rx": init(0, VER1 | (1 << 15), 4) + chain(0, 0, [(DATA, 2048, 1)]) +
        u8(OP["PEER_SEND"]) + u16(1514) + u8(0) + u8(4) + b"\xaa\xbb\xcc\xdd",
    "rx-tiny-buffers": init(0, VER1 | (1 << 15), 4) + b"".join(chain(0, 0, [(DATA + 16 * i, 3, 1)]) for i in range(8)) +
        u8(OP["PEER_SEND"]) + u16(1500) + u8(0) + u8(1) + b"\x11",
    "rx-64k": init(0, VER1, 4) + chain(0, 0, [(0x30000, 0xffff, 1), (0x40000, 0xffff, 1)]) +
        u8(OP["PEER_SEND"]) + u16(0xffff) + u8(1) + u8(1) + b"\x22",
    "reset-while-held": init(0, VER1 | (1 << 15), 4) + chain(0, 0, [(DATA, 1, 1)]) +
        u8(OP["PEER_SEND"]) + u16(100) + u8(0) + u8(0) + u8(OP["STATUS"]) + u8(0) + u8(0) +
        init(0, VER1, 4) + chain(0, 0, [(DATA, 4096, 1)]),
}
for k, v in net.items():
    put("virtio_net", k, u8(0) + v)
put("virtio_net", "mtu", u8(0x18) + net["rx"])

con = {
    "tx": init(0, VER1, 4) + mem(DATA, b"hello\n") + chain(0, 1, [(DATA, 6, 0)]),
    "rx": init(0, VER1, 4) + chain(0, 0, [(DATA, 16, 1)]) + u8(OP["CON_RX"]) + u8(5) + b"abcde",
    "rx-before-ready": u8(OP["CON_RX"]) + u8(3) + b"xyz" + init(0, VER1, 4) + chain(0, 0, [(DATA, 1, 1)]),
    "tx-writable": init(0, VER1, 4) + chain(0, 1, [(DATA, 6, 1)]),
}
for k, v in con.items():
    put("virtio_console", k, u8(0) + v)

mmio = {
    "identity": b"".join(rd(d, off, 2) for d in range(3) for off in (0, 4, 8, 0xc, 0x10, 0x34, 0x70, 0xfc, 0x100)),
    "widths": b"".join(wr(0, off, w, 0x0102030405060708) + rd(0, off, w) for off in (0x70, 0x71, 0x102, 0xffe, 0x1000) for w in range(4)),
    "status-broken": b"".join(u8(OP["STATUS"]) + u8(d) + u8(s) for d in range(3) for s in (4, 8, 0x80, 0x40, 1, 3, 0xf, 0, 0xff)),
    "queue-while-ready": wr(0, 0x70, 2, 3) + wr(0, 0x24, 2, 1) + wr(0, 0x20, 2, 1) + wr(0, 0x70, 2, 11) +
        wr(0, 0x38, 2, 16) + wr(0, 0x80, 2, 0x4000) + wr(0, 0x90, 2, 0x5000) + wr(0, 0xa0, 2, 0x6000) +
        wr(0, 0x44, 2, 1) + wr(0, 0x80, 2, 0x100000) + wr(0, 0x38, 2, 1024) + wr(0, 0x70, 2, 15) + kick(0, 0),
    "sel-out-of-range": wr(1, 0x30, 2, 7) + rd(1, 0x34, 2) + wr(1, 0x44, 2, 1) + wr(1, 0x14, 2, 9) + rd(1, 0x10, 2) +
        wr(1, 0x24, 2, 5) + wr(1, 0x20, 2, 0xffffffff) + kick(1, 7),
    "unoffered-features": wr(2, 0x70, 2, 3) + wr(2, 0x24, 2, 0) + wr(2, 0x20, 2, 0xffffffff) + wr(2, 0x24, 2, 1) +
        wr(2, 0x20, 2, 0xffffffff) + wr(2, 0x70, 2, 11) + rd(2, 0x70, 2),
}
for k, v in mmio.items():
    put("virtio_mmio", k, u8(0) + v)

# --- fuzz_virtq: 16-byte header, then the image ------------------------------
def vq(qlog, flags, desc, av, used, start_avail=0, start_used=0, image=b""):
    return (u8(qlog) + u8(flags) + u16(desc >> 2) + u16(av >> 2) + u16(used >> 2) +
            u16(start_avail) + u16(start_used) + u32(0) + image.rstrip(b"\0"))

def image(parts, size=0x10000):
    img = bytearray(size)
    for off, data in parts:
        img[off:off + len(data)] = data
    return bytes(img)

D, A, U = 0x1000, 0x2000, 0x3000
dsc = lambda addr, ln, fl, nx: struct.pack("<QIHH", addr, ln, fl, nx)
avl = lambda flags, idx, ring: struct.pack("<HH", flags, idx) + b"".join(u16(r) for r in ring)
put("virtq", "chain", vq(4, 0, D, A, U, image=image([(D, dsc(0x8000, 100, NEXT, 1) + dsc(0x9000, 200, WRITE, 0)),
                                                      (A, avl(0, 1, [0]))])))
put("virtq", "indirect", vq(4, 1, D, A, U, image=image([(D, dsc(0x5000, 32, INDIRECT, 0)),
    (0x5000, dsc(0x8000, 10, NEXT, 1) + dsc(0x9000, 20, WRITE, 0)), (A, avl(0, 1, [0]))])))
put("virtq", "indirect-nested", vq(4, 0, D, A, U, image=image([(D, dsc(0x5000, 16, INDIRECT, 0)),
    (0x5000, dsc(0x6000, 16, INDIRECT, 0)), (A, avl(0, 1, [0]))])))
put("virtq", "indirect-len-17", vq(4, 0, D, A, U, image=image([(D, dsc(0x5000, 17, INDIRECT, 0)), (A, avl(0, 1, [0]))])))
put("virtq", "loop", vq(2, 0, D, A, U, image=image([(D, dsc(0x8000, 1, NEXT, 1) + dsc(0x8000, 1, NEXT, 0)), (A, avl(0, 1, [0]))])))
put("virtq", "span-gap", vq(4, 0, D, A, U, image=image([(D, dsc(0xff00, 0x200, 0, 0)), (A, avl(0, 1, [0]))])))
put("virtq", "wrap", vq(4, 0, D, A, U, image=image([(D, dsc((1 << 64) - 8, 16, 0, 0)), (A, avl(0, 1, [0]))])))
put("virtq", "avail-jump", vq(4, 0, D, A, U, image=image([(A, avl(0, 0x8000, [0]))])))
put("virtq", "event-idx-wrap", vq(4, 3 | 0x10, D, A, U, 0xfffe, 0xfffe,
    image=image([(D, b"".join(dsc(0x8000 + 64 * i, 64, 0, 0) for i in range(4))), (A, avl(0, 2, [0, 1, 2, 3]))])))
put("virtq", "used-over-desc", vq(4, 4, D, A, D, image=image([(D, dsc(0x8000, 8, WRITE, 0)), (A, avl(0, 1, [0] * 16))])))
put("virtq", "long-chain", vq(10, 2, 0x4000, 0x8000, 0xa000,
    image=image([(0x4000, b"".join(dsc(0xc000, 1, NEXT | (WRITE if i > 500 else 0), i + 1) for i in range(1023)) + dsc(0xc000, 1, 0, 0)),
                 (0x8000, avl(0, 1, [0]))])))

# --- config JSON: first byte picks the entry point ---------------------------
cfgs = {
    "doc": (0, b'{"boot-source":{"kernel_image_path":"/k","boot_args":"console=ttyS0","initrd_path":"/i"},'
               b'"machine-config":{"vcpu_count":2,"mem_size_mib":128,"smt":false},'
               b'"drives":[{"drive_id":"rootfs","path_on_host":"/r","is_root_device":true,"is_read_only":false,'
               b'"cache_type":"Writeback","io_engine":"Async","rate_limiter":{"bandwidth":{"size":1000,"refill_time":100}}}],'
               b'"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"52:54:00:12:34:56"}],'
               b'"logger":{"level":"Info"},"metrics":{"metrics_path":"/m"},"entropy":{},'
               b'"vsock":{"guest_cid":3,"uds_path":"/v"}}'),
    "doc-utf8": (0, '{"boot-source":{"kernel_image_path":"/k\u00e9","boot_args":"x=\u2603 \\ud83d\\ude00"}}'.encode()),
    "doc-bad-utf8": (0, b'{"boot-source":{"kernel_image_path":"/k\xff"}}'),
    "boot-source": (1, b'{"kernel_image_path":"/k","boot_args":"a b c"}'),
    "machine": (2, b'{"vcpu_count":1,"mem_size_mib":64,"track_dirty_pages":false}'),
    "drive": (3, b'{"drive_id":"rootfs","path_on_host":"/d","is_root_device":false,"is_read_only":true,"partuuid":"abc"}'),
    "net": (4, b'{"iface_id":"eth0","host_dev_name":"tap1","rx_rate_limiter":{"ops":{"size":10,"refill_time":1000,"one_time_burst":5}}}'),
    "logger": (5, b'{"log_path":"/l","level":"Debug","show_level":true,"show_log_origin":true}'),
    "metrics": (6, b'{"metrics_path":"/m"}'),
    "vsock": (7, b'{"guest_cid":3,"uds_path":"/v.sock"}'),
    "entropy": (8, b'{"rate_limiter":{"bandwidth":{"size":100,"refill_time":10}}}'),
    "serial": (9, b'{"serial_out_path":"/s"}'),
    "machine-patch": (10, b'{"vcpu_count":4}'),
    "drive-patch": (11, b'{"drive_id":"rootfs","path_on_host":"/e"}'),
    "net-patch": (12, b'{"iface_id":"eth0","tx_rate_limiter":{"bandwidth":{"size":0,"refill_time":0}}}'),
    "numbers": (2, b'{"vcpu_count":1e400,"mem_size_mib":-1}'),
    "deep": (0, b"[" * 200 + b"]" * 200),
}
for k, (w, body) in cfgs.items():
    put("config", k, u8(w) + body)

# --- x86 kernels -----------------------------------------------------------
def bzimage(setup_sects=4, payload=4096, version=0x20f, xlf=1, pref=0x1000000, init_size=0x200000):
    setup = (setup_sects + 1) * 512
    b = bytearray(setup + payload)
    b[0x1f1] = setup_sects
    b[0x1fe:0x200] = u16(0xaa55)
    b[0x200] = 0xeb; b[0x201] = 0x66
    b[0x202:0x206] = b"HdrS"
    b[0x206:0x208] = u16(version)
    b[0x211] = 1  # LOADED_HIGH
    b[0x22c:0x230] = u32(0x37ffffff)
    b[0x230:0x234] = u32(0x200000)
    b[0x234] = 1
    b[0x236:0x238] = u16(xlf)
    b[0x238:0x23c] = u32(2047)
    b[0x258:0x260] = u64(pref)
    b[0x260:0x264] = u32(init_size)
    for i in range(payload):
        b[setup + i] = (i * 7) & 0xff
    return bytes(b)

def elf(pvh=False, paddr=0x100000, filesz=0x800, memsz=0x2000, entry=0x100010, phnum_extra=0):
    phnum = 2 if pvh else 1
    eh = (b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56,
          phnum + phnum_extra, 64, 0, 0))
    ph = struct.pack("<IIQQQQQQ", 1, 7, 0x1000, 0xffffffff81000000, paddr, filesz, memsz, 0x1000)
    note = b""
    if pvh:
        note = struct.pack("<III", 4, 4, 18) + b"Xen\0" + u32(0x100100)
        ph += struct.pack("<IIQQQQQQ", 4, 4, 0x200, 0, 0, len(note), len(note), 4)
    b = bytearray(0x1000 + filesz)
    b[0:64] = eh
    b[64:64 + len(ph)] = ph
    b[0x200:0x200 + len(note)] = note
    return bytes(b)

put("x86_boot", "bzimage", bzimage())
put("x86_boot", "bzimage-old-protocol", bzimage(version=0x205, xlf=0))
put("x86_boot", "bzimage-huge-init-size", bzimage(init_size=0xffffffff))
put("x86_boot", "bzimage-no-setup-sects", bzimage(setup_sects=0))
put("x86_boot", "bzimage-truncated", bzimage()[:0x300])
put("x86_boot", "elf", elf())
put("x86_boot", "elf-pvh", elf(pvh=True))
put("x86_boot", "elf-overflow", elf(paddr=0xfffffffffffff000, memsz=0x2000))
put("x86_boot", "elf-many-phdrs", elf(phnum_extra=0xfff0))

# --- arm64 Image / Image.gz ------------------------------------------------
def image_hdr(text_offset=0, image_size=0x100000, flags=0b1010, size=4096):
    h = struct.pack("<IIQQQQQQI", 0x14000000, 0, text_offset, image_size, flags, 0, 0, 0, 0x644d5241)
    h += bytes(4)
    return h + bytes(size - len(h))

img = image_hdr()
put("arm64_image", "image", u8(0x01) + img)
put("arm64_image", "image-big-endian", u8(0) + image_hdr(flags=1))
put("arm64_image", "image-64k", u8(0x80) + image_hdr(flags=0b0110))
put("arm64_image", "image-huge-size", u8(0) + image_hdr(image_size=1 << 40))
put("arm64_image", "image-old", u8(0x02) + image_hdr(image_size=0))
put("arm64_image", "gzip", u8(0x04) + gzip.compress(img, mtime=0))
put("arm64_image", "gzip-truncated", u8(0) + gzip.compress(img, mtime=0)[:40])
put("arm64_image", "gzip-bomb", u8(0) + gzip.compress(image_hdr(size=40 << 20), 9, mtime=0))

# --- aarch64 snapshot files (fuzz_snapshot.c) ------------------------------
def snapfile(sections, arch=2, mem=64 << 20):
    body = b""
    for name, data in sections:
        body += name.encode().ljust(28, b"\0") + u32(zlib.crc32(data)) + u64(len(data)) + data
    h = (b"VMMSNAP\0" + u16(1) + u16(0) + u32(arch) + b"seeds.py".ljust(16, b"\0") +
         u32(len(sections)) + u32(0) + u64(mem) + u64(64 + len(body)) + u32(0))
    return h + u32(zlib.crc32(h)) + body

# a vCPU: layout 1, target, features, MP state, 64 bytes of events, then
# x0, v1 (128 bits), fpsr (32 bits) and the virtual counter
arm64_vcpu = (u32(1) + u32(5) + u32(4) + u32(0) + u32(64) + bytes(64) + u32(4) +
              u64(0x6030000000100000) + u64(0x40000000) +
              u64(0x6040000000100114) + bytes(range(16)) +
              u64(0x60200000001000d4) + u32(0x10) +
              u64(0x603000000013DF1A) + u64(123456789))
def vgic(version, writes):
    return (u32(1) + u32(version) + u32(128) + u32(2) + u32(len(writes)) +
            b"".join(u32(g) + u64(a) + u64(v) for g, a, v in writes))
gicv2 = vgic(2, [(1, 0x8, 0x0200143b), (1, 0x180, 0xffffffff), (1, 0x100, 0xffff),
                 (1, (1 << 32) | 0x400, 0xa0a0a0a0), (2, (1 << 32) | 0x4, 0xf0)])
gicv3 = vgic(3, [(1, 0x8, 0x0300143b), (5, 0x10180, 0xffffffff), (5, (1 << 32) | 0x10100, 0xffff),
                 (7, 32, 0x4), (1, 0x6000 + 8 * 40, 1), (6, (1 << 32) | 0xc665, 7)])
gpio = bytes([0x08, 0, 0, 0, 0x08, 0, 0x08, 0x08, 0, 0x08])
for name, arch in (("gicv2", gicv2), ("gicv3", gicv3)):
    put("snapshot", "arm64-" + name, u8(1) + snapfile([
        ("vm", b"{}"), ("arch", arch), ("vcpu:0", arm64_vcpu), ("vcpu:1", arm64_vcpu),
        ("dev:gpio@0x9020000", gpio)]))
