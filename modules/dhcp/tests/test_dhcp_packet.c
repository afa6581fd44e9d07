/* test_dhcp_packet.c — the DHCPv4 wire format: parsing real clients'
 * packets, every drop reason, the reply builder's ordering and fitting,
 * the encoders and the relay's byte surgery. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dhcp_packet.h"

/* Both are a few KiB: static, as the server will hold them. */
static struct dhcp_msg msg, back;
static struct dhcp_reply rep;
static uint8_t out[1500];

/* ---- Packets ---- */

struct pkt {
	uint8_t b[4096];
	size_t n;
};

/* A client's packet: its first 44 octets (op .. chaddr) as given, sname
 * and file zero, then TAIL (cookie and options, byte for byte), then zeros
 * up to PAD_TO. */
static void make(struct pkt *p, const uint8_t head[44], const void *tail, size_t tail_len, size_t pad_to)
{
	memset(p->b, 0, sizeof(p->b));
	memcpy(p->b, head, 44);
	memcpy(p->b + DHCP_HDR_LEN, tail, tail_len);
	p->n = DHCP_HDR_LEN + tail_len;
	if (p->n < pad_to)
		p->n = pad_to;
}

/* A synthetic request: op, htype, hlen; xid 0x11223344; chaddr
 * 02:00:5e:10:00:01; the cookie; no options yet. */
static void start(struct pkt *p, uint8_t op, uint8_t htype, uint8_t hlen)
{
	static const uint8_t mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};

	memset(p->b, 0, sizeof(p->b));
	p->b[0] = op;
	p->b[1] = htype;
	p->b[2] = hlen;
	p->b[4] = 0x11, p->b[5] = 0x22, p->b[6] = 0x33, p->b[7] = 0x44;
	memcpy(p->b + 28, mac, 6);
	p->b[236] = 0x63, p->b[237] = 0x82, p->b[238] = 0x53, p->b[239] = 0x63;
	p->n = DHCP_OPTIONS_OFF;
}

static void add(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

#define LIT(...) ((const uint8_t[]){__VA_ARGS__})
#define BYTES(...) LIT(__VA_ARGS__), sizeof(LIT(__VA_ARGS__))
#define ADD(p, ...) add(p, BYTES(__VA_ARGS__))
#define PUT(dst, ...) memcpy(dst, LIT(__VA_ARGS__), sizeof(LIT(__VA_ARGS__)))
#define assert_bytes(got, ...) assert_memory_equal(got, LIT(__VA_ARGS__), sizeof(LIT(__VA_ARGS__)))

static void discover(struct pkt *p)
{
	start(p, DHCP_BOOTREQUEST, 1, 6);
	ADD(p, 53, 1, DHCP_DISCOVER);
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* ISC dhclient 4.4 (Debian), DISCOVER after a reboot: it asks for its old
 * address, names itself, no client-id, no 57; padded to 300. */
/* The header arrays: one field group per line. */
/* clang-format off */
static const uint8_t dhclient_head[44] = {
	0x01, 0x01, 0x06, 0x00,                         /* op, htype, hlen, hops */
	0x5a, 0x3c, 0x1f, 0x0e,                         /* xid */
	0x00, 0x03, 0x00, 0x00,                         /* secs 3, flags 0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* ciaddr, yiaddr, siaddr, giaddr */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* chaddr */
};
/* clang-format on */
static const char dhclient_discover[] = "\x63\x82\x53\x63"
					"\x35\x01\x01"
					"\x32\x04\xc6\x33\x64\x17"
					"\x0c\x06"
					"debian"
					"\x37\x0d\x01\x1c\x02\x03\x0f\x06\x77\x0c\x2c\x2f\x1a\x79\x2a"
					"\xff";

/* busybox 1.36 udhcpc, DISCOVER: client-id 01+MAC, max size 576, vendor
 * class, its short request list. */
/* clang-format off */
static const uint8_t udhcpc_head[44] = {
	0x01, 0x01, 0x06, 0x00,
	0x9b, 0x1e, 0x44, 0x70,
	0x00, 0x00, 0x00, 0x00,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x02, 0x42, 0xac, 0x11, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */
static const char udhcpc_discover[] = "\x63\x82\x53\x63"
				      "\x35\x01\x01"
				      "\x3d\x07\x01\x02\x42\xac\x11\x00\x02"
				      "\x39\x02\x02\x40"
				      "\x37\x07\x01\x03\x06\x0c\x0f\x1c\x2a"
				      "\x3c\x0c"
				      "udhcp 1.36.1"
				      "\x0c\x07"
				      "openwrt"
				      "\xff";

/* Windows 10, REQUEST in SELECTING: broadcast flag, client-id, requested
 * address and server id, hostname and an ASCII-encoded FQDN (flags 0),
 * vendor class "MSFT 5.0", its long request list (with 249 and 252). */
/* clang-format off */
static const uint8_t windows_head[44] = {
	0x01, 0x01, 0x06, 0x00,
	0x3f, 0x2b, 0x6a, 0x91,
	0x00, 0x00, 0x80, 0x00,                         /* flags: broadcast */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x15, 0x5d, 0x01, 0x02, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */
static const char windows_request[] = "\x63\x82\x53\x63"
				      "\x35\x01\x03"
				      "\x3d\x07\x01\x00\x15\x5d\x01\x02\x03"
				      "\x32\x04\xc6\x33\x64\x65"
				      "\x36\x04\xc6\x33\x64\x01"
				      "\x0c\x0f"
				      "DESKTOP-7QH3J2K"
				      "\x51\x12\x00\x00\x00"
				      "DESKTOP-7QH3J2K"
				      "\x3c\x08"
				      "MSFT 5.0"
				      "\x37\x0e\x01\x03\x06\x0f\x1f\x21\x2b\x2c\x2e\x2f\x77\x79\xf9\xfc"
				      "\xff";

/* ---- Parsing real clients ---- */

static void test_dhclient_discover(void **state)
{
	static const uint8_t want_prl[] = {1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42};
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct pkt p;
	struct in_addr a;
	const uint8_t *prl;
	char name[64];
	size_t len;

	make(&p, dhclient_head, dhclient_discover, sizeof(dhclient_discover) - 1, 300);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.op, DHCP_BOOTREQUEST);
	assert_int_equal(msg.htype, 1);
	assert_int_equal(msg.hlen, 6);
	assert_int_equal(msg.hops, 0);
	assert_int_equal(msg.xid, 0x5a3c1f0e);
	assert_int_equal(msg.secs, 3);
	assert_int_equal(msg.flags, 0);
	assert_int_equal(msg.ciaddr.s_addr, 0);
	assert_int_equal(msg.giaddr.s_addr, 0);
	assert_memory_equal(msg.chaddr, mac, 6);
	assert_int_equal(msg.type, DHCP_DISCOVER);
	assert_int_equal(msg.overload, 0);
	assert_int_equal(msg.len, 300);

	assert_int_equal(dhcp_requested_addr(&msg, &a), 0);
	assert_int_equal(a.s_addr, ip("198.51.100.23").s_addr);
	assert_int_equal(dhcp_server_id(&msg, &a), -ENOENT);
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), 6);
	assert_string_equal(name, "debian");
	assert_int_equal(dhcp_prl(&msg, &prl), sizeof(want_prl));
	assert_memory_equal(prl, want_prl, sizeof(want_prl));
	assert_true(dhcp_prl_has(&msg, 121));
	assert_false(dhcp_prl_has(&msg, 51));
	assert_int_equal(dhcp_max_msg_size(&msg), 0);
	assert_null(dhcp_client_id(&msg, &len));
	assert_int_equal(len, 0);
	assert_false(dhcp_has(&msg, DHCP_OPT_AGENT_INFO));
}

static void test_udhcpc_discover(void **state)
{
	static const uint8_t cid[7] = {0x01, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
	static const uint8_t want_codes[] = {53, 61, 57, 55, 60, 12};
	struct pkt p;
	const uint8_t *d;
	size_t len;
	char name[64];

	make(&p, udhcpc_head, udhcpc_discover, sizeof(udhcpc_discover) - 1, 300);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.xid, 0x9b1e4470);
	assert_int_equal(msg.type, DHCP_DISCOVER);
	d = dhcp_client_id(&msg, &len);
	assert_non_null(d);
	assert_int_equal(len, 7);
	assert_memory_equal(d, cid, 7);
	assert_int_equal(dhcp_max_msg_size(&msg), 576);
	d = dhcp_opt(&msg, DHCP_OPT_VENDOR_CLASS, &len);
	assert_int_equal(len, 12);
	assert_memory_equal(d, "udhcp 1.36.1", 12);
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), 7);
	assert_string_equal(name, "openwrt");
	assert_int_equal(dhcp_opt_codes(&msg, &d), sizeof(want_codes));
	assert_memory_equal(d, want_codes, sizeof(want_codes));
}

