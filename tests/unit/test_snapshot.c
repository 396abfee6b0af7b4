// SPDX-License-Identifier: MIT
/*
 * The snapshot file format (vmm/snapfile.c) and the devices' state
 * (devices/state.h): a file round trip; every truncation and every
 * flipped byte refused; hostile headers (lengths, counts, names,
 * versions, architectures) refused with the line that says why; and the
 * serial port (its interrupt line driven again), i8042, CMOS, the PL061
 * GPIO (a press in progress saved released) and a virtio device saved
 * from one host and restored into another, reading back the same, with
 * every truncated state refused.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/devices.h"
#include "../../devices/state.h"
#include "../../devices/virtio.h"
#include "../../vmm/config.h"
#include "../../vmm/snapfile.h"
#include "../../vmm/vmm.h"
#include "testhost.h"
#include "unit.h"
#include "vdriver.h"

static char err[512];

/* a file of three sections, built by the writer */
static void build(struct snapfile_writer *w)
{
	static const char big[3000] = "state";

	snapfile_writer_init(w);
	if (snapfile_add(w, "vm", "{\"a\":1}", 7) ||
	    snapfile_add(w, "vcpu:0", big, sizeof(big)) ||
	    snapfile_add(w, "dev:serial@0x3f8", "", 0) ||
	    snapfile_finish(w, SNAP_ARCH_X86_64, 64 << 20, VMM_VERSION))
		abort();
}

static void fix_header_crc(uint8_t *b)
{
	uint32_t crc = crc32_update(0, b, 60);

	memcpy(b + 60, &crc, 4);
}

TEST(crc32_check_value)
{
	static const char s[] = "123456789";

	/* the check value of CRC-32/ISO-HDLC, zlib's crc32() */
	CHECK_EQ(crc32_update(0, s, 9), 0xcbf43926);
	CHECK_EQ(crc32_update(crc32_update(0, s, 4), s + 4, 5), 0xcbf43926);
}

TEST(round_trip)
{
	static struct snapfile f;
	struct snapfile_writer w;
	const struct snap_section *s;

	build(&w);
	CHECK_EQ(snapfile_parse(w.out.data, w.out.len, SNAP_ARCH_X86_64, &f,
				err, sizeof(err)), 0);
	CHECK_EQ(f.major, SNAP_VERSION_MAJOR);
	CHECK_EQ(f.nr_sections, 3);
	CHECK_EQ(f.mem_size, 64 << 20);
	CHECK(!strcmp(f.vmm_version, VMM_VERSION));
	s = snapfile_find(&f, "vm");
	CHECK(s && s->len == 7 && !memcmp(s->data, "{\"a\":1}", 7));
	s = snapfile_find(&f, "vcpu:0");
	CHECK(s && s->len == 3000 && !memcmp(s->data, "state", 5));
	s = snapfile_find(&f, "dev:serial@0x3f8");
	CHECK(s && s->len == 0);
	CHECK(!snapfile_find(&f, "nope"));
	snapfile_writer_free(&w);
}

TEST(every_truncation_refused)
{
	static struct snapfile f;
	struct snapfile_writer w;

	build(&w);
	for (size_t n = 0; n < w.out.len; n++) {
		err[0] = 0;
		CHECK(snapfile_parse(w.out.data, n, 0, &f, err, sizeof(err)) ==
		      -EINVAL);
		CHECK(err[0]);
		if (n >= 12)
			CHECK(strstr(err, "truncated"));
	}
	snapfile_writer_free(&w);
}

TEST(every_flipped_byte_refused)
{
	static struct snapfile f;
	struct snapfile_writer w;

	build(&w);
	for (size_t i = 0; i < w.out.len; i++) {
		w.out.data[i] ^= 0x20;
		CHECK(snapfile_parse(w.out.data, w.out.len, 0, &f, err,
				     sizeof(err)) == -EINVAL);
		w.out.data[i] ^= 0x20;
	}
	CHECK_EQ(snapfile_parse(w.out.data, w.out.len, 0, &f, err, sizeof(err)), 0);
	snapfile_writer_free(&w);
}

