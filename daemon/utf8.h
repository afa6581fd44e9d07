/* utf8.h — the one UTF-8 decoder of the daemon: the config file and the
 * control socket both accept text only, and must agree on what text is.
 * Header-only so the pure parts that use it link nothing more. */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The UTF-8 sequence at S (LEN > 0 bytes left): its length (1..4) and *CP,
 * or 0 when it is not well-formed (overlong, surrogate, past U+10FFFF,
 * truncated). */
static inline size_t gw_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	/* leads C0/C1 can only start overlongs, F5..FF only values past U+10FFFF */
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

#endif
