/* nat_nft.h — the one nftables table homegwd owns, `inet homegw`, built
 * with libnftnl and sent with libmnl (no nft binary, no libnftables).
 *
 * The table (nft syntax; [x] only with that config):
 *
 *   table inet homegw {
 *     set wan_addrs { type ipv4_addr; }                  # masquerade interfaces' addresses (live)
 *     set lan_nets  { type ipv4_addr; flags interval; }  # LAN subnets (live)
 *     set masq_ifs  { type ifname; }                     # masquerade devices
 *     set open      { type inet_proto . inet_service; }  # `open` ports
 *     map forwards { type inet_proto . inet_service : ipv4_addr . inet_service; }   # one element per forwarded port
 *     map pcp { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }
 *     chain dstnat { type nat hook prerouting priority -100; policy accept;
 *       meta nfproto ipv4 ip daddr @wan_addrs meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @forwards
 *       meta nfproto ipv4 ip daddr @wan_addrs meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @pcp
 *     }
 *     chain srcnat { type nat hook postrouting priority 100; policy accept;
 *       [hairpin] meta nfproto ipv4 ct status dnat ip saddr @lan_nets oifname != @masq_ifs masquerade
 *       meta nfproto ipv4 oifname @masq_ifs masquerade
 *     }
 *     [firewall] chain forward { type filter hook forward priority 0; policy accept;
 *       meta nfproto ipv4 iifname @masq_ifs ct state established,related accept
 *       meta nfproto ipv4 iifname @masq_ifs ct status dnat accept
 *       meta nfproto ipv4 iifname @masq_ifs ip daddr 224.0.0.0/4 accept   # what multicast routing forwards
 *       meta nfproto ipv4 iifname @masq_ifs counter drop
 *     }
 *     [firewall] chain input { type filter hook input priority 0; policy accept;
 *       meta nfproto ipv4 iifname @masq_ifs ct state established,related accept
 *       meta nfproto ipv4 iifname @masq_ifs meta l4proto { tcp, udp } meta l4proto . th dport @open accept
 *       meta nfproto ipv4 iifname @masq_ifs ip protocol igmp accept   # the upstream router's queries
 *       meta nfproto ipv4 iifname @masq_ifs counter drop
 *     }
 *   }
 *
 * The forward map is called `forwards`, not `fwd`: `fwd` is a keyword of
 * nft's grammar (1.0.6), so a map of that name could be listed but never
 * named on nft's command line, and `nft list ruleset > file; nft -f file`
 * (how users save their firewall) would fail on it.
 *
 * Priorities: the standard dstnat/srcnat/filter ones, beside any other
 * table. nftables runs every table's base chains at a hook: an accept here
 * ends only this chain, a drop in another table still drops, and our drop
 * drops whatever another table accepted. IPv6 is not touched (homegw is
 * IPv4; dropping ICMPv6 from the WAN would break its neighbour discovery).
 *
 * Every change is one batch (NFNL_MSG_BATCH_BEGIN ... END): one kernel
 * transaction, all or nothing. Building is pure (bytes into a buffer; the
 * tests parse them back with libnftnl); the socket part sends a batch and
 * reports its result from the loop, and watches nftables events so that a
 * foreign change to the table (nft flush ruleset) is noticed. */
#ifndef NAT_NFT_H
#define NAT_NFT_H

#include "nat_config.h"
#include "nat_pcp.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define NAT_NFT_TABLE "homegw"
#define NAT_NFT_SET_WAN "wan_addrs"
#define NAT_NFT_SET_LAN "lan_nets"
#define NAT_NFT_SET_MASQ "masq_ifs"
#define NAT_NFT_SET_OPEN "open"
#define NAT_NFT_MAP_FWD "forwards"
#define NAT_NFT_MAP_PCP "pcp"

struct nat_prefix {
	struct in_addr net; /* masked */
	uint8_t len;
};

/* Everything the table holds at a moment. */
struct nat_nft_spec {
	const struct nat_config *nc;
	const struct in_addr *wan_addrs;
	size_t nwan;
	const struct nat_prefix *lan_nets; /* need not be sorted or disjoint: the builder merges them */
	size_t nlan;
	const struct nat_pcp_mapping *pcp; /* with their remaining lifetime: expires - now */
	size_t npcp;
	uint32_t now;
};

/* A batch of netlink messages, ready to send.
 *
 * Framing: NFNL_MSG_BATCH_BEGIN (res_id NFNL_SUBSYS_NFTABLES, written by the
 * first build call), the change messages, NFNL_MSG_BATCH_END
 * (nat_nft_batch_end). Every change message carries NLM_F_ACK (BEGIN and END
 * do not): the kernel answers each one, an ACK or its error, even when the
 * batch fails, so the sender knows the batch is over once it has counted
 * nmsgs - 2 answers (an error on BEGIN's sequence number, a failed commit,
 * ends it at once). Sequence numbers run from seq_first, one per message.
 * Several build calls may go into one batch (one transaction). After a
 * build error the batch is unusable: free it. */
struct nat_nft_batch {
	uint8_t *buf;
	size_t len, cap;
	uint32_t seq_first, seq_next; /* the sequence numbers it used: [first, next) */
	unsigned nmsgs;		      /* messages, BEGIN and END included */
	uint32_t set_ids;	      /* NFTA_SET_ID handed out so far (sets created in this batch) */
	bool ended;
};

/* Element lists (NEWSETELEM/DELSETELEM) are split over several messages so
 * that no list attribute reaches nla_len's 64 KiB limit. */