/* patch a header field (and its checksum): the field is what is refused */
static int parse_patched(struct snapfile_writer *w, size_t off,
			 const void *v, size_t n, uint32_t arch)
{
	static struct snapfile f;
	static uint8_t buf[8192];

	memcpy(buf, w->out.data, w->out.len);
	memcpy(buf + off, v, n);
	fix_header_crc(buf);
	return snapfile_parse(buf, w->out.len, arch, &f, err, sizeof(err));
}

TEST(hostile_headers_refused)
{
	struct snapfile_writer w;
	uint16_t major = 2;
	uint32_t arch = SNAP_ARCH_AARCH64, n;
	uint64_t len;

	build(&w);
	CHECK(w.out.len < 8192);
	CHECK(parse_patched(&w, 8, &major, 2, 0) == -EINVAL);
	CHECK(strstr(err, "format version 2.0"));
	CHECK(parse_patched(&w, 12, &arch, 4, SNAP_ARCH_X86_64) == -EINVAL);
	CHECK(strstr(err, "made on aarch64, this is x86_64"));
	n = 0;
	CHECK(parse_patched(&w, 32, &n, 4, 0) == -EINVAL);
	CHECK(strstr(err, "0 sections"));
	n = 100000;
	CHECK(parse_patched(&w, 32, &n, 4, 0) == -EINVAL);
	CHECK(strstr(err, "100000 sections"));
	n = 4; /* one more than there are */
	CHECK(parse_patched(&w, 32, &n, 4, 0) == -EINVAL);
	CHECK(strstr(err, "truncated in the header of section 3"));
	n = 2; /* one fewer: the last one is left over */
	CHECK(parse_patched(&w, 32, &n, 4, 0) == -EINVAL);
	CHECK(strstr(err, "bytes after the last section"));
	len = w.out.len + 1;
	CHECK(parse_patched(&w, 48, &len, 8, 0) == -EINVAL);
	CHECK(strstr(err, "truncated: the header says"));
	n = 1;
	CHECK(parse_patched(&w, 36, &n, 4, 0) == -EINVAL);
	CHECK(strstr(err, "reserved"));
	/* section 0's length: huge, past the end (its CRC is not reached) */
	len = UINT64_MAX;
	CHECK(parse_patched(&w, 64 + 32, &len, 8, 0) == -EINVAL);
	CHECK(strstr(err, "section vm:") && strstr(err, "more than"));
	len = 5000;
	CHECK(parse_patched(&w, 64 + 32, &len, 8, 0) == -EINVAL);
	CHECK(strstr(err, "truncated in section vm"));
	/* names: empty, upper case, unterminated, a duplicate */
	CHECK(parse_patched(&w, 64, "\0", 1, 0) == -EINVAL);
	CHECK(strstr(err, "invalid name"));
	CHECK(parse_patched(&w, 64, "VM", 2, 0) == -EINVAL);
	CHECK(strstr(err, "invalid name"));
	CHECK(parse_patched(&w, 64, "vmxxxxxxxxxxxxxxxxxxxxxxxxxx", 28, 0) ==
	      -EINVAL);
	CHECK(strstr(err, "invalid name"));
	snapfile_writer_free(&w);
}

TEST(duplicate_and_bad_names_not_written)
{
	static struct snapfile f;
	struct snapfile_writer w;

	snapfile_writer_init(&w);
	CHECK_EQ(snapfile_add(&w, "Bad", "", 0), -EINVAL);
	CHECK_EQ(snapfile_add(&w, "a-name-that-is-far-too-long-for-it", "", 0),
		 -EINVAL);
	CHECK_EQ(snapfile_add(&w, "x", "1", 1), 0);
	CHECK_EQ(snapfile_add(&w, "x", "2", 1), 0);
	CHECK_EQ(snapfile_finish(&w, SNAP_ARCH_X86_64, 0, "test"), 0);
	CHECK(snapfile_parse(w.out.data, w.out.len, 0, &f, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "section x appears twice"));
	snapfile_writer_free(&w);
}

