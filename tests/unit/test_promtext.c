/* The Prometheus text emitter: label escaping (what a hostile hostname can
 * do), histogram buckets from log2 slots, number formats; the monitor's
 * --listen parser and options. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include "check.h"
#include "httpserve.h"
#include "monitor.h"
#include "promtext.h"

static const char *esc(const char *in, size_t len)
{
	static char buf[1024];

	nt_prom_escape_label(in, len, buf, sizeof(buf));
	return buf;
}

TEST(promtext_label_plain)
{
	CHECK_EQ_STR(esc("api.example.com", 256), "api.example.com");
}

TEST(promtext_label_quote_backslash_newline)
{
	/* escape.h first (backslash doubled, newline as \x0a), then the
	 * format's own escapes: no raw newline or unescaped quote remains. */
	CHECK_EQ_STR(esc("a\"b", 256), "a\\\"b");
	CHECK_EQ_STR(esc("a\\b", 256), "a\\\\\\\\b");
	CHECK_EQ_STR(esc("a\nb", 256), "a\\\\x0ab");
	CHECK_EQ_STR(esc("\"} 1\nevil 2", 256), "\\\"} 1\\\\x0aevil 2");
}

TEST(promtext_label_invalid_utf8_and_controls)
{
	CHECK_EQ_STR(esc("\xff\x1b[31m", 256), "\\\\xff\\\\x1b[31m");
	CHECK_EQ_STR(esc("caf\xc3\xa9", 256), "caf\xc3\xa9");
}

TEST(promtext_label_stops_at_len_and_nul)
{
	char comm[4] = { 'n', 'o', 'd', 'e' };   /* no NUL within 4 bytes */

	CHECK_EQ_STR(esc(comm, sizeof(comm)), "node");
	CHECK_EQ_STR(esc("ab\0cd", 5), "ab");
}

TEST(promtext_label_cut_reports_full_length)
{
	char out[4];
	size_t n = nt_prom_escape_label("abcdef", 6, out, sizeof(out));

	CHECK_EQ_INT(n, 6);
	CHECK_EQ_STR(out, "abc");
}

TEST(promtext_le_format)
{
	char b[32];

	nt_prom_us_to_le(16, b, sizeof(b));
	CHECK_EQ_STR(b, "0.000016");
	nt_prom_us_to_le(1048576, b, sizeof(b));
	CHECK_EQ_STR(b, "1.048576");
	nt_prom_us_to_le(2000000, b, sizeof(b));
	CHECK_EQ_STR(b, "2");
	nt_prom_us_to_le(500000, b, sizeof(b));
	CHECK_EQ_STR(b, "0.5");
}

TEST(promtext_family_and_samples)
{
	struct nt_prom p;
	struct nt_prom_label l[] = { { "pid", "12", 16 }, { "host", "x\"y", 256 } };

	nt_prom_init(&p);
	nt_prom_family(&p, "m_total", "counter", "help with \\ and\nnewline");
	nt_prom_u64(&p, "m_total", l, 2, 18446744073709551615ULL);
	nt_prom_u64(&p, "g", NULL, 0, 0);
	nt_prom_double(&p, "d", NULL, 0, 0.1);
	nt_prom_double(&p, "e", NULL, 0, 1.0674707269999999);
	CHECK(!p.oom);
	CHECK_EQ_STR(p.buf,
		     "# HELP m_total help with \\\\ and\\nnewline\n"
		     "# TYPE m_total counter\n"
		     "m_total{pid=\"12\",host=\"x\\\"y\"} 18446744073709551615\n"
		     "g 0\n"
		     "d 0.1\n"
		     "e 1.067470727\n");
	nt_prom_free(&p);
}

