/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config: every example in config/ loads, defaults are filled, JSON and
 * libconfig give the same model, and every validation rule reports its path.
 *
 * JSON in this file is written with single quotes to stay readable in C;
 * sq() turns them into double quotes before loading.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "config/cfg.h"

#ifndef EQX_SOURCE_ROOT
#error "EQX_SOURCE_ROOT must name the source tree"
#endif

static char *
sq(const char *text)
{
	char *s = strdup(text), *p;

	ck_assert_ptr_nonnull(s);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return s;
}

static struct cfg *
load_sq(const char *text, struct cfg_errors *e)
{
	struct cfg *c;
	char *s = sq(text);

	c = cfg_load_json(s, strlen(s), e);
	free(s);
	return c;
}

static struct cfg *
load_lc(const char *text, struct cfg_errors *e)
{
	return cfg_load_libconfig(text, strlen(text), e);
}

/* All kept errors on one line each, for failure messages. */
static const char *
joined(const struct cfg_errors *e)
{
	static char buf[CFG_MAX_ERRORS * 260];
	unsigned int i;
	size_t n = 0;

	buf[0] = '\0';
	for (i = 0; i < e->n && i < CFG_MAX_ERRORS && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n  %s", e->msg[i]);
	return buf;
}

static bool
has_error(const struct cfg_errors *e, const char *substr)
{
	unsigned int i;

	for (i = 0; i < e->n && i < CFG_MAX_ERRORS; i++) {
		if (strstr(e->msg[i], substr) != NULL)
			return true;
	}
	return false;
}

#define ASSERT_LOADED(c, e) ck_assert_msg((c) != NULL && (e).n == 0, "load failed:%s", joined(&(e)))

/* Building blocks of the table below. */
#define INST "'instance': {'name': 't'}"
#define PORT0 "{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24']}"
#define PORTS "'ports': [" PORT0 "]"
#define J(...) "{" INST ", " PORTS ", " __VA_ARGS__ "}"
#define JP(...) "{" INST ", 'ports': [" __VA_ARGS__ "]}"
#define JI(...) "{'instance': {'name': 't', " __VA_ARGS__ "}, " PORTS "}"
#define VIP(...) J("'vips': [{'name': 'v', 'address': '10.0.0.100', " __VA_ARGS__ "}]")
#define BE(...) VIP("'backends': [" __VA_ARGS__ "]")
#define HC(...) VIP("'port': 80, 'health': {" __VA_ARGS__ "}")
#define TMO(...) J("'dataplane': {'timeouts': {" __VA_ARGS__ "}}")
/* A port with an address of each family, for IPv6 VIPs and l2dsr. */
#define PORT46 "{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24', 'fd00::1/64']}"
#define J46(...) "{" INST ", 'ports': [" PORT46 "], " __VA_ARGS__ "}"
#define VIP6(...) J46("'vips': [{'name': 'v', 'address': 'fd00:ffff::100', " __VA_ARGS__ "}]")
#define L2(vip, ...)                                        \
	J46("'vips': [{'name': 'v', 'address': '" vip "', " \
	    "'forwarding': 'l2dsr', 'backends': [" __VA_ARGS__ "]}]")
#define PTPP(...) J("'ptp': {'ports': [{'port': 'p0', " __VA_ARGS__ "}]}")
#define SITE(...) J("'lisp': {'sites': [{'name': 's', " __VA_ARGS__ "}]}")
#define KEY64 "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"

/* The smallest valid config, and checks that it is. */
static const char minimal[] = "{" INST ", " PORTS "}";

START_TEST(test_minimal_loads)
{
	struct cfg_errors e;
	struct cfg *c = load_sq(minimal, &e);

	ASSERT_LOADED(c, e);
	cfg_free(c);
}
END_TEST

struct bad_case {
	const char *text;
	const char *expect; /* a substring of one error, path included */
};

static const struct bad_case bad_cases[] = {
	/* top level and syntax */
	{ "[1]", "(root): expected an object, got array" },
	{ J("'extra': 1"), "extra: unknown key" },
	{ J("'logg': {}"), "logg: unknown key (did you mean \"log\"?)" },
	{ "{\n  " INST ",\n  " PORTS ",\n  'log': {'level': }\n}", "<string>:4: " },
	{ "{" INST ", " INST ", " PORTS "}", "duplicate object key" },
	/* instance */
	{ "{" PORTS "}", "instance.name: missing required key" },
	{ "{'instance': 'x', " PORTS "}", "instance: expected an object, got string" },
	{ "{'instance': {'name': 'a b'}, " PORTS "}", "instance.name: invalid name \"a b\"" },
	{ "{'instance': {'name': ''}, " PORTS "}", "instance.name: invalid name" },
	{ "{'instance': {'name': 'abcdefghijklmnopqrstuvwxyz012345'}, " PORTS "}",
	  "instance.name: invalid name" },
	{ "{'instance': {'name': 7}, " PORTS "}", "instance.name: expected a string, got integer" },
	{ JI("'id': 0"), "instance.id: 0 is out of range 1..65535" },
	{ JI("'id': 65536"), "instance.id: 65536 is out of range" },
	{ JI("'id': 1.0"), "instance.id: expected an integer, got real" },
	{ "{'instance': {'name': 't', 'idd': 1}, " PORTS "}", "instance.idd: unknown key" },
	/* eal */
	{ J("'eal': '-l 0-1'"), "eal: expected an array, got string" },
	{ J("'eal': ['-l', 1]"), "eal[1]: expected a string, got integer" },
	/* dataplane */
	{ J("'dataplane': {'workers': '4'}"),
	  "dataplane.workers: expected an integer, got string" },
	{ J("'dataplane': {'workers': null}"), "dataplane.workers: expected an integer, got null" },
	{ J("'dataplane': {'workers': 2.5}"), "dataplane.workers: expected an integer, got real" },
	{ J("'dataplane': {'workers': 0}"), "dataplane.workers: 0 is out of range 1..64" },
	{ J("'dataplane': {'workers': 65}"), "dataplane.workers: 65 is out of range 1..64" },
	{ J("'dataplane': {'idle': 'fast'}"),
	  "dataplane.idle: unknown value \"fast\" (one of: adaptive, busy)" },
	{ J("'dataplane': {'flow_table_size': 1023}"),
	  "dataplane.flow_table_size: 1023 is out of range" },
	{ J("'dataplane': {'flow_table_size': 67108865}"),
	  "dataplane.flow_table_size: 67108865 is out" },
	{ J("'dataplane': {'mbufs': 1023}"),
	  "dataplane.mbufs: 1023 is out of range 1024..16777216" },
	{ J("'dataplane': {'mbufs': 16777217}"), "dataplane.mbufs: 16777217 is out of range" },
	{ J("'dataplane': {'worker': 2}"),
	  "dataplane.worker: unknown key (did you mean \"workers\"?)" },
	{ J("'dataplane': []"), "dataplane: expected an object, got array" },
	{ TMO("'tcp_syn_s': 1, 'tcp_established_s': 86400, 'tcp_closing_s': 3600, "
	      "'udp_s': 86400"),
	  NULL },
	{ TMO("'tcp_syn_s': 0"), "dataplane.timeouts.tcp_syn_s: 0 is out of range 1..3600" },
	{ TMO("'tcp_syn_s': 3601"), "dataplane.timeouts.tcp_syn_s: 3601 is out of range 1..3600" },
	{ TMO("'tcp_established_s': 0"),
	  "dataplane.timeouts.tcp_established_s: 0 is out of range 1..86400" },
	{ TMO("'tcp_established_s': 86401"),
	  "dataplane.timeouts.tcp_established_s: 86401 is out of range 1..86400" },
	{ TMO("'tcp_closing_s': 0"),
	  "dataplane.timeouts.tcp_closing_s: 0 is out of range 1..3600" },
	{ TMO("'tcp_closing_s': 3601"),
	  "dataplane.timeouts.tcp_closing_s: 3601 is out of range 1..3600" },
	{ TMO("'udp_s': 0"), "dataplane.timeouts.udp_s: 0 is out of range 1..86400" },
	{ TMO("'udp_s': 86401"), "dataplane.timeouts.udp_s: 86401 is out of range 1..86400" },
	{ TMO("'udp_s': '30'"), "dataplane.timeouts.udp_s: expected an integer, got string" },
	{ TMO("'udp_s': 30.0"), "dataplane.timeouts.udp_s: expected an integer, got real" },
	{ TMO("'tcp_syn': 5"),
	  "dataplane.timeouts.tcp_syn: unknown key (did you mean \"tcp_syn_s\"?)" },
	{ J("'dataplane': {'timeouts': 30}"),
	  "dataplane.timeouts: expected an object, got integer" },
	{ J("'dataplane': {'udp_s': 30}"), "dataplane.udp_s: unknown key" },
	/* ports */
	{ "{" INST "}", "ports: missing required key" },
	{ "{" INST ", 'ports': []}", "ports: at least one port is required" },
	{ "{" INST ", 'ports': {}}", "ports: expected an array, got object" },
	{ JP("'p0'"), "ports[0]: expected an object, got string" },
	{ JP("{'name': 'p0', 'devcie': 'd', 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].devcie: unknown key" },
	{ JP("{'name': 'p0', 'device': 'd', 'mtu': 100, 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].mtu: 100 is below 576" },
	{ JP("{'name': 'p0', 'device': 'd', 'mtu': 9601, 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].mtu:" },
	{ JP("{'name': 'p0', 'device': 'd', 'mtu': '1500', 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].mtu: expected an integer" },
	{ JP("{'device': 'd', 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].name: missing required key" },
	{ JP("{'name': 'p/0', 'device': 'd', 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].name: invalid name" },
	{ JP(PORT0 ", {'name': 'p0', 'device': 'e', 'addresses': ['10.0.1.1/24']}"),
	  "ports[1].name: duplicate name \"p0\" (also ports[0])" },
	{ JP("{'name': 'p0', 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].device: missing required key" },
	{ JP("{'name': 'p0', 'device': '', 'addresses': ['10.0.0.1/24']}"),
	  "ports[0].device: must not be empty" },
	{ JP("{'name': 'p0', 'device': 'd'}"),
	  "ports[0].addresses: missing required key (at least one address)" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': '10.0.0.1/24'}"),
	  "ports[0].addresses: expected an array, got string" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['fd00::1/64']}"), NULL },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': []}"),
	  "ports[0].addresses: at least one address is required" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1']}"),
	  "ports[0].addresses[0]: not an address/length prefix: \"10.0.0.1\"" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/33']}"),
	  "ports[0].addresses[0]: not an address/length prefix" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24', 'fd00::1/129']}"),
	  "ports[0].addresses[1]: not an address/length prefix" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24', 10]}"),
	  "ports[0].addresses[1]: expected a string, got integer" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24', '10.0.0.1/16']}"),
	  "ports[0].addresses[1]: duplicate address 10.0.0.1 (also ports[0].addresses[0])" },
	{ JP(PORT0 ", {'name': 'p1', 'device': 'e', 'addresses': ['10.0.0.1/16']}"),
	  "ports[1].addresses[0]: duplicate address 10.0.0.1 (also ports[0].addresses[0])" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'neighbours': [{'address': '10.0.0.2', 'mac': '02:00:00:00:00'}]}"),
	  "ports[0].neighbours[0].mac: not a MAC address" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'neighbours': [{'address': '10.0.0.2', 'mac': '02-00-00-00-00-01'}]}"),
	  "ports[0].neighbours[0].mac: not a MAC address" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'neighbours': [{'address': '10.0.0.2', 'mac': '0g:00:00:00:00:01'}]}"),
	  "ports[0].neighbours[0].mac: not a MAC address" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'neighbours': [{'address': '10.0.0.2'}]}"),
	  "ports[0].neighbours[0].mac: missing required key" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'neighbours': [{'address': '10.0.0', 'mac': '02:00:00:00:00:01'}]}"),
	  "ports[0].neighbours[0].address: not an IP address: \"10.0.0\"" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'neighbours': [{'address': '10.0.0.2', 'mac': '02:00:00:00:00:01'}, "
	     "{'address': '10.0.0.2', 'mac': '02:00:00:00:00:02'}]}"),
	  "ports[0].neighbours[1].address: duplicate neighbour 10.0.0.2" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'routes': [{'prefix': '10.1.0.0/16', 'via': '10.9.9.9'}]}"),
	  "ports[0].routes[0].via: 10.9.9.9 is not inside any address prefix of port "
	  "\"p0\"" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24', 'fd00::1/64'], "
	     "'routes': [{'prefix': '10.1.0.0/16', 'via': 'fd00::2'}]}"),
	  "ports[0].routes[0].via: fd00::2 is IPv6 but the prefix is IPv4" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'routes': [{'prefix': '10.1.2.3/16', 'via': '10.0.0.254'}]}"),
	  "ports[0].routes[0].prefix: \"10.1.2.3/16\" has host bits set" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'routes': [{'prefix': '10.1.0.0/16'}]}"),
	  "ports[0].routes[0].via: missing required key" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'routes': [{'prefix': 'default', 'via': '10.0.0.254'}]}"),
	  "ports[0].routes[0].prefix: not an address/length prefix" },
	/* vips */
	{ J("'vips': {}"), "vips: expected an array, got object" },
	{ J("'vips': [{'address': '10.0.0.100'}]"), "vips[0].name: missing required key" },
	{ J("'vips': [{'name': 'web', 'address': '10.0.0.100'}, "
	    "{'name': 'web', 'address': '10.0.0.101'}]"),
	  "vips[1].name: duplicate name \"web\" (also vips[0])" },
	{ J("'vips': [{'name': 'v'}]"), "vips[0].address: missing required key" },
	{ J("'vips': [{'name': 'v', 'address': '10.0.0.256'}]"),
	  "vips[0].address: not an IP address" },
	{ J("'vips': [{'name': 'v', 'address': 'fd00::100'}]"), NULL },
	{ VIP6("'port': 443, 'backends': [{'address': 'fd00:1::21'}, {'address': 'fd00:1::22'}]"),
	  NULL },
	{ J46("'vips': [{'name': 'a', 'address': 'fd00::100', 'port': 80}, "
	      "{'name': 'b', 'address': 'FD00:0::100', 'port': 80}]"),
	  "vips[1]: duplicate (address, protocol, port) (fd00::100, tcp, 80) (also vips[0])" },
	{ J46("'vips': [{'name': 'a', 'address': 'fd00::100', 'port': 80}, "
	      "{'name': 'b', 'address': 'fd00::100', 'protocol': 'udp', 'port': 80}, "
	      "{'name': 'c', 'address': 'fd00::100', 'port': 81}]"),
	  NULL },
	/* A VIP is never one of our own port addresses, whatever its prefix length. */
	{ J("'vips': [{'name': 'v', 'address': '10.0.0.1'}]"),
	  "vips[0].address: 10.0.0.1 is the address of ports[0].addresses[0]; "
	  "a VIP must not be a port address" },
	{ JP(PORT0 ", {'name': 'p1', 'device': 'e', 'addresses': ['10.1.0.1/24', 'fd01::1/64']}],"
		   " 'vips': [{'name': 'v', 'address': '10.0.0.9'}, {'name': 'w', "
		   "'address': 'fd01::1'}"),
	  "vips[1].address: fd01::1 is the address of ports[1].addresses[1]" },
	{ J("'vips': [{'name': 'v', 'address': '10.0.0.2'}]"), NULL },
	{ VIP("'protocol': 'sctp'"),
	  "vips[0].protocol: unknown value \"sctp\" (one of: tcp, udp)" },
	{ VIP("'port': 65536"), "vips[0].port: 65536 is out of range 0..65535" },
	{ VIP("'port': -1"), "vips[0].port: -1 is out of range 0..65535" },
	{ VIP("'port': '80'"), "vips[0].port: expected an integer, got string" },
	{ J("'vips': [{'name': 'a', 'address': '10.0.0.100', 'port': 80}, "
	    "{'name': 'b', 'address': '10.0.0.100', 'protocol': 'tcp', 'port': 80}]"),
	  "vips[1]: duplicate (address, protocol, port) (10.0.0.100, tcp, 80) "
	  "(also vips[0])" },
	{ VIP("'forwarding': 'gue'"), NULL },
	{ VIP("'forwarding': 'l2dsr'"), NULL },
	{ VIP("'forwarding': 'nat'"),
	  "vips[0].forwarding: unknown value \"nat\" (one of: ipip, gue, l2dsr)" },
	{ VIP("'forwarding': 'GUE'"), "vips[0].forwarding: unknown value \"GUE\"" },
	/* gue_port */
	{ VIP("'forwarding': 'gue', 'gue_port': 1"), NULL },
	{ VIP("'forwarding': 'gue', 'gue_port': 65535"), NULL },
	{ VIP("'forwarding': 'gue', 'gue_port': 0"),
	  "vips[0].gue_port: 0 is out of range 1..65535" },
	{ VIP("'forwarding': 'gue', 'gue_port': 65536"),
	  "vips[0].gue_port: 65536 is out of range 1..65535" },
	{ VIP("'forwarding': 'gue', 'gue_port': '5555'"),
	  "vips[0].gue_port: expected an integer, got string" },
	/* Allowed and ignored for the other methods, but still checked. */
	{ VIP("'forwarding': 'ipip', 'gue_port': 6080"), NULL },
	{ VIP("'forwarding': 'l2dsr', 'gue_port': 6080"), NULL },
	{ VIP("'gue_port': 0"), "vips[0].gue_port: 0 is out of range 1..65535" },
	{ VIP("'gue_prt': 6080"), "vips[0].gue_prt: unknown key (did you mean \"gue_port\"?)" },
	{ VIP("'table_size': 65536"), "vips[0].table_size: 65536 is not prime" },
	{ VIP("'table_size': 1019"), "vips[0].table_size: 1019 is out of range 1021..16777259" },
	{ VIP("'table_size': 16777260"), "vips[0].table_size: 16777260 is out of range" },
	{ VIP("'affinity': {'mode': 'client-ip'}"), NULL },
	{ VIP("'affinity': {'mode': 'client-ip', 'timeout_s': 86400}"), NULL },
	{ VIP("'affinity': {'mode': 'cookie'}"),
	  "vips[0].affinity.mode: unknown value \"cookie\" (one of: none, client-ip)" },
	{ VIP("'affinity': {'timeout_s': 0}"),
	  "vips[0].affinity.timeout_s: 0 is out of range 1..86400" },
	{ VIP("'affinity': {'timeout_s': 86401}"),
	  "vips[0].affinity.timeout_s: 86401 is out of range" },
	{ VIP("'affinity': {'timeout': 1}"), "vips[0].affinity.timeout: unknown key" },
	{ VIP("'affinity': 'none'"), "vips[0].affinity: expected an object, got string" },
	{ HC("'type': 'tcp'"), NULL },
	{ HC("'type': 'icmp'"), NULL },
	{ HC("'type': 'external'"), NULL },
	{ HC("'type': 'none'"), NULL },
	{ VIP("'health': {'type': 'icmp'}"), NULL },
	{ VIP("'health': {'type': 'external'}"), NULL },
	{ VIP("'health': {'type': 'http'}"),
	  "vips[0].health.type: unknown value \"http\" (one of: none, tcp, icmp, external)" },
	/* tcp probes need a TCP port: the VIP's own, or health.port. */
	{ VIP("'health': {'type': 'tcp'}"),
	  "vips[0].health.port: health type \"tcp\" on a VIP with port 0 (every port) "
	  "needs a port to probe" },
	{ VIP("'health': {'type': 'tcp', 'port': 0}"),
	  "vips[0].health.port: health type \"tcp\" on a VIP with port 0" },
	{ VIP("'health': {'type': 'tcp', 'port': 8080}"), NULL },
	{ VIP("'protocol': 'udp', 'port': 53, 'health': {'type': 'tcp'}"),
	  "vips[0].health.port: health type \"tcp\" on a UDP VIP needs an explicit port" },
	{ VIP("'protocol': 'udp', 'port': 53, 'health': {'type': 'tcp', 'port': 0}"),
	  "vips[0].health.port: health type \"tcp\" on a UDP VIP needs an explicit port" },
	{ VIP("'protocol': 'udp', 'health': {'type': 'tcp'}"),
	  "vips[0].health.port: health type \"tcp\" on a UDP VIP" },
	{ VIP("'protocol': 'udp', 'port': 53, 'health': {'type': 'tcp', 'port': 53}"), NULL },
	{ VIP("'protocol': 'udp', 'port': 53, 'health': {'type': 'icmp'}"), NULL },
	{ VIP("'protocol': 'udp', 'health': {'type': 'icmp'}"), NULL },
	{ HC("'port': 65535"), NULL },
	{ HC("'port': 65536"), "vips[0].health.port: 65536 is out of range 0..65535" },
	{ HC("'port': -1"), "vips[0].health.port: -1 is out of range 0..65535" },
	{ HC("'type': 'tcp', 'port': '80'"),
	  "vips[0].health.port: expected an integer, got string" },
	/* timeout_ms */
	{ HC("'timeout_ms': 10"), NULL },
	{ HC("'timeout_ms': 9"), "vips[0].health.timeout_ms: 9 is out of range 10..60000" },
	{ HC("'timeout_ms': 60001"), "vips[0].health.timeout_ms: 60001 is out of range 10..60000" },
	{ HC("'timeout_ms': 1.5"), "vips[0].health.timeout_ms: expected an integer, got real" },
	{ HC("'interval_ms': 1000, 'timeout_ms': 1000"), NULL },
	{ HC("'interval_ms': 1000, 'timeout_ms': 1001"),
	  "vips[0].health.timeout_ms: 1001 must be at most interval_ms (1000)" },
	{ HC("'interval_ms': 10, 'timeout_ms': 60000"),
	  "vips[0].health.timeout_ms: 60000 must be at most interval_ms (10)" },
	/* The bound holds only against an interval given explicitly. */
	{ HC("'timeout_ms': 5000"), NULL },
	{ HC("'interval_ms': 100"), NULL },
	{ HC("'timout_ms': 100"),
	  "vips[0].health.timout_ms: unknown key (did you mean \"timeout_ms\"?)" },
	{ VIP("'health': {'interval_ms': 9}"),
	  "vips[0].health.interval_ms: 9 is out of range 10..60000" },
	{ VIP("'health': {'interval_ms': 60001}"),
	  "vips[0].health.interval_ms: 60001 is out of range" },
	{ VIP("'health': {'rise': 0}"), "vips[0].health.rise: 0 is out of range 1..100" },
	{ VIP("'health': {'fall': 101}"), "vips[0].health.fall: 101 is out of range 1..100" },
	{ VIP("'backends': {}"), "vips[0].backends: expected an array, got object" },
	{ BE("{'weight': 1}"), "vips[0].backends[0].address: missing required key" },
	{ BE("{'address': '10.0.0.21'}, {'address': 'bogus'}"),
	  "vips[0].backends[1].address: not an IP address" },
	/* ipip and gue: the outer header takes the backend's family, so any mix works. */
	{ BE("{'address': 'fd00::21'}, {'address': '10.0.0.21'}"), NULL },
	{ VIP("'forwarding': 'gue', 'backends': [{'address': 'fd00::21'}]"), NULL },
	{ VIP6("'backends': [{'address': '10.9.0.21'}, {'address': 'fd00:9::21'}]"), NULL },
	{ VIP6("'forwarding': 'gue', 'backends': [{'address': '10.9.0.21'}]"), NULL },
	{ BE("{'address': 'fd00::21'}, {'address': 'fd00:0::21'}"),
	  "vips[0].backends[1].address: duplicate backend fd00::21 (also backends[0])" },
	/* l2dsr: same family as the VIP, on one of the ports' own subnets. */
	{ L2("10.0.0.100", "{'address': '10.0.0.21'}, {'address': '10.0.0.254'}"), NULL },
	{ L2("fd00:ffff::100", "{'address': 'fd00::21'}, {'address': 'fd00::ffff'}"), NULL },
	{ L2("10.0.0.100", "{'address': '10.0.0.21'}, {'address': '10.0.1.21'}"),
	  "vips[0].backends[1].address: l2dsr needs a backend on a port's own subnet" },
	{ L2("fd00:ffff::100", "{'address': 'fd00::21'}, {'address': 'fd00:1::21'}"),
	  "vips[0].backends[1].address: l2dsr needs a backend on a port's own subnet" },
	{ L2("10.0.0.100", "{'address': '10.0.0.21'}, {'address': 'fd00::21'}"),
	  "vips[0].backends[1].address: fd00::21 is IPv6 but the VIP is IPv4 (l2dsr" },
	{ L2("fd00:ffff::100", "{'address': '10.0.0.21'}"),
	  "vips[0].backends[0].address: 10.0.0.21 is IPv4 but the VIP is IPv6 (l2dsr" },
	/* Any port's subnet will do, not only the first port's. */
	{ JP(PORT0 ", {'name': 'p1', 'device': 'e', 'addresses': ['10.1.0.1/24']}],"
		   " 'vips': [{'name': 'v', 'address': '10.0.0.100', 'forwarding': 'l2dsr',"
		   " 'backends': [{'address': '10.1.0.21'}, {'address': '10.0.0.21'}]}"),
	  NULL },
	/* A route is not the same link: l2dsr cannot reach past the next hop. */
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24'], "
	     "'routes': [{'prefix': '10.5.0.0/16', 'via': '10.0.0.254'}]}],"
	     " 'vips': [{'name': 'v', 'address': '10.0.0.100', 'forwarding': 'l2dsr',"
	     " 'backends': [{'address': '10.5.0.21'}]}"),
	  "vips[0].backends[0].address: l2dsr needs a backend on a port's own subnet" },
	{ BE("{'address': '10.0.0.21'}, {'address': '10.0.0.21'}"),
	  "vips[0].backends[1].address: duplicate backend 10.0.0.21 (also backends[0])" },
	{ BE("{'address': '10.0.0.21', 'weight': 1001}"),
	  "vips[0].backends[0].weight: 1001 is out of range 0..1000" },
	{ BE("{'address': '10.0.0.21', 'weight': -1}"),
	  "vips[0].backends[0].weight: -1 is out of range" },
	{ BE("{'address': '10.0.0.21', 'weight': 1.5}"),
	  "vips[0].backends[0].weight: expected an integer, got real" },
	{ BE("{'address': '10.0.0.21', 'state': 'up'}"),
	  "vips[0].backends[0].state: unknown value \"up\" "
	  "(one of: active, draining, down)" },
	{ BE("{'address': '10.0.0.21', 'port': 80}"), "vips[0].backends[0].port: unknown key" },
	/* cluster */
	{ J("'cluster': {'mode': 'distributed', 'members': [{'id': 1, 'address': '10.0.0.2'}]}"),
	  "(root): cluster.key: required with mode \"distributed\"" },
	{ J("'cluster': {'mode': 'distributed', 'key': '" KEY64 "', "
	    "'members': [{'id': 2, 'address': '10.0.0.2'}]}"),
	  "(root): cluster.members: no member has instance.id 1 (mode \"distributed\")" },
	{ J("'cluster': {'mode': 'mesh'}"), "cluster.mode: unknown value \"mesh\"" },
	{ J("'cluster': {'sync_port': 0}"), "cluster.sync_port: 0 is out of range 1..65535" },
	{ J("'cluster': {'sync_port': 65536}"), "cluster.sync_port: 65536 is out of range" },
	{ J("'cluster': {'key': 'abcd'}"),
	  "cluster.key: expected 64 hex digits (a 32-byte key), got 4" },
	{ J("'cluster': {'key': 'x" KEY64 "'}"), "cluster.key: expected 64 hex digits" },
	{ J("'cluster': {'key': '0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdeg'}"),
	  "cluster.key: not a hex digit at position 64" },
	{ J("'cluster': {'members': [{'id': 0, 'address': '10.0.0.1'}]}"),
	  "cluster.members[0].id: 0 is out of range 1..65535" },
	{ J("'cluster': {'members': [{'address': '10.0.0.1'}]}"),
	  "cluster.members[0].id: missing required key" },
	{ J("'cluster': {'members': [{'id': 1}]}"),
	  "cluster.members[0].address: missing required key" },
	{ J("'cluster': {'members': [{'id': 1, 'address': '10.0.0.1'}, "
	    "{'id': 1, 'address': '10.0.0.2'}]}"),
	  "cluster.members[1].id: duplicate id 1 (also members[0])" },
	{ J("'cluster': {'members': [{'id': 1, 'address': '10.0.0.1'}, "
	    "{'id': 2, 'address': '10.0.0.1'}]}"),
	  "cluster.members[1].address: duplicate address 10.0.0.1 (also members[0])" },
	{ J("'cluster': {'peers': []}"), "cluster.peers: unknown key" },
	/* ha */
	{ J("'ha': {'enabled': true}"), "ha.port: required when ha.enabled is true" },
	{ J("'ha': {'enabled': true, 'port': 'p0'}"), "ha.peer: required when ha.enabled is true" },
	{ J("'ha': {'enabled': true, 'port': 'p0', 'peer': '10.0.0.2'}"),
	  "ha.key: required when ha.enabled is true" },
	{ J("'ha': {'sync_port': 0}"), "ha.sync_port: 0 is out of range 1..65535" },
	{ J("'ha': {'preempt_delay_ms': -1}"), "ha.preempt_delay_ms: -1 is out of range" },
	{ J("'ha': {'enabled': 'yes'}"),
	  "ha.enabled: expected a boolean (true or false), got string" },
	{ J("'ha': {'enabled': 0}"),
	  "ha.enabled: expected a boolean (true or false), got integer" },
	{ J("'ha': {'port': 'p9'}"), "ha.port: no port named \"p9\" in ports" },
	{ J("'ha': {'peer': '10.0.0'}"), "ha.peer: not an IP address" },
	{ J("'ha': {'priority': 0}"), "ha.priority: 0 is out of range 1..254" },
	{ J("'ha': {'priority': 255}"), "ha.priority: 255 is out of range 1..254" },
	{ J("'ha': {'preempt': 1}"), "ha.preempt: expected a boolean" },
	{ J("'ha': {'heartbeat_ms': 4}"), "ha.heartbeat_ms: 4 is out of range 5..10000" },
	{ J("'ha': {'heartbeat_ms': 10001}"), "ha.heartbeat_ms: 10001 is out of range" },
	{ J("'ha': {'dead_count': 1}"), "ha.dead_count: 1 is out of range 2..100" },
	{ J("'ha': {'dead_count': 101}"), "ha.dead_count: 101 is out of range" },
	{ J("'ha': {'key': 'secret'}"), "ha.key: expected 64 hex digits" },
	/* ptp */
	{ J("'ptp': {'enabled': true}"),
	  "ptp.ports: at least one PTP port is required when ptp.enabled is true" },
	{ J("'ptp': {'clock': {'system_clock': 1}}"),
	  "ptp.clock.system_clock: expected a boolean" },
	{ J("'ptp': {'clock': {'initial_freq_ppb': 2e6}}"),
	  "ptp.clock.initial_freq_ppb: 2e+06 is out of range -1e6..1e6" },
	{ J("'ptp': {'clock': {'step': 1}}"), "ptp.clock.step: unknown key" },
	{ J("'ptp': {'domain': 128}"), "ptp.domain: 128 is out of range 0..127" },
	{ J("'ptp': {'transport': 'udp6'}"),
	  "ptp.transport: unknown value \"udp6\" (one of: udp4, l2)" },
	{ J("'ptp': {'timestamping': 'best'}"),
	  "ptp.timestamping: unknown value \"best\" (one of: auto, hardware, software)" },
	{ J("'ptp': {'software_stamps': 'nic'}"),
	  "ptp.software_stamps: unknown value \"nic\" (one of: auto, kernel, pmd, tsc)" },
	{ J("'ptp': {'priority1': 256}"), "ptp.priority1: 256 is out of range 0..255" },
	{ J("'ptp': {'priority2': -1}"), "ptp.priority2: -1 is out of range 0..255" },
	{ J("'ptp': {'ports': [{'role': 'auto'}]}"), "ptp.ports[0].port: missing required key" },
	{ PTPP("'role': 'auto'"), NULL },
	{ J("'ptp': {'ports': [{'port': 'p7'}]}"), "ptp.ports[0].port: no port named \"p7\"" },
	{ J("'ptp': {'ports': [{'port': 'p0'}, {'port': 'p0'}]}"),
	  "ptp.ports[1].port: duplicate port \"p0\" (also ptp.ports[0])" },
	{ PTPP("'role': 'grandmaster'"), "ptp.ports[0].role: unknown value \"grandmaster\"" },
	{ PTPP("'log_sync_interval': -8"),
	  "ptp.ports[0].log_sync_interval: -8 is out of range -7..4" },
	{ PTPP("'log_sync_interval': 5"),
	  "ptp.ports[0].log_sync_interval: 5 is out of range -7..4" },
	{ PTPP("'log_announce_interval': -4"),
	  "ptp.ports[0].log_announce_interval: -4 is out of range -3..4" },
	{ PTPP("'log_announce_interval': 5"),
	  "ptp.ports[0].log_announce_interval: 5 is out of range" },
	{ PTPP("'delay_asymmetry_ns': 1.5"),
	  "ptp.ports[0].delay_asymmetry_ns: expected an integer, got real" },
	{ PTPP("'path': {'vlan': 4095}"), "ptp.ports[0].path.vlan: 4095 is out of range 0..4094" },
	{ PTPP("'path': {'mpls': {'tx_labels': [15]}}"),
	  "ptp.ports[0].path.mpls.tx_labels[0]: 15 is out of range 16..1048575" },
	{ PTPP("'path': {'mpls': {'rx_labels': [16, 1048576]}}"),
	  "ptp.ports[0].path.mpls.rx_labels[1]: 1048576 is out of range 16..1048575" },
	{ PTPP("'path': {'mpls': {'tx_labels': [16, 17, 18, 19, 20]}}"),
	  "ptp.ports[0].path.mpls.tx_labels: too many entries (5, at most 4)" },
	{ PTPP("'path': {'mpls': {'tx_labels': ['16']}}"),
	  "ptp.ports[0].path.mpls.tx_labels[0]: expected an integer, got string" },
	{ PTPP("'path': {'mpls': {'labels': []}}"), "ptp.ports[0].path.mpls.labels: unknown key" },
	{ J("'ptp': {'servo': {'kp': 0}}"), "ptp.servo.kp: 0 must be greater than 0" },
	{ J("'ptp': {'servo': {'kp': '0.7'}}"), "ptp.servo.kp: expected a number, got string" },
	{ J("'ptp': {'servo': {'ki': -0.1}}"), "ptp.servo.ki: -0.1 must be at least 0" },
	{ J("'ptp': {'servo': {'step_threshold_ns': -1}}"),
	  "ptp.servo.step_threshold_ns: -1 is out of" },
	{ J("'ptp': {'servo': {'first_step_threshold_ns': -1}}"),
	  "ptp.servo.first_step_threshold_ns: -1 is out of" },
	{ J("'ptp': {'export': {'chrony_socket': 1}}"),
	  "ptp.export.chrony_socket: expected a string, got integer" },
	{ J("'ptp': {'export': {'shm': 0}}"), "ptp.export.shm: unknown key" },
	/* lisp */
	{ J("'lisp': {'enabled': true}"), NULL },
	{ J("'lisp': {'port': 'p1'}"), "lisp.port: no port named \"p1\"" },
	{ J("'lisp': {'state_file': ''}"), "lisp.state_file: must not be empty" },
	{ J("'lisp': {'registration_ttl_s': 0}"),
	  "lisp.registration_ttl_s: 0 is out of range 1..86400" },
	{ J("'lisp': {'registration_ttl_s': 86401}"),
	  "lisp.registration_ttl_s: 86401 is out of range" },
	{ J("'lisp': {'sites': [{'keys': []}]}"), "lisp.sites[0].name: missing required key" },
	{ J("'lisp': {'sites': [{'name': 'a'}, {'name': 'a'}]}"),
	  "lisp.sites[1].name: duplicate name \"a\" (also sites[0])" },
	{ SITE("'keys': [{'id': 65536, 'algorithm': 'hmac-sha1-96', 'secret': 'k'}]"),
	  "lisp.sites[0].keys[0].id: 65536 is out of range 0..255" },
	{ SITE("'keys': [{'algorithm': 'hmac-sha1-96', 'secret': 'k'}]"),
	  "lisp.sites[0].keys[0].id: missing required key" },
	{ SITE("'keys': [{'id': 1, 'algorithm': 'hmac-md5', 'secret': 'k'}]"),
	  "lisp.sites[0].keys[0].algorithm: unknown value \"hmac-md5\"" },
	{ SITE("'keys': [{'id': 1, 'secret': 'k'}]"),
	  "lisp.sites[0].keys[0].algorithm: missing required key" },
	{ SITE("'keys': [{'id': 1, 'algorithm': 'hmac-sha1-96'}]"),
	  "lisp.sites[0].keys[0].secret: missing required key" },
	{ SITE("'keys': [{'id': 1, 'algorithm': 'hmac-sha1-96', 'secret': ''}]"),
	  "lisp.sites[0].keys[0].secret: must be 1 to 64 characters, got 0" },
	{ SITE("'keys': [{'id': 1, 'algorithm': 'hmac-sha1-96', 'secret': 'x" KEY64 "'}]"),
	  "lisp.sites[0].keys[0].secret: must be 1 to 64 characters, got 65" },
	{ SITE("'keys': [{'id': 1, 'algorithm': 'hmac-sha1-96', 'secret': 'a'}, "
	       "{'id': 1, 'algorithm': 'hmac-sha256-128', 'secret': 'b'}]"),
	  "lisp.sites[0].keys[1].id: duplicate key id 1 (also keys[0])" },
	{ SITE("'keys': [{'id': 256, 'algorithm': 'hmac-sha1-96', 'secret': 'a'}]"),
	  "lisp.sites[0].keys[0].id: 256 is out of range 0..255" },
	{ SITE("'eid_prefixes': [{'prefix': '10.220.0.0'}]"),
	  "lisp.sites[0].eid_prefixes[0].prefix: not an address/length prefix" },
	{ SITE("'eid_prefixes': [{'prefix': '10.220.0.1/16'}]"),
	  "lisp.sites[0].eid_prefixes[0].prefix: \"10.220.0.1/16\" has host bits set" },
	{ SITE("'eid_prefixes': [{'prefix': '10.220.0.0/16', 'accept_more_specifics': 'yes'}]"),
	  "lisp.sites[0].eid_prefixes[0].accept_more_specifics: expected a boolean" },
	{ SITE("'eid_prefixes': [{'prefix': '10.220.0.0/16'}, {'prefix': '10.220.0.0/16'}]"),
	  "lisp.sites[0].eid_prefixes[1].prefix: duplicate prefix 10.220.0.0/16" },
	/* control, log */
	{ J("'control': {'socket': ''}"), "control.socket: must not be empty" },
	{ J("'control': {'socket': 5}"), "control.socket: expected a string, got integer" },
	{ J("'control': {'path': '/x'}"), "control.path: unknown key" },
	{ J("'log': {'level': 'loud'}"),
	  "log.level: unknown value \"loud\" (one of: emerg, alert, crit, "
	  "error, warning, notice, info, debug)" },
	{ J("'log': {'level': 'INFO'}"), "log.level: unknown value \"INFO\"" },
	/* Values are echoed safely: control bytes masked, long ones cut. */
	{ J("'log': {'level': 'in\\nfo'}"), "log.level: unknown value \"in?fo\"" },
	{ J("'log': {'level': '0123456789012345678901234567890123456789012345678'}"),
	  "log.level: unknown value \"012345678901234567890123456789012345678901234567...\"" },
};