TEST(not_a_snapshot)
{
	static struct snapfile f;
	uint16_t a, b;

	CHECK(snapfile_parse((const uint8_t *)"\177ELF", 4, 0, &f, err,
			     sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "not a vmm snapshot file"));
	CHECK(snapfile_version((const uint8_t *)"VMMSNAP\0\1\0\2\0", 12, &a, &b,
			       err, sizeof(err)) == 0);
	CHECK(a == 1 && b == 2);
}

TEST(state_buffer_reads_are_bounded)
{
	struct sbuf b, r;
	uint8_t blob[8];

	sbuf_init(&b);
	sbuf_put_u32(&b, 7);
	sbuf_put_blob(&b, "abcd", 4);
	sbuf_reader(&r, b.data, b.len);
	CHECK_EQ(sbuf_get_u32(&r), 7);
	CHECK_EQ(sbuf_get_blob(&r, blob, 8), -EINVAL); /* 4 bytes, not 8 */
	sbuf_reader(&r, b.data, b.len);
	sbuf_get_u32(&r);
	CHECK_EQ(sbuf_get_blob(&r, blob, 4), 0);
	CHECK(!memcmp(blob, "abcd", 4));
	CHECK_EQ(sbuf_done(&r), 0);
	CHECK_EQ(sbuf_get_u64(&r), 0); /* past the end: zero, and an error */
	CHECK_EQ(sbuf_done(&r), -EINVAL);
	sbuf_free(&b);
}

/* --- devices ------------------------------------------------------------- */

#define MEM (1 << 20)

static uint8_t pio_rd(struct bus *bus, uint64_t a)
{
	uint8_t v = 0;

	bus_access(bus, a, &v, 1, false);
	return v;
}

static void pio_wr(struct bus *bus, uint64_t a, uint8_t v)
{
	bus_access(bus, a, &v, 1, true);
}

/* save host a's device i, restore into host b's; 0 or -EINVAL */
static int transfer(struct testhost *a, struct testhost *b, unsigned int i,
		    bool check_prefixes)
{
	struct sbuf s, r;
	int ret;

	sbuf_init(&s);
	a->state[i].ops->save(a->state[i].dev, &s);
	if (s.err)
		return s.err;
	for (size_t n = 0; check_prefixes && n < s.len; n++) {
		sbuf_reader(&r, s.data, n);
		if (b->state[i].ops->restore(b->state[i].dev, &r, err,
					     sizeof(err)) != -EINVAL) {
			sbuf_free(&s);
			return -EIO; /* a truncated state was taken */
		}
	}
	sbuf_reader(&r, s.data, s.len);
	ret = b->state[i].ops->restore(b->state[i].dev, &r, err, sizeof(err));
	sbuf_free(&s);
	return ret;
}

