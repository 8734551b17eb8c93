// SPDX-License-Identifier: GPL-2.0
/*
 * The node sees every other cluster node as a TIPC peer, through the TIPC
 * topology server, and has the TIPC address the launcher gave it.
 * KDDM_NODES (cluster size) and KDDM_NODE (this node) come from the driver.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/tipc.h>

#include "kselftest_harness.h"

static int env_int(const char *name)
{
	const char *v = getenv(name);

	return v ? atoi(v) : -1;
}

static __u32 own_node(void)
{
	struct sockaddr_tipc a;
	socklen_t len = sizeof(a);
	__u32 node = 0;
	int fd;

	fd = socket(AF_TIPC, SOCK_RDM, 0);
	if (fd < 0)
		return 0;
	if (!getsockname(fd, (struct sockaddr *)&a, &len))
		node = a.addr.id.node;
	close(fd);
	return node;
}

TEST(own_address)
{
	int n = env_int("KDDM_NODE");

	ASSERT_GT(n, 0) TH_LOG("KDDM_NODE not set");
	EXPECT_EQ(tipc_addr(1, 1, n), own_node());
}

/* Counts distinct peers reported by the topology server within 30 s. */
TEST(sees_all_peers)
{
	struct sockaddr_tipc top = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name.type = TIPC_TOP_SRV,
		.addr.name.name.instance = TIPC_TOP_SRV,
	};
	struct tipc_subscr sub = {
		.seq = { .type = TIPC_NODE_STATE, .lower = 0, .upper = ~0U },
		.timeout = TIPC_WAIT_FOREVER,
		.filter = TIPC_SUB_PORTS,
	};
	int want = env_int("KDDM_NODES") - 1, seen = 0, fd;
	__u32 self = own_node(), peers[1024];

	ASSERT_GE(want, 1) TH_LOG("KDDM_NODES not set");
	ASSERT_LE(want, 1024);
	fd = socket(AF_TIPC, SOCK_SEQPACKET, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&top, sizeof(top)));
	ASSERT_EQ((ssize_t)sizeof(sub), send(fd, &sub, sizeof(sub), 0));
	while (seen < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct tipc_event ev;
		int i, dup = 0;

		ASSERT_EQ(1, poll(&p, 1, 30000))
			TH_LOG("only %d of %d peers after 30 s", seen, want);
		ASSERT_EQ((ssize_t)sizeof(ev), recv(fd, &ev, sizeof(ev), 0));
		if (ev.event != TIPC_PUBLISHED || ev.port.node == self)
			continue;
		for (i = 0; i < seen; i++)
			dup |= peers[i] == ev.port.node;
		if (!dup)
			peers[seen++] = ev.port.node;
	}
	EXPECT_EQ(want, seen);
	close(fd);
}

TEST_HARNESS_MAIN
