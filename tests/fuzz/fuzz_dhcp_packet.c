/* fuzz_dhcp_packet.c — libFuzzer target: arbitrary bytes as one UDP payload
 * on port 67. Every message is parsed; one that parses is read through
 * every getter, answered with a reply built from it (which must be 300..limit
 * octets, ordered as promised and parse back to the same options), and
 * taken through the relay's insert/strip round trip (which must leave the
 * other options as they were). Raw relay helpers and encoders get every
 * input, parsed or not. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp_packet.h"

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static struct dhcp_msg req, back, relayed;
static struct dhcp_reply rep;
static uint8_t out[1500];
static uint8_t copy[4096 + 600];

static uint64_t sink; /* what the getters give is used, so ASan checks it */

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		sink += b[i];
}

static void exercise_getters(const struct dhcp_msg *m)
{
	const uint8_t *codes, *prl, *d;
	size_t n = dhcp_opt_codes(m, &codes), len, total = 0;
	struct in_addr addrs[4], a;
	uint32_t seen[8] = {0};
	char name[DHCP_NAME_MAX + 1];
	struct dhcp_fqdn f;
	struct dhcp_route routes[8];

	CHECK(n <= 254);
	for (size_t i = 0; i < n; i++) {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;

		CHECK(codes[i] != DHCP_OPT_PAD && codes[i] != DHCP_OPT_END && dhcp_has(m, codes[i]));
		d = dhcp_opt(m, codes[i], &len);
		CHECK(d != NULL);
		touch(d, len);
		total += len;
		CHECK(dhcp_opt_u8(m, codes[i], &u8) == (len == 1 ? 0 : -EINVAL));
		CHECK(dhcp_opt_u16(m, codes[i], &u16) == (len == 2 ? 0 : -EINVAL));
		CHECK(dhcp_opt_u32(m, codes[i], &u32) == (len == 4 ? 0 : -EINVAL));
		CHECK(dhcp_opt_addr(m, codes[i], &a) == (len == 4 ? 0 : -EINVAL));
		int k = dhcp_opt_addrs(m, codes[i], addrs, 4);
		CHECK(k == ((len && len % 4 == 0) ? (int)(len / 4) : -EINVAL));
	}
	CHECK(total <= DHCP_OPT_DATA_MAX);

	size_t nprl = dhcp_prl(m, &prl);
	CHECK(nprl <= DHCP_PRL_MAX);
	for (size_t i = 0; i < nprl; i++) {
		CHECK(prl[i] != 0 && prl[i] != 255);
		CHECK(!((seen[prl[i] >> 5] >> (prl[i] & 31)) & 1)); /* each once */
		seen[prl[i] >> 5] |= 1u << (prl[i] & 31);
		CHECK(dhcp_prl_has(m, prl[i]));
	}
	uint16_t mms = dhcp_max_msg_size(m);
	CHECK(mms == 0 || mms >= DHCP_MIN_MAX_SIZE);
	d = dhcp_client_id(m, &len);
	CHECK(d == NULL || len >= 2);
	int r = dhcp_hostname(m, name, sizeof(name));
	CHECK(r < 0 || (size_t)r == strlen(name));
	r = dhcp_client_fqdn(m, &f);
	CHECK(r < 0 || strlen(f.name) <= DHCP_NAME_MAX);
	CHECK(r == 0 || f.name[0] == 0);
	sink += (uint64_t)dhcp_requested_addr(m, &a) + (uint64_t)dhcp_server_id(m, &a);
	for (uint8_t sub = 1; sub <= 5; sub++) {
		d = dhcp_agent_sub(m, sub, &len);
		if (d)
			touch(d, len);
	}
	if (dhcp_link_selection(m, &a) == 0)
		sink += a.s_addr;
	d = dhcp_opt(m, DHCP_OPT_CLASSLESS_ROUTES, &len);
	if (d) {
		int nr = dhcp_routes_decode(d, len, routes, 8);
		for (int i = 0; i < nr && i < 8; i++)
			CHECK(routes[i].prefix <= 32);
	}
	sink += (uint64_t)strlen(dhcp_type_name(m->type));
}