static void test_windows_request(void **state)
{
	static const uint8_t want_prl[] = {1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252};
	struct pkt p;
	struct in_addr a;
	struct dhcp_fqdn f;
	const uint8_t *prl;

	make(&p, windows_head, windows_request, sizeof(windows_request) - 1, 300);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.type, DHCP_REQUEST);
	assert_int_equal(msg.flags, DHCP_FLAG_BROADCAST);
	assert_int_equal(dhcp_requested_addr(&msg, &a), 0);
	assert_int_equal(a.s_addr, ip("198.51.100.101").s_addr);
	assert_int_equal(dhcp_server_id(&msg, &a), 0);
	assert_int_equal(a.s_addr, ip("198.51.100.1").s_addr);
	assert_int_equal(dhcp_client_fqdn(&msg, &f), 0);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.rcode1, 0);
	assert_int_equal(f.rcode2, 0);
	assert_false(f.qualified);
	assert_string_equal(f.name, "DESKTOP-7QH3J2K");
	assert_int_equal(dhcp_prl(&msg, &prl), sizeof(want_prl));
	assert_memory_equal(prl, want_prl, sizeof(want_prl));
}

/* ---- Getters ---- */

static void test_typed_getters(void **state)
{
	struct pkt p;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	struct in_addr a, list[2];
	size_t len;
	const uint8_t *d;

	discover(&p);
	ADD(&p, 23, 1, 64);						 /* u8: default TTL */
	ADD(&p, 22, 2, 0x05, 0xdc);					 /* u16: max reassembly */
	ADD(&p, 51, 4, 0x00, 0x00, 0xa8, 0xc0);				 /* u32: 43200 */
	ADD(&p, 6, 12, 198, 51, 100, 53, 203, 0, 113, 53, 10, 0, 0, 53); /* addresses */
	ADD(&p, 80, 0);							 /* rapid commit: empty */
	ADD(&p, 3, 5, 1, 2, 3, 4, 5);					 /* not a multiple of 4 */
	ADD(&p, 255);

	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_opt_u8(&msg, 23, &u8), 0);
	assert_int_equal(u8, 64);
	assert_int_equal(dhcp_opt_u16(&msg, 22, &u16), 0);
	assert_int_equal(u16, 1500);
	assert_int_equal(dhcp_opt_u32(&msg, DHCP_OPT_LEASE_TIME, &u32), 0);
	assert_int_equal(u32, 43200);
	assert_int_equal(dhcp_opt_addr(&msg, 6, &a), -EINVAL); /* 12 octets, not 4 */
	assert_int_equal(dhcp_opt_addrs(&msg, 6, list, 2), 3); /* three there, two stored */
	assert_int_equal(list[0].s_addr, ip("198.51.100.53").s_addr);
	assert_int_equal(list[1].s_addr, ip("203.0.113.53").s_addr);
	assert_int_equal(dhcp_opt_addrs(&msg, 3, list, 2), -EINVAL);
	assert_int_equal(dhcp_opt_addrs(&msg, 80, list, 2), -EINVAL);
	assert_int_equal(dhcp_opt_addrs(&msg, 42, list, 2), -ENOENT);

	/* wrong sizes and absent ones */
	assert_int_equal(dhcp_opt_u8(&msg, 22, &u8), -EINVAL);
	assert_int_equal(dhcp_opt_u16(&msg, 23, &u16), -EINVAL);
	assert_int_equal(dhcp_opt_u32(&msg, 22, &u32), -EINVAL);
	assert_int_equal(dhcp_opt_u8(&msg, 99, &u8), -ENOENT);
	assert_int_equal(dhcp_opt_u16(&msg, 99, &u16), -ENOENT);
	assert_int_equal(dhcp_opt_u32(&msg, 99, &u32), -ENOENT);
	assert_int_equal(dhcp_opt_addr(&msg, 99, &a), -ENOENT);

	/* raw: an empty option is present, with a pointer */
	d = dhcp_opt(&msg, DHCP_OPT_RAPID_COMMIT, &len);
	assert_non_null(d);
	assert_int_equal(len, 0);
	assert_true(dhcp_has(&msg, DHCP_OPT_RAPID_COMMIT));
	assert_null(dhcp_opt(&msg, 99, &len));
	assert_false(dhcp_has(&msg, 99));
	assert_false(dhcp_has(&msg, 0));
	assert_false(dhcp_has(&msg, 255));
	assert_int_equal(dhcp_prl(&msg, &d), 0);
}

static void test_hostname(void **state)
{
	struct pkt p;
	char name[8];

	/* trailing NULs (some old clients) go */
	discover(&p);
	ADD(&p, 12, 6, 'p', 'h', 'o', 'n', 'e', 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), 5);
	assert_string_equal(name, "phone");
	assert_int_equal(dhcp_hostname(&msg, name, 5), -ENAMETOOLONG); /* no room for the NUL */

	/* a NUL inside cannot be text */
	discover(&p);
	ADD(&p, 12, 3, 'a', 0, 'b', 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), -EINVAL);

	/* empty: not a drop (the lease does not depend on it), just no name */
	discover(&p);
	ADD(&p, 12, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), -EINVAL);

	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), -ENOENT);
}

static int fqdn_of(const uint8_t *opt, size_t n, struct dhcp_fqdn *f)
{
	struct pkt p;

	discover(&p);
	do { /* instances of at most 255 (RFC 3396) */
		size_t k = n > 255 ? 255 : n;

		ADD(&p, 81, (uint8_t)k);
		add(&p, opt, k);
		opt += k;
		n -= k;
	} while (n > 0);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	return dhcp_client_fqdn(&msg, f);
}

static void test_fqdn(void **state)
{
	struct dhcp_fqdn f;
	struct pkt p;
	uint8_t long_name[3 + 4 * 64 + 3];

	/* dhcpcd: S and E, canonical wire format, fully qualified */
	assert_int_equal(fqdn_of(BYTES(0x05, 0, 0, 6, 'l', 'a', 'p', 't', 'o', 'p', 4, 'h', 'o', 'm', 'e', 4,
				       'a', 'r', 'p', 'a', 0),
				 &f),
			 0);
	assert_int_equal(f.flags, DHCP_FQDN_S | DHCP_FQDN_E);
	assert_true(f.qualified);
	assert_string_equal(f.name, "laptop.home.arpa");

	/* a partial name: no root label; the MBZ bits are ignored */
	assert_int_equal(fqdn_of(BYTES(0xf4, 0, 0, 6, 'l', 'a', 'p', 't', 'o', 'p'), &f), 0);
	assert_int_equal(f.flags, DHCP_FQDN_E);
	assert_false(f.qualified);
	assert_string_equal(f.name, "laptop");

	/* no name at all: the client lets the server choose */
	assert_int_equal(fqdn_of(BYTES(0x04, 0, 0), &f), 0);
	assert_string_equal(f.name, "");
	assert_false(f.qualified);

	/* ASCII with a final dot and a NUL */
	assert_int_equal(fqdn_of(BYTES(0x01, 0, 0, 'p', 'c', '.', 'l', 'a', 'n', '.', 0), &f), 0);
	assert_int_equal(f.flags, DHCP_FQDN_S);
	assert_true(f.qualified);
	assert_string_equal(f.name, "pc.lan");

	/* refused encodings: too short; a compression pointer; a label past
	 * the end; '.' and NUL in a label; something after the root label */
	assert_int_equal(fqdn_of(BYTES(0x04, 0), &f), -EINVAL);
	assert_int_equal(fqdn_of(BYTES(0x04, 0, 0, 0xc0, 0x0c), &f), -EINVAL);
	assert_int_equal(fqdn_of(BYTES(0x04, 0, 0, 5, 'a', 'b'), &f), -EINVAL);
	assert_int_equal(fqdn_of(BYTES(0x04, 0, 0, 3, 'a', '.', 'b'), &f), -EINVAL);
	assert_int_equal(fqdn_of(BYTES(0x04, 0, 0, 2, 'a', 0), &f), -EINVAL);
	assert_int_equal(fqdn_of(BYTES(0x04, 0, 0, 1, 'a', 0, 1, 'b'), &f), -EINVAL);
	assert_string_equal(f.name, "");
	assert_int_equal(fqdn_of(BYTES(0x00, 0, 0, 'a', 0, 'b'), &f), -EINVAL); /* NUL inside ASCII */

	/* 4 labels of 63: 255 characters fit; one more label does not */
	memset(long_name, 'x', sizeof(long_name));
	long_name[0] = DHCP_FQDN_E, long_name[1] = 0, long_name[2] = 0;
	for (int i = 0; i < 4; i++)
		long_name[3 + 64 * i] = 63;
	long_name[3 + 4 * 64] = 0;
	assert_int_equal(fqdn_of(long_name, 3 + 4 * 64 + 1, &f), 0);
	assert_int_equal(strlen(f.name), 4 * 63 + 3);
	assert_true(f.qualified);
	long_name[3 + 4 * 64] = 1; /* a label "x" instead of the root */
	long_name[3 + 4 * 64 + 2] = 0;
	assert_int_equal(fqdn_of(long_name, sizeof(long_name), &f), -ENAMETOOLONG);

	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_client_fqdn(&msg, &f), -ENOENT);
}