TEST(platform_devices_round_trip)
{
	static struct testhost a, b;
	struct bus pa, pb;
	struct serial *sa, *sb;
	struct i8042 *ka, *kb;

	CHECK_EQ(testhost_init(&a, MEM), 0);
	CHECK_EQ(testhost_init(&b, MEM), 0);
	bus_init(&pa, "pio");
	bus_init(&pb, "pio");
	CHECK_EQ(serial_create(&a.host, &pa, 0x3f8, 4, &sa), 0);
	CHECK_EQ(i8042_create(&a.host, &pa, 0x60, 0x64, &ka), 0);
	CHECK_EQ(cmos_create(&a.host, &pa, 0x70), 0);
	CHECK_EQ(serial_create(&b.host, &pb, 0x3f8, 4, &sb), 0);
	CHECK_EQ(i8042_create(&b.host, &pb, 0x60, 0x64, &kb), 0);
	CHECK_EQ(cmos_create(&b.host, &pb, 0x70), 0);
	CHECK_EQ(a.nr_state, 3);
	CHECK(!strcmp(a.state[0].name, "serial@0x3f8"));
	CHECK(!strcmp(a.state[1].name, "i8042"));
	CHECK(!strcmp(a.state[2].name, "cmos"));
	/* a guest's settings and queued input */
	pio_wr(&pa, 0x3f8 + 3, 0x83);         /* DLAB */
	pio_wr(&pa, 0x3f8 + 0, 0x0c);         /* divisor 12 */
	pio_wr(&pa, 0x3f8 + 3, 0x03);
	pio_wr(&pa, 0x3f8 + 1, 0x05);         /* IER */
	pio_wr(&pa, 0x3f8 + 7, 0x5a);         /* scratch */
	CHECK_EQ(serial_rx(sa, (const uint8_t *)"hi!", 3), 3);
	CHECK(serial_break(sa));
	pio_wr(&pa, 0x64, 0x60);              /* write the CTR ... */
	pio_wr(&pa, 0x60, 0x47);
	pio_wr(&pa, 0x60, 0xf2);              /* identify: 3 bytes queued */
	pio_wr(&pa, 0x70, 0x40);
	pio_wr(&pa, 0x71, 0x99);              /* CMOS RAM */
	pio_wr(&pa, 0x70, 0x41);
	CHECK_EQ(a.irq_level[4], 1);          /* received data: line high */
	for (unsigned int i = 0; i < 3; i++)
		CHECK_EQ(transfer(&a, &b, i, true), 0);
	/* the line is driven again: not every interrupt controller keeps it */
	CHECK_EQ(b.irq_level[4], 1);
	CHECK_EQ(pio_rd(&pb, 0x3f8 + 1), 0x05);
	CHECK_EQ(pio_rd(&pb, 0x3f8 + 7), 0x5a);
	pio_wr(&pb, 0x3f8 + 3, 0x83);
	CHECK_EQ(pio_rd(&pb, 0x3f8 + 0), 0x0c);
	pio_wr(&pb, 0x3f8 + 3, 0x03);
	CHECK_EQ(pio_rd(&pb, 0x3f8 + 0), 'h');
	CHECK_EQ(pio_rd(&pb, 0x3f8 + 0), 'i');
	CHECK_EQ(pio_rd(&pb, 0x3f8 + 0), '!');
	CHECK(pio_rd(&pb, 0x3f8 + 5) & 0x10); /* the break: LSR.BI */
	CHECK_EQ(pio_rd(&pb, 0x60), 0xfa);
	CHECK_EQ(pio_rd(&pb, 0x60), 0xab);
	CHECK_EQ(pio_rd(&pb, 0x60), 0x41);    /* translated: CTR came along */
	CHECK_EQ(pio_rd(&pb, 0x70), 0x41);
	pio_wr(&pb, 0x70, 0x40);
	CHECK_EQ(pio_rd(&pb, 0x71), 0x99);
	testhost_destroy(&a);
	testhost_destroy(&b);
	bus_destroy(&pa);
	bus_destroy(&pb);
}

/*
 * A UART whose interrupt was pending at the snapshot drives its line in
 * the restored VM, where the line starts low; and once the guest has
 * drained it, new input raises it again.
 */
