/* Runs every registered unit test; prints one line per failure and a summary
 * "unit: N passed, N failed". A name given on the command line runs only the
 * tests whose names contain it. */
#include <stdlib.h>
#include "check.h"

static struct nt_test *tests;

void nt_test_register(struct nt_test *t)
{
	t->next = tests;
	tests = t;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (struct nt_test *t = tests; t; t = t->next) {
		int f = 0;

		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		t->fn(&f);
		if (f) {
			failed++;
			printf("not ok %s\n", t->name);
		} else {
			passed++;
			printf("ok %s\n", t->name);
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