START_TEST(test_bad_case)
{
	const struct bad_case *bc = &bad_cases[_i];
	struct cfg_errors e;
	struct cfg *c = load_sq(bc->text, &e);

	if (bc->expect == NULL) {
		/* A control row: the text around the faulty key is itself fine. */
		ck_assert_msg(c != NULL && e.n == 0, "case %d should load:%s", _i, joined(&e));
		cfg_free(c);
		return;
	}
	ck_assert_msg(c == NULL, "case %d loaded, expected \"%s\"", _i, bc->expect);
	ck_assert_msg(has_error(&e, bc->expect), "case %d: no error contains \"%s\"; got:%s", _i,
		      bc->expect, joined(&e));
}
END_TEST

/* The same rules, and syntax errors, through the libconfig front end. */
#define LC_BASE                           \
	"instance = { name = \"t\"; };\n" \
	"ports = ( { name = \"p0\"; device = \"d\"; addresses = [ \"10.0.0.1/24\" ]; } );\n"

static const struct bad_case lc_cases[] = {
	{ "instance = { name = \"t\"; };\nports = ( { name = \"p0\"; devcie = \"d\"; "
	  "addresses = [ \"10.0.0.1/24\" ]; } );\n",
	  "ports[0].devcie: unknown key" },
	{ LC_BASE "dataplane = { workers = 2.0; };\n",
	  "dataplane.workers: expected an integer, got real" },
	{ LC_BASE "dataplane = { workers = \"2\"; };\n",
	  "dataplane.workers: expected an integer, got string" },
	{ LC_BASE "dataplane = { workers = 4294967296L; };\n",
	  "dataplane.workers: 4294967296 is out of range 1..64" },
	/* Without L libconfig 1.5 would read 4294967297 as 1: it must not. */
	{ LC_BASE "dataplane = { workers = 4294967297; };\n",
	  "dataplane.workers: 4294967297 is out of range 1..64" },
	{ LC_BASE "dataplane = { workers = 0x100000001; };\n",
	  "dataplane.workers: 4294967297 is out of range 1..64" },
	{ LC_BASE "dataplane = { workers = -4294967295; };\n",
	  "dataplane.workers: -4294967295 is out of range 1..64" },
	{ LC_BASE "\n/* 1 */ dataplane = { workers = 9223372036854775808; };\n",
	  "<string>:4: integer does not fit 64 bits" },
	{ LC_BASE "ha = { enabled = 1; };\n",
	  "ha.enabled: expected a boolean (true or false), got integer" },
	{ LC_BASE "eal = ( \"-l\", 1 );\n", "eal[1]: expected a string, got integer" },
	{ LC_BASE "vips = ( { name = \"v\"; address = \"10.0.0.9\";\n"
		  "  backends = ( { address = \"10.0.0.300\"; } ); } );\n",
	  "vips[0].backends[0].address: not an IP address" },
	{ LC_BASE "vips = ( { name = \"v\"; address = \"10.0.0.9\"; forwarding = \"gue\";\n"
		  "  gue_port = 0x10000; } );\n",
	  "vips[0].gue_port: 65536 is out of range 1..65535" },
	{ LC_BASE "vips = ( { name = \"v\"; address = \"10.0.0.9\"; forwarding = \"l2dsr\";\n"
		  "  backends = ( { address = \"10.0.9.2\"; } ); } );\n",
	  "vips[0].backends[0].address: l2dsr needs a backend on a port's own subnet" },
	{ LC_BASE "vips = ( { name = \"v\"; address = \"10.0.0.9\"; protocol = \"udp\";\n"
		  "  health = { type = \"tcp\"; }; } );\n",
	  "vips[0].health.port: health type \"tcp\" on a UDP VIP" },
	{ LC_BASE "dataplane = { timeouts = { udp_s = 86401; }; };\n",
	  "dataplane.timeouts.udp_s: 86401 is out of range 1..86400" },
	{ "instance = { name = \"t\"; };\n\nports = ( { name = ; } );\n",
	  "<string>:3: syntax error" },
	{ LC_BASE "eal = [ \"-l\", 1 ];\n", "<string>:3: mismatched element type in array" },
	{ "instance = { name = \"t\"; };\ninstance = { name = \"u\"; };\n",
	  "<string>:2: duplicate setting name" },
	{ "instance = { name = \"t\"; };\n  @include \"/etc/passwd\"\n",
	  "<string>:2: @include is not supported" },
	{ "instance = { name = \"t\"; };\nx = \"a\0b\";\n", "<string>:2: NUL byte" },
};

