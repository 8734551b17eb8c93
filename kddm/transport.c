// SPDX-License-Identifier: GPL-2.0
/*
 * kDDM transport: kernel TIPC sockets.
 *
 * Socket callbacks run in softirq context and only queue work; datagrams
 * and topology events are read and handled by one receive thread, so a
 * handler may sleep and sees the messages of one peer in the order sent.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/net.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/tipc.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/sched.h>
#include <net/sock.h>

#include "transport.h"

static struct kthread_worker *kddm_kw;
static DECLARE_RWSEM(t_sem);		/* protects the sockets below */
static struct socket *data_sock;
static struct socket *top_sock;
static const struct kddm_transport_ops *t_ops;
static void *rx_buf;
static struct kthread_work rx_work;
static struct kthread_work top_work;

static void kddm_sk_ready(struct sock *sk)
{
	struct kthread_work *w = sk->sk_user_data;

	if (w)
		kthread_queue_work(kddm_kw, w);
}

static void hook_socket(struct socket *sock, struct kthread_work *w)
{
	struct sock *sk = sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = w;
	sk->sk_data_ready = kddm_sk_ready;
	write_unlock_bh(&sk->sk_callback_lock);
}

static void unhook_socket(struct socket *sock)
{
	struct sock *sk = sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	write_unlock_bh(&sk->sk_callback_lock);
}

/*
 * TIPC hands back a datagram it could not deliver with TIPC_ERRINFO (error
 * code, length). Returns that code, or 0 for a datagram that came.
 */
static u32 returned_msg(const void *cbuf, size_t used)
{
	const struct cmsghdr *cm = cbuf;
	const u32 *info;
	size_t step;

	while (used >= sizeof(*cm) && cm->cmsg_len >= sizeof(*cm) &&
	       cm->cmsg_len <= used) {
		if (cm->cmsg_level == SOL_TIPC &&
		    cm->cmsg_type == TIPC_ERRINFO) {
			if (cm->cmsg_len < CMSG_LEN(2 * sizeof(u32)))
				return TIPC_ERR_NO_PORT;
			info = CMSG_DATA(cm);
			return info[0] ?: TIPC_ERR_NO_PORT;
		}
		step = CMSG_ALIGN(cm->cmsg_len);
		if (step >= used)
			break;
		used -= step;
		cm = (const void *)cm + step;
	}
	return 0;
}

/*
 * Returns a datagram's length, -EAGAIN when empty, or 0 for one that TIPC
 * returned (@err set, @from and @ref: the port it was for).
 */
static int recv_one(u32 *from, u32 *ref, u32 *err)
{
	struct sockaddr_tipc addr = {};
	char cbuf[CMSG_SPACE(8) + CMSG_SPACE(1024)];
	struct kvec iov = { .iov_base = rx_buf, .iov_len = KDDM_TIPC_MAX };
	struct msghdr msg = {
		.msg_name = &addr,
		.msg_namelen = sizeof(addr),
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	int n;

	n = kernel_recvmsg(data_sock, &msg, &iov, 1, KDDM_TIPC_MAX,
			   MSG_DONTWAIT);
	if (n < 0)
		return n;
	/* put_cmsg() advanced msg_control: what is left is unused. */
	*err = returned_msg(cbuf, sizeof(cbuf) - msg.msg_controllen);
	*from = addr.addr.id.node;
	*ref = addr.addr.id.ref;
	return *err ? 0 : n;
}

#define RX_BATCH	64

/* The receive thread is handling datagrams (only it reads and writes it). */
static bool in_rx;

static void rx_work_fn(struct kthread_work *w)
{
	int n, budget = RX_BATCH;
	u32 from, ref, err = 0;
	unsigned int nofs;

	/*
	 * Handlers run io-linkers, which allocate: no reclaim into file
	 * systems (a kDDM-backed one would wait for this very thread).
	 */
	nofs = memalloc_nofs_save();
	in_rx = true;
	/*
	 * Handlers send: the lock is not held while they run. After a batch,
	 * the work queues itself again, so that topology events and flushes
	 * are not held back by a steady stream (or a flood) of datagrams.
	 */
	for (;;) {
		if (!budget--) {
			kthread_queue_work(kddm_kw, &rx_work);
			break;
		}
		down_read(&t_sem);
		n = data_sock ? recv_one(&from, &ref, &err) : -EAGAIN;
		up_read(&t_sem);
		if (n == -EAGAIN)
			break;
		if (n > 0)
			t_ops->recv(from, ref, rx_buf, n);
		else if (!n && err)
			t_ops->returned(from, ref, err);
		else if (n < 0)
			pr_warn_ratelimited("receive error %d\n", n);
		cond_resched();
	}
	in_rx = false;
	t_ops->drained();
	memalloc_nofs_restore(nofs);
}

static void top_work_fn(struct kthread_work *w)
{
	struct tipc_event ev;
	struct kvec iov = { .iov_base = &ev, .iov_len = sizeof(ev) };
	struct msghdr msg = {};
	int n;

	for (;;) {
		down_read(&t_sem);
		n = top_sock ? kernel_recvmsg(top_sock, &msg, &iov, 1,
					      sizeof(ev), MSG_DONTWAIT) : -EAGAIN;
		up_read(&t_sem);
		if (n == -EAGAIN)
			break;
		if (n != sizeof(ev)) {
			/* no more node events: membership would freeze */
			pr_err_ratelimited("TIPC topology server connection: %d: membership no longer follows the cluster\n",
					   n);
			break;
		}
		if (ev.s.seq.type != KDDM_TIPC_TYPE ||
		    ev.found_lower != ev.found_upper)
			continue;
		if (ev.event == TIPC_PUBLISHED || ev.event == TIPC_WITHDRAWN)
			t_ops->node_event(ev.found_lower, ev.port.node,
					  ev.port.ref,
					  ev.event == TIPC_PUBLISHED);
	}
}

void kddm_transport_sync_topology(void)
{
	top_work_fn(NULL);
}

static int set_importance(struct socket *sock)
{
	int v = TIPC_CRITICAL_IMPORTANCE;

	return sock->ops->setsockopt(sock, SOL_TIPC, TIPC_IMPORTANCE,
				     KERNEL_SOCKPTR(&v), sizeof(v));
}

static int open_data_sock(u32 self)
{
	struct sockaddr_tipc addr = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_RANGE,
		.scope = TIPC_CLUSTER_SCOPE,
		.addr.nameseq = {
			.type = KDDM_TIPC_TYPE, .lower = self, .upper = self,
		},
	};
	int ret;

	ret = sock_create_kern(&init_net, AF_TIPC, SOCK_RDM, 0, &data_sock);
	if (ret)
		return ret;
	data_sock->sk->sk_sndtimeo = 10 * HZ;
	ret = set_importance(data_sock);
	if (ret)
		goto err;
	hook_socket(data_sock, &rx_work);
	ret = kernel_bind(data_sock, (struct sockaddr *)&addr, sizeof(addr));
	if (ret)
		goto err;
	return 0;
err:
	sock_release(data_sock);
	data_sock = NULL;
	return ret;
}

