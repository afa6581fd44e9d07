/* fuzz_control.c — arbitrary bytes through the control socket's pure half:
 * line framing (fed in chunks whose size the input picks), splitting and
 * the UTF-8 check. Beyond "no crash" it checks the results against
 * simple reference models: the lines must be the input cut at '\n' (one
 * trailing '\r' dropped, > GW_CONTROL_MAX_LINE reported as overflow), and
 * the UTF-8 verdict must match the table of well-formed byte sequences of
 * The Unicode Standard (3.9, table 3-7). */
#include "control.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			abort();                                                                             \
	} while (0)

/* Table 3-7, one sequence at S: its length, 0 when ill-formed. */
static size_t ref_sequence(const uint8_t *s, size_t len)
{
	static const struct {
		uint8_t lo0, hi0, lo1, hi1;
		size_t n;
	} rows[] = {
		{0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
		{0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
		{0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
			continue;
		if (len < rows[r].n)
			return 0;
		if (rows[r].n > 1 && (s[1] < rows[r].lo1 || s[1] > rows[r].hi1))
			return 0;
		for (size_t i = 2; i < rows[r].n; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		return rows[r].n;
	}
	return 0;
}

static bool ref_valid(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = ref_sequence(s + i, len - i);

		if (n == 0)
			return false;
		/* controls: C0 but tab, DEL, and C1 (U+0080..U+009F = C2 80..C2 9F) */
		if (n == 1 && ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f))
			return false;
		if (n == 2 && s[i] == 0xc2 && s[i + 1] <= 0x9f)
			return false;
		i += n;
	}
	return true;
}

static void check_split(char *line, size_t len)
{
	char *argv[GW_CONTROL_MAX_ARGS + 1];
	const char *why = NULL;
	bool valid = gw_control_utf8_valid(line, len);
	int argc;

	CHECK(valid == ref_valid((const uint8_t *)line, len));
	argc = gw_control_split(line, len, argv, GW_CONTROL_MAX_ARGS, &why);
	if (argc < 0) {
		CHECK(why != NULL);
		return;
	}
	CHECK(valid && argc <= GW_CONTROL_MAX_ARGS);
	if (argc < GW_CONTROL_MAX_ARGS)
		CHECK(argv[argc] == NULL);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		CHECK(argv[i] >= line && argv[i] + n <= line + len);
		CHECK(n > 0 && !memchr(argv[i], ' ', n) && !memchr(argv[i], '\t', n));
		CHECK(gw_control_utf8_valid(argv[i], n)); /* cut at ASCII only: words stay UTF-8 */
	}
}

/* The next event the reference expects at *POS: 1 + the line, or 2. */
static int expected(const uint8_t *data, size_t size, size_t *pos, const uint8_t **line, size_t *len)
{
	const uint8_t *nl = memchr(data + *pos, '\n', size - *pos);
	size_t n;

	CHECK(nl != NULL); /* a line was reported: its newline must be there */
	*line = data + *pos;
	n = (size_t)(nl - *line);
	*pos += n + 1;
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	*len = n;
	return n > GW_CONTROL_MAX_LINE ? 2 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_linebuf lb;
	const uint8_t *want;
	size_t chunk, off = 0, pos = 0, len, want_len;
	char *line;
	int r;

	if (size < 1)
		return 0;
	/* first byte: the read size, from 1 byte at a time to all at once */
	chunk = data[0] == 0xff ? SIZE_MAX : (size_t)data[0] % 64 * 97 + 1;
	data++, size--;

	/* the UTF-8 check over the whole input, not only over lines */
	CHECK(gw_control_utf8_valid((const char *)data, size) == ref_valid(data, size));

	gw_linebuf_init(&lb);
	for (;;) {
		while ((r = gw_linebuf_next(&lb, &line, &len)) != 0) {
			CHECK(r == expected(data, size, &pos, &want, &want_len));
			if (r == 2)
				continue;
			CHECK(len == want_len && memcmp(line, want, len) == 0 && line[len] == '\0');
			check_split(line, len);
		}
		if (off == size)
			break;
		len = size - off < chunk ? size - off : chunk;
		len = gw_linebuf_feed(&lb, (const char *)data + off, len);
		CHECK(len > 0); /* nothing was waiting to be taken */
		off += len;
	}
	/* whatever is left is one unfinished line */
	CHECK(memchr(data + pos, '\n', size - pos) == NULL);
	return 0;
}
