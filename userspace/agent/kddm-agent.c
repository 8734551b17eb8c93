// SPDX-License-Identifier: GPL-2.0
/*
 * kddm-agent: the command channel between the host and a test-cluster guest.
 *
 *   kddm-agent serve [-p PORT]     (in the guest, usually as PID 1)
 *   kddm-agent connect [-n] [-t SECS] -p PORT -- CMD [ARG...]   (on the host)
 *
 * The guest side listens on TCP (reached from the host only through qemu's
 * loopback port forward), runs one command per connection in its own
 * session and streams stdin/stdout/stderr and the exit status back in
 * length-prefixed frames.  The host side exits with the command's status,
 * 255 if the connection is lost and 124 on timeout, like ssh and timeout(1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define AGENT_MAGIC	0x3158444bU	/* "KDX1" */
#define FRAME_MAX	(64 * 1024)
#define ARGV_MAX	(256 * 1024)

enum frame_type {
	F_ARGV = 1,	/* host->guest: NUL-separated argv */
	F_STDIN,	/* host->guest */
	F_STDIN_EOF,	/* host->guest */
	F_STDOUT,	/* guest->host */
	F_STDERR,	/* guest->host */
	F_EXIT,		/* guest->host: u32 LE status (exit code or 128+sig) */
	F_ERROR,	/* guest->host: message, command could not run */
};