START_TEST(test_lc_case)
{
	const struct bad_case *bc = &lc_cases[_i];
	struct cfg_errors e;
	struct cfg *c;
	size_t len = strlen(bc->text);

	/* The NUL row: load past the embedded NUL. */
	if (strstr(bc->expect, "NUL") != NULL)
		len += 1 + strlen(bc->text + len + 1);
	c = cfg_load_libconfig(bc->text, len, &e);
	ck_assert_msg(c == NULL, "case %d loaded, expected \"%s\"", _i, bc->expect);
	ck_assert_msg(has_error(&e, bc->expect), "case %d: no error contains \"%s\"; got:%s", _i,
		      bc->expect, joined(&e));
}
END_TEST

/* A libconfig file ending in a comment with no newline is fine (libconfig 1.5 trips on it). */
START_TEST(test_lc_trailing_comment)
{
	static const char text[] =
		"instance = { name = \"t\"; };\n"
		"ports = ( { name = \"p0\"; device = \"d\"; addresses = [ \"10.0.0.1/24\" ]; } );\n"
		"# the end";
	struct cfg_errors e;
	struct cfg *c = load_lc(text, &e);

	ASSERT_LOADED(c, e);
	cfg_free(c);
}
END_TEST

/* Integers are 64-bit in .cfg as in JSON, whatever libconfig does with 32 bits. */
START_TEST(test_lc_integers)
{
	static const char text[] =
		LC_BASE "ptp = { ports = ( { port = \"p0\"; delay_asymmetry_ns = 0x80000000; } );\n"
			"  servo = { step_threshold_ns = -0;\n"
			"    first_step_threshold_ns = 9223372036854775807;\n"
			"    kp = 1.5e0; ki = .25; }; };\n"
			"# 4294967297 in a comment, \"4294967297\" /* and 99999999999 */\n"
			"control = { socket = \"/run/4294967297.sock\"; };\n";
	struct cfg_errors e;
	struct cfg *c = load_lc(text, &e);

	ASSERT_LOADED(c, e);
	ck_assert_int_eq(c->ptp.ports[0].delay_asymmetry_ns, 2147483648LL);
	ck_assert_int_eq(c->ptp.servo.step_threshold_ns, 0);
	ck_assert_int_eq(c->ptp.servo.first_step_threshold_ns, INT64_MAX);
	ck_assert_double_eq(c->ptp.servo.kp, 1.5);
	ck_assert_double_eq(c->ptp.servo.ki, 0.25);
	ck_assert_str_eq(c->control.socket, "/run/4294967297.sock");
	cfg_free(c);
}
END_TEST

