/* test_dns_hints.c — root hints: the named.root format IANA publishes
 * (with lab addresses from 198.18.0.0/15, never the real ones), what is
 * kept and dropped, every error with its PATH:LINE text, the file limits
 * of dns_hints_load, and the built-in IANA list (data only: nothing here
 * sends a packet). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns_hints.h"

/* ---- helpers ---- */

static struct dns_hints parse_ok(const char *text)
{
	struct dns_hints h;
	char err[512] = "untouched";
	int rc = dns_hints_parse(text, strlen(text), "t.hints", &h, err, sizeof(err));

	if (rc != 0)
		print_error("unexpected error %d: %s\n", rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	return h;
}

static void parse_fail(const char *text, const char *want)
{
	struct dns_hints h = {.n = 99};
	char err[512] = "";

	assert_int_equal(dns_hints_parse(text, strlen(text), "t.hints", &h, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	assert_null(h.v);
	assert_int_equal(h.n, 0);
}

static void assert_hint(const struct dns_hints *h, size_t i, const char *name, const char *addr)
{
	char text[DNS_NAME_TEXT_MAX], buf[INET_ADDRSTRLEN];

	assert_true(i < h->n);
	dns_name_to_text(&h->v[i].name, text);
	assert_string_equal(text, name);
	assert_string_equal(inet_ntop(AF_INET, &h->v[i].addr, buf, sizeof(buf)), addr);
}

/* ---- the named.root format ---- */

/* As IANA writes it (https://www.internic.net/domain/named.root), three
 * servers, lab addresses. */
static const char named_root[] = ";       This file holds the information on root name servers needed to\n"
				 ";       initialize cache of Internet domain name servers\n"
				 ";       (e.g. reference this file in the \"cache  .  <file>\"\n"
				 ";       configuration file of BIND domain name servers).\n"
				 ";\n"
				 ";       last update:     January 01, 2024\n"
				 ";       related version of root zone:     2024010101\n"
				 ";\n"
				 "; FORMERLY NS.INTERNIC.NET\n"
				 ";\n"
				 ".                        3600000      NS    A.ROOT-SERVERS.NET.\n"
				 "A.ROOT-SERVERS.NET.      3600000      A     198.18.0.1\n"
				 "A.ROOT-SERVERS.NET.      3600000      AAAA  2001:db8::1\n"
				 ";\n"
				 "; FORMERLY NS1.ISI.EDU\n"
				 ";\n"
				 ".                        3600000      NS    B.ROOT-SERVERS.NET.\n"
				 "B.ROOT-SERVERS.NET.      3600000      A     198.18.0.2\n"
				 "B.ROOT-SERVERS.NET.      3600000      AAAA  2001:db8::2\n"
				 ";\n"
				 "; OPERATED BY WIDE\n"
				 ";\n"
				 ".                        3600000      NS    M.ROOT-SERVERS.NET.\n"
				 "M.ROOT-SERVERS.NET.      3600000      A     198.19.255.13\n"
				 "M.ROOT-SERVERS.NET.      3600000      AAAA  2001:db8::35\n"
				 "; End of file\n";

static void test_named_root(void **state)
{
	struct dns_hints h = parse_ok(named_root);

	assert_int_equal(h.n, 3);
	/* names are stored lower-case, in file order of the A lines */
	assert_hint(&h, 0, "a.root-servers.net.", "198.18.0.1");
	assert_hint(&h, 1, "b.root-servers.net.", "198.18.0.2");
	assert_hint(&h, 2, "m.root-servers.net.", "198.19.255.13");
	assert_int_equal(h.v[0].name.labels, 3);
	dns_hints_free(&h);
	assert_null(h.v);
	assert_int_equal(h.n, 0);
	dns_hints_free(&h); /* twice is harmless */
}

/* TTL and class are optional, in either order (RFC 1035 5.1); types and
 * classes are case-insensitive; a line starting with a blank repeats the
 * owner; CRLF, tabs and comments after the data are fine; $TTL is ignored. */
static void test_syntax_variants(void **state)
{
	struct dns_hints h = parse_ok("$TTL 518400\r\n"
				      "\r\n"
				      ". NS ns1.lab.\n"
				      ".\tin\t3600\tns\tNS2.Lab.   ; the second\n"
				      ". 3600 IN NS ns3.lab.\n"
				      ". IN NS ns4.lab.\n"
				      "ns1.lab. A 198.18.1.1\n"
				      "NS2.LAB. 60 IN a 198.18.1.2\n"
				      "\tIN 60 A 198.18.1.22\n"
				      "ns3.lab.\tIN\tA\t198.18.1.3\r\n"
				      "   ; only a comment\n"
				      "ns4.lab. 0 A 198.18.1.4");
	assert_int_equal(h.n, 5);
	assert_hint(&h, 0, "ns1.lab.", "198.18.1.1");
	assert_hint(&h, 1, "ns2.lab.", "198.18.1.2");
	assert_hint(&h, 2, "ns2.lab.", "198.18.1.22");
	assert_hint(&h, 3, "ns3.lab.", "198.18.1.3");
	assert_hint(&h, 4, "ns4.lab.", "198.18.1.4");
	dns_hints_free(&h);
}

/* A lines may come before the NS lines naming them. */
static void test_order(void **state)
{
	struct dns_hints h = parse_ok("ns1.lab. A 198.18.1.1\n. NS ns1.lab.\n");

	assert_int_equal(h.n, 1);
	assert_hint(&h, 0, "ns1.lab.", "198.18.1.1");
	dns_hints_free(&h);
}

/* Only the root's NS names with an A line are kept: AAAA-only servers, NS
 * names without addresses and addresses of other names are dropped;
 * duplicates are merged. */
static void test_kept_and_dropped(void **state)
{
	struct dns_hints h = parse_ok(". NS ns1.lab.\n"
				      ". NS ns2.lab.\n" /* AAAA only */
				      ". NS ns3.lab.\n" /* no address at all */
				      ". NS NS1.LAB.\n" /* the same name again */
				      "ns1.lab. A 198.18.1.1\n"
				      "ns1.lab. A 198.18.1.1\n" /* the same record again */
				      "Ns1.Lab. A 198.18.1.1\n"
				      "ns2.lab. AAAA 2001:db8::2\n"
				      "other.lab. A 198.18.9.9\n"
				      "ns1.lab. A 198.18.1.11\n");
	assert_int_equal(h.n, 2);
	assert_hint(&h, 0, "ns1.lab.", "198.18.1.1");
	assert_hint(&h, 1, "ns1.lab.", "198.18.1.11");
	dns_hints_free(&h);
}

/* At most DNS_HINTS_MAX servers are kept: the first ones. */
static void test_cap(void **state)
{
	char *text = malloc(200 * 64);
	size_t len = 0;
	struct dns_hints h;

	assert_non_null(text);
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(text + len, ". NS s%d.lab.\ns%d.lab. A 198.18.%d.%d\n", i, i, i / 250,
				       i % 250 + 1);
	h = parse_ok(text);
	assert_int_equal(h.n, DNS_HINTS_MAX);
	assert_hint(&h, 0, "s0.lab.", "198.18.0.1");
	assert_hint(&h, DNS_HINTS_MAX - 1, "s63.lab.", "198.18.0.64");
	dns_hints_free(&h);
	free(text);
}

/* ---- errors ---- */

static void test_no_server(void **state)
{
	parse_fail("", "t.hints: no root server with an IPv4 address");
	parse_fail("; nothing\n\n", "t.hints: no root server with an IPv4 address");
	parse_fail(". NS ns1.lab.\nns1.lab. AAAA 2001:db8::1\n",
		   "t.hints: no root server with an IPv4 address");
	parse_fail(". NS ns1.lab.\n", "t.hints: no root server with an IPv4 address");
	parse_fail("ns1.lab. A 198.18.1.1\n", "t.hints: no root server with an IPv4 address");
}

static void test_bad_type(void **state)
{
	parse_fail(". NS ns1.lab.\nns1.lab. A 198.18.1.1\nlab. MX 10 mail.lab.\n",
		   "t.hints:3: type \"MX\" has no place in a hints file (NS, A or AAAA)");
	parse_fail(". 3600 IN SOA a. b. 1 2 3 4 5\n",
		   "t.hints:1: too many fields (OWNER [TTL] [IN] TYPE DATA)");
	parse_fail(". SOA a.\n", "t.hints:1: type \"SOA\" has no place in a hints file (NS, A or AAAA)");
	parse_fail(". 3600 IN\n", "t.hints:1: no type (NS, A or AAAA)");
	parse_fail(".\n", "t.hints:1: no type (NS, A or AAAA)");
	parse_fail(". NS\n", "t.hints:1: NS: no data");
	parse_fail("a. A\n", "t.hints:1: A: no data");
	parse_fail(". NS a. b.\n", "t.hints:1: \"b.\": unexpected after the data");
	parse_fail("lab. NS ns1.lab.\n", "t.hints:1: NS for a name other than the root \".\": a hints file "
					 "names the root's servers only");
}

static void test_ttl_class(void **state)
{
	parse_fail(". CH NS a.\n", "t.hints:1: class CH: the root servers are class IN");
	parse_fail(". IN IN NS a.\n", "t.hints:1: a second class \"IN\"");
	parse_fail(". 1 2 NS a.\n", "t.hints:1: a second TTL \"2\"");
	parse_fail(". 2147483648 NS a.\n", "t.hints:1: TTL 2147483648 is out of range (at most 2147483647)");
	/* a long number is not read to its end, and not quoted whole */
	parse_fail(". 99999999999999999999999 NS a.\n",
		   "t.hints:1: TTL 99999999999999999999 is out of range (at most 2147483647)");
	parse_fail("$TTL\n", "t.hints:1: $TTL: expected one number");
	parse_fail("$TTL 1h\n", "t.hints:1: $TTL: expected one number");
	parse_fail("$ORIGIN lab.\n", "t.hints:1: $ORIGIN: only $TTL is understood in a hints file");
	parse_fail("$INCLUDE /etc/passwd\n", "t.hints:1: $INCLUDE: only $TTL is understood in a hints file");
}

static void test_names(void **state)
{
	parse_fail(
		". NS ns1.lab.\nns1.lab A 198.18.1.1\n",
		"t.hints:2: \"ns1.lab\" is a relative name (a hints file has no $ORIGIN: end it with a dot)");
	parse_fail(
		". NS ns1.lab\n",
		"t.hints:1: \"ns1.lab\" is a relative name (a hints file has no $ORIGIN: end it with a dot)");
	/* an escaped final dot is part of the label */
	parse_fail(
		". NS ns1\\.\n",
		"t.hints:1: \"ns1\\.\" is a relative name (a hints file has no $ORIGIN: end it with a dot)");
	parse_fail("@ NS ns1.lab.\n",
		   "t.hints:1: \"@\" is a relative name (a hints file has no $ORIGIN: end it with a dot)");
	parse_fail(". NS a..lab.\n", "t.hints:1: \"a..lab.\" is not a domain name");
	parse_fail(
		". NS "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lab.\n",
		"t.hints:1: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lab.\" is not a "
		"domain name");
	/* a blank first: the owner of the line before, and there is none */
	parse_fail("  NS a.\n",
		   "t.hints:1: no owner name (the line starts with a blank, and no line before named one)");
}

static void test_bad_address(void **state)
{
	parse_fail(". NS a.\na. A 198.18.1.300\n", "t.hints:2: \"198.18.1.300\" is not an IPv4 address");
	parse_fail(". NS a.\na. A 198.18.1\n", "t.hints:2: \"198.18.1\" is not an IPv4 address");
	parse_fail(". NS a.\na. A 2001:db8::1\n", "t.hints:2: \"2001:db8::1\" is not an IPv4 address");
	parse_fail(". NS a.\na. AAAA 198.18.1.1\n", "t.hints:2: \"198.18.1.1\" is not an IPv6 address");
	parse_fail(". NS a.\na. AAAA 2001:db8::1::2\n",
		   "t.hints:2: \"2001:db8::1::2\" is not an IPv6 address");
	/* what the file holds is quoted in printable ASCII only */
	parse_fail(". NS a.\na. A 198.18.\x1b[31m\xc3\xa9\n",
		   "t.hints:2: \"198.18.?[31m??\" is not an IPv4 address");
}

static void test_hostile_text(void **state)
{
	static const char nul[] = ". NS a.\na. A 198.18.1.1\nb.\0 A 198.18.1.2\n";
	char *line = malloc(DNS_HINTS_LINE_MAX + 64);
	struct dns_hints h;
	char err[512];

	assert_non_null(line);
	assert_int_equal(dns_hints_parse(nul, sizeof(nul) - 1, "t.hints", &h, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.hints:3: NUL byte (a hints file is text)");

	/* a line of exactly the limit is read; one more byte is refused */
	memset(line, ' ', DNS_HINTS_LINE_MAX);
	memcpy(line, ". NS a.", 7);
	strcpy(line + DNS_HINTS_LINE_MAX, "\na. A 198.18.1.1\n");
	h = parse_ok(line);
	assert_int_equal(h.n, 1);
	dns_hints_free(&h);
	memset(line, ' ', DNS_HINTS_LINE_MAX + 1);
	memcpy(line, ". NS a.", 7);
	strcpy(line + DNS_HINTS_LINE_MAX + 1, "\na. A 198.18.1.1\n");
	parse_fail(line, "t.hints:1: line longer than 4096 bytes");
	free(line);

	/* no ERR room: still the right result */
	assert_int_equal(dns_hints_parse("x", 1, "t.hints", &h, NULL, 0), -EINVAL);
}

/* Pseudo-random bytes and mutated hint files: errors, never a crash (run
 * this under the sanitizers). */
static void test_garbage(void **state)
{
	static const char alphabet[] = ". \t\n;\\$0123456789aAnNsS:-IN";
	uint32_t x = 12345;
	char buf[300], err[256];
	struct dns_hints h;

	for (int round = 0; round < 20000; round++) {
		size_t len = round % 300;

		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = round % 2 ? (char)(x >> 16) : alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		if (dns_hints_parse(buf, len, "t", &h, err, sizeof(err)) == 0) {
			assert_true(h.n > 0 && h.n <= DNS_HINTS_MAX);
			dns_hints_free(&h);
		} else {
			assert_null(h.v);
			assert_true(strncmp(err, "t:", 2) == 0);
		}
	}
}

/* ---- files ---- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/test_dns_hints.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_load(void **state)
{
	const char *path = write_file("named.root", named_root, strlen(named_root));
	char err[512] = "untouched", want[512];
	struct dns_hints h;

	assert_int_equal(dns_hints_load(path, &h, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(h.n, 3);
	assert_hint(&h, 2, "m.root-servers.net.", "198.19.255.13");
	dns_hints_free(&h);

	path = write_file("bad.hints", ". NS a.\na. A 1.2.3\n", 19);
	assert_int_equal(dns_hints_load(path, &h, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: \"1.2.3\" is not an IPv4 address", path);
	assert_string_equal(err, want);
	assert_null(h.v);
}

static void test_load_errors(void **state)
{
	char err[512], want[512], path[128];
	struct dns_hints h = {.n = 7};

	snprintf(path, sizeof(path), "%s/missing.hints", tmpdir);
	assert_int_equal(dns_hints_load(path, &h, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_null(h.v);
	assert_int_equal(h.n, 0);

	assert_int_equal(dns_hints_load(tmpdir, &h, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* must not block waiting for a writer */
	assert_int_equal(dns_hints_load(path, &h, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	assert_string_equal(err, want);
}

/* DNS_HINTS_FILE_MAX bytes are read; a file of 2 MiB is refused unread. */
static void test_load_size(void **state)
{
	static const char tail[] = ". NS a.\na. A 198.18.1.1\n";
	size_t big = 2u << 20;
	char *text = malloc(big), err[512], want[512];
	const char *path;
	struct dns_hints h;

	assert_non_null(text);
	/* comment lines of 1000 bytes, the servers in the last bytes */
	memset(text, ';', big);
	for (size_t i = 999; i < big; i += 1000)
		text[i] = '\n';
	text[DNS_HINTS_FILE_MAX - sizeof(tail)] = '\n';
	memcpy(text + DNS_HINTS_FILE_MAX - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	path = write_file("max.hints", text, DNS_HINTS_FILE_MAX);
	assert_int_equal(dns_hints_load(path, &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, 1);
	dns_hints_free(&h);

	path = write_file("big.hints", text, DNS_HINTS_FILE_MAX + 1);
	assert_int_equal(dns_hints_load(path, &h, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1 MiB (the limit for a hints file)", path);
	assert_string_equal(err, want);
	assert_null(h.v);

	path = write_file("huge.hints", text, big);
	assert_int_equal(dns_hints_load(path, &h, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1 MiB (the limit for a hints file)", path);
	assert_string_equal(err, want);
	free(text);
}

/* ---- built in ---- */

static void test_builtin(void **state)
{
	struct dns_hints h;
	char text[DNS_NAME_TEXT_MAX], want[32];

	assert_int_equal(dns_hints_builtin(&h), 0);
	assert_int_equal(h.n, 13);
	for (size_t i = 0; i < h.n; i++) {
		snprintf(want, sizeof(want), "%c.root-servers.net.", (char)('a' + i));
		dns_name_to_text(&h.v[i].name, text);
		assert_string_equal(text, want);
		assert_int_equal(h.v[i].name.labels, 3);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(h.v[i].addr.s_addr, h.v[j].addr.s_addr);
	}
	assert_hint(&h, 0, "a.root-servers.net.", "198.41.0.4");
	assert_hint(&h, 1, "b.root-servers.net.", "170.247.170.2");
	assert_hint(&h, 12, "m.root-servers.net.", "202.12.27.33");
	dns_hints_free(&h);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_root),
		cmocka_unit_test(test_syntax_variants),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_kept_and_dropped),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_ttl_class),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_size),
		cmocka_unit_test(test_builtin),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