/* The synthetic value the server gives option CODE: its length depends on
 * the code so that some options are long (split) and some do not fit. */
static size_t value_for(uint8_t code, uint8_t *buf)
{
	size_t len = (size_t)(code * 37u) % 320;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(code + i);
	return len;
}

static bool in_set(const uint32_t *set, uint8_t c)
{
	return (set[c >> 5] >> (c & 31)) & 1;
}

static bool mandatory(uint8_t c)
{
	return c == DHCP_OPT_MSG_TYPE || c == DHCP_OPT_SERVER_ID || c == DHCP_OPT_LEASE_TIME ||
	       c == DHCP_OPT_AGENT_INFO;
}

/* The order dhcp_reply_finish() promises: 53, 54, the requested ones in the
 * client's order, the others, 82 last. */
static void check_order(const struct dhcp_msg *m, const struct dhcp_msg *r, bool echoed)
{
	const uint8_t *codes, *prl;
	size_t n = dhcp_opt_codes(r, &codes), nprl = dhcp_prl(m, &prl), next_prl = 0;
	bool unrequested_seen = false;

	CHECK(n >= 1 && codes[0] == DHCP_OPT_MSG_TYPE);
	if (dhcp_has(r, DHCP_OPT_SERVER_ID))
		CHECK(n >= 2 && codes[1] == DHCP_OPT_SERVER_ID);
	if (echoed)
		CHECK(codes[n - 1] == DHCP_OPT_AGENT_INFO);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = codes[i];

		if (c == DHCP_OPT_MSG_TYPE || c == DHCP_OPT_SERVER_ID || c == DHCP_OPT_AGENT_INFO)
			continue;
		if (!dhcp_prl_has(m, c)) {
			unrequested_seen = true;
			continue;
		}
		CHECK(!unrequested_seen);
		while (next_prl < nprl && prl[next_prl] != c)
			next_prl++;
		CHECK(next_prl < nprl); /* found later in the client's list: order kept */
	}
}

