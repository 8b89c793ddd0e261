/* check.h: the unit-test harness. Each file in tests/unit defines tests with
 * TEST(name) { ... } and uses CHECK*; tests register themselves at load time
 * and tests/unit/main.c runs them all and prints "N passed, N failed". */
#ifndef NODETAP_CHECK_H
#define NODETAP_CHECK_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>

struct nt_test {
	const char *name;
	void (*fn)(int *failed);
	struct nt_test *next;
};
void nt_test_register(struct nt_test *t);

#define TEST(nm)                                                              \
	static void test_##nm(int *nt_failed_);                               \
	static struct nt_test test_reg_##nm = { #nm, test_##nm, NULL };      \
	__attribute__((constructor)) static void test_ctor_##nm(void)         \
	{ nt_test_register(&test_reg_##nm); }                                 \
	static void test_##nm(int *nt_failed_)

#define CHECK(cond) do { if (!(cond)) {                                       \
	fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
	*nt_failed_ = 1; } } while (0)

#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n",   \
		__FILE__, __LINE__, #a, a_, b_); *nt_failed_ = 1; } } while (0)

#define CHECK_EQ_U64(a, b) do { unsigned long long a_ = (a), b_ = (b);      \
	if (a_ != b_) { fprintf(stderr, "  %s:%d: %s == 0x%llx, expected 0x%llx\n", \
		__FILE__, __LINE__, #a, a_, b_); *nt_failed_ = 1; } } while (0)

#define CHECK_EQ_STR(a, b) do { const char *a_ = (a), *b_ = (b);              \
	if (!a_ || !b_ || strcmp(a_, b_)) { fprintf(stderr,                     \
		"  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
		a_ ? a_ : "(null)", b_ ? b_ : "(null)"); *nt_failed_ = 1; } } while (0)

#endif