START_TEST(test_examples_load)
{
	char path[4096];
	struct cfg_errors e;
	struct dirent *de;
	struct cfg *c;
	unsigned int n = 0;
	size_t len;
	char *dump;
	DIR *d;

	d = opendir(EQX_SOURCE_ROOT "/config");
	ck_assert_msg(d != NULL, "cannot open %s/config", EQX_SOURCE_ROOT);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (!((len > 5 && strcmp(de->d_name + len - 5, ".json") == 0) ||
		      (len > 4 && strcmp(de->d_name + len - 4, ".cfg") == 0)))
			continue;
		snprintf(path, sizeof(path), "%s/config/%s", EQX_SOURCE_ROOT, de->d_name);
		c = cfg_load_file(path, &e);
		ck_assert_msg(c != NULL && e.n == 0, "%s:%s", path, joined(&e));
		dump = cfg_dump(c);
		ck_assert_ptr_nonnull(dump);
		free(dump);
		cfg_free(c);
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 3);
}
END_TEST

START_TEST(test_demo_contents)
{
	struct cfg_errors e;
	struct cfg *c = cfg_load_file(EQX_SOURCE_ROOT "/config/demo.json", &e);
	struct cfg_addr a;
	unsigned int i;
	char buf[64], want[64];

	ASSERT_LOADED(c, e);
	ck_assert_str_eq(c->instance.name, "eqx-demo");
	ck_assert_uint_eq(c->n_eal, 10);
	ck_assert_str_eq(c->eal[1], "0-1");
	ck_assert_ptr_null(c->eal[c->n_eal]);
	ck_assert_uint_eq(c->dataplane.flow_table_size, 65536);
	ck_assert_uint_eq(c->n_ports, 1);
	ck_assert_str_eq(c->ports[0].device, "net_af_packet0,iface=eqx-lb0,qpairs=1");
	ck_assert_uint_eq(c->ports[0].addresses[0].len, 24);
	cfg_addr_parse("10.210.0.10", &a);
	ck_assert(cfg_addr_equal(&c->ports[0].addresses[0].addr, &a));
	ck_assert_uint_eq(c->n_vips, 1);
	ck_assert_uint_eq(c->vips[0].port, 80);
	ck_assert_uint_eq(c->vips[0].n_backends, 3);
	for (i = 0; i < 3; i++) {
		cfg_addr_str(&c->vips[0].backends[i].addr, buf, sizeof(buf));
		snprintf(want, sizeof(want), "10.210.0.%u", 21 + i);
		ck_assert_str_eq(buf, want);
		ck_assert_uint_eq(c->vips[0].backends[i].weight, 1);
		ck_assert_int_eq(c->vips[0].backends[i].state, CFG_BACKEND_ACTIVE);
	}
	ck_assert_str_eq(c->control.socket, "/run/equinox/eqx-demo.sock");
	cfg_free(c);
}
END_TEST