static void build_reply(const struct dhcp_msg *m, uint8_t selector)
{
	static const uint8_t types[] = {DHCP_OFFER, DHCP_ACK, DHCP_NAK};
	uint8_t type = types[selector % 3];
	uint8_t val[320];
	uint32_t added[8] = {0};
	struct in_addr sid = {htonl(0x0a140002)};
	const uint8_t *prl;
	size_t nprl = dhcp_prl(m, &prl), nadded = 0;

	CHECK(dhcp_reply_init(&rep, out, sizeof(out), m, type) == 0);
	CHECK(rep.limit >= DHCP_DEFAULT_LIMIT && rep.limit <= sizeof(out));
	if (selector & 4)
		rep.limit -= selector % 200; /* a caller's lower bound (an MTU) */
	rep.yiaddr.s_addr = htonl(0x0a1e0032);
	CHECK(dhcp_reply_addr(&rep, DHCP_OPT_SERVER_ID, sid) == 0);
	if (type != DHCP_NAK)
		CHECK(dhcp_reply_u32(&rep, DHCP_OPT_LEASE_TIME, 3600) == 0);
	/* unrequested ones the server always sends, then what was asked */
	static const uint8_t always[] = {1, 3, 6, 58, 59};
	for (size_t i = 0; i < sizeof(always); i++)
		if (dhcp_reply_opt(&rep, always[i], val, value_for(always[i], val)) == 0)
			added[always[i] >> 5] |= 1u << (always[i] & 31), nadded++;
	for (size_t i = 0; i < nprl; i++) {
		if (mandatory(prl[i]) || in_set(added, prl[i]))
			continue;
		if (dhcp_reply_opt(&rep, prl[i], val, value_for(prl[i], val)) == 0)
			added[prl[i] >> 5] |= 1u << (prl[i] & 31), nadded++;
	}
	/* option 81 back with the client's name, as a server would */
	struct dhcp_fqdn f;
	uint8_t fq[300];
	if (dhcp_client_fqdn(m, &f) == 0) {
		int n = dhcp_fqdn_encode(f.flags | DHCP_FQDN_O, f.name, f.qualified, fq, sizeof(fq));
		CHECK(n >= 3 || n == -EINVAL);
		if (n > 0 && dhcp_reply_opt(&rep, DHCP_OPT_CLIENT_FQDN, fq, (size_t)n) == 0 &&
		    !in_set(added, DHCP_OPT_CLIENT_FQDN))
			added[DHCP_OPT_CLIENT_FQDN >> 5] |= 1u << (DHCP_OPT_CLIENT_FQDN & 31), nadded++;
	}
	int e = dhcp_reply_echo_agent_info(&rep);
	bool echoed = e == 0;
	CHECK(dhcp_has(m, DHCP_OPT_AGENT_INFO) ? (e == 0 || e == -ENOSPC) : e == -ENOENT);

	size_t lowered = rep.limit, refused = rep.dropped; /* -ENOSPC so far */
	int len = dhcp_reply_finish(&rep);
	if (len == -EMSGSIZE)
		return; /* an echoed 82 too large for the client's size: fair */
	CHECK(len >= DHCP_MIN_LEN && (size_t)len <= lowered);
	CHECK(dhcp_parse(out, (size_t)len, &back) == 0);
	CHECK(back.op == DHCP_BOOTREPLY && back.type == type && back.xid == m->xid);
	CHECK(back.htype == m->htype && back.hlen == m->hlen && back.hops == 0 && back.secs == 0);
	CHECK(memcmp(back.chaddr, m->chaddr, DHCP_CHADDR_LEN) == 0);
	CHECK(back.giaddr.s_addr == m->giaddr.s_addr);
	CHECK(dhcp_has(&back, DHCP_OPT_SERVER_ID));
	check_order(m, &back, echoed);

	/* what went out is what was given; what did not was counted */
	size_t missing = 0;
	for (unsigned c = 1; c < 255; c++) {
		size_t l1, l2;
		const uint8_t *d2 = dhcp_opt(&back, (uint8_t)c, &l2);

		if (!in_set(added, (uint8_t)c)) {
			CHECK(d2 == NULL || mandatory((uint8_t)c));
			continue;
		}
		if (!d2) {
			missing++;
			continue;
		}
		const uint8_t *d1 = rep.data + rep.opt[c].off;
		l1 = rep.opt[c].len;
		CHECK(l1 == l2 && memcmp(d1, d2, l1) == 0);
	}
	CHECK(missing == rep.dropped - refused);
	if (echoed) {
		size_t l1, l2;
		const uint8_t *d1 = dhcp_opt(m, DHCP_OPT_AGENT_INFO, &l1);
		const uint8_t *d2 = dhcp_opt(&back, DHCP_OPT_AGENT_INFO, &l2);
		CHECK(d2 && l1 == l2 && memcmp(d1, d2, l1) == 0);
	}
	(void)nadded;
}

/* Same options, apart from 82. */
static void check_same_options(const struct dhcp_msg *a, const struct dhcp_msg *b)
{
	for (unsigned c = 1; c < 255; c++) {
		size_t la, lb;
		const uint8_t *da, *db;

		if (c == DHCP_OPT_AGENT_INFO)
			continue;
		da = dhcp_opt(a, (uint8_t)c, &la);
		db = dhcp_opt(b, (uint8_t)c, &lb);
		CHECK((da == NULL) == (db == NULL));
		CHECK(la == lb && (la == 0 || memcmp(da, db, la) == 0));
	}
}