static void test_fqdn_too_long(void **state)
{
	struct dhcp_fqdn f;
	uint8_t data[3 + 5 * 61];

	/* 256 characters of ASCII, in two instances (RFC 3396) */
	memset(data, 'n', sizeof(data));
	data[0] = 0, data[1] = 0, data[2] = 0;
	assert_int_equal(fqdn_of(data, 3 + 256, &f), -ENAMETOOLONG);
	assert_int_equal(fqdn_of(data, 3 + 255, &f), 0);
	assert_int_equal(strlen(f.name), 255);

	/* wire: five 60-octet labels, 304 characters */
	data[0] = DHCP_FQDN_E;
	for (int i = 0; i < 5; i++)
		data[3 + 61 * i] = 60;
	assert_int_equal(fqdn_of(data, sizeof(data), &f), -ENAMETOOLONG);
	assert_int_equal(fqdn_of(data, 3 + 4 * 61, &f), 0);
	assert_int_equal(strlen(f.name), 4 * 60 + 3);
}

/* ---- RFC 3396 concatenation and RFC 2131 4.1 overload ---- */

static void test_concatenation(void **state)
{
	struct pkt p;
	const uint8_t *d, *prl;
	size_t len;

	discover(&p);
	ADD(&p, 43, 3, 'a', 'b', 'c');
	ADD(&p, 0, 0); /* Pad between */
	ADD(&p, 55, 2, 1, 3);
	ADD(&p, 43, 2, 'd', 'e');
	ADD(&p, 55, 2, 6, 1); /* 1 again: kept once */
	ADD(&p, 43, 0);
	ADD(&p, 43, 1, 'f');
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	d = dhcp_opt(&msg, 43, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(d, "abcdef", 6);
	d = dhcp_opt(&msg, 55, &len);
	assert_int_equal(len, 4);
	assert_int_equal(dhcp_prl(&msg, &prl), 3);
	assert_memory_equal(prl, ((uint8_t[]){1, 3, 6}), 3);
	/* instances of 53 add up too: two are a bad length */
	discover(&p);
	ADD(&p, 53, 1, DHCP_DISCOVER, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OPTION_LEN);
}

static void test_overload_file_then_sname(void **state)
{
	struct pkt p;
	const uint8_t *d;
	size_t len;
	char name[16];

	/* 43 in all three fields: options, file, sname is the order */
	discover(&p);
	ADD(&p, 52, 1, 3, 43, 2, 'o', 'o', 255);
	PUT(p.b + DHCP_FILE_OFF, 43, 2, 'f', 'f', 12, 4, 'h', 'o', 's', 't', 255);
	PUT(p.b + DHCP_SNAME_OFF, 43, 2, 's', 's', 0, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.overload, 3);
	d = dhcp_opt(&msg, 43, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(d, "ooffss", 6);
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), 4);
	assert_string_equal(name, "host");

	/* file only (1): sname is a server name, not options */
	discover(&p);
	ADD(&p, 52, 1, 1, 255);
	PUT(p.b + DHCP_FILE_OFF, 43, 1, 'f'); /* runs to the field's end without End */
	memcpy(p.b + DHCP_SNAME_OFF, "bootserver", 10);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	d = dhcp_opt(&msg, 43, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(d, "f", 1);

	/* sname only (2): file is a boot file name */
	discover(&p);
	ADD(&p, 52, 1, 2, 255);
	memcpy(p.b + DHCP_FILE_OFF, "pxelinux.0", 10);
	PUT(p.b + DHCP_SNAME_OFF, 43, 1, 's', 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	d = dhcp_opt(&msg, 43, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(d, "s", 1);

	/* no 52: file and sname are never looked at */
	discover(&p);
	ADD(&p, 255);
	PUT(p.b + DHCP_FILE_OFF, 43, 200);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_false(dhcp_has(&msg, 43));
}

static void test_overload_no_loop(void **state)
{
	struct pkt p;
	size_t len;

	/* a 52 in 'file' asking for sname (and one in sname asking for file)
	 * is ignored: each field is read once */
	discover(&p);
	ADD(&p, 52, 1, 1, 255);
	PUT(p.b + DHCP_FILE_OFF, 52, 1, 3, 43, 1, 'f', 255);
	PUT(p.b + DHCP_SNAME_OFF, 52, 1, 1, 43, 1, 's', 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.overload, 1);
	assert_non_null(dhcp_opt(&msg, 43, &len));
	assert_int_equal(len, 1);
	assert_int_equal(msg.opt[DHCP_OPT_OVERLOAD].len, 1);

	/* the same with both overloaded: 52 stays one octet */
	discover(&p);
	ADD(&p, 52, 1, 3, 255);
	PUT(p.b + DHCP_FILE_OFF, 52, 1, 3, 255);
	PUT(p.b + DHCP_SNAME_OFF, 52, 1, 3, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.opt[DHCP_OPT_OVERLOAD].len, 1);
}

static void test_overload_invalid(void **state)
{
	struct pkt p;

	discover(&p);
	ADD(&p, 52, 2, 1, 2, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OVERLOAD);
	discover(&p);
	ADD(&p, 52, 1, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OVERLOAD);
	discover(&p);
	ADD(&p, 52, 1, 4, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OVERLOAD);
	discover(&p);
	ADD(&p, 52, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OVERLOAD);
	discover(&p);
	ADD(&p, 52, 1, 1, 52, 1, 1, 255); /* two instances concatenate to 2 octets */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OVERLOAD);

	/* an overrun inside an overloaded field is an overrun */
	discover(&p);
	ADD(&p, 52, 1, 1, 255);
	p.b[DHCP_FILE_OFF + DHCP_FILE_LEN - 3] = 43;
	p.b[DHCP_FILE_OFF + DHCP_FILE_LEN - 2] = 2; /* 2 octets, 1 left in the field */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_OPTION_OVERRUN);
	discover(&p);
	ADD(&p, 52, 1, 2, 255);
	p.b[DHCP_SNAME_OFF + DHCP_SNAME_LEN - 1] = 43; /* code, no length: would read into 'file' */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_OPTION_OVERRUN);
}

static void test_end_handling(void **state)
{
	struct pkt p;
	size_t len;

	/* no End, the last option ends exactly at the packet's end */
	discover(&p);
	ADD(&p, 12, 2, 'h', 'i');
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_non_null(dhcp_opt(&msg, 12, &len));

	/* only Pad after the options, no End */
	discover(&p);
	ADD(&p, 0, 0, 0);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);

	/* whatever follows End is not options */
	discover(&p);
	ADD(&p, 255, 43, 200, 1);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_false(dhcp_has(&msg, 43));

	/* a code with no length octet, and data past the end */
	discover(&p);
	ADD(&p, 12);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_OPTION_OVERRUN);
	discover(&p);
	ADD(&p, 12, 3, 'h', 'i');
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_OPTION_OVERRUN);
}

/* ---- Every drop ---- */

static void test_drop_header(void **state)
{
	struct pkt p;

	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, 0, &msg), -DHCP_DROP_TRUNCATED);
	assert_int_equal(dhcp_parse(p.b, DHCP_HDR_LEN - 1, &msg), -DHCP_DROP_TRUNCATED);
	assert_int_equal(dhcp_parse(p.b, DHCP_HDR_LEN, &msg), -DHCP_DROP_NO_COOKIE);
	assert_int_equal(dhcp_parse(p.b, DHCP_OPTIONS_OFF - 1, &msg), -DHCP_DROP_NO_COOKIE);
	/* the cookie alone, no options: no message type */
	assert_int_equal(dhcp_parse(p.b, DHCP_OPTIONS_OFF, &msg), -DHCP_DROP_NO_MSG_TYPE);

	p.b[236] = 0x64; /* RFC 1048 vendor areas use other cookies */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_NO_COOKIE);
	p.b[236] = 0x63;

	p.b[0] = 3;
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OP);
	p.b[0] = 0;
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OP);
	p.b[0] = 1;

	p.b[2] = 17;
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_HWADDR);
	p.b[2] = 255;
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_HWADDR);
	p.b[2] = 8; /* Ethernet with an 8-octet address */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_HWADDR);
	p.b[1] = 32, p.b[2] = 0; /* InfiniBand (RFC 4390): hlen 0 is fine */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	p.b[1] = 6, p.b[2] = 16; /* IEEE 802, full chaddr */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
}

static void test_drop_option_lengths(void **state)
{
	static const struct {
		uint8_t code, len;
	} bad[] = {
		{50, 3}, {50, 5}, {51, 2}, {54, 5}, {54, 0}, {57, 1}, {57, 4}, {61, 1}, {61, 0}, {118, 3},
	};
	static const uint8_t zeros[8];
	struct pkt p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		discover(&p);
		ADD(&p, bad[i].code, bad[i].len);
		add(&p, zeros, bad[i].len);
		ADD(&p, 255);
		assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OPTION_LEN);
	}
	start(&p, 1, 1, 6);
	ADD(&p, 53, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OPTION_LEN);
	start(&p, 1, 1, 6);
	ADD(&p, 53, 2, 1, 1, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_OPTION_LEN);

	/* the good lengths of the same */
	discover(&p);
	ADD(&p, 50, 4, 10, 0, 0, 1, 51, 4, 0, 0, 1, 0, 54, 4, 10, 0, 0, 1, 57, 2, 5, 0xdc);
	ADD(&p, 61, 2, 0, 'x', 118, 4, 10, 1, 0, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
}

