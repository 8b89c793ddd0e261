/* httpserve: the monitor's HTTP endpoint on libmicrohttpd (its own thread):
 * GET /metrics renders the Prometheus text through a callback, GET /healthz
 * answers "ok" once the agent is ready (503 before); anything else is 404 (405 for other methods). */
#ifndef NODETAP_HTTPSERVE_H
#define NODETAP_HTTPSERVE_H

#include <stddef.h>
#include <sys/socket.h>
#include "promtext.h"

/* Fill OUT with the exposition text; called on the server's thread. Returns
 * 0, -EAGAIN while not ready (503), or another negative value (500). With
 * OUT NULL (/healthz): 0 when ready, else -EAGAIN. */
typedef int (*nt_http_render_fn)(void *ctx, struct nt_prom *out);

struct nt_http;

/* Parse "ADDR:PORT" (IPv4 dotted quad, or [IPv6]) into SS. Returns 0, or -1
 * with WHY saying what is wrong. */
int nt_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			 char *why, size_t whylen);

/* Listen on SA and serve. Returns NULL with WHY set on failure (the address
 * in use, say). */
struct nt_http *nt_http_start(const struct sockaddr *sa, nt_http_render_fn render, void *ctx,
			      char *why, size_t whylen);
/* Stop serving (waits for the server thread) and free. NULL is fine. */
void nt_http_stop(struct nt_http *h);

#endif
