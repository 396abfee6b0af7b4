// SPDX-License-Identifier: MIT
/* The CMOS clock (devices/legacy.c) against the C library's gmtime_r(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../devices/devices.h"
#include "testhost.h"
#include "unit.h"

static uint8_t rtc(struct bus *pio, uint8_t reg)
{
	uint8_t v = reg;

	bus_access(pio, 0x70, &v, 1, true);
	bus_access(pio, 0x71, &v, 1, false);
	return v;
}

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

TEST(cmos_clock_is_utc)
{
	static const uint8_t regs[] = { 0, 2, 4, 6, 7, 8, 9, 0x32 };
	struct testhost th;
	struct bus pio;
	int got[8], want[8];
	struct tm tm;
	time_t t0, t1;

	CHECK(testhost_init(&th, 1 << 20) == 0);
	bus_init(&pio, "pio");
	CHECK(cmos_create(&th.host, &pio, 0x70) == 0);
	do { /* the same second throughout */
		t0 = time(NULL);
		for (int i = 0; i < 8; i++)
			got[i] = bcd(rtc(&pio, regs[i]));
		t1 = time(NULL);
	} while (t0 != t1);
	gmtime_r(&t0, &tm);
	want[0] = tm.tm_sec; want[1] = tm.tm_min; want[2] = tm.tm_hour;
	want[3] = tm.tm_wday + 1; want[4] = tm.tm_mday; want[5] = tm.tm_mon + 1;
	want[6] = tm.tm_year % 100; want[7] = 19 + tm.tm_year / 100;
	for (int i = 0; i < 8; i++) {
		if (got[i] != want[i])
			printf("  register 0x%02x: %d, gmtime_r says %d\n",
			       regs[i], got[i], want[i]);
		CHECK(got[i] == want[i]);
	}
	testhost_destroy(&th);
	bus_destroy(&pio);
}

UNIT_MAIN("legacy", T(cmos_clock_is_utc))
