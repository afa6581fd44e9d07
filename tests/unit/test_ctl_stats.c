/* test_ctl_stats.c — `homegwctl stats`: answers in, Prometheus text out,
 * byte for byte. */
#include "ctl_stats.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The text ctl_stats_write() writes for the answers JSON. */
static char *render(const char *answers, bool full)
{
	json_error_t err;
	json_t *a = json_loads(answers, 0, &err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!a)
		fail_msg("bad test JSON: %s", err.text);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(ctl_stats_write(f, a, full), 0);
	assert_int_equal(fclose(f), 0);
	json_decref(a);
	return buf;
}

static void expect(const char *answers, bool full, const char *want)
{
	char *got = render(answers, full);

	assert_string_equal(got, want);
	free(got);
}

static void test_status(void **state)
{
	(void)state;
	expect("{\"ok\":true,\"status\":{\"ok\":true,\"version\":\"0.1.0\",\"uptime\":12,"
	       "\"config\":{\"path\":\"/etc/homegw/homegw.conf\",\"loaded_at\":1795234989},"
	       "\"interfaces\":[{\"name\":\"lan\",\"device\":\"br-lan\",\"ifindex\":3,\"present\":true,\"up\":true,"
	       "\"addresses\":[\"192.168.1.1/24\"]},"
	       "{\"name\":\"wan\",\"device\":\"ppp0\",\"ifindex\":0,\"present\":false,\"up\":false,\"addresses\":[]}],"
	       "\"modules\":{\"dhcp\":{\"running\":true,\"summary\":\"2 scopes\"},"
	       "\"dns\":{\"running\":false,\"summary\":\"not configured\"}}}}",
	       true,
	       "# HELP homegw_build_info homegwd `status`: version\n"
	       "# TYPE homegw_build_info gauge\n"
	       "homegw_build_info{version=\"0.1.0\"} 1\n"
	       "# HELP homegw_uptime_seconds homegwd `status`: uptime\n"
	       "# TYPE homegw_uptime_seconds gauge\n"
	       "homegw_uptime_seconds 12\n"
	       "# HELP homegw_config_loaded_timestamp_seconds homegwd `status`: config.loaded_at\n"
	       "# TYPE homegw_config_loaded_timestamp_seconds gauge\n"
	       "homegw_config_loaded_timestamp_seconds 1795234989\n"
	       "# HELP homegw_interfaces homegwd `status`: interfaces\n"
	       "# TYPE homegw_interfaces gauge\n"
	       "homegw_interfaces 2\n"
	       /* grouped per metric although the elements interleave them */
	       "# HELP homegw_interface_present homegwd `status`: interfaces[].present\n"
	       "# TYPE homegw_interface_present gauge\n"
	       "homegw_interface_present{interface=\"lan\",device=\"br-lan\"} 1\n"
	       "homegw_interface_present{interface=\"wan\",device=\"ppp0\"} 0\n"
	       "# HELP homegw_interface_up homegwd `status`: interfaces[].up\n"
	       "# TYPE homegw_interface_up gauge\n"
	       "homegw_interface_up{interface=\"lan\",device=\"br-lan\"} 1\n"
	       "homegw_interface_up{interface=\"wan\",device=\"ppp0\"} 0\n"
	       "# HELP homegw_interface_addresses homegwd `status`: interfaces[].addresses\n"
	       "# TYPE homegw_interface_addresses gauge\n"
	       "homegw_interface_addresses{interface=\"lan\",device=\"br-lan\"} 1\n"
	       "homegw_interface_addresses{interface=\"wan\",device=\"ppp0\"} 0\n"
	       "# HELP homegw_module_running homegwd `status`: modules.*.running\n"
	       "# TYPE homegw_module_running gauge\n"
	       "homegw_module_running{module=\"dhcp\"} 1\n"
	       "homegw_module_running{module=\"dns\"} 0\n");
}

static void test_counters_and_breakdowns(void **state)
{
	(void)state;
	/* messages by type and drops by reason become labels; a field no rule
	 * names ("future") is a counter; the journal's bytes are a gauge, its
	 * records a counter; a module not in the object gives nothing */
	expect("{\"dhcp\":{\"ok\":true,\"scopes\":[{\"scope\":\"lan\",\"pool_size\":151,\"used\":14}],"
	       "\"messages\":{\"discover\":7,\"ack\":5},\"drops\":{\"bad_options\":2},"
	       "\"journal\":{\"records\":9,\"bytes\":4096},\"future\":3}}",
	       false,
	       "homegw_dhcp_scopes 1\n"
	       "homegw_dhcp_scope_pool_size{scope=\"lan\"} 151\n"
	       "homegw_dhcp_scope_used{scope=\"lan\"} 14\n"
	       "homegw_dhcp_messages_total{type=\"discover\"} 7\n"
	       "homegw_dhcp_messages_total{type=\"ack\"} 5\n"
	       "homegw_dhcp_drops_total{reason=\"bad_options\"} 2\n"
	       "homegw_dhcp_journal_records_total 9\n"
	       "homegw_dhcp_journal_bytes 4096\n"
	       "homegw_dhcp_future_total 3\n");
}