static int open_top_sock(void)
{
	struct sockaddr_tipc top = {
		.family = AF_TIPC,
		.addrtype = TIPC_SERVICE_ADDR,
		.addr.name.name = { .type = TIPC_TOP_SRV,
				    .instance = TIPC_TOP_SRV },
	};
	struct tipc_subscr sub = {
		.seq = { .type = KDDM_TIPC_TYPE, .lower = 0, .upper = ~0U },
		.timeout = TIPC_WAIT_FOREVER,
		.filter = TIPC_SUB_PORTS,
	};
	struct kvec iov = { .iov_base = &sub, .iov_len = sizeof(sub) };
	struct msghdr msg = {};
	int ret;

	ret = sock_create_kern(&init_net, AF_TIPC, SOCK_SEQPACKET, 0,
			       &top_sock);
	if (ret)
		return ret;
	hook_socket(top_sock, &top_work);
	ret = kernel_connect(top_sock, (struct sockaddr *)&top, sizeof(top),
			     0);
	if (ret)
		goto err;
	ret = kernel_sendmsg(top_sock, &msg, &iov, 1, sizeof(sub));
	if (ret == sizeof(sub))
		return 0;
	if (ret >= 0)
		ret = -EIO;
err:
	sock_release(top_sock);
	top_sock = NULL;
	return ret;
}

static void close_sock(struct socket **sock)
{
	if (!*sock)
		return;
	unhook_socket(*sock);
	sock_release(*sock);
	*sock = NULL;
}

/*
 * kddm_transport_start - publish node @self and watch the others
 * @self: this node's kDDM id, the instance of the published TIPC service
 * @ops: receive and membership handlers, called on the receive thread
 */
int kddm_transport_start(u32 self, const struct kddm_transport_ops *ops)
{
	int ret;

	down_write(&t_sem);
	t_ops = ops;
	ret = open_top_sock();
	if (!ret)
		ret = open_data_sock(self);
	if (ret)
		close_sock(&top_sock);
	up_write(&t_sem);
	return ret;
}

void kddm_transport_stop(void)
{
	down_write(&t_sem);
	close_sock(&data_sock);
	close_sock(&top_sock);
	up_write(&t_sem);
	kthread_flush_worker(kddm_kw);
}

/* Our own socket's TIPC node address and port, 0 when not started. */
u32 kddm_transport_port(u32 *ref)
{
	struct sockaddr_tipc addr = {};
	u32 node = 0;

	*ref = 0;
	down_read(&t_sem);
	if (data_sock &&
	    kernel_getsockname(data_sock, (struct sockaddr *)&addr) >= 0) {
		node = addr.addr.id.node;
		*ref = addr.addr.id.ref;
	}
	up_read(&t_sem);
	return node;
}

/*
 * Closes our data socket (our publication is withdrawn: the others see us
 * leave) or opens a new one (a new port: a new incarnation), keeping the
 * topology subscription. Safe on the receive thread.
 */