START_TEST(test_defaults)
{
	struct cfg_errors e;
	struct cfg *c;

	c = load_sq(
		"{'instance': {'name': 'lb-a'}, 'dataplane': {'workers': 3}, " PORTS ", "
		"'vips': [{'name': 'v', 'address': '10.0.0.100',"
		" 'backends': [{'address': '10.0.0.5'}]}], "
		"'ptp': {'ports': [{'port': 'p0'}]}, "
		"'lisp': {'sites': [{'name': 's', 'eid_prefixes': [{'prefix': '10.9.0.0/16'}]}]}}",
		&e);
	ASSERT_LOADED(c, e);
	ck_assert_uint_eq(c->instance.id, 1);
	ck_assert_uint_eq(c->n_eal, 4);
	ck_assert_str_eq(c->eal[0], "-l");
	ck_assert_str_eq(c->eal[1], "0-3");
	ck_assert_str_eq(c->eal[2], "--file-prefix");
	ck_assert_str_eq(c->eal[3], "lb-a");
	ck_assert_ptr_null(c->eal[4]);
	ck_assert_uint_eq(c->dataplane.workers, 3);
	ck_assert_int_eq(c->dataplane.idle, CFG_IDLE_ADAPTIVE);
	ck_assert_uint_eq(c->dataplane.flow_table_size, 1048576);
	ck_assert_uint_eq(c->dataplane.mbufs, 16384);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_syn_s, 10);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_established_s, 300);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_closing_s, 10);
	ck_assert_uint_eq(c->dataplane.timeouts.udp_s, 30);
	ck_assert_uint_eq(c->ports[0].n_neighbours, 0);
	ck_assert_uint_eq(c->ports[0].n_routes, 0);

	ck_assert_int_eq(c->vips[0].proto, CFG_PROTO_TCP);
	ck_assert_uint_eq(c->vips[0].port, 0);
	ck_assert_int_eq(c->vips[0].forwarding, CFG_FWD_IPIP);
	ck_assert_uint_eq(c->vips[0].gue_port, 5555);
	ck_assert_uint_eq(c->vips[0].table_size, 65537);
	ck_assert_int_eq(c->vips[0].affinity.mode, CFG_AFFINITY_NONE);
	ck_assert_uint_eq(c->vips[0].affinity.timeout_s, 300);
	ck_assert_int_eq(c->vips[0].health.type, CFG_HEALTH_NONE);
	ck_assert_uint_eq(c->vips[0].health.interval_ms, 1000);
	ck_assert_uint_eq(c->vips[0].health.rise, 2);
	ck_assert_uint_eq(c->vips[0].health.fall, 3);
	ck_assert_uint_eq(c->vips[0].health.port, 0);
	ck_assert_uint_eq(c->vips[0].health.timeout_ms, 1000);
	ck_assert_uint_eq(c->vips[0].backends[0].weight, 1);
	ck_assert_int_eq(c->vips[0].backends[0].state, CFG_BACKEND_ACTIVE);

	ck_assert_int_eq(c->cluster.mode, CFG_CLUSTER_STANDALONE);
	ck_assert_uint_eq(c->cluster.sync_port, 7440);
	ck_assert_uint_eq(c->cluster.key_len, 0);
	ck_assert_uint_eq(c->cluster.n_members, 0);

	ck_assert(!c->ha.enabled);
	ck_assert_str_eq(c->ha.port, "");
	ck_assert_uint_eq(c->ha.peer.family, 0);
	ck_assert_uint_eq(c->ha.priority, 100);
	ck_assert(c->ha.preempt);
	ck_assert_uint_eq(c->ha.heartbeat_ms, 20);
	ck_assert_uint_eq(c->ha.dead_count, 3);
	ck_assert_uint_eq(c->ha.key_len, 0);

	ck_assert(!c->ptp.enabled);
	ck_assert_uint_eq(c->ptp.domain, 0);
	ck_assert_int_eq(c->ptp.transport, CFG_PTP_TRANSPORT_UDP4);
	ck_assert_int_eq(c->ptp.timestamping, CFG_PTP_TS_AUTO);
	ck_assert_int_eq(c->ptp.software_stamps, CFG_PTP_SW_AUTO);
	ck_assert_uint_eq(c->ptp.priority1, 128);
	ck_assert_uint_eq(c->ptp.priority2, 128);
	ck_assert_uint_eq(c->ptp.n_ports, 1);
	ck_assert_int_eq(c->ptp.ports[0].role, CFG_PTP_ROLE_AUTO);
	ck_assert_int_eq(c->ptp.ports[0].log_sync_interval, 0);
	ck_assert_int_eq(c->ptp.ports[0].log_announce_interval, 1);
	ck_assert_int_eq(c->ptp.ports[0].delay_asymmetry_ns, 0);
	ck_assert_uint_eq(c->ptp.ports[0].vlan, 0);
	ck_assert_uint_eq(c->ptp.ports[0].n_mpls_tx, 0);
	ck_assert_uint_eq(c->ptp.ports[0].n_mpls_rx, 0);
	ck_assert_double_eq(c->ptp.servo.kp, 0.7);
	ck_assert_double_eq(c->ptp.servo.ki, 0.3);
	ck_assert_int_eq(c->ptp.servo.step_threshold_ns, 0);
	ck_assert_int_eq(c->ptp.servo.first_step_threshold_ns, 20000);
	ck_assert_str_eq(c->ptp.chrony_socket, "");

	ck_assert(!c->lisp.enabled);
	ck_assert_str_eq(c->lisp.state_file, "/var/lib/equinox/lisp-ms.state");
	ck_assert_uint_eq(c->lisp.registration_ttl_s, 180);
	ck_assert(!c->lisp.sites[0].eids[0].accept_more_specifics);

	ck_assert_str_eq(c->control.socket, "/run/equinox/lb-a.sock");
	ck_assert_int_eq(c->log.level, CFG_LOG_INFO);
	cfg_free(c);
}
END_TEST

/* An explicit empty EAL list is taken as written, not replaced by the default. */
START_TEST(test_eal_empty)
{
	struct cfg_errors e;
	struct cfg *c = load_sq(J("'eal': []"), &e);

	ASSERT_LOADED(c, e);
	ck_assert_uint_eq(c->n_eal, 0);
	ck_assert_ptr_nonnull(c->eal);
	ck_assert_ptr_null(c->eal[0]);
	cfg_free(c);
}
END_TEST

/* The JSON twin of config/baremetal.cfg: both must give one model. */
static const char baremetal_json[] =
	"{'instance': {'name': 'eqx-edge1', 'id': 1},"
	" 'eal': ['-l', '0-4', '-n', '4', '-a', '0000:3b:00.0', '--in-memory',"
	"         '--socket-mem', '4096', '--file-prefix', 'eqx-edge1'],"
	" 'dataplane': {'workers': 4, 'idle': 'busy', 'flow_table_size': 4194304, 'mbufs': 262144,"
	"   'timeouts': {'tcp_syn_s': 5, 'tcp_established_s': 900, 'tcp_closing_s': 10,"
	"                'udp_s': 30}},"
	" 'ports': [{'name': 'nic0', 'device': '0000:3b:00.0',"
	"   'addresses': ['192.0.2.10/24', '2001:db8:0:1::10/64'],"
	"   'neighbours': [{'address': '192.0.2.1', 'mac': '3c:fd:fe:a0:00:01'}],"
	"   'routes': [{'prefix': '0.0.0.0/0', 'via': '192.0.2.1'},"
	"              {'prefix': '198.51.100.0/24', 'via': '192.0.2.254'},"
	"              {'prefix': '::/0', 'via': '2001:db8:0:1::1'},"
	"              {'prefix': '2001:db8:100::/48', 'via': '2001:db8:0:1::fe'}]}],"
	" 'vips': ["
	"   {'name': 'www', 'address': '203.0.113.10', 'protocol': 'tcp', 'port': 443,"
	"    'forwarding': 'ipip', 'table_size': 65537,"
	"    'affinity': {'mode': 'none', 'timeout_s': 300},"
	"    'health': {'type': 'tcp', 'interval_ms': 2000, 'timeout_ms': 1000, 'rise': 2,"
	"               'fall': 3},"
	"    'backends': [{'address': '198.51.100.11', 'weight': 100, 'state': 'active'},"
	"                 {'address': '198.51.100.12', 'weight': 100, 'state': 'active'},"
	"                 {'address': '198.51.100.13', 'weight': 50, 'state': 'active'},"
	"                 {'address': '198.51.100.14', 'weight': 100, 'state': 'draining'}]},"
	"   {'name': 'dns', 'address': '203.0.113.53', 'protocol': 'udp', 'port': 53,"
	"    'table_size': 4099,"
	"    'health': {'type': 'icmp', 'interval_ms': 500},"
	"    'backends': [{'address': '198.51.100.21', 'weight': 10},"
	"                 {'address': '198.51.100.22', 'weight': 10},"
	"                 {'address': '198.51.100.23', 'weight': 5, 'state': 'down'}]},"
	"   {'name': 'www6', 'address': '2001:db8:ffff::10', 'protocol': 'tcp', 'port': 443,"
	"    'forwarding': 'gue', 'gue_port': 5555,"
	"    'health': {'type': 'tcp', 'port': 8080},"
	"    'backends': [{'address': '2001:db8:100::11', 'weight': 100},"
	"                 {'address': '2001:db8:100::12', 'weight': 100}]},"
	"   {'name': 'shop', 'address': '203.0.113.20', 'protocol': 'tcp', 'port': 443,"
	"    'forwarding': 'gue', 'affinity': {'mode': 'client-ip', 'timeout_s': 1800},"
	"    'health': {'type': 'tcp'},"
	"    'backends': [{'address': '198.51.100.31'}, {'address': '198.51.100.32'},"
	"                 {'address': '2001:db8:100::33'}]}],"
	" 'cluster': {'mode': 'standalone'},"
	" 'ha': {'enabled': false, 'port': 'nic0', 'peer': '192.0.2.11', 'priority': 200,"
	"        'preempt': true, 'heartbeat_ms': 20, 'dead_count': 3},"
	" 'control': {'socket': '/run/equinox/eqx-edge1.sock'},"
	" 'log': {'level': 'notice'}}";

static void
assert_same_model(struct cfg *a, struct cfg *b)
{
	char *da = cfg_dump(a), *db = cfg_dump(b);

	ck_assert_ptr_nonnull(da);
	ck_assert_ptr_nonnull(db);
	ck_assert_msg(strcmp(da, db) == 0, "dumps differ:\n%s\n----\n%s", da, db);
	free(da);
	free(db);
}

START_TEST(test_equivalence_baremetal)
{
	struct cfg_errors e1, e2;
	struct cfg *a, *b;

	a = cfg_load_file(EQX_SOURCE_ROOT "/config/baremetal.cfg", &e1);
	ASSERT_LOADED(a, e1);
	b = load_sq(baremetal_json, &e2);
	ASSERT_LOADED(b, e2);
	assert_same_model(a, b);

	/* It shows what it says it shows. */
	ck_assert_uint_eq(a->dataplane.timeouts.tcp_syn_s, 5);
	ck_assert_uint_eq(a->dataplane.timeouts.tcp_established_s, 900);
	ck_assert_uint_eq(a->n_vips, 4);
	ck_assert_int_eq(a->vips[0].health.type, CFG_HEALTH_TCP);
	ck_assert_uint_eq(a->vips[0].health.timeout_ms, 1000);
	ck_assert_int_eq(a->vips[1].health.type, CFG_HEALTH_ICMP);
	ck_assert_uint_eq(a->vips[1].health.timeout_ms, 500);
	ck_assert_str_eq(a->vips[2].name, "www6");
	ck_assert_uint_eq(a->vips[2].addr.family, 6);
	ck_assert_int_eq(a->vips[2].forwarding, CFG_FWD_GUE);
	ck_assert_uint_eq(a->vips[2].gue_port, 5555);
	ck_assert_uint_eq(a->vips[2].health.port, 8080);
	ck_assert_uint_eq(a->vips[2].backends[0].addr.family, 6);
	ck_assert_str_eq(a->vips[3].name, "shop");
	ck_assert_int_eq(a->vips[3].affinity.mode, CFG_AFFINITY_CLIENT_IP);
	ck_assert_uint_eq(a->vips[3].affinity.timeout_s, 1800);
	ck_assert_uint_eq(a->vips[3].backends[2].addr.family, 6);
	cfg_free(a);
	cfg_free(b);
}
END_TEST