static void test_dns_servers_and_escaping(void **state)
{
	(void)state;
	/* label values are escaped: \ " and newline; srtt_ms a gauge among
	 * the servers' counters; a real number keeps its digits */
	expect("{\"dns\":{\"ok\":true,\"answers\":{\"noerror\":10},\"cache\":{\"hits\":4,\"bytes\":100,\"budget\":200},"
	       "\"upstream\":{\"servers\":[{\"address\":\"a\\\"b\\\\c\\nd\",\"srtt_ms\":3,\"queries\":8}]},"
	       "\"ratio\":0.25}}",
	       false,
	       "homegw_dns_answers_total{rcode=\"noerror\"} 10\n"
	       "homegw_dns_cache_hits_total 4\n"
	       "homegw_dns_cache_bytes 100\n"
	       "homegw_dns_cache_budget_bytes 200\n"
	       "homegw_dns_upstream_servers 1\n"
	       "homegw_dns_upstream_server_srtt_ms{address=\"a\\\"b\\\\c\\nd\"} 3\n"
	       "homegw_dns_upstream_server_queries_total{address=\"a\\\"b\\\\c\\nd\"} 8\n"
	       "homegw_dns_ratio_total 0.25\n");
}

static void test_nested_lists(void **state)
{
	(void)state;
	/* labels accumulate down nested lists; a list without a rule gives
	 * only its length (nat forwards); an integer field can be a label */
	expect("{\"igmp\":{\"ok\":true,\"upstream\":\"wan\",\"upstream_present\":true,"
	       "\"links\":[{\"interface\":\"lan\",\"querier\":\"192.168.1.1\",\"groups\":[{\"group\":\"239.1.2.3\","
	       "\"members\":2,\"sources\":[{\"source\":\"198.51.100.9\",\"expires_in\":30}]}]}],"
	       "\"routes\":[{\"source\":\"198.51.100.9\",\"group\":\"239.1.2.3\",\"packets\":5}]},"
	       "\"nat\":{\"ok\":true,\"forwards\":[{\"proto\":\"tcp\",\"ports\":\"80\"}],"
	       "\"mappings\":[{\"proto\":\"udp\",\"internal\":\"192.168.1.20:3478\",\"external_port\":3478,"
	       "\"expires_in\":60,\"via\":\"pcp\"}]}}",
	       false,
	       "homegw_nat_forwards 1\n"
	       "homegw_nat_mappings 1\n"
	       "homegw_nat_mapping_expires_in{proto=\"udp\",internal=\"192.168.1.20:3478\",external_port=\"3478\","
	       "via=\"pcp\"} 60\n"
	       "homegw_igmp_upstream_present 1\n"
	       "homegw_igmp_links 1\n"
	       "homegw_igmp_link_groups{interface=\"lan\"} 1\n"
	       "homegw_igmp_group_members{interface=\"lan\",group=\"239.1.2.3\"} 2\n"
	       "homegw_igmp_group_sources{interface=\"lan\",group=\"239.1.2.3\"} 1\n"
	       "homegw_igmp_group_source_expires_in{interface=\"lan\",group=\"239.1.2.3\",source=\"198.51.100.9\"} 30\n"
	       "homegw_igmp_routes 1\n"
	       "homegw_igmp_route_packets_total{source=\"198.51.100.9\",group=\"239.1.2.3\"} 5\n");
}

static void test_nothing_and_write_error(void **state)
{
	json_t *a = json_loads("{\"status\":{\"ok\":true,\"uptime\":1}}", 0, NULL);
	FILE *full = fopen("/dev/full", "w");

	(void)state;
	expect("{\"ok\":true}", true, "");
	assert_non_null(a);
	assert_non_null(full);
	setvbuf(full, NULL, _IONBF, 0); /* the error at the write, not at fclose */
	assert_int_equal(ctl_stats_write(full, a, true), -1);
	fclose(full);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_counters_and_breakdowns),
		cmocka_unit_test(test_dns_servers_and_escaping),
		cmocka_unit_test(test_nested_lists),
		cmocka_unit_test(test_nothing_and_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