static void test_drop_msg_type(void **state)
{
	struct pkt p;

	start(&p, DHCP_BOOTREQUEST, 1, 6);
	ADD(&p, 12, 1, 'x', 255); /* BOOTP: no 53 */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_NO_MSG_TYPE);

	static const uint8_t bad_for_request[] = {0, DHCP_OFFER, DHCP_ACK, DHCP_NAK, 9, 13, 255};
	for (size_t i = 0; i < sizeof(bad_for_request); i++) {
		start(&p, DHCP_BOOTREQUEST, 1, 6);
		ADD(&p, 53, 1, bad_for_request[i], 255);
		assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_MSG_TYPE);
	}
	static const uint8_t good_for_request[] = {1, 3, 4, 7, 8};
	for (size_t i = 0; i < sizeof(good_for_request); i++) {
		start(&p, DHCP_BOOTREQUEST, 1, 6);
		ADD(&p, 53, 1, good_for_request[i], 255);
		assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
		assert_int_equal(msg.type, good_for_request[i]);
	}
	/* replies, as a relay receives them */
	static const uint8_t bad_for_reply[] = {DHCP_DISCOVER, DHCP_REQUEST, DHCP_DECLINE, DHCP_RELEASE,
						DHCP_INFORM};
	for (size_t i = 0; i < sizeof(bad_for_reply); i++) {
		start(&p, DHCP_BOOTREPLY, 1, 6);
		ADD(&p, 53, 1, bad_for_reply[i], 255);
		assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_MSG_TYPE);
	}
	start(&p, DHCP_BOOTREPLY, 1, 6);
	ADD(&p, 53, 1, DHCP_ACK, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.op, DHCP_BOOTREPLY);
}

static void test_drop_too_big(void **state)
{
	static uint8_t data[255];
	struct pkt p;

	/* 8 × 255 = 2040 octets of option data fit; 9 do not */
	discover(&p);
	for (int i = 0; i < 8; i++) {
		ADD(&p, 43, 255);
		add(&p, data, 255);
	}
	ADD(&p, 44, 7, 0, 0, 0, 0, 0, 0, 0); /* 2048 with 53's octet */
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.opt[43].len, 2040);
	p.n--;
	ADD(&p, 80, 1, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_TOO_BIG);
	/* pure padding is not data: a huge packet of Pad is fine */
	discover(&p);
	memset(p.b + p.n, 0, sizeof(p.b) - p.n);
	assert_int_equal(dhcp_parse(p.b, sizeof(p.b), &msg), 0);
}

static void test_drop_agent_info(void **state)
{
	struct pkt p;

	discover(&p);
	ADD(&p, 82, 1, 1, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_AGENT_INFO);
	discover(&p);
	ADD(&p, 82, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_AGENT_INFO);
	discover(&p);
	ADD(&p, 82, 4, 1, 3, 'a', 'b', 255); /* sub-option runs past the option */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_AGENT_INFO);
	discover(&p);
	ADD(&p, 82, 3, 1, 1, 'a', 255); /* circuit-id "a": fine */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	discover(&p);
	ADD(&p, 82, 4, 1, 1, 'a', 2, 255); /* a code without a length */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_AGENT_INFO);
	discover(&p);
	ADD(&p, 82, 5, 5, 3, 10, 0, 0, 255); /* link-selection of 3 octets */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), -DHCP_DROP_BAD_AGENT_INFO);
	discover(&p);
	ADD(&p, 82, 2, 9, 0, 255); /* one empty sub-option is well-formed */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
}

static void test_drop_names(void **state)
{
	static const char *const names[DHCP_DROP_COUNT] = {
		[DHCP_DROP_TRUNCATED] = "truncated",	       [DHCP_DROP_BAD_OP] = "bad_op",
		[DHCP_DROP_BAD_HWADDR] = "bad_hwaddr",	       [DHCP_DROP_NO_COOKIE] = "no_cookie",
		[DHCP_DROP_OPTION_OVERRUN] = "option_overrun", [DHCP_DROP_BAD_OPTION_LEN] = "bad_option_len",
		[DHCP_DROP_BAD_OVERLOAD] = "bad_overload",     [DHCP_DROP_TOO_BIG] = "too_big",
		[DHCP_DROP_NO_MSG_TYPE] = "no_msg_type",       [DHCP_DROP_BAD_MSG_TYPE] = "bad_msg_type",
		[DHCP_DROP_BAD_AGENT_INFO] = "bad_agent_info",
	};

	for (int i = 1; i < DHCP_DROP_COUNT; i++) {
		assert_string_equal(dhcp_drop_name(-i), names[i]);
		assert_string_equal(dhcp_drop_name(i), names[i]);
	}
	assert_string_equal(dhcp_drop_name(0), "unknown");
	assert_string_equal(dhcp_drop_name(DHCP_DROP_COUNT), "unknown");
	assert_string_equal(dhcp_drop_name(-DHCP_DROP_COUNT), "unknown");
	assert_string_equal(dhcp_drop_name(-2147483647 - 1), "unknown");
	assert_string_equal(dhcp_type_name(DHCP_DISCOVER), "DISCOVER");
	assert_string_equal(dhcp_type_name(DHCP_NAK), "NAK");
	assert_string_equal(dhcp_type_name(DHCP_INFORM), "INFORM");
	assert_string_equal(dhcp_type_name(0), "unknown");
	assert_string_equal(dhcp_type_name(9), "unknown");
}

/* ---- Option 55 and 57 ---- */

static void test_prl_huge(void **state)
{
	uint8_t list[250];
	struct pkt p;
	const uint8_t *prl;

	/* four instances of 250 codes: 1000 octets, 0..255 over and over */
	discover(&p);
	for (int k = 0; k < 4; k++) {
		for (int i = 0; i < 250; i++)
			list[i] = (uint8_t)(255 - (k * 250 + i) % 256);
		ADD(&p, 55, 250);
		add(&p, list, 250);
	}
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.opt[55].len, 1000);
	assert_int_equal(dhcp_prl(&msg, &prl), DHCP_PRL_MAX);
	assert_int_equal(prl[0], 254); /* 255 skipped */
	assert_int_equal(prl[253], 1); /* 0 skipped */
	for (int i = 0; i < DHCP_PRL_MAX; i++)
		assert_int_equal(prl[i], 254 - i);
}

static void reply_with_max_size(uint16_t mms, size_t cap)
{
	struct pkt p;

	discover(&p);
	ADD(&p, 57, 2, (uint8_t)(mms >> 8), (uint8_t)mms, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_reply_init(&rep, out, cap, &msg, DHCP_OFFER), 0);
}

static void test_max_size(void **state)
{
	struct pkt p;

	reply_with_max_size(575, sizeof(out));
	assert_int_equal(dhcp_max_msg_size(&msg), 0); /* under 576: ignored */
	assert_int_equal(rep.limit, 548);
	reply_with_max_size(576, sizeof(out));
	assert_int_equal(dhcp_max_msg_size(&msg), 576);
	assert_int_equal(rep.limit, 548);
	reply_with_max_size(600, sizeof(out));
	assert_int_equal(rep.limit, 572);
	reply_with_max_size(1500, sizeof(out));
	assert_int_equal(rep.limit, 1472);
	reply_with_max_size(65535, sizeof(out));
	assert_int_equal(rep.limit, sizeof(out)); /* never past the buffer */
	reply_with_max_size(1500, 1000);
	assert_int_equal(rep.limit, 1000);
	reply_with_max_size(0, sizeof(out));
	assert_int_equal(rep.limit, 548);

	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	assert_int_equal(rep.limit, 548);
}

/* Fill a reply until it must drop: with 575 ignored the limit is 548,
 * with 600 honoured it is 572, and the same options give a different cut. */
static void test_max_size_cut(void **state)
{
	static const uint8_t big[200];
	int len;

	reply_with_max_size(575, sizeof(out));
	dhcp_reply_opt(&rep, 224, big, 150);
	dhcp_reply_opt(&rep, 225, big, 150);
	dhcp_reply_opt(&rep, 226, big, 20);
	len = dhcp_reply_finish(&rep);
	/* 240 + 3 (53) + 152 + 152 = 547: 226 does not fit before End */
	assert_int_equal(len, 548);
	assert_int_equal(rep.dropped, 1);

	reply_with_max_size(600, sizeof(out));
	dhcp_reply_opt(&rep, 224, big, 150);
	dhcp_reply_opt(&rep, 225, big, 150);
	dhcp_reply_opt(&rep, 226, big, 20);
	len = dhcp_reply_finish(&rep);
	assert_int_equal(len, 240 + 3 + 152 + 152 + 22 + 1);
	assert_int_equal(rep.dropped, 0);
	assert_true(len <= 572);
}

