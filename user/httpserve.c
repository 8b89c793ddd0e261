#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include "httpserve.h"
#include "options.h"

struct nt_http {
	struct MHD_Daemon *d;
	nt_http_render_fn render;
	void *ctx;
};

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

int nt_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			 char *why, size_t whylen)
{
	char host[64];
	const char *colon, *hs, *he;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		hs = s + 1;
		he = strchr(s, ']');
		if (!he || he[1] != ':') {
			snprintf(why, whylen, "an IPv6 address goes in brackets: [::1]:9464");
			return -1;
		}
		colon = he + 1;
	} else {
		hs = s;
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(why, whylen, "give ADDR:PORT, for example 127.0.0.1:9464");
			return -1;
		}
		he = colon;
	}
	if ((size_t)(he - hs) >= sizeof(host) || he == hs) {
		snprintf(why, whylen, "no address before the port");
		return -1;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = 0;
	if (nt_parse_uint(colon + 1, 1, 65535, &port)) {
		snprintf(why, whylen, "the port must be a number from 1 to 65535");
		return -1;
	}
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			snprintf(why, whylen, "'%s' is not an IPv6 address", host);
			return -1;
		}
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			snprintf(why, whylen, "'%s' is not an IPv4 address (IPv6 goes in brackets)", host);
			return -1;
		}
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned code, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **req_cls)
{
	struct nt_http *h = cls;
	struct MHD_Response *r;
	struct nt_prom p;
	enum MHD_Result ret;
	int rc;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	if (!strcmp(url, "/healthz"))
		return h->render(h->ctx, NULL) ?
		       answer_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n") :
		       answer_text(conn, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/metrics"))
		return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
	nt_prom_init(&p);
	rc = h->render(h->ctx, &p);
	if (rc || p.oom) {
		nt_prom_free(&p);
		if (rc == -EAGAIN)
			return answer_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
		return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "rendering the metrics failed\n");
	}
	/* MUST_FREE: the response owns the buffer from here. */
	r = MHD_create_response_from_buffer(p.len, p.buf ? p.buf : (char *)"",
					    p.buf ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		nt_prom_free(&p);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE_METRICS);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

struct nt_http *nt_http_start(const struct sockaddr *sa, nt_http_render_fn render, void *ctx,
			      char *why, size_t whylen)
{
	struct nt_http *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;

	if (!h) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	h->render = render;
	h->ctx = ctx;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	/* One thread serves everything: scrapes are rare and rendering takes
	 * the monitor's lock anyway. Few connections, short timeouts: a
	 * misbehaving client cannot pin the agent. */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
				MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(why, whylen, "%s", errno ? strerror(errno) :
			 "libmicrohttpd could not start (address in use?)");
		free(h);
		return NULL;
	}
	return h;
}

void nt_http_stop(struct nt_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
