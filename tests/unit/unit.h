/* SPDX-License-Identifier: MIT */
/*
 * A minimal unit-test harness. Each test_*.c defines tests with TEST(name)
 * and lists them in UNIT_MAIN(...). Output, one line per test:
 *   PASS: suite.name     or     FAIL: suite.name: file:line: expr
 * or, for a test that needs a missing tool, SKIP: suite.name: why.
 * tests/run counts these lines.
 */
#ifndef TESTS_UNIT_H
#define TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(int *failed);
};

#define TEST(name) static void test_##name(int *unit_failed)

#define CHECK(expr)                                                       \
	do {                                                              \
		if (!(expr)) {                                            \
			*unit_failed = 1;                                 \
			snprintf(unit_why, sizeof(unit_why), "%s:%d: %s", \
				 __FILE__, __LINE__, #expr);              \
			return;                                           \
		}                                                         \
	} while (0)

#define CHECK_EQ(a, b)                                                    \
	do {                                                              \
		long long unit_a_ = (long long)(a), unit_b_ = (long long)(b); \
		if (unit_a_ != unit_b_) {                                 \
			*unit_failed = 1;                                 \
			snprintf(unit_why, sizeof(unit_why),              \
				 "%s:%d: %s == %s (%lld != %lld)", __FILE__, \
				 __LINE__, #a, #b, unit_a_, unit_b_);     \
			return;                                           \
		}                                                         \
	} while (0)

/* The test cannot run here (a tool is missing): a SKIP line, not a pass. */
#define SKIP_TEST(...)                                                    \
	do {                                                              \
		*unit_failed = -1;                                        \
		snprintf(unit_why, sizeof(unit_why), __VA_ARGS__);        \
		return;                                                   \
	} while (0)

static char unit_why[512];

#define T(name) { #name, test_##name }

#define UNIT_MAIN(suite, ...)                                             \
	int main(void)                                                    \
	{                                                                 \
		static const struct unit_test tests[] = { __VA_ARGS__ };  \
		int failures = 0;                                         \
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) { \
			int failed = 0;                                   \
			unit_why[0] = 0;                                  \
			tests[i].fn(&failed);                             \
			if (failed < 0)                                   \
				printf("SKIP: %s.%s: %s\n", suite,        \
				       tests[i].name, unit_why);          \
			else if (failed)                                  \
				printf("FAIL: %s.%s: %s\n", suite,        \
				       tests[i].name, unit_why);          \
			else                                              \
				printf("PASS: %s.%s\n", suite, tests[i].name); \
			/* LSan/ASan exit without flushing stdio */       \
			fflush(stdout);                                   \
			failures += failed > 0;                           \
		}                                                         \
		return failures ? 1 : 0;                                  \
	}

#endif