/* The sections baremetal.cfg leaves out, with int64, reals, lists and secrets. */
START_TEST(test_equivalence_sections)
{
	static const char lc[] =
		"instance = { name = \"x\"; id = 7; };\n"
		"ports = ( { name = \"p0\"; device = \"d\"; addresses = [ \"10.0.0.1/24\" ]; },\n"
		"          { name = \"p1\"; device = \"e\"; addresses = [ \"10.1.0.1/24\" ]; } );\n"
		"cluster = { sync_port = 7441; key = \"" KEY64 "\";\n"
		"  members = ( { id = 1; address = \"10.0.0.1\"; },\n"
		"              { id = 2; address = \"10.0.0.2\"; } ); };\n"
		"ha = { port = \"p1\"; key = \"" KEY64 "\"; preempt = false; };\n"
		"ptp = { domain = 24; transport = \"l2\"; timestamping = \"software\";\n"
		"  software_stamps = \"tsc\";\n"
		"  priority1 = 1;\n"
		"  ports = ( { port = \"p0\"; role = \"slave\"; log_sync_interval = -3;\n"
		"    delay_asymmetry_ns = -5000000000;\n"
		"    path = { vlan = 100;\n"
		"      mpls = { tx_labels = [ 100, 0x1000 ]; rx_labels = [ 200 ]; }; }; } );\n"
		"  servo = { kp = 1; ki = 0.05; step_threshold_ns = 1000000000; };\n"
		"  export = { chrony_socket = \"/run/chrony/eqx.sock\"; }; };\n"
		"lisp = { port = \"p0\"; registration_ttl_s = 60;\n"
		"  sites = ( { name = \"a\"; keys = ( { id = 1; algorithm = \"hmac-sha1-96\";"
		" secret = \"site-a-key\"; } );\n"
		"    eid_prefixes = ( { prefix = \"10.220.0.0/16\";\n"
		"                       accept_more_specifics = true; },\n"
		"                     { prefix = \"fd00:220::/32\"; } ); } ); };\n"
		"log = { level = \"debug\"; };\n";
	static const char js[] =
		"{'instance': {'name': 'x', 'id': 7},"
		" 'ports': [{'name': 'p0', 'device': 'd', 'addresses': ['10.0.0.1/24']},"
		"           {'name': 'p1', 'device': 'e', 'addresses': ['10.1.0.1/24']}],"
		" 'cluster': {'sync_port': 7441, 'key': '" KEY64 "',"
		"   'members': [{'id': 1, 'address': '10.0.0.1'},"
		"               {'id': 2, 'address': '10.0.0.2'}]},"
		" 'ha': {'port': 'p1', 'key': '" KEY64 "', 'preempt': false},"
		" 'ptp': {'domain': 24, 'transport': 'l2', 'timestamping': 'software',"
		"   'software_stamps': 'tsc',"
		"   'priority1': 1,"
		"   'ports': [{'port': 'p0', 'role': 'slave', 'log_sync_interval': -3,"
		"     'delay_asymmetry_ns': -5000000000,"
		"     'path': {'vlan': 100,"
		"       'mpls': {'tx_labels': [100, 4096], 'rx_labels': [200]}}}],"
		"   'servo': {'kp': 1.0, 'ki': 0.05, 'step_threshold_ns': 1000000000},"
		"   'export': {'chrony_socket': '/run/chrony/eqx.sock'}},"
		" 'lisp': {'port': 'p0', 'registration_ttl_s': 60,"
		"   'sites': [{'name': 'a', 'keys': [{'id': 1, 'algorithm': 'hmac-sha1-96',"
		"     'secret': 'site-a-key'}],"
		"     'eid_prefixes': [{'prefix': '10.220.0.0/16', 'accept_more_specifics': true},"
		"                      {'prefix': 'fd00:220::/32'}]}]},"
		" 'log': {'level': 'debug'}}";
	struct cfg_errors e1, e2;
	struct cfg *a, *b;
	char *dump;

	a = load_lc(lc, &e1);
	ASSERT_LOADED(a, e1);
	b = load_sq(js, &e2);
	ASSERT_LOADED(b, e2);
	assert_same_model(a, b);

	ck_assert_int_eq(a->ptp.ports[0].delay_asymmetry_ns, -5000000000LL);
	ck_assert_int_eq(a->ptp.software_stamps, CFG_PTP_SW_TSC);
	ck_assert_uint_eq(a->ptp.ports[0].mpls_tx_labels[1], 4096);
	ck_assert_uint_eq(a->cluster.key_len, 32);
	ck_assert_uint_eq(a->cluster.key[0], 0x00);
	ck_assert_uint_eq(a->cluster.key[31], 0xff);
	ck_assert_str_eq(a->lisp.sites[0].keys[0].secret, "site-a-key");

	/* Secrets never reach the dump. */
	dump = cfg_dump(a);
	ck_assert_ptr_nonnull(dump);
	ck_assert_ptr_null(strstr(dump, "site-a-key"));
	ck_assert_ptr_null(strstr(dump, "00112233"));
	ck_assert_ptr_nonnull(strstr(dump, "\"***\""));
	free(dump);
	cfg_free(a);
	cfg_free(b);
}
END_TEST

/* Each timeout is read into its own field; the others keep their defaults. */
START_TEST(test_timeouts)
{
	struct cfg_errors e;
	struct cfg *c;

	c = load_sq(J("'dataplane': {'timeouts': {'tcp_established_s': 7200, 'udp_s': 5}}"), &e);
	ASSERT_LOADED(c, e);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_syn_s, 10);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_established_s, 7200);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_closing_s, 10);
	ck_assert_uint_eq(c->dataplane.timeouts.udp_s, 5);
	cfg_free(c);

	c = load_sq(J("'dataplane': {'timeouts': {'tcp_syn_s': 3, 'tcp_established_s': 4,"
		      " 'tcp_closing_s': 5, 'udp_s': 6}}"),
		    &e);
	ASSERT_LOADED(c, e);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_syn_s, 3);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_established_s, 4);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_closing_s, 5);
	ck_assert_uint_eq(c->dataplane.timeouts.udp_s, 6);
	cfg_free(c);

	/* An empty group is all defaults. */
	c = load_sq(J("'dataplane': {'timeouts': {}}"), &e);
	ASSERT_LOADED(c, e);
	ck_assert_uint_eq(c->dataplane.timeouts.tcp_established_s, 300);
	ck_assert_uint_eq(c->dataplane.timeouts.udp_s, 30);
	cfg_free(c);

	/* A bad dataplane type is one error, not one per timeout. */
	c = load_sq(J("'dataplane': {'timeouts': []}"), &e);
	ck_assert_ptr_null(c);
	ck_assert_msg(e.n == 1, "expected 1 error, got %u:%s", e.n, joined(&e));
}
END_TEST

/* health.timeout_ms: its default follows a short explicit interval. */
static void
assert_health(const char *health, uint32_t interval_ms, uint32_t timeout_ms, uint16_t port)
{
	char text[512];
	struct cfg_errors e;
	struct cfg *c;

	snprintf(text, sizeof(text), VIP("'port': 80, 'health': {%s}"), health);
	c = load_sq(text, &e);
	ck_assert_msg(c != NULL && e.n == 0, "%s:%s", health, joined(&e));
	ck_assert_msg(c->vips[0].health.interval_ms == interval_ms &&
			      c->vips[0].health.timeout_ms == timeout_ms &&
			      c->vips[0].health.port == port,
		      "%s: interval_ms %u timeout_ms %u port %u", health,
		      c->vips[0].health.interval_ms, c->vips[0].health.timeout_ms,
		      c->vips[0].health.port);
	cfg_free(c);
}

START_TEST(test_health_timeout)
{
	assert_health("", 1000, 1000, 0);
	assert_health("'type': 'tcp'", 1000, 1000, 0);
	/* Only interval_ms, below the default timeout: the timeout follows it. */
	assert_health("'interval_ms': 500", 500, 500, 0);
	assert_health("'interval_ms': 10", 10, 10, 0);
	assert_health("'interval_ms': 999", 999, 999, 0);
	/* At or above it: the default stays. */
	assert_health("'interval_ms': 1000", 1000, 1000, 0);
	assert_health("'interval_ms': 5000", 5000, 1000, 0);
	/* Both given: as written. */
	assert_health("'interval_ms': 500, 'timeout_ms': 200", 500, 200, 0);
	assert_health("'interval_ms': 5000, 'timeout_ms': 5000", 5000, 5000, 0);
	/* Only timeout_ms: no explicit interval to bound it. */
	assert_health("'timeout_ms': 200", 1000, 200, 0);
	assert_health("'timeout_ms': 3000", 1000, 3000, 0);
	assert_health("'type': 'tcp', 'port': 8080, 'timeout_ms': 250", 1000, 250, 8080);
}
END_TEST

/* What the newly accepted shapes load to. */
START_TEST(test_forwarding_models)
{
	struct cfg_errors e;
	struct cfg *c;
	char buf[64];

	c = load_sq(J46("'vips': ["
			"{'name': 'g', 'address': 'fd00:ffff::1', 'port': 443, 'forwarding': 'gue',"
			" 'gue_port': 6080, 'affinity': {'mode': 'client-ip', 'timeout_s': 60},"
			" 'health': {'type': 'tcp', 'port': 8443, 'interval_ms': 2000, "
			"'timeout_ms': 500,"
			"  'rise': 3, 'fall': 4},"
			" 'backends': [{'address': '10.9.0.1'}, {'address': 'fd00:9::1', 'state': "
			"'draining'}]},"
			"{'name': 'l', 'address': '10.0.0.100', 'protocol': 'udp', 'forwarding': "
			"'l2dsr',"
			" 'health': {'type': 'icmp'}, 'backends': [{'address': '10.0.0.50'}]},"
			"{'name': 'x', 'address': '10.0.0.101', 'health': {'type': 'external'},"
			" 'backends': [{'address': 'fd00:9::2', 'state': 'down'}]}]"),
		    &e);
	ASSERT_LOADED(c, e);
	ck_assert_uint_eq(c->n_vips, 3);

	ck_assert_uint_eq(c->vips[0].addr.family, 6);
	ck_assert_int_eq(c->vips[0].forwarding, CFG_FWD_GUE);
	ck_assert_uint_eq(c->vips[0].gue_port, 6080);
	ck_assert_int_eq(c->vips[0].affinity.mode, CFG_AFFINITY_CLIENT_IP);
	ck_assert_uint_eq(c->vips[0].affinity.timeout_s, 60);
	ck_assert_int_eq(c->vips[0].health.type, CFG_HEALTH_TCP);
	ck_assert_uint_eq(c->vips[0].health.port, 8443);
	ck_assert_uint_eq(c->vips[0].health.interval_ms, 2000);
	ck_assert_uint_eq(c->vips[0].health.timeout_ms, 500);
	ck_assert_uint_eq(c->vips[0].health.rise, 3);
	ck_assert_uint_eq(c->vips[0].health.fall, 4);
	ck_assert_uint_eq(c->vips[0].backends[0].addr.family, 4);
	ck_assert_uint_eq(c->vips[0].backends[1].addr.family, 6);
	ck_assert_int_eq(c->vips[0].backends[1].state, CFG_BACKEND_DRAINING);
	cfg_addr_str(&c->vips[0].addr, buf, sizeof(buf));
	ck_assert_str_eq(buf, "fd00:ffff::1");

	ck_assert_int_eq(c->vips[1].forwarding, CFG_FWD_L2DSR);
	ck_assert_uint_eq(c->vips[1].gue_port, 5555);
	ck_assert_int_eq(c->vips[1].proto, CFG_PROTO_UDP);
	ck_assert_int_eq(c->vips[1].health.type, CFG_HEALTH_ICMP);
	ck_assert_uint_eq(c->vips[1].health.port, 0);

	ck_assert_int_eq(c->vips[2].forwarding, CFG_FWD_IPIP);
	ck_assert_int_eq(c->vips[2].health.type, CFG_HEALTH_EXTERNAL);
	ck_assert_uint_eq(c->vips[2].backends[0].addr.family, 6);
	ck_assert_int_eq(c->vips[2].backends[0].state, CFG_BACKEND_DOWN);
	cfg_free(c);
}
END_TEST