TEST(serial_line_driven_after_restore)
{
	static struct testhost a, b;
	struct bus pa, pb;
	struct serial *sa, *sb;

	CHECK_EQ(testhost_init(&a, MEM), 0);
	CHECK_EQ(testhost_init(&b, MEM), 0);
	bus_init(&pa, "pio");
	bus_init(&pb, "pio");
	CHECK_EQ(serial_create(&a.host, &pa, 0x3f8, 4, &sa), 0);
	CHECK_EQ(serial_create(&b.host, &pb, 0x3f8, 4, &sb), 0);
	pio_wr(&pa, 0x3f8 + 1, 0x01);         /* IER: received data */
	CHECK_EQ(serial_rx(sa, (const uint8_t *)"x", 1), 1);
	CHECK_EQ(a.irq_level[4], 1);
	CHECK_EQ(transfer(&a, &b, 0, false), 0);
	CHECK_EQ(b.irq_level[4], 1);          /* pending: raised anew */
	CHECK_EQ(pio_rd(&pb, 0x3f8 + 0), 'x');
	CHECK_EQ(b.irq_level[4], 0);
	CHECK_EQ(serial_rx(sb, (const uint8_t *)"y", 1), 1);
	CHECK_EQ(b.irq_level[4], 1);
	CHECK_EQ(b.irq_raised[4], 2);
	testhost_destroy(&a);
	testhost_destroy(&b);
	bus_destroy(&pa);
	bus_destroy(&pb);
}

static uint32_t mmio_rd(struct bus *bus, uint64_t a)
{
	uint32_t v = 0;

	bus_access(bus, a, (uint8_t *)&v, 4, false);
	return v;
}

static void mmio_wr(struct bus *bus, uint64_t a, uint32_t v)
{
	bus_access(bus, a, (uint8_t *)&v, 4, true);
}

/* aarch64's GPIO: its settings, a press in progress saved released */
TEST(gpio_round_trip)
{
	static struct testhost a, b;
	struct bus ma, mb;
	struct pl061 *ga, *gb;
	const uint64_t g = 0x09020000;

	CHECK_EQ(testhost_init(&a, MEM), 0);
	CHECK_EQ(testhost_init(&b, MEM), 0);
	bus_init(&ma, "mmio");
	bus_init(&mb, "mmio");
	CHECK_EQ(pl061_create(&a.host, &ma, g, 2, &ga), 0);
	CHECK_EQ(pl061_create(&b.host, &mb, g, 2, &gb), 0);
	CHECK(!strcmp(a.state[0].name, "gpio@0x9020000"));
	mmio_wr(&ma, g + 0x400, 0x01);        /* pin 0 an output */
	mmio_wr(&ma, g + 0x004, 0x01);        /* ... driven high */
	mmio_wr(&ma, g + 0x408, 0x08);        /* pin 3: both edges */
	mmio_wr(&ma, g + 0x410, 0x08);        /* ... its interrupt on */
	mmio_wr(&ma, g + 0x420, 0x40);
	CHECK_EQ(pl061_press(ga, 3, NULL), 0);
	CHECK_EQ(a.irq_level[2], 1);
	CHECK_EQ(mmio_rd(&ma, g + 0x3fc), 0x09);
	CHECK_EQ(transfer(&a, &b, 0, true), 0);
	CHECK_EQ(mmio_rd(&mb, g + 0x400), 0x01);
	CHECK_EQ(mmio_rd(&mb, g + 0x408), 0x08);
	CHECK_EQ(mmio_rd(&mb, g + 0x410), 0x08);
	CHECK_EQ(mmio_rd(&mb, g + 0x420), 0x40);
	CHECK_EQ(mmio_rd(&mb, g + 0x3fc), 0x01); /* released; pin 0 still high */
	CHECK_EQ(mmio_rd(&mb, g + 0x414), 0x08); /* its edges latched */
	CHECK_EQ(b.irq_level[2], 1);          /* and the line driven */
	mmio_wr(&mb, g + 0x41c, 0x08);        /* cleared: the line goes low */
	CHECK_EQ(b.irq_level[2], 0);
	CHECK_EQ(pl061_press(gb, 3, NULL), 0); /* not held over: presses work */
	testhost_destroy(&a);
	testhost_destroy(&b);
	bus_destroy(&ma);
	bus_destroy(&mb);
}