void kddm_transport_close_data(void)
{
	down_write(&t_sem);
	close_sock(&data_sock);
	up_write(&t_sem);
}

int kddm_transport_open_data(u32 self)
{
	int ret = 0;

	down_write(&t_sem);
	if (!data_sock && top_sock)
		ret = open_data_sock(self);
	up_write(&t_sem);
	return ret;
}

/*
 * TIPC waits for a congested link interruptibly, and ends the wait when
 * anything is pending for the task: a SIGKILL (an exiting process that
 * closes its kdfs files), but also a freezer's or a debugger's stop (CRIU
 * seizing a process to dump it). Such a message must not be lost: that
 * breaks the link to its node for the whole cluster. The task tries
 * again every millisecond or two instead, until the socket's send
 * timeout since the first try.
 * Under t_sem.
 */
static int send_polling(struct msghdr *msg, struct kvec *vec, size_t nvec,
			size_t len, unsigned long end)
{
	int ret;

	msg->msg_flags |= MSG_DONTWAIT;
	do {
		usleep_range(1000, 2000);
		ret = kernel_sendmsg(data_sock, msg, vec, nvec, len);
	} while (ret == -EAGAIN && time_before(jiffies, end));
	return ret;
}

/*
 * kddm_transport_send - send one datagram to the socket @tipc:@ref
 *
 * Messages go to a peer's own port, never to the service name: any local
 * user may bind a socket to kDDM's service type, and TIPC would hand such
 * a socket a share of the messages sent to the name.
 *
 * Return: 0 or -errno (-ENOTCONN when our socket is closed). May sleep
 * while the link is congested, at most the socket's send timeout.
 */
int kddm_transport_send(u32 tipc, u32 ref, struct kvec *vec, size_t nvec,
			size_t len)
{
	struct sockaddr_tipc addr = {
		.family = AF_TIPC,
		.addrtype = TIPC_SOCKET_ADDR,
		.addr.id = { .ref = ref, .node = tipc },
	};
	struct msghdr msg = {
		.msg_name = &addr,
		.msg_namelen = sizeof(addr),
	};
	int ret = -ENOTCONN;
	unsigned long end;
	sigset_t all, old;

	if (len > KDDM_TIPC_MAX)
		return -EMSGSIZE;
	/*
	 * Only SIGKILL may interrupt the wait for a congested link (or a
	 * stop: see send_polling()).
	 */
	siginitsetinv(&all, sigmask(SIGKILL));
	sigprocmask(SIG_BLOCK, &all, &old);
	down_read(&t_sem);
	if (data_sock) {
		end = jiffies + data_sock->sk->sk_sndtimeo;
		ret = kernel_sendmsg(data_sock, &msg, vec, nvec, len);
		if (ret == -EINTR || ret == -ERESTARTSYS)
			ret = send_polling(&msg, vec, nvec, len, end);
	}
	up_read(&t_sem);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret < 0 ? ret : 0;
}

bool kddm_transport_on_rx(void)
{
	return current == kddm_kw->task && in_rx;
}

void kddm_transport_flush(void)
{
	kthread_flush_worker(kddm_kw);
}

/* Runs @w on the receive thread, after what is queued there. */
void kddm_transport_queue(struct kthread_work *w)
{
	kthread_queue_work(kddm_kw, w);
}

/*
 * TIPC must be built in or loadable (creating a socket loads its module,
 * as the first join would): without it kddm refuses to load.
 */
static int kddm_tipc_probe(void)
{
	struct socket *s;
	int ret;

	ret = sock_create_kern(&init_net, AF_TIPC, SOCK_RDM, 0, &s);
	if (ret == -EAFNOSUPPORT) {
		pr_err("no TIPC: the kernel lacks it (CONFIG_TIPC) or its module cannot be loaded (blacklisted?): not loading\n");
		return ret;
	}
	if (ret) {
		pr_err("cannot open a TIPC socket: %d: not loading\n", ret);
		return ret;
	}
	sock_release(s);
	return 0;
}

int kddm_transport_init(void)
{
	int ret;

	ret = kddm_tipc_probe();
	if (ret)
		return ret;
	kthread_init_work(&rx_work, rx_work_fn);
	kthread_init_work(&top_work, top_work_fn);
	rx_buf = kvmalloc(KDDM_TIPC_MAX, GFP_KERNEL);
	if (!rx_buf)
		return -ENOMEM;
	/*
	 * One thread handles every message and membership event, in order;
	 * real-time, so that a reply reaches its waiter without queueing
	 * behind the very tasks that wait (or spin) for it.
	 */
	kddm_kw = kthread_create_worker(0, "kddm");
	if (IS_ERR(kddm_kw)) {
		kvfree(rx_buf);
		return PTR_ERR(kddm_kw);
	}
	sched_set_fifo_low(kddm_kw->task);
	return 0;
}

void kddm_transport_exit(void)
{
	kddm_transport_stop();
	kthread_destroy_worker(kddm_kw);
	kvfree(rx_buf);
}