/* ---- The reply builder ---- */

static void test_reply_header(void **state)
{
	struct pkt p;
	int len;

	make(&p, windows_head, windows_request, sizeof(windows_request) - 1, 300);
	p.b[3] = 2;		     /* hops */
	p.b[8] = 0, p.b[9] = 7;	     /* secs */
	PUT(p.b + 24, 10, 30, 0, 1); /* giaddr */
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_ACK), 0);
	rep.yiaddr = ip("198.51.100.101");
	rep.siaddr = ip("198.51.100.1");
	rep.ciaddr = ip("198.51.100.9");
	assert_int_equal(dhcp_reply_addr(&rep, DHCP_OPT_SERVER_ID, ip("198.51.100.1")), 0);
	len = dhcp_reply_finish(&rep);
	assert_int_equal(len, 300);

	/* clang-format off */
	static const uint8_t want[44] = {
		0x02, 0x01, 0x06, 0x00,                 /* BOOTREPLY, htype, hlen, hops 0 */
		0x3f, 0x2b, 0x6a, 0x91,                 /* the client's xid */
		0x00, 0x00, 0x80, 0x00,                 /* secs 0, its flags */
		198, 51, 100, 9,                        /* ciaddr */
		198, 51, 100, 101,                      /* yiaddr */
		198, 51, 100, 1,                        /* siaddr */
		10, 30, 0, 1,                           /* giaddr, copied */
		0x00, 0x15, 0x5d, 0x01, 0x02, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	/* clang-format on */
	static const uint8_t zeros[192];
	assert_memory_equal(out, want, 44);
	assert_memory_equal(out + 44, zeros, 192);
	assert_bytes(out + 236, 0x63, 0x82, 0x53, 0x63);
	assert_bytes(out + 240, 53, 1, DHCP_ACK, 54, 4, 198, 51, 100, 1, 255);
	for (int i = 250; i < 300; i++)
		assert_int_equal(out[i], 0);

	assert_int_equal(dhcp_parse(out, (size_t)len, &back), 0);
	assert_int_equal(back.op, DHCP_BOOTREPLY);
	assert_int_equal(back.type, DHCP_ACK);
	assert_int_equal(back.xid, msg.xid);
	assert_int_equal(back.hops, 0);
	assert_int_equal(back.secs, 0);
}

static void test_reply_order(void **state)
{
	struct pkt p;
	struct in_addr a = ip("198.51.100.1");
	int len;

	/* the client wants 3, 1, 6, 15 in that order (and 99, which the
	 * server does not have) */
	discover(&p);
	ADD(&p, 55, 5, 3, 99, 1, 6, 15);
	ADD(&p, 82, 6, 1, 4, 'p', 'o', 'r', 't', 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	assert_int_equal(dhcp_reply_echo_agent_info(&rep), 0);
	assert_int_equal(dhcp_reply_u32(&rep, DHCP_OPT_LEASE_TIME, 3600), 0);
	assert_int_equal(dhcp_reply_addr(&rep, 6, a), 0);
	assert_int_equal(dhcp_reply_addr(&rep, 1, ip("255.255.255.0")), 0);
	assert_int_equal(dhcp_reply_addr(&rep, DHCP_OPT_SERVER_ID, a), 0);
	assert_int_equal(dhcp_reply_addr(&rep, 3, a), 0);
	assert_int_equal(dhcp_reply_u32(&rep, DHCP_OPT_RENEWAL_TIME, 1800), 0);
	assert_int_equal(dhcp_reply_u32(&rep, DHCP_OPT_REBINDING_TIME, 3150), 0);
	assert_int_equal(dhcp_reply_opt(&rep, 15, "home.arpa", 9), 0);
	len = dhcp_reply_finish(&rep);
	assert_int_equal(rep.dropped, 0);

	/* clang-format off */
	static const uint8_t want[] = {
		53, 1, 2,
		54, 4, 198, 51, 100, 1,
		3, 4, 198, 51, 100, 1,
		1, 4, 255, 255, 255, 0,
		6, 4, 198, 51, 100, 1,
		15, 9, 'h', 'o', 'm', 'e', '.', 'a', 'r', 'p', 'a',
		51, 4, 0, 0, 0x0e, 0x10,
		58, 4, 0, 0, 0x07, 0x08,
		59, 4, 0, 0, 0x0c, 0x4e,
		82, 6, 1, 4, 'p', 'o', 'r', 't',
		255,
	};
	/* clang-format on */
	assert_int_equal(len, 240 + sizeof(want));
	assert_memory_equal(out + 240, want, sizeof(want));
	assert_int_equal(dhcp_parse(out, (size_t)len, &back), 0);
	assert_int_equal(back.type, DHCP_OFFER);
}

static void test_reply_padding(void **state)
{
	struct pkt p;
	int len;

	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_NAK), 0);
	len = dhcp_reply_finish(&rep);
	assert_int_equal(len, DHCP_MIN_LEN);
	assert_bytes(out + 240, 53, 1, DHCP_NAK, 255);
	for (int i = 244; i < 300; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[300], 0xee); /* nothing written past the length */
	/* a long reply is not padded */
	static const uint8_t data[100];
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	dhcp_reply_opt(&rep, 43, data, 100);
	assert_int_equal(dhcp_reply_finish(&rep), 240 + 3 + 102 + 1);
}

static void test_reply_split_long(void **state)
{
	uint8_t data[600];
	struct pkt p;
	size_t len;
	const uint8_t *d;
	int n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	discover(&p);
	ADD(&p, 57, 2, 0x05, 0xdc, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	assert_int_equal(dhcp_reply_opt(&rep, 43, data, sizeof(data)), 0);
	assert_int_equal(dhcp_reply_opt(&rep, 44, data, 255), 0); /* exactly 255: one instance */
	n = dhcp_reply_finish(&rep);
	assert_int_equal(n, 240 + 3 + (600 + 6) + 257 + 1);
	/* 43: 255 + 255 + 90, consecutive */
	assert_int_equal(out[243], 43);
	assert_int_equal(out[244], 255);
	assert_memory_equal(out + 245, data, 255);
	assert_int_equal(out[500], 43);
	assert_int_equal(out[501], 255);
	assert_memory_equal(out + 502, data + 255, 255);
	assert_int_equal(out[757], 43);
	assert_int_equal(out[758], 90);
	assert_memory_equal(out + 759, data + 510, 90);
	assert_int_equal(out[849], 44);
	assert_int_equal(out[850], 255);

	assert_int_equal(dhcp_parse(out, (size_t)n, &back), 0);
	d = dhcp_opt(&back, 43, &len);
	assert_int_equal(len, 600);
	assert_memory_equal(d, data, 600);
}

static void test_reply_fit(void **state)
{
	static const uint8_t big[320];
	struct pkt p;
	const uint8_t *prl;
	int len;

	/* 548 octets: 240 header, 1 End: 307 for options */
	discover(&p);
	ADD(&p, 55, 3, 224, 225, 226, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_prl(&msg, &prl), 3);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	dhcp_reply_opt(&rep, 230, big, 100); /* unrequested, added first */
	dhcp_reply_opt(&rep, 226, big, 100); /* requested last */
	dhcp_reply_opt(&rep, 225, big, 100); /* requested second */
	dhcp_reply_addr(&rep, DHCP_OPT_SERVER_ID, ip("198.51.100.1"));
	dhcp_reply_u32(&rep, DHCP_OPT_LEASE_TIME, 600);
	dhcp_reply_opt(&rep, 231, big, 10); /* small unrequested */
	/* 53 (3) + 54 (6) + 51 (6) = 15 mandatory; 292 left: 225 and 226 (102
	 * each) take 204; 88 left: 230 (102) goes, 231 (12) still fits */
	len = dhcp_reply_finish(&rep);
	assert_true(len <= 548);
	assert_int_equal(rep.dropped, 1);
	assert_int_equal(dhcp_parse(out, (size_t)len, &back), 0);
	assert_true(dhcp_has(&back, 225));
	assert_true(dhcp_has(&back, 226));
	assert_true(dhcp_has(&back, 231));
	assert_false(dhcp_has(&back, 230));
	assert_true(dhcp_has(&back, DHCP_OPT_LEASE_TIME));
	assert_int_equal(len, 240 + 3 + 6 + 102 + 102 + 6 + 12 + 1);

	/* requested ones go too when they do not fit, the client's last first */
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	dhcp_reply_opt(&rep, 226, big, 160);
	dhcp_reply_opt(&rep, 225, big, 160);
	dhcp_reply_opt(&rep, 224, big, 160);
	len = dhcp_reply_finish(&rep);
	assert_int_equal(rep.dropped, 2);
	assert_int_equal(dhcp_parse(out, (size_t)len, &back), 0);
	assert_true(dhcp_has(&back, 224));
	assert_false(dhcp_has(&back, 225));
	assert_false(dhcp_has(&back, 226));

	/* 53, 54, 51 and 82 are never left out; when they cannot fit: error */
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_ACK), 0);
	/* 224 is requested, so it comes before 51; 48 octets would fit in
	 * 307 - 3 - 252 = 52, but not once 51's 6 are reserved: 224 goes */
	dhcp_reply_opt(&rep, 224, big, 46);
	dhcp_reply_opt(&rep, DHCP_OPT_AGENT_INFO, big, 250);
	dhcp_reply_opt(&rep, DHCP_OPT_LEASE_TIME, big, 4);
	len = dhcp_reply_finish(&rep);
	assert_int_equal(dhcp_parse(out, (size_t)len, &back), 0);
	assert_false(dhcp_has(&back, 224));
	assert_true(dhcp_has(&back, DHCP_OPT_LEASE_TIME));
	assert_true(dhcp_has(&back, DHCP_OPT_AGENT_INFO));
	assert_int_equal(rep.dropped, 1);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_ACK), 0);
	/* an echoed 82 may be longer than 255 (RFC 3396): 3 + 302 + 4 > 307 */
	assert_int_equal(dhcp_reply_opt(&rep, DHCP_OPT_AGENT_INFO, big, 302), 0);
	assert_int_equal(dhcp_reply_finish(&rep), -EMSGSIZE);

	/* a caller-lowered limit */
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_ACK), 0);
	rep.limit = 299;
	assert_int_equal(dhcp_reply_finish(&rep), -EMSGSIZE);
	rep.limit = 300;
	dhcp_reply_opt(&rep, 224, big, 60);
	assert_int_equal(dhcp_reply_finish(&rep), 300);
	assert_int_equal(rep.dropped, 1); /* 240 + 3 + 62 + 1 > 300 */
}