/* One mistake, one error: the new cross-checks do not pile onto a bad value. */
static const struct bad_case single_error_cases[] = {
	{ VIP("'port': 'x', 'health': {'type': 'tcp'}"),
	  "vips[0].port: expected an integer, got string" },
	{ VIP("'protocol': 'sctp', 'port': 53, 'health': {'type': 'tcp'}"),
	  "vips[0].protocol: unknown value \"sctp\"" },
	{ VIP("'health': {'type': 'tcp', 'port': 'x'}"),
	  "vips[0].health.port: expected an integer, got string" },
	{ HC("'interval_ms': 5, 'timeout_ms': 2000"),
	  "vips[0].health.interval_ms: 5 is out of range" },
	{ HC("'interval_ms': 500, 'timeout_ms': 5"),
	  "vips[0].health.timeout_ms: 5 is out of range" },
	{ L2("10.0.0.100", "{'address': 'fd09::21'}"),
	  "vips[0].backends[0].address: fd09::21 is IPv6 but the VIP is IPv4" },
	{ JP("{'name': 'p0', 'device': 'd', 'addresses': ['x']}"),
	  "ports[0].addresses[0]: not an address/length prefix" },
	{ J("'vips': [{'name': 'v', 'address': '10.0.0.1', 'forwarding': 'l2dsr',"
	    " 'backends': [{'address': '10.0.0.2'}]}]"),
	  "vips[0].address: 10.0.0.1 is the address of ports[0].addresses[0]" },
	{ VIP("'forwarding': 'nat', 'backends': [{'address': '10.9.0.1'}, {'address': 'fd00::1'}]"),
	  "vips[0].forwarding: unknown value \"nat\"" },
};

START_TEST(test_single_error)
{
	const struct bad_case *bc = &single_error_cases[_i];
	struct cfg_errors e;
	struct cfg *c = load_sq(bc->text, &e);

	ck_assert_msg(c == NULL, "case %d loaded, expected \"%s\"", _i, bc->expect);
	ck_assert_msg(e.n == 1 && has_error(&e, bc->expect),
		      "case %d: expected only \"%s\"; got %u:%s", _i, bc->expect, e.n, joined(&e));
}
END_TEST

/* The keys of a dumped object, in order, joined by spaces. */
static void
keys_of(const json_t *o, char *buf, size_t len)
{
	const char *key;
	json_t *val;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach ((json_t *)o, key, val) {
		(void)val;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n > 0 ? " " : "",
				      key);
	}
}

/* cfg_dump shows the new keys where the contract puts them. */
START_TEST(test_dump_order)
{
	struct cfg_errors e;
	struct cfg *c;
	json_t *root, *vip;
	json_error_t je;
	char *dump, keys[512];

	c = load_sq(VIP("'forwarding': 'gue', 'port': 80,"
			" 'health': {'type': 'tcp', 'interval_ms': 500}"),
		    &e);
	ASSERT_LOADED(c, e);
	dump = cfg_dump(c);
	ck_assert_ptr_nonnull(dump);
	root = json_loads(dump, 0, &je);
	ck_assert_msg(root != NULL, "%s", je.text);

	keys_of(json_object_get(root, "dataplane"), keys, sizeof(keys));
	ck_assert_str_eq(keys, "workers idle flow_table_size mbufs timeouts");
	keys_of(json_object_get(json_object_get(root, "dataplane"), "timeouts"), keys,
		sizeof(keys));
	ck_assert_str_eq(keys, "tcp_syn_s tcp_established_s tcp_closing_s udp_s");
	vip = json_array_get(json_object_get(root, "vips"), 0);
	keys_of(vip, keys, sizeof(keys));
	ck_assert_str_eq(keys, "name address protocol port forwarding gue_port table_size "
			       "affinity health backends");
	keys_of(json_object_get(vip, "health"), keys, sizeof(keys));
	ck_assert_str_eq(keys, "type interval_ms rise fall port timeout_ms");

	ck_assert_int_eq(json_integer_value(json_object_get(vip, "gue_port")), 5555);
	ck_assert_str_eq(json_string_value(json_object_get(vip, "forwarding")), "gue");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(vip, "health"), "timeout_ms")),
		500);
	ck_assert_int_eq(
		json_integer_value(json_object_get(
			json_object_get(json_object_get(root, "dataplane"), "timeouts"), "udp_s")),
		30);
	json_decref(root);

	/* The dump loads back to the same model. */
	{
		struct cfg *c2 = cfg_load_json(dump, strlen(dump), &e);
		char *dump2;

		ASSERT_LOADED(c2, e);
		dump2 = cfg_dump(c2);
		ck_assert_ptr_nonnull(dump2);
		ck_assert_str_eq(dump, dump2);
		free(dump2);
		cfg_free(c2);
	}
	free(dump);
	cfg_free(c);
}
END_TEST

/* Several independent errors in one file are all reported, each once. */
/*
 * Distributed mode's generation blob: the VIP set alone, canonical (order of
 * the keys in the file does not matter), and a model rebuilt from the running
 * one with another VIP set, validated as a file.
 */
START_TEST(test_vips_blob)
{
	struct cfg_errors e;
	struct cfg *a, *b, *c, *bad;
	char *da, *db, *dc;
	const char *other = "[{\"name\":\"w\",\"address\":\"10.0.0.101\","
			    "\"backends\":[{\"address\":\"10.0.0.21\",\"weight\":3}]}]";

	a = load_sq(J("'vips': [{'name': 'v', 'address': '10.0.0.100', 'port': 80, "
		      "'backends': [{'address': '10.0.0.21'}]}]"),
		    &e);
	ASSERT_LOADED(a, e);
	b = load_sq(J("'vips': [{'backends': [{'weight': 1, 'address': '10.0.0.21'}], "
		      "'port': 80, 'address': '10.0.0.100', 'name': 'v'}]"),
		    &e);
	ASSERT_LOADED(b, e);
	da = cfg_dump_vips(a);
	db = cfg_dump_vips(b);
	ck_assert_ptr_nonnull(da);
	ck_assert_str_eq(da, db);
	ck_assert_ptr_null(strchr(da, ' '));
	ck_assert_ptr_nonnull(strstr(da, "\"address\":\"10.0.0.100\""));

	c = cfg_with_vips(a, other, strlen(other), &e);
	ASSERT_LOADED(c, e);
	ck_assert_uint_eq(c->n_vips, 1);
	ck_assert_str_eq(c->vips[0].name, "w");
	ck_assert_uint_eq(c->vips[0].backends[0].weight, 3);
	ck_assert_str_eq(c->instance.name, "t");
	ck_assert_uint_eq(c->n_ports, 1);
	/* Its own tree carries the new set: rebuilt again, the same. */
	dc = cfg_dump_vips(c);
	free(dc);

	bad = cfg_with_vips(a, "[{\"name\":\"w\"}]", 14, &e);
	ck_assert_ptr_null(bad);
	ck_assert_uint_gt(e.n, 0);
	bad = cfg_with_vips(a, "{}", 2, &e);
	ck_assert_ptr_null(bad);
	ck_assert_uint_gt(e.n, 0);

	free(da);
	free(db);
	cfg_free(a);
	cfg_free(b);
	cfg_free(c);
}
END_TEST

START_TEST(test_many_errors)
{
	struct cfg_errors e;
	struct cfg *c;

	c = load_sq("{'instance': {'name': 'bad name'},"
		    " 'dataplane': {'workers': '4', 'mbufs': 1},"
		    " 'ports': [{'name': 'p0', 'devcie': 'd', 'addresses': ['10.0.0.1/24']}],"
		    " 'vips': [{'name': 'v', 'address': '10.0.0.100', 'table_size': 65536}],"
		    " 'log': {'level': 'loud'}}",
		    &e);
	ck_assert_ptr_null(c);
	ck_assert_msg(e.n == 7, "expected 7 errors, got %u:%s", e.n, joined(&e));
	ck_assert(has_error(&e, "instance.name: invalid name"));
	ck_assert(has_error(&e, "dataplane.workers: expected an integer, got string"));
	ck_assert(has_error(&e, "dataplane.mbufs: 1 is out of range"));
	ck_assert(has_error(&e, "ports[0].devcie: unknown key"));
	ck_assert(has_error(&e, "ports[0].device: missing required key"));
	ck_assert(has_error(&e, "vips[0].table_size: 65536 is not prime"));
	ck_assert(has_error(&e, "log.level: unknown value"));
}
END_TEST

/* More errors than are kept: the count is still exact. */
START_TEST(test_error_overflow)
{
	struct cfg_errors e;
	struct cfg *c;
	char *text, *p;
	size_t cap = 100 * 40 + 512;
	int i;

	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	p = text + sprintf(text, "{'instance': {'name': 't'}, " PORTS ", 'vips': [{'name': 'v', "
				 "'address': '10.0.0.100', 'backends': [");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "%s{'address': 'x%d'}", i > 0 ? ", " : "", i);
	sprintf(p, "]}]}");
	c = load_sq(text, &e);
	free(text);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(e.n, 100);
	ck_assert_str_eq(e.msg[0], "vips[0].backends[0].address: not an IP address: \"x0\"");
	ck_assert_str_eq(e.msg[CFG_MAX_ERRORS - 1],
			 "vips[0].backends[63].address: not an IP address: \"x63\"");
}
END_TEST

/*
 * Limits that need long texts: built here rather than written in the table.
 * fmt gets three numbers for entry i: i / 256, i % 256 and i.
 */
static char *
repeat_list(const char *head, const char *fmt, int n, const char *tail)
{
	size_t cap = strlen(head) + strlen(tail) + (size_t)n * (strlen(fmt) + 16) + 1;
	char *text = malloc(cap), *p;
	int i;

	ck_assert_ptr_nonnull(text);
	p = text + sprintf(text, "%s", head);
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		p += sprintf(p, fmt, i / 256, i % 256, i);
	}
	sprintf(p, "%s", tail);
	return text;
}

static void
assert_list_error(const char *head, const char *fmt, int n, const char *tail, const char *expect)
{
	struct cfg_errors e;
	struct cfg *c;
	char *text = repeat_list(head, fmt, n, tail);

	c = load_sq(text, &e);
	free(text);
	if (expect == NULL) {
		ASSERT_LOADED(c, e);
		cfg_free(c);
		return;
	}
	ck_assert_ptr_null(c);
	ck_assert_msg(has_error(&e, expect), "no error contains \"%s\"; got:%s", expect,
		      joined(&e));
}