struct frame_hdr {
	uint8_t type;
	uint8_t pad[3];
	uint32_t len;	/* little endian */
} __attribute__((packed));

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int fd, int type, const void *data, size_t len)
{
	struct frame_hdr h = { .type = (uint8_t)type };

	h.len = htole32((uint32_t)len);
	if (write_all(fd, &h, sizeof(h)))
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

/* Reads one frame; *buf is malloc'ed (caller frees).  -1 on EOF/error. */
static int recv_frame(int fd, int *type, char **buf, size_t *len, size_t max)
{
	struct frame_hdr h;

	if (read_all(fd, &h, sizeof(h)))
		return -1;
	*type = h.type;
	*len = le32toh(h.len);
	if (*len > max)
		return -1;
	*buf = malloc(*len + 1);
	if (!*buf)
		return -1;
	if (*len && read_all(fd, *buf, *len)) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	(*buf)[*len] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- guest */

static char **split_argv(char *buf, size_t len)
{
	size_t i, n = 0, k = 0;
	char **argv;

	if (!len || buf[len - 1] != '\0')
		return NULL;
	for (i = 0; i < len; i++)
		n += buf[i] == '\0';
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		return NULL;
	for (i = 0; i < len; i += strlen(buf + i) + 1)
		argv[k++] = buf + i;
	return argv;
}

static pid_t spawn(char **argv, int *in, int *out, int *err)
{
	int pi[2], po[2], pe[2];
	pid_t pid;

	if (pipe2(pi, O_CLOEXEC) || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		dup2(pi[0], 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(2, "kddm-agent: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pi[0]);
	close(po[1]);
	close(pe[1]);
	*in = pi[1];
	*out = po[0];
	*err = pe[0];
	return pid;
}

static int forward_pipe(int *fd, int sock, int type)
{
	char buf[FRAME_MAX];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	return send_frame(sock, type, buf, (size_t)n);
}

/* Handles a frame from the host while the command runs. */
static int host_input(int sock, int *in, pid_t pid)
{
	size_t len;
	char *buf;
	int type;

	if (recv_frame(sock, &type, &buf, &len, FRAME_MAX)) {
		/* Host went away: the command must not outlive it. */
		kill(-pid, SIGKILL);
		return -1;
	}
	if (type == F_STDIN && *in >= 0) {
		if (write_all(*in, buf, len)) {
			close(*in);
			*in = -1;
		}
	} else if (type == F_STDIN_EOF && *in >= 0) {
		close(*in);
		*in = -1;
	}
	free(buf);
	return 0;
}

static uint32_t wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 255;
	if (WIFSIGNALED(st))
		return 128 + (uint32_t)WTERMSIG(st);
	return (uint32_t)WEXITSTATUS(st);
}

static int run_command(int sock, char **argv)
{
	int in, out, err, sock_open = 1;
	uint32_t status;
	pid_t pid;

	pid = spawn(argv, &in, &out, &err);
	if (pid < 0) {
		const char *m = "kddm-agent: cannot start command";

		return send_frame(sock, F_ERROR, m, strlen(m));
	}
	while (out >= 0 || err >= 0) {
		struct pollfd p[3] = {
			{ .fd = out, .events = POLLIN },
			{ .fd = err, .events = POLLIN },
			{ .fd = sock_open ? sock : -1, .events = POLLIN },
		};

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && forward_pipe(&out, sock, F_STDOUT))
			break;
		if (p[1].revents && forward_pipe(&err, sock, F_STDERR))
			break;
		if (p[2].revents && host_input(sock, &in, pid))
			sock_open = 0;
	}
	if (in >= 0)
		close(in);
	status = htole32(wait_status(pid));
	return send_frame(sock, F_EXIT, &status, sizeof(status));
}

static void serve_one(int sock)
{
	char *buf, **argv;
	size_t len;
	int type;

	/* The command's status is collected here, not by the init reaper. */
	signal(SIGCHLD, SIG_DFL);
	if (recv_frame(sock, &type, &buf, &len, ARGV_MAX) || type != F_ARGV)
		_exit(1);
	argv = split_argv(buf, len);
	if (!argv) {
		const char *m = "kddm-agent: malformed command";

		send_frame(sock, F_ERROR, m, strlen(m));
		_exit(1);
	}
	run_command(sock, argv);
	_exit(0);
}

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static int listen_on(int port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int serve(int port)
{
	struct sigaction sa = { .sa_handler = reap, .sa_flags = SA_RESTART };
	int lfd;

	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(port);
	if (lfd < 0) {
		perror("kddm-agent: listen");
		return 1;
	}
	for (;;) {
		int one = 1, c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pid = fork();
		if (pid == 0) {
			close(lfd);
			serve_one(c);
		}
		close(c);
	}
}

/* ----------------------------------------------------------------- host */

static int connect_port(int port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_argv(int fd, char **argv)
{
	size_t len = 0, off = 0;
	char *buf;
	int i, ret;

	for (i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	if (len > ARGV_MAX) {
		fprintf(stderr, "kddm-agent: command line too long\n");
		return -1;
	}
	buf = malloc(len);
	if (!buf)
		return -1;
	for (i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;

		memcpy(buf + off, argv[i], l);
		off += l;
	}
	ret = send_frame(fd, F_ARGV, buf, len);
	free(buf);
	return ret;
}

static int stdin_to_guest(int fd, int *in_open)
{
	char buf[FRAME_MAX];
	ssize_t n = read(0, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		*in_open = 0;
		return send_frame(fd, F_STDIN_EOF, NULL, 0);
	}
	return send_frame(fd, F_STDIN, buf, (size_t)n);
}

/* Returns the exit status to use, or -1 to keep going. */
static int guest_output(int fd)
{
	uint32_t st;
	size_t len;
	char *buf;
	int type, ret = -1;

	if (recv_frame(fd, &type, &buf, &len, FRAME_MAX)) {
		fprintf(stderr, "kddm-agent: connection to the node lost\n");
		return 255;
	}
	if (type == F_STDOUT)
		write_all(1, buf, len);
	else if (type == F_STDERR)
		write_all(2, buf, len);
	else if (type == F_ERROR)
		fprintf(stderr, "%s\n", buf);
	if (type == F_ERROR)
		ret = 127;
	if (type == F_EXIT && len == sizeof(st)) {
		memcpy(&st, buf, sizeof(st));
		ret = (int)(le32toh(st) & 0xff);
	}
	free(buf);
	return ret;
}

static int client(int port, int timeout, int no_stdin, char **argv)
{
	time_t deadline = timeout ? time(NULL) + timeout : 0;
	int fd, in_open = !no_stdin, ret = -1;

	fd = connect_port(port);
	if (fd < 0) {
		fprintf(stderr, "kddm-agent: cannot connect to 127.0.0.1:%d: %s\n",
			port, strerror(errno));
		return 255;
	}
	if (send_argv(fd, argv) ||
	    (no_stdin && send_frame(fd, F_STDIN_EOF, NULL, 0))) {
		close(fd);
		return 255;
	}
	while (ret < 0) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
		};
		int ms = -1;

		if (deadline) {
			ms = (int)(deadline - time(NULL)) * 1000;
			if (ms <= 0) {
				fprintf(stderr, "kddm-agent: timed out after %d s\n",
					timeout);
				ret = 124;
				break;
			}
		}
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			break;
		if (p[1].revents && stdin_to_guest(fd, &in_open))
			ret = 255;
		if (p[0].revents)
			ret = guest_output(fd);
	}
	close(fd);	/* on timeout this makes the guest kill the command */
	return ret < 0 ? 255 : ret;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kddm-agent serve [-p PORT]\n"
		"       kddm-agent connect -p PORT [-n] [-t SECS] -- CMD [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int port = 7000, timeout = 0, no_stdin = 0, c;
	int is_serve;

	if (argc < 2)
		usage();
	is_serve = !strcmp(argv[1], "serve");
	if (!is_serve && strcmp(argv[1], "connect"))
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "+p:t:n")) != -1) {
		if (c == 'p')
			port = atoi(optarg);
		else if (c == 't')
			timeout = atoi(optarg);
		else if (c == 'n')
			no_stdin = 1;
		else
			usage();
	}
	if (port <= 0 || port > 65535 || timeout < 0)
		usage();
	if (is_serve)
		return serve(port);
	if (optind >= argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	return client(port, timeout, no_stdin, argv + optind);
}