static void test_reply_opt_rules(void **state)
{
	static uint8_t big[DHCP_REPLY_DATA_MAX];
	struct pkt p;
	const uint8_t *d;
	size_t len;
	int n;

	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_reply_init(&rep, out, 547, &msg, DHCP_OFFER), -EINVAL);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, 0), -EINVAL);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, 9), -EINVAL);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_DISCOVER), -EINVAL);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_INFORM), -EINVAL);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	assert_int_equal(dhcp_reply_opt(&rep, 0, "x", 1), -EINVAL);
	assert_int_equal(dhcp_reply_opt(&rep, 255, "x", 1), -EINVAL);
	assert_int_equal(dhcp_reply_u8(&rep, DHCP_OPT_MSG_TYPE, DHCP_ACK), -EINVAL);
	assert_int_equal(dhcp_reply_u8(&rep, DHCP_OPT_OVERLOAD, 3), -EINVAL);
	/* what our own parser would drop is refused */
	assert_int_equal(dhcp_reply_u16(&rep, DHCP_OPT_LEASE_TIME, 3600), -EINVAL);
	assert_int_equal(dhcp_reply_u32(&rep, DHCP_OPT_MAX_SIZE, 1500), -EINVAL);
	assert_int_equal(dhcp_reply_u8(&rep, DHCP_OPT_CLIENT_ID, 1), -EINVAL);
	assert_int_equal(dhcp_reply_opt(&rep, DHCP_OPT_SERVER_ID, "abcde", 5), -EINVAL);
	assert_int_equal(dhcp_reply_opt(&rep, DHCP_OPT_AGENT_INFO,
					"\x01\x05"
					"ab",
					4),
			 -EINVAL);
	assert_int_equal(dhcp_reply_opt(&rep, DHCP_OPT_AGENT_INFO, "\x01", 1), -EINVAL);
	assert_int_equal(dhcp_reply_opt(&rep, DHCP_OPT_AGENT_INFO,
					"\x05\x03"
					"abc",
					5),
			 -EINVAL);
	assert_int_equal(rep.dropped, 0); /* refusals for bad input are not drops */
	assert_int_equal(dhcp_reply_opt(&rep, 43, NULL, 1), -EINVAL);
	assert_int_equal(dhcp_reply_opt(&rep, 43, big, sizeof(big) + 1), -EINVAL);
	assert_int_equal(dhcp_reply_addrs(&rep, 6, NULL, 0), -EINVAL);
	assert_int_equal(dhcp_reply_echo_agent_info(&rep), -ENOENT);

	/* a second value replaces the first */
	assert_int_equal(dhcp_reply_opt(&rep, 15, "scope.example", 13), 0);
	assert_int_equal(dhcp_reply_opt(&rep, 15, "host.example", 12), 0);
	assert_int_equal(dhcp_reply_opt(&rep, 80, NULL, 0), 0);
	assert_int_equal(dhcp_reply_u16(&rep, 26, 1492), 0);
	struct in_addr two[2] = {ip("198.51.100.2"), ip("198.51.100.3")};
	assert_int_equal(dhcp_reply_addrs(&rep, 42, two, 2), 0);
	n = dhcp_reply_finish(&rep);
	assert_int_equal(dhcp_parse(out, (size_t)n, &back), 0);
	d = dhcp_opt(&back, 15, &len);
	assert_int_equal(len, 12);
	assert_memory_equal(d, "host.example", 12);
	assert_non_null(dhcp_opt(&back, 80, &len));
	assert_int_equal(len, 0);
	uint16_t mtu;
	assert_int_equal(dhcp_opt_u16(&back, 26, &mtu), 0);
	assert_int_equal(mtu, 1492);
	struct in_addr got[2];
	assert_int_equal(dhcp_opt_addrs(&back, 42, got, 2), 2);
	assert_memory_equal(got, two, sizeof(two));

	/* the data area fills: refused and counted */
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	assert_int_equal(dhcp_reply_opt(&rep, 43, big, DHCP_REPLY_DATA_MAX - 1), 0); /* 53 has 1 */
	assert_int_equal(dhcp_reply_u8(&rep, 44, 1), -ENOSPC);
	assert_int_equal(rep.dropped, 1);
	n = dhcp_reply_finish(&rep);
	assert_true(n > 0);
	assert_int_equal(rep.dropped, 2); /* and 43 did not fit 548 */
}

/* ---- Option 82 on the server side ---- */