START_TEST(test_limits)
{
	/* eal: at most CFG_MAX_EAL_ARGS */
	assert_list_error("{" INST ", " PORTS ", 'eal': [", "'a%d.%d'", CFG_MAX_EAL_ARGS, "]}",
			  NULL);
	assert_list_error("{" INST ", " PORTS ", 'eal': [", "'a%d.%d'", CFG_MAX_EAL_ARGS + 1, "]}",
			  "eal: too many entries (65, at most 64)");
	/* ports: at most CFG_MAX_PORTS */
	assert_list_error("{" INST ", 'ports': [",
			  "{'name': 'p%d_%d', 'device': 'd', 'addresses': ['10.1.%d.1/24']}", 0,
			  "]}", "ports: at least one port is required");
	assert_list_error("{" INST ", 'ports': [",
			  "{'name': 'p%d_%d', 'device': 'd', 'addresses': ['10.0.%d.1/24']}",
			  CFG_MAX_PORTS + 1, "]}", "ports: too many entries (17, at most 16)");
	/* addresses per port */
	assert_list_error("{" INST ", 'ports': [{'name': 'p0', 'device': 'd', 'addresses': [",
			  "'10.%d.%d.1/24'", CFG_MAX_ADDRS, "]}]}", NULL);
	assert_list_error("{" INST ", 'ports': [{'name': 'p0', 'device': 'd', 'addresses': [",
			  "'10.%d.%d.1/24'", CFG_MAX_ADDRS + 1, "]}]}",
			  "ports[0].addresses: too many entries (17, at most 16)");
	/* backends per VIP, and the table must be larger than them */
	assert_list_error("{" INST ", " PORTS ", 'vips': [{'name': 'v', 'address': '10.0.0.100', "
			  "'backends': [",
			  "{'address': '10.1.%d.%d'}", CFG_MAX_BACKENDS, "]}]}", NULL);
	assert_list_error("{" INST ", " PORTS ", 'vips': [{'name': 'v', 'address': '10.0.0.100', "
			  "'backends': [",
			  "{'address': '10.1.%d.%d'}", CFG_MAX_BACKENDS + 1, "]}]}",
			  "vips[0].backends: too many entries (1025, at most 1024)");
	assert_list_error(
		"{" INST ", " PORTS ", 'vips': [{'name': 'v', 'address': '10.0.0.100', "
		"'table_size': 1021, 'backends': [",
		"{'address': '10.1.%d.%d'}", 1021, "]}]}",
		"vips[0].table_size: 1021 must be larger than the number of backends (1021)");
	assert_list_error("{" INST ", " PORTS ", 'vips': [{'name': 'v', 'address': '10.0.0.100', "
			  "'table_size': 1021, 'backends': [",
			  "{'address': '10.1.%d.%d'}", 1020, "]}]}", NULL);
}
END_TEST

START_TEST(test_string_lengths)
{
	char name[CFG_NAME_MAX + 1], big[CFG_DEVICE_MAX + 1], text[1024];
	struct cfg_errors e;
	struct cfg *c;

	memset(name, 'n', CFG_NAME_MAX - 1);
	name[CFG_NAME_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "{'instance': {'name': '%s'}, " PORTS "}", name);
	c = load_sq(text, &e);
	ASSERT_LOADED(c, e);
	ck_assert_str_eq(c->instance.name, name);
	ck_assert_str_eq(c->eal[3], name);
	cfg_free(c);

	memset(big, 'd', CFG_DEVICE_MAX - 1);
	big[CFG_DEVICE_MAX - 1] = '\0';
	snprintf(text, sizeof(text),
		 JP("{'name': 'p0', 'device': '%s', "
		    "'addresses': ['10.0.0.1/24']}"),
		 big);
	c = load_sq(text, &e);
	ASSERT_LOADED(c, e);
	cfg_free(c);

	big[CFG_DEVICE_MAX - 1] = 'd';
	big[CFG_DEVICE_MAX] = '\0';
	snprintf(text, sizeof(text),
		 JP("{'name': 'p0', 'device': '%s', "
		    "'addresses': ['10.0.0.1/24']}"),
		 big);
	c = load_sq(text, &e);
	ck_assert_ptr_null(c);
	ck_assert_msg(has_error(&e, "ports[0].device: too long (256 bytes, at most 255)"), "%s",
		      joined(&e));

	memset(big, 's', CFG_PATH_MAX);
	big[0] = '/';
	big[CFG_PATH_MAX] = '\0';
	snprintf(text, sizeof(text), J("'control': {'socket': '%s'}"), big);
	c = load_sq(text, &e);
	ck_assert_ptr_null(c);
	ck_assert_msg(has_error(&e, "control.socket: too long (256 bytes, at most 255)"), "%s",
		      joined(&e));
}
END_TEST

/* A syntax error in a file names the file and the line. */
START_TEST(test_file_syntax_errors)
{
	char dir[] = "/tmp/eqx-test-config-XXXXXX";
	char path[64];
	struct cfg_errors e;
	struct cfg *c;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));

	snprintf(path, sizeof(path), "%s/bad.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\n  \"instance\": {\"name\": \"t\"},\n  \"ports\": [,]\n}\n", f);
	fclose(f);
	c = cfg_load_file(path, &e);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(strncmp(e.msg[0], path, strlen(path)) == 0 &&
			      strncmp(e.msg[0] + strlen(path), ":3: ", 4) == 0,
		      "%s", e.msg[0]);
	unlink(path);

	/* .cfg means libconfig, even when the text would be valid JSON. */
	snprintf(path, sizeof(path), "%s/bad.cfg", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("# comment\ninstance = { name = \"t\"; };\nports = ( { name = }, );\n", f);
	fclose(f);
	c = cfg_load_file(path, &e);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(strncmp(e.msg[0], path, strlen(path)) == 0 &&
			      strncmp(e.msg[0] + strlen(path), ":3: ", 4) == 0,
		      "%s", e.msg[0]);
	unlink(path);

	snprintf(path, sizeof(path), "%s/missing.json", dir);
	c = cfg_load_file(path, &e);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(strstr(e.msg[0], "cannot read") != NULL, "%s", e.msg[0]);

	rmdir(dir);
}
END_TEST

START_TEST(test_null_errs)
{
	struct cfg *c;
	char *s = sq(minimal);

	/* errs may be NULL: the caller only wants to know whether it loaded. */
	c = cfg_load_json(s, strlen(s), NULL);
	ck_assert_ptr_nonnull(c);
	cfg_free(c);
	ck_assert_ptr_null(cfg_load_json("{", 1, NULL));
	free(s);
	cfg_free(NULL);
}
END_TEST

START_TEST(test_addr_helpers)
{
	struct cfg_addr a, b;
	struct cfg_prefix p;
	char buf[64];

	ck_assert_int_eq(cfg_addr_parse("10.1.2.3", &a), 0);
	ck_assert_uint_eq(a.family, 4);
	ck_assert_uint_eq(a.bytes[0], 10);
	ck_assert_uint_eq(a.bytes[3], 3);
	cfg_addr_str(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.1.2.3");
	ck_assert_int_eq(cfg_addr_parse("2001:DB8::1", &b), 0);
	ck_assert_uint_eq(b.family, 6);
	cfg_addr_str(&b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:db8::1");
	ck_assert(!cfg_addr_equal(&a, &b));
	ck_assert_int_eq(cfg_addr_parse("10.1.2.3", &b), 0);
	ck_assert(cfg_addr_equal(&a, &b));
	ck_assert_int_eq(cfg_addr_parse("10.1.2", &a), -EINVAL);
	ck_assert_int_eq(cfg_addr_parse(" 10.1.2.3", &a), -EINVAL);
	ck_assert_int_eq(cfg_addr_parse("fe80::1%eth0", &a), -EINVAL);
	ck_assert_int_eq(cfg_addr_parse("", &a), -EINVAL);
	ck_assert_int_eq(cfg_addr_parse(NULL, &a), -EINVAL);

	/* Port addresses keep their host bits. */
	ck_assert_int_eq(cfg_prefix_parse("10.210.0.10/24", &p), 0);
	ck_assert_uint_eq(p.len, 24);
	ck_assert_uint_eq(p.addr.bytes[3], 10);
	ck_assert_int_eq(cfg_prefix_parse("0.0.0.0/0", &p), 0);
	ck_assert_int_eq(cfg_prefix_parse("fd00::1/128", &p), 0);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1/32", &p), 0);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1/33", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("fd00::1/129", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1/", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("/24", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1/+4", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1/ 4", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1/0024", &p), -EINVAL);
	ck_assert_int_eq(cfg_prefix_parse("10.0.0.1/24/2", &p), -EINVAL);

	ck_assert_int_eq(cfg_prefix_parse("10.210.0.10/23", &p), 0);
	ck_assert_int_eq(cfg_addr_parse("10.210.1.255", &a), 0);
	ck_assert(cfg_prefix_contains(&p, &a));
	ck_assert_int_eq(cfg_addr_parse("10.210.2.0", &a), 0);
	ck_assert(!cfg_prefix_contains(&p, &a));
	ck_assert_int_eq(cfg_addr_parse("::a", &a), 0);
	ck_assert(!cfg_prefix_contains(&p, &a));
	ck_assert_int_eq(cfg_prefix_parse("0.0.0.0/0", &p), 0);
	ck_assert_int_eq(cfg_addr_parse("255.1.2.3", &a), 0);
	ck_assert(cfg_prefix_contains(&p, &a));
	ck_assert_int_eq(cfg_prefix_parse("fd00:1::/33", &p), 0);
	ck_assert_int_eq(cfg_addr_parse("fd00:1:7fff::1", &a), 0);
	ck_assert(cfg_prefix_contains(&p, &a));
	ck_assert_int_eq(cfg_addr_parse("fd00:1:8000::1", &a), 0);
	ck_assert(!cfg_prefix_contains(&p, &a));
}
END_TEST

START_TEST(test_enum_helpers)
{
	enum cfg_backend_state st;
	struct cfg_errors e;
	struct cfg *c;

	ck_assert_str_eq(cfg_idle_str(CFG_IDLE_BUSY), "busy");
	ck_assert_str_eq(cfg_proto_str(CFG_PROTO_UDP), "udp");
	ck_assert_str_eq(cfg_forwarding_str(CFG_FWD_L2DSR), "l2dsr");
	ck_assert_str_eq(cfg_backend_state_str(CFG_BACKEND_DRAINING), "draining");
	ck_assert_str_eq(cfg_affinity_str(CFG_AFFINITY_CLIENT_IP), "client-ip");
	ck_assert_str_eq(cfg_health_str(CFG_HEALTH_EXTERNAL), "external");
	ck_assert_str_eq(cfg_cluster_mode_str(CFG_CLUSTER_DISTRIBUTED), "distributed");
	ck_assert_str_eq(cfg_log_level_str(CFG_LOG_ERR), "error");
	ck_assert_str_eq(cfg_log_level_str(CFG_LOG_DEBUG), "debug");
	ck_assert_str_eq(cfg_ptp_transport_str(CFG_PTP_TRANSPORT_L2), "l2");
	ck_assert_str_eq(cfg_ptp_timestamping_str(CFG_PTP_TS_HARDWARE), "hardware");
	ck_assert_str_eq(cfg_ptp_role_str(CFG_PTP_ROLE_SLAVE), "slave");
	ck_assert_str_eq(cfg_lisp_alg_str(CFG_LISP_ALG_HMAC_SHA256_128), "hmac-sha256-128");
	ck_assert_str_eq(cfg_log_level_str((enum cfg_log_level)99), "unknown");

	ck_assert_int_eq(cfg_backend_state_parse("down", &st), 0);
	ck_assert_int_eq(st, CFG_BACKEND_DOWN);
	ck_assert_int_eq(cfg_backend_state_parse("active", &st), 0);
	ck_assert_int_eq(st, CFG_BACKEND_ACTIVE);
	ck_assert_int_eq(cfg_backend_state_parse("Down", &st), -EINVAL);
	ck_assert_int_eq(cfg_backend_state_parse(NULL, &st), -EINVAL);

	c = load_sq(JP(PORT0 ", {'name': 'p1', 'device': 'e', 'addresses': ['10.1.0.1/24']}"), &e);
	ASSERT_LOADED(c, e);
	ck_assert_int_eq(cfg_port_index(c, "p1"), 1);
	ck_assert_int_eq(cfg_port_index(c, "p0"), 0);
	ck_assert_int_eq(cfg_port_index(c, "p2"), -ENOENT);
	cfg_free(c);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("examples");
	tcase_add_test(tc, test_minimal_loads);
	tcase_add_test(tc, test_examples_load);
	tcase_add_test(tc, test_demo_contents);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_eal_empty);
	tcase_add_test(tc, test_equivalence_baremetal);
	tcase_add_test(tc, test_equivalence_sections);
	tcase_add_test(tc, test_dump_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, test_bad_case, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_loop_test(tc, test_lc_case, 0, (int)(sizeof(lc_cases) / sizeof(lc_cases[0])));
	tcase_add_test(tc, test_lc_trailing_comment);
	tcase_add_test(tc, test_lc_integers);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_health_timeout);
	tcase_add_test(tc, test_forwarding_models);
	tcase_add_loop_test(tc, test_single_error, 0,
			    (int)(sizeof(single_error_cases) / sizeof(single_error_cases[0])));
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_vips_blob);
	tcase_add_test(tc, test_error_overflow);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_string_lengths);
	tcase_add_test(tc, test_file_syntax_errors);
	tcase_add_test(tc, test_null_errs);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_addr_helpers);
	tcase_add_test(tc, test_enum_helpers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