/* Insert 82 as the relay would, check, strip it again, check. */
static void relay_round_trip(const uint8_t *data, size_t size, const struct dhcp_msg *m, bool parsed)
{
	static const char circuit[] = "br-guest";
	static const char remote[] = "gw1";
	struct in_addr link = {htonl(0x0a1e0000)};
	struct dhcp_agent_opts ai = {circuit, 8, remote, (size_t)(size % 4), (size & 1) ? &link : NULL};
	size_t max = size + (size % 64);
	bool had = dhcp_pkt_has_agent_info(data, size);

	if (size > sizeof(copy) - 64)
		return;
	memcpy(copy, data, size);
	if (parsed)
		CHECK(had == dhcp_has(m, DHCP_OPT_AGENT_INFO));
	int n = dhcp_relay_add_agent_info(copy, size, max, &ai);
	if (n < 0) {
		CHECK(memcmp(copy, data, size) == 0); /* untouched on failure */
		CHECK(n == -EINVAL || n == -EEXIST || n == -EMSGSIZE);
		CHECK(!(n == -EEXIST) || had);
		if (had && parsed) {
			/* strip the client's own 82 */
			n = dhcp_relay_strip_agent_info(copy, size);
			CHECK(n > 0 && (size_t)n <= size);
			CHECK(!dhcp_pkt_has_agent_info(copy, (size_t)n));
			int r = dhcp_parse(copy, (size_t)n, &relayed);
			CHECK(r == 0);
			check_same_options(m, &relayed);
		}
		return;
	}
	CHECK(!had && (size_t)n <= max && (size_t)n >= size);
	CHECK(dhcp_pkt_has_agent_info(copy, (size_t)n));
	if (parsed) {
		int r = dhcp_parse(copy, (size_t)n, &relayed);
		CHECK(r == 0 || r == -DHCP_DROP_TOO_BIG);
		if (r == 0) {
			size_t len;
			const uint8_t *d = dhcp_agent_sub(&relayed, DHCP_AGENT_CIRCUIT_ID, &len);
			CHECK(d && len == 8 && memcmp(d, circuit, 8) == 0);
			check_same_options(m, &relayed);
		}
	}
	int s = dhcp_relay_strip_agent_info(copy, (size_t)n);
	CHECK(s > 0 && s <= n);
	CHECK(s >= (n < DHCP_MIN_LEN ? n : DHCP_MIN_LEN));
	CHECK(!dhcp_pkt_has_agent_info(copy, (size_t)s));
	if (parsed) {
		CHECK(dhcp_parse(copy, (size_t)s, &relayed) == 0);
		check_same_options(m, &relayed);
	}
}

/* The encoders, on the same bytes read as strings. */
static void exercise_encoders(const uint8_t *data, size_t size)
{
	char text[300];
	uint8_t buf[512];
	struct dhcp_route routes[8];

	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = 0;
	int r = dhcp_fqdn_encode(DHCP_FQDN_E, text, size & 1, buf, sizeof(buf));
	CHECK(r < 0 || r <= 3 + 255);
	r = dhcp_routes_decode(data, size, routes, 8);
	if (r > 0) {
		int e = dhcp_routes_encode(routes, r < 8 ? (size_t)r : 8, buf, sizeof(buf));
		CHECK(e > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int r = dhcp_parse(data, size, &req);

	CHECK(r == 0 || (r < 0 && r > -DHCP_DROP_COUNT));
	CHECK(strcmp(dhcp_drop_name(r), "unknown") != 0 || r == 0);
	if (r == 0) {
		CHECK(req.type >= DHCP_DISCOVER && req.type <= DHCP_INFORM && req.hlen <= DHCP_CHADDR_LEN);
		exercise_getters(&req);
		build_reply(&req, size > 0 ? data[size - 1] : 0);
	}
	relay_round_trip(data, size, &req, r == 0);
	if (size >= DHCP_HDR_LEN && size <= sizeof(copy)) {
		memcpy(copy, data, size);
		r = dhcp_relay_request(copy, size, (struct in_addr){htonl(0x0a1e0001)}, size % 20);
		CHECK(r == 0 || r == -ELOOP);
		CHECK(r != 0 || copy[3] == (uint8_t)(data[3] + 1));
	}
	exercise_encoders(data, size);
	return 0;
}