static void test_agent_info_getters(void **state)
{
	struct pkt p;
	struct in_addr a;
	const uint8_t *d;
	size_t len;

	discover(&p);
	ADD(&p, 82, 20, 1, 6, 'e', 't', 'h', '0', '/', '1', 2, 4, 'g', 'w', '0', '1', 5, 4, 10, 30, 0, 0);
	ADD(&p, 118, 4, 10, 40, 0, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	d = dhcp_agent_sub(&msg, DHCP_AGENT_CIRCUIT_ID, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(d, "eth0/1", 6);
	d = dhcp_agent_sub(&msg, DHCP_AGENT_REMOTE_ID, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(d, "gw01", 4);
	assert_null(dhcp_agent_sub(&msg, 9, &len));
	assert_int_equal(dhcp_link_selection(&msg, &a), 0);
	assert_int_equal(a.s_addr, ip("10.30.0.0").s_addr); /* 82.5 before 118 */

	discover(&p);
	ADD(&p, 82, 3, 1, 1, 'x', 118, 4, 10, 40, 0, 0, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_link_selection(&msg, &a), 0);
	assert_int_equal(a.s_addr, ip("10.40.0.0").s_addr);

	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(dhcp_link_selection(&msg, &a), -ENOENT);
	assert_null(dhcp_agent_sub(&msg, 1, &len));
}

/* ---- RFC 3442 ---- */

static void test_routes_rfc3442(void **state)
{
	/* RFC 3442 2's table of destination descriptors */
	const struct {
		const char *dst;
		uint8_t prefix;
		uint8_t want[5];
		size_t n;
	} ex[] = {
		{"0.0.0.0", 0, {0}, 1},
		{"10.0.0.0", 8, {8, 10}, 2},
		{"10.17.0.0", 16, {16, 10, 17}, 3},
		{"10.27.129.0", 24, {24, 10, 27, 129}, 4},
		{"10.229.0.128", 25, {25, 10, 229, 0, 128}, 5},
		{"10.198.122.47", 32, {32, 10, 198, 122, 47}, 5},
	};
	struct in_addr gw = ip("198.51.100.1");
	struct dhcp_route r, got[8];
	uint8_t buf[64];

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		r.dst = ip(ex[i].dst);
		r.prefix = ex[i].prefix;
		r.gw = gw;
		assert_int_equal(dhcp_routes_encode(&r, 1, buf, sizeof(buf)), ex[i].n + 4);
		assert_memory_equal(buf, ex[i].want, ex[i].n);
		assert_memory_equal(buf + ex[i].n, &gw, 4);
		assert_int_equal(dhcp_routes_decode(buf, ex[i].n + 4, got, 8), 1);
		assert_int_equal(got[0].prefix, ex[i].prefix);
		assert_int_equal(got[0].dst.s_addr, r.dst.s_addr);
		assert_int_equal(got[0].gw.s_addr, gw.s_addr);
	}

	/* a list: the default route and a /16; host bits are masked */
	struct dhcp_route list[2] = {
		{ip("0.0.0.0"), 0, ip("198.51.100.1")},
		{ip("10.8.3.4"), 16, ip("198.51.100.2")},
	};
	static const uint8_t want[] = {0, 198, 51, 100, 1, 16, 10, 8, 198, 51, 100, 2};
	assert_int_equal(dhcp_routes_encode(list, 2, buf, sizeof(buf)), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(dhcp_routes_decode(buf, sizeof(want), got, 1), 2); /* two, one stored */
	assert_int_equal(got[0].prefix, 0);
	assert_int_equal(dhcp_routes_decode(buf, sizeof(want), got, 8), 2);
	assert_int_equal(got[1].dst.s_addr, ip("10.8.0.0").s_addr);

	/* errors */
	r.prefix = 33;
	assert_int_equal(dhcp_routes_encode(&r, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(dhcp_routes_encode(list, 2, buf, sizeof(want) - 1), -ENOSPC);
	assert_int_equal(dhcp_routes_decode(buf, sizeof(want) - 1, got, 8), -EINVAL);
	assert_int_equal(dhcp_routes_decode(BYTES(33, 1, 2, 3, 4, 5, 6, 7, 8), got, 8), -EINVAL);
	assert_int_equal(dhcp_routes_decode(BYTES(24, 10, 0), got, 8), -EINVAL);
	assert_int_equal(dhcp_routes_decode(buf, 0, got, 8), 0);
	/* the receiver zeroes bits past the prefix */
	assert_int_equal(dhcp_routes_decode(BYTES(25, 10, 229, 0, 255, 1, 2, 3, 4), got, 8), 1);
	assert_int_equal(got[0].dst.s_addr, ip("10.229.0.128").s_addr);
}

/* ---- Option 81 for replies ---- */

static void test_fqdn_encode(void **state)
{
	uint8_t buf[300];
	struct dhcp_fqdn f;

	assert_int_equal(
		dhcp_fqdn_encode(DHCP_FQDN_S | DHCP_FQDN_E, "laptop.home.arpa", true, buf, sizeof(buf)),
		3 + 18);
	assert_bytes(buf, 0x05, 255, 255, 6, 'l', 'a', 'p', 't', 'o', 'p', 4, 'h', 'o', 'm', 'e', 4, 'a', 'r',
		     'p', 'a', 0);
	/* decoding it gives it back */
	assert_int_equal(fqdn_of(buf, 21, &f), 0);
	assert_string_equal(f.name, "laptop.home.arpa");
	assert_true(f.qualified);
	/* a final dot makes it qualified; partial names have no root label */
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, "pc.", false, buf, sizeof(buf)), 3 + 4);
	assert_bytes(buf + 3, 2, 'p', 'c', 0);
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, "pc", false, buf, sizeof(buf)), 3 + 3);
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, "", true, buf, sizeof(buf)), 4);
	/* ASCII */
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_O, "pc.lan", true, buf, sizeof(buf)), 3 + 7);
	assert_bytes(buf, 0x02, 255, 255, 'p', 'c', '.', 'l', 'a', 'n', '.');
	/* bad names and no room */
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, "a..b", true, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, ".a", true, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(dhcp_fqdn_encode(0, "a..", true, buf, sizeof(buf)), -EINVAL);
	char label[65];
	memset(label, 'l', 64);
	label[64] = 0;
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, label, true, buf, sizeof(buf)), -EINVAL);
	label[63] = 0;
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, label, true, buf, sizeof(buf)), 3 + 1 + 63 + 1);
	assert_int_equal(dhcp_fqdn_encode(DHCP_FQDN_E, label, true, buf, 60), -ENOSPC);
}

/* ---- The relay ---- */

static void test_relay_request(void **state)
{
	struct pkt p;
	struct in_addr gi = ip("10.30.0.1");

	make(&p, dhclient_head, dhclient_discover, sizeof(dhclient_discover) - 1, 300);
	assert_int_equal(dhcp_relay_request(p.b, p.n, gi, 4), 0);
	assert_int_equal(p.b[3], 1);
	assert_memory_equal(p.b + 24, &gi, 4);
	/* a second relay keeps the first one's giaddr */
	assert_int_equal(dhcp_relay_request(p.b, p.n, ip("10.99.0.1"), 4), 0);
	assert_int_equal(p.b[3], 2);
	assert_memory_equal(p.b + 24, &gi, 4);
	assert_int_equal(dhcp_parse(p.b, p.n, &msg), 0);
	assert_int_equal(msg.hops, 2);
	assert_int_equal(msg.giaddr.s_addr, gi.s_addr);

	/* hops above max-hops: refused, untouched */
	p.b[3] = 5;
	assert_int_equal(dhcp_relay_request(p.b, p.n, gi, 4), -ELOOP);
	assert_int_equal(p.b[3], 5);
	p.b[3] = 4;
	assert_int_equal(dhcp_relay_request(p.b, p.n, gi, 4), 0);
	assert_int_equal(p.b[3], 5);
	/* RFC 1542's 16 whatever max-hops says */
	p.b[3] = 16;
	assert_int_equal(dhcp_relay_request(p.b, p.n, gi, 100), 0);
	p.b[3] = 17;
	assert_int_equal(dhcp_relay_request(p.b, p.n, gi, 100), -ELOOP);
	assert_int_equal(dhcp_relay_request(p.b, DHCP_HDR_LEN - 1, gi, 4), -EINVAL);
}

static void test_relay_insert(void **state)
{
	struct pkt p, orig;
	struct in_addr link = ip("10.30.0.0");
	struct dhcp_agent_opts ai = {"br-guest", 8, "gw1", 3, NULL};
	const uint8_t *d;
	size_t len;
	int n;

	/* dhclient pads to 300: End at 285, the option fits in the padding */
	make(&p, dhclient_head, dhclient_discover, sizeof(dhclient_discover) - 1, 300);
	assert_false(dhcp_pkt_has_agent_info(p.b, p.n));
	size_t end = DHCP_HDR_LEN + sizeof(dhclient_discover) - 2;
	assert_int_equal(p.b[end], 255);
	n = dhcp_relay_add_agent_info(p.b, p.n, 300, &ai);
	assert_int_equal(n, 300);
	assert_bytes(p.b + end, 82, 15, 1, 8, 'b', 'r', '-', 'g', 'u', 'e', 's', 't', 2, 3, 'g', 'w', '1',
		     255);
	assert_true(dhcp_pkt_has_agent_info(p.b, (size_t)n));
	assert_int_equal(dhcp_parse(p.b, (size_t)n, &msg), 0);
	d = dhcp_agent_sub(&msg, DHCP_AGENT_CIRCUIT_ID, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(d, "br-guest", 8);
	d = dhcp_agent_sub(&msg, DHCP_AGENT_REMOTE_ID, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(d, "gw1", 3);
	/* last before End (RFC 3046 2.1) */
	const uint8_t *codes;
	size_t nc = dhcp_opt_codes(&msg, &codes);
	assert_int_equal(codes[nc - 1], DHCP_OPT_AGENT_INFO);

	/* already there: refused, untouched */
	orig = p;
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &ai), -EEXIST);
	assert_memory_equal(p.b, orig.b, p.n);

	/* no padding after End: the packet grows, within MAX */
	discover(&p);
	ADD(&p, 12, 2, 'h', 'i', 255);
	ai.link_selection = &link;
	n = dhcp_relay_add_agent_info(p.b, p.n, 1500, &ai);
	assert_int_equal(n, (int)p.n + 2 + 15 + 6);
	assert_int_equal(p.b[n - 1], 255);
	assert_int_equal(dhcp_parse(p.b, (size_t)n, &msg), 0);
	struct in_addr a;
	assert_int_equal(dhcp_link_selection(&msg, &a), 0);
	assert_int_equal(a.s_addr, link.s_addr);
	char name[8];
	assert_int_equal(dhcp_hostname(&msg, name, sizeof(name)), 2);

	/* no End at all: appended after the last option */
	discover(&p);
	ADD(&p, 12, 2, 'h', 'i');
	ai.link_selection = NULL;
	n = dhcp_relay_add_agent_info(p.b, p.n, 1500, &ai);
	assert_int_equal(n, (int)p.n + 2 + 15 + 1);
	assert_int_equal(dhcp_parse(p.b, (size_t)n, &msg), 0);
	assert_true(dhcp_has(&msg, DHCP_OPT_AGENT_INFO));

	/* it would not fit MAX: refused, untouched */
	discover(&p);
	ADD(&p, 255);
	orig = p;
	/* End at p.n - 1 becomes 82 (2 + 15) and End: p.n + 17 */
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, p.n + 16, &ai), -EMSGSIZE);
	assert_memory_equal(p.b, orig.b, sizeof(p.b));
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, p.n + 17, &ai), (int)p.n + 17);

	/* nothing to insert, or more than one option holds */
	struct dhcp_agent_opts none = {NULL, 0, "", 0, NULL};
	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &none), -EINVAL);
	static const uint8_t long_id[250];
	struct dhcp_agent_opts big = {long_id, 250, "gw1", 3, NULL};
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &big), -EINVAL);
	big.remote_id = NULL;
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &big), (int)p.n + 2 + 252);
	struct dhcp_agent_opts huge = {long_id, 256, NULL, 0, NULL};
	discover(&p);
	ADD(&p, 255);
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &huge), -EINVAL);

	/* malformed packets */
	discover(&p);
	ADD(&p, 12, 9, 'x');
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &ai), -EINVAL);
	assert_false(dhcp_pkt_has_agent_info(p.b, p.n));
	assert_int_equal(dhcp_relay_add_agent_info(p.b, 239, 1500, &ai), -EINVAL);
	discover(&p);
	ADD(&p, 52, 1, 7, 255);
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &ai), -EINVAL);

	/* an 82 hidden in an overloaded 'file' counts */
	discover(&p);
	ADD(&p, 52, 1, 1, 255);
	PUT(p.b + DHCP_FILE_OFF, 82, 3, 1, 1, 'x', 255);
	assert_true(dhcp_pkt_has_agent_info(p.b, p.n));
	assert_int_equal(dhcp_relay_add_agent_info(p.b, p.n, 1500, &ai), -EEXIST);
}

