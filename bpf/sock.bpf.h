/* Socket helpers shared by the objects that read struct sock (connect,
 * tcp). Include after common.bpf.h. */
#ifndef NODETAP_SOCK_BPF_H
#define NODETAP_SOCK_BPF_H

/* Is the 16-byte address A an IPv4-mapped IPv6 one (::ffff:a.b.c.d)? Such
 * sockets are reported as IPv4. */
static __always_inline bool nt_is_v4_mapped(const unsigned char *a)
{
	for (int i = 0; i < 10; i++)
		if (a[i])
			return false;
	return a[10] == 0xff && a[11] == 0xff;
}

#endif