TEST(virtio_device_round_trip)
{
	static struct testhost a, b;
	static struct vdriver va, vb;
	struct bus ma, mb;
	struct virtio_dev *da, *db;
	struct sbuf s, r;

	CHECK_EQ(testhost_init(&a, MEM), 0);
	CHECK_EQ(testhost_init(&b, MEM), 0);
	bus_init(&ma, "mmio");
	bus_init(&mb, "mmio");
	CHECK_EQ(virtio_console_create(&a.host, &da), 0);
	CHECK_EQ(virtio_mmio_attach(da, &ma, VD_MMIO, 5), 0);
	CHECK_EQ(virtio_console_create(&b.host, &db), 0);
	CHECK_EQ(virtio_mmio_attach(db, &mb, VD_MMIO, 5), 0);
	CHECK_EQ(a.nr_state, 1);
	CHECK(!strcmp(a.state[0].name, "virtio@0xd0000000"));
	va = (struct vdriver){ .bus = &ma, .mem = &a.mem, .base = VD_MMIO };
	vb = (struct vdriver){ .bus = &mb, .mem = &b.mem, .base = VD_MMIO };
	CHECK(vd_init(&va, 2, 0, 1) & VIRTIO_STATUS_DRIVER_OK);
	vd_wr(&va, 0x030, 1);                 /* QueueSel 1 */
	CHECK_EQ(transfer(&a, &b, 0, true), 0);
	CHECK_EQ(vd_rd(&vb, 0x070), vd_rd(&va, 0x070));
	CHECK_EQ(vd_rd(&vb, 0x044), 1);       /* queue 1 ready */
	vd_wr(&vb, 0x030, 0);
	CHECK_EQ(vd_rd(&vb, 0x044), 1);
	CHECK(virtio_live(db) && db->vq[0].ready && db->vq[1].ready);
	CHECK_EQ(db->vq[0].desc_gpa, vd_desc(0));
	/* rings the restored guest's memory cannot hold are refused */
	da->vq[1].used_gpa = MEM - 8;
	sbuf_init(&s);
	a.state[0].ops->save(a.state[0].dev, &s);
	sbuf_reader(&r, s.data, s.len);
	CHECK_EQ(b.state[0].ops->restore(b.state[0].dev, &r, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "queue 1") && strstr(err, "does not fit"));
	sbuf_free(&s);
	testhost_destroy(&a);
	testhost_destroy(&b);
	bus_destroy(&ma);
	bus_destroy(&mb);
}

TEST(virtio_other_device_refused)
{
	static struct testhost a, b;
	struct bus ma, mb;
	struct virtio_dev *da, *db;
	static const struct vm_rate_limit none;

	CHECK_EQ(testhost_init(&a, MEM), 0);
	CHECK_EQ(testhost_init(&b, MEM), 0);
	bus_init(&ma, "mmio");
	bus_init(&mb, "mmio");
	CHECK_EQ(virtio_console_create(&a.host, &da), 0);
	CHECK_EQ(virtio_mmio_attach(da, &ma, VD_MMIO, 5), 0);
	CHECK_EQ(virtio_rng_create(&b.host, &none, &db), 0);
	CHECK_EQ(virtio_mmio_attach(db, &mb, VD_MMIO, 5), 0);
	CHECK_EQ(transfer(&a, &b, 0, false), -EINVAL);
	CHECK(strstr(err, "another device"));
	testhost_destroy(&a);
	testhost_destroy(&b);
	bus_destroy(&ma);
	bus_destroy(&mb);
}

UNIT_MAIN("snapshot",
	  T(crc32_check_value),
	  T(round_trip),
	  T(every_truncation_refused),
	  T(every_flipped_byte_refused),
	  T(hostile_headers_refused),
	  T(duplicate_and_bad_names_not_written),
	  T(not_a_snapshot),
	  T(state_buffer_reads_are_bounded),
	  T(platform_devices_round_trip),
	  T(serial_line_driven_after_restore),
	  T(gpio_round_trip),
	  T(virtio_device_round_trip),
	  T(virtio_other_device_refused))