/* A server's reply as a relay receives it: 82 echoed, maybe not last. */
static void server_reply(struct pkt *p, bool agent_last)
{
	start(p, DHCP_BOOTREPLY, 1, 6);
	ADD(p, 53, 1, DHCP_OFFER, 54, 4, 10, 20, 0, 2);
	if (!agent_last)
		ADD(p, 82, 5, 1, 3, 'b', 'r', '0');
	ADD(p, 51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255, 0);
	if (agent_last)
		ADD(p, 82, 5, 1, 3, 'b', 'r', '0');
	ADD(p, 255);
}

static void test_relay_strip(void **state)
{
	struct pkt p, orig;
	int n;
	uint32_t lease;

	/* last, in a packet under 300 octets: it keeps its length (the
	 * nearer to 300 the better), End moves up, zeros after it */
	server_reply(&p, true);
	assert_int_equal(p.n, 269);
	n = dhcp_relay_strip_agent_info(p.b, p.n);
	assert_int_equal(n, 269);
	assert_int_equal(p.b[261], 255);
	for (int i = 262; i < 269; i++)
		assert_int_equal(p.b[i], 0);
	assert_int_equal(dhcp_parse(p.b, (size_t)n, &msg), 0);
	assert_false(dhcp_has(&msg, DHCP_OPT_AGENT_INFO));
	assert_int_equal(dhcp_opt_u32(&msg, DHCP_OPT_LEASE_TIME, &lease), 0);
	assert_int_equal(lease, 3600);

	/* in the middle of a 300-octet packet: the rest slides down, the
	 * length stays 300 with zeros */
	server_reply(&p, false);
	p.n = 300;
	n = dhcp_relay_strip_agent_info(p.b, p.n);
	assert_int_equal(n, 300);
	assert_bytes(p.b + 240, 53, 1, 2, 54, 4, 10, 20, 0, 2, 51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255,
		     0, 255);
	for (int i = 262; i < 300; i++)
		assert_int_equal(p.b[i], 0);
	assert_int_equal(dhcp_parse(p.b, (size_t)n, &msg), 0);
	assert_int_equal(msg.type, DHCP_OFFER);

	/* a long reply shrinks */
	server_reply(&p, false);
	p.n = 400;
	assert_int_equal(dhcp_relay_strip_agent_info(p.b, p.n), 300);

	/* several instances (RFC 3396), no End */
	start(&p, DHCP_BOOTREPLY, 1, 6);
	ADD(&p, 82, 2, 1, 0, 53, 1, DHCP_ACK, 82, 2, 2, 0);
	assert_int_equal(p.n, 251);
	n = dhcp_relay_strip_agent_info(p.b, p.n);
	assert_int_equal(n, 251);
	assert_bytes(p.b + 240, 53, 1, DHCP_ACK, 255, 0, 0, 0, 0, 0, 0, 0);

	/* none: unchanged */
	server_reply(&p, false);
	p.b[240 + 9] = 43; /* the 82 becomes a 43 */
	orig = p;
	assert_int_equal(dhcp_relay_strip_agent_info(p.b, p.n), (int)p.n);
	assert_memory_equal(p.b, orig.b, p.n);

	/* in an overloaded 'file': Pad in its place, the length stays */
	start(&p, DHCP_BOOTREPLY, 1, 6);
	ADD(&p, 53, 1, DHCP_ACK, 52, 1, 1, 255);
	PUT(p.b + DHCP_FILE_OFF, 43, 1, 'a', 82, 3, 1, 1, 'x', 43, 1, 'b', 255);
	n = dhcp_relay_strip_agent_info(p.b, p.n);
	assert_int_equal(n, (int)p.n);
	assert_bytes(p.b + DHCP_FILE_OFF, 43, 1, 'a', 0, 0, 0, 0, 0, 43, 1, 'b', 255);
	assert_int_equal(dhcp_parse(p.b, (size_t)n, &msg), 0);
	assert_false(dhcp_has(&msg, DHCP_OPT_AGENT_INFO));
	size_t len;
	assert_memory_equal(dhcp_opt(&msg, 43, &len), "ab", 2);

	/* malformed: refused, untouched */
	start(&p, DHCP_BOOTREPLY, 1, 6);
	ADD(&p, 82, 2, 1, 0, 43, 5, 1);
	orig = p;
	assert_int_equal(dhcp_relay_strip_agent_info(p.b, p.n), -EINVAL);
	assert_memory_equal(p.b, orig.b, p.n);
	assert_int_equal(dhcp_relay_strip_agent_info(p.b, 100), -EINVAL);
}

/* The whole relay path: insert on the way up, the server echoes, strip on
 * the way down. */
static void test_relay_round_trip(void **state)
{
	struct pkt p;
	struct dhcp_agent_opts ai = {"lan2", 4, NULL, 0, NULL};
	int n;

	make(&p, udhcpc_head, udhcpc_discover, sizeof(udhcpc_discover) - 1, 300);
	assert_int_equal(dhcp_relay_request(p.b, p.n, ip("10.30.0.1"), 4), 0);
	n = dhcp_relay_add_agent_info(p.b, p.n, sizeof(p.b), &ai);
	assert_true(n > 0);
	assert_int_equal(dhcp_parse(p.b, (size_t)n, &msg), 0);
	assert_int_equal(dhcp_reply_init(&rep, out, sizeof(out), &msg, DHCP_OFFER), 0);
	rep.yiaddr = ip("10.30.0.50");
	dhcp_reply_addr(&rep, DHCP_OPT_SERVER_ID, ip("10.20.0.2"));
	dhcp_reply_u32(&rep, DHCP_OPT_LEASE_TIME, 600);
	assert_int_equal(dhcp_reply_echo_agent_info(&rep), 0);
	n = dhcp_reply_finish(&rep);
	assert_true(n >= 300);
	assert_int_equal(dhcp_parse(out, (size_t)n, &back), 0);
	assert_int_equal(back.giaddr.s_addr, ip("10.30.0.1").s_addr);
	const uint8_t *codes;
	size_t nc = dhcp_opt_codes(&back, &codes);
	assert_int_equal(codes[nc - 1], DHCP_OPT_AGENT_INFO);
	n = dhcp_relay_strip_agent_info(out, (size_t)n);
	assert_int_equal(n, 300);
	assert_int_equal(dhcp_parse(out, (size_t)n, &back), 0);
	assert_false(dhcp_has(&back, DHCP_OPT_AGENT_INFO));
	assert_int_equal(back.yiaddr.s_addr, ip("10.30.0.50").s_addr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dhclient_discover),
		cmocka_unit_test(test_udhcpc_discover),
		cmocka_unit_test(test_windows_request),
		cmocka_unit_test(test_typed_getters),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_fqdn),
		cmocka_unit_test(test_fqdn_too_long),
		cmocka_unit_test(test_concatenation),
		cmocka_unit_test(test_overload_file_then_sname),
		cmocka_unit_test(test_overload_no_loop),
		cmocka_unit_test(test_overload_invalid),
		cmocka_unit_test(test_end_handling),
		cmocka_unit_test(test_drop_header),
		cmocka_unit_test(test_drop_option_lengths),
		cmocka_unit_test(test_drop_msg_type),
		cmocka_unit_test(test_drop_too_big),
		cmocka_unit_test(test_drop_agent_info),
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_prl_huge),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_max_size_cut),
		cmocka_unit_test(test_reply_header),
		cmocka_unit_test(test_reply_order),
		cmocka_unit_test(test_reply_padding),
		cmocka_unit_test(test_reply_split_long),
		cmocka_unit_test(test_reply_fit),
		cmocka_unit_test(test_reply_opt_rules),
		cmocka_unit_test(test_agent_info_getters),
		cmocka_unit_test(test_routes_rfc3442),
		cmocka_unit_test(test_fqdn_encode),
		cmocka_unit_test(test_relay_request),
		cmocka_unit_test(test_relay_insert),
		cmocka_unit_test(test_relay_strip),
		cmocka_unit_test(test_relay_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