TEST(promtext_histogram_cumulative)
{
	unsigned long long slots[40] = { 0 };
	struct nt_prom_label l[] = { { "pid", "1", 2 } };
	struct nt_prom p;

	/* slot i holds [2^(i-1), 2^i) us: slot 3 (4-7 us) is under 16 us,
	 * slot 16 (32768-65535 us) under 65.536 ms, slot 39 past every bound. */
	slots[0] = 1;
	slots[3] = 2;
	slots[16] = 5;
	slots[39] = 1;
	nt_prom_init(&p);
	nt_prom_hist_log2(&p, "h_seconds", l, 1, slots, 40, 0.25);
	CHECK(strstr(p.buf, "h_seconds_bucket{pid=\"1\",le=\"0.000016\"} 3\n") != NULL);
	CHECK(strstr(p.buf, "h_seconds_bucket{pid=\"1\",le=\"0.032768\"} 3\n") != NULL);
	CHECK(strstr(p.buf, "h_seconds_bucket{pid=\"1\",le=\"0.065536\"} 8\n") != NULL);
	CHECK(strstr(p.buf, "h_seconds_bucket{pid=\"1\",le=\"33.554432\"} 8\n") != NULL);
	CHECK(strstr(p.buf, "h_seconds_bucket{pid=\"1\",le=\"+Inf\"} 9\n") != NULL);
	CHECK(strstr(p.buf, "h_seconds_sum{pid=\"1\"} 0.25\n") != NULL);
	CHECK(strstr(p.buf, "h_seconds_count{pid=\"1\"} 9\n") != NULL);
	nt_prom_free(&p);
	/* Without a sum: no _sum line. */
	nt_prom_init(&p);
	nt_prom_hist_log2(&p, "h_seconds", NULL, 0, slots, 40, NAN);
	CHECK(strstr(p.buf, "_sum") == NULL);
	CHECK(strstr(p.buf, "h_seconds_bucket{le=\"+Inf\"} 9\n") != NULL);
	CHECK(strstr(p.buf, "h_seconds_count 9\n") != NULL);
	nt_prom_free(&p);
}

TEST(http_parse_listen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char why[128];
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

	CHECK_EQ_INT(nt_http_parse_listen("127.0.0.1:9464", &ss, &len, why, sizeof(why)), 0);
	CHECK_EQ_INT(a4->sin_family, AF_INET);
	CHECK_EQ_INT(ntohs(a4->sin_port), 9464);
	CHECK_EQ_INT(ntohl(a4->sin_addr.s_addr), 0x7f000001);
	CHECK_EQ_INT(nt_http_parse_listen("[::1]:80", &ss, &len, why, sizeof(why)), 0);
	CHECK_EQ_INT(a6->sin6_family, AF_INET6);
	CHECK_EQ_INT(ntohs(a6->sin6_port), 80);
	CHECK_EQ_INT(nt_http_parse_listen("127.0.0.1", &ss, &len, why, sizeof(why)), -1);
	CHECK_EQ_INT(nt_http_parse_listen("127.0.0.1:0", &ss, &len, why, sizeof(why)), -1);
	CHECK_EQ_INT(nt_http_parse_listen("127.0.0.1:65536", &ss, &len, why, sizeof(why)), -1);
	CHECK_EQ_INT(nt_http_parse_listen("localhost:9464", &ss, &len, why, sizeof(why)), -1);
	CHECK_EQ_INT(nt_http_parse_listen("::1:9464", &ss, &len, why, sizeof(why)), -1);
	CHECK_EQ_INT(nt_http_parse_listen("[::1]9464", &ss, &len, why, sizeof(why)), -1);
	CHECK_EQ_INT(nt_http_parse_listen(":9464", &ss, &len, why, sizeof(why)), -1);
}

static int parse(struct nt_monitor_opts *o, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { (char *)"monitor", (char *)a1, (char *)a2, (char *)a3, NULL };
	int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
	FILE *saved = stderr;
	int rc;

	stderr = fopen("/dev/null", "w");   /* usage errors are expected here */
	rc = nt_monitor_parse(argc, argv, o);
	fclose(stderr);
	stderr = saved;
	return rc;
}

TEST(monitor_options)
{
	struct nt_monitor_opts o;

	CHECK_EQ_INT(parse(&o, NULL, NULL, NULL), 0);
	CHECK_EQ_INT(o.top, NT_MONITOR_DEFAULT_TOP);
	CHECK_EQ_U64(o.grace_ns, NT_MONITOR_DEFAULT_GRACE * 1000000000ULL);
	CHECK_EQ_STR(o.listen, "127.0.0.1:9464");
	CHECK_EQ_INT(parse(&o, "--top", "5", "--grace=0"), 0);
	CHECK_EQ_INT(o.top, 5);
	CHECK_EQ_U64(o.grace_ns, 0);
	CHECK_EQ_INT(parse(&o, "--top", "0", NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(parse(&o, "--freq", "1001", NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(parse(&o, "--listen", "nowhere", NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(parse(&o, "-p", "1", NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(parse(&o, "5", NULL, NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(parse(&o, "--log", NULL, NULL), NT_EXIT_USAGE);
	CHECK_EQ_INT(parse(&o, "--log-max-bytes", "100", NULL), NT_EXIT_USAGE);
}