#define NAT_NFT_ELEMS_MAX 61440

void nat_nft_batch_init(struct nat_nft_batch *b, uint32_t seq);
void nat_nft_batch_free(struct nat_nft_batch *b);

/* The whole table, replacing whatever is there (add table, delete table, add
 * table and all of its content: a table that does not exist yet is fine).
 * Forward ranges become one map element per port; PCP mappings already
 * expired at spec->now are left out. -EINVAL for a forward or prefix out of
 * range, -ENOMEM. */
int nat_nft_build_replace(struct nat_nft_batch *b, const struct nat_nft_spec *spec);
/* Remove the table (the nat section was removed): add table, delete table,
 * so that a table already gone is no error. */
int nat_nft_build_delete(struct nat_nft_batch *b);
/* Forwards that changed between two configs of the same shape
 * (nat_config_same_shape): delete the removed elements (and those whose
 * target changed), then add the new ones. Both configs' forwards must be
 * sorted and disjoint (as nat_config makes them), else -EINVAL. Nothing
 * changed: nothing is added to B. */
int nat_nft_build_forward_diff(struct nat_nft_batch *b, const struct nat_config *old_nc,
			       const struct nat_config *new_nc);
/* wan_addrs and lan_nets refilled (flush + add) from SPEC. */
int nat_nft_build_live_sets(struct nat_nft_batch *b, const struct nat_nft_spec *spec);
/* One PCP mapping added (with its timeout: expires - now) or removed.
 * Adding is add + delete + add of the element: the first add makes sure it
 * exists so that the delete cannot fail, the second sets the new timeout
 * (older kernels keep the old timeout when an existing element is
 * added again), so a renewal and a new mapping are the same call. Adding
 * over an element with another target fails the batch with -EEXIST (on the
 * first of the three messages). Removing an element the kernel has already
 * expired fails with -ENOENT (in the batch's answer): harmless. -EINVAL if
 * the mapping has expired at NOW. */
int nat_nft_build_pcp(struct nat_nft_batch *b, const struct nat_pcp_mapping *m, bool add, uint32_t now);
/* Close the batch (the END message). After this the batch is sent as a whole.
 * A batch with no change in it is ended too (BEGIN, END: a transaction that
 * changes nothing); sending it is answered at once. */
int nat_nft_batch_end(struct nat_nft_batch *b);

/* ---- the kernel side ---- */

struct nat_nft;

/* DONE of a sent batch: 0, or the first error's -errno with the message
 * that caused it (its index in the batch, for the log). */
typedef void (*nat_nft_done_fn)(void *data, int rc, unsigned failed_msg);
/* Someone else changed the table (or the whole ruleset): the owner rebuilds. */
typedef void (*nat_nft_foreign_fn)(void *data);

/* Three netlink sockets: one for batches sent from the loop, one for the
 * synchronous calls, one joined to NFNLGRP_NFTABLES for events. The event
 * socket drops (socket filter) every event caused by the other two, so our
 * own batches, however large, cost nothing there; of the rest, a
 * transaction that touched table inet homegw and whose NEWGEN names another
 * process calls FOREIGN once. A lost event (receive buffer overflow) counts
 * as a foreign change. */
int nat_nft_open(uv_loop_t *loop, nat_nft_foreign_fn foreign, void *data, struct nat_nft **out);
/* Send B (ended); DONE once the kernel has answered every message (from the
 * loop, never from within this call). Batches are sent in order; several
 * may be in flight. B's buffer is taken (also on error: B is left empty).
 * The batch is renumbered from the socket's own sequence counter first, so
 * callers need not coordinate sequence numbers. The whole batch goes in one
 * sendmsg (the kernel takes a batch per datagram): the socket's send buffer
 * is raised to fit it (SO_SNDBUFFORCE: needs CAP_NET_ADMIN beyond
 * net.core.wmem_max). Returns 0 or -errno (DONE is then not called).
 * Batches still in flight at nat_nft_close get DONE with -ECANCELED. */
int nat_nft_send(struct nat_nft *n, struct nat_nft_batch *b, nat_nft_done_fn done, void *data);
/* Synchronous, for start-up and tests: send B and wait for the answers (on
 * a socket of its own; the kernel answers a batch while it is being sent,
 * so this never waits for long). 0, or the first error's -errno with the
 * index of its message in *FAILED_MSG (may be NULL). B's buffer is taken. */
int nat_nft_send_sync(struct nat_nft *n, struct nat_nft_batch *b, unsigned *failed_msg);
/* Read the pcp map's elements as the kernel holds them (after a restart:
 * mappings outlive homegwd) into OUT (malloc'd), synchronously. Each gets
 * expires = now + the kernel's remaining time (rounded up). client/int_port
 * from the element's data; nonce zero; natpmp false. 0 and *n, or -errno
 * (-ENOENT: no table). */
int nat_nft_dump_pcp(struct nat_nft *n, uint32_t now, struct nat_pcp_mapping **out, size_t *count);
/* The packets dropped by the firewall's two counters (for `nat`), from a
 * dump of the table's rules. 0; -ENOENT when neither counter exists (no
 * table, or no firewall) with both set to 0; -errno. */
int nat_nft_drop_counters(struct nat_nft *n, uint64_t *forward, uint64_t *input);
/* Close (CB once every handle is closed; may be NULL). Allowed from DONE
 * and FOREIGN. */
void nat_nft_close(struct nat_nft *n, void (*cb)(void *data), void *data);

#endif
