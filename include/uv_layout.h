/* Layouts of libuv and glibc structures that probes read, on x86_64. Both are
 * ABI: libuv 1.x keeps uv_getaddrinfo_t stable (UV_REQ_FIELDS, loop, then
 * UV_GETADDRINFO_PRIVATE_FIELDS), checked against node v20's DWARF with gdb
 * `ptype /o uv_getaddrinfo_t`; glibc's struct addrinfo is fixed by POSIX
 * and the x86_64 psABI. */
#ifndef NODETAP_UV_LAYOUT_H
#define NODETAP_UV_LAYOUT_H

#define UV_GAI_WORK_REQ_OFF 72   /* struct uv__work work_req */
#define UV_GAI_HOSTNAME_OFF 128  /* char *hostname (libuv's copy) */
#define UV_GAI_ADDRINFO_OFF 144  /* struct addrinfo *addrinfo (the result) */
#define UV_GAI_RETCODE_OFF  152  /* int retcode */

#define AI_FAMILY_OFF 4          /* int ai_family */
#define AI_ADDR_OFF   24         /* struct sockaddr *ai_addr */
#define AI_NEXT_OFF   40         /* struct addrinfo *ai_next */
#define SIN_ADDR_OFF  4          /* struct sockaddr_in.sin_addr */
#define SIN6_ADDR_OFF 8          /* struct sockaddr_in6.sin6_addr */

/* libuv status codes (uv-errno.h). */
#define UV_ECANCELED_    (-125)
#define UV_EAI_BASE_     (-3000) /* UV_EAI_ADDRFAMILY; the others count down */
#define UV_EAI_CANCELED_ (-3003)

#endif
