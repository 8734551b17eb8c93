// SPDX-License-Identifier: GPL-2.0
/*
 * mig-worker: programs that check themselves while kddm moves them.
 *
 *   mig-worker counter FILE [-m MIB] [--tcp] [--map PATH] [--state]
 *       counts; writes "COUNT PID\n" over FILE every 10 ms; keeps MIB MiB
 *       of memory whose every page it checks against what it wrote there;
 *       --tcp listens on a TCP port of 127.0.0.1 (a process kddm refuses);
 *       --map keeps a private read-only mapping of PATH's first page;
 *       --state sets its open files limit to 777 (soft), counts the
 *       SIGUSR1 it gets and the SIGALRM of a 100 ms interval timer, and
 *       writes "COUNT PID USR1 ALARMS\n"
 *   mig-worker threads FILE [-n THREADS]
 *       THREADS threads pass a token around under a mutex and condition
 *       variables, each checking it is its turn and the count is the one
 *       expected; one more thread sleeps in read() on a pipe (the main
 *       thread writes a byte a second) and one in nanosleep() (2 s at a
 *       time); writes "COUNT PID READS NAPS\n" over FILE, and BAD if 30
 *       bytes wait in the pipe or no nap ended for 30 s
 *
 *   mig-worker msgecho FILE KEY
 *       blocked in msgrcv() on the message queue of IPC key KEY, answers
 *       each message of type 1 "n" (1, 2, ...) with type 2 "n"; writes
 *       the last n over FILE (0 once it waits for the first)
 *   mig-worker pipeline FILE
 *       a child writes 8-byte sequence numbers into a pipe; the parent
 *       reads them, checks none is lost or repeated, writes the count
 *   mig-worker pingpong FILE KEY ROLE
 *       two of them (ROLE 0 and 1, on any nodes) take turns on a System V
 *       shared memory segment of 64 KiB and a set of two semaphores of
 *       IPC key KEY: turn n (ROLE n % 2) checks that the other wrote turn
 *       n - 1 into its slot, writes its own, and hands over; writes the
 *       turn it is at over FILE
 *   mig-worker writer FILE DATA
 *       holds a write lock (fcntl) on DATA and appends numbered 16-byte
 *       records to it with write() (the file offset moves with it);
 *       writes the number of records over FILE
 *   mig-worker files FILE MAPPED TMP
 *       maps MAPPED (16 pages) shared and writes its count n into page
 *       n % 16, opens TMP and unlinks it, writes n at record n % 256 of
 *       it; first checks each holds what it wrote 16 (256) steps before,
 *       and that TMP has no link left (or, while kddm moves it, its name
 *       back: its link count is 1 and TMP names it)
 *   mig-worker share FILE TMP
 *       opens TMP (made if missing) and waits until "echo" says (in the
 *       file, at offset 16) that it unlinked it: the name is never looked
 *       up again on this node; then writes its count n at offset 0 of it
 *       and checks that the count at offset 8 ("echo"'s) never falls or
 *       passes n; writes "n echo" over FILE
 *   mig-worker echo FILE TMP
 *       opens TMP once it is there, unlinks it and says so; then copies
 *       the count at offset 0 to offset 8, checking it never falls, and
 *       appends it (the file grows all the time); writes the count it read
 *       over FILE
 *   mig-worker mapcheck MAPPED
 *       prints the count the pages of MAPPED say, or exits 1 if they are
 *       not the last 16 counts
 *   mig-worker undo FILE KEY
 *       sets semaphore 0 of the set of IPC key KEY to 10, adds 5 to it
 *       with SEM_UNDO (its exit takes them back), then counts
 *   mig-worker ioctls FILE
 *       exports FILE (a regular file of at least KDDM_MIG_PREFETCH_MAX
 *       chunks: 4 MiB) through /dev/kddm_mig and checks the answers to
 *       bad reads and read aheads (EINVAL), that a read ahead of them all
 *       is taken, then that a read of its first chunk (letting it go)
 *       gives its bytes; prints what failed, exits 1 if anything did
 *   mig-worker semval KEY
 *       prints the value of semaphore 0 of the set of IPC key KEY
 *   mig-worker ipcrm KEY
 *       removes the shm segment and the semaphore set of IPC key KEY
 *       (either may be missing)
 *   mig-worker as UID CMD [ARG...]
 *       runs CMD with uid and gid UID and no supplementary group
 *
 * On any broken invariant it writes "BAD ..." over FILE and exits 3.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <kddm/kddm_mig_mem.h>

static int out_fd = -1;

static void report(const char *fmt, unsigned long long n)
{
	char buf[128];
	int len = snprintf(buf, sizeof(buf), fmt, n, (int)getpid());

	/* the same length each time: no stale digits after a shorter one */
	if (pwrite(out_fd, buf, len, 0) != len || ftruncate(out_fd, len))
		exit(4);
}

static void bad(const char *what, unsigned long long n)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "BAD %s at %%llu %%d\n", what);
	report(buf, n);
	exit(3);
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t pattern(size_t page, uint64_t gen)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ (gen << 20) ^ 0x4b44444dULL;
}

static volatile sig_atomic_t usr1s, alarms;

static void on_usr1(int sig)
{
	(void)sig;
	usr1s++;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* --state: an rlimit, a signal handler and an interval timer to keep. */
static int set_state(void)
{
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };
	struct sigaction sa = { .sa_flags = SA_RESTART };
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max < 777)
		return -1;
	rl.rlim_cur = 777;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL))
		return -1;
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL))
		return -1;
	return setitimer(ITIMER_REAL, &it, NULL);
}

static int counter(int argc, char **argv)
{
	size_t mib = 0, pages, p, i;
	unsigned long long n;
	uint64_t *mem = NULL;
	const char *map = NULL;
	int tcp = 0, state = 0;
	char fmt[64];

	for (i = 3; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "-m") && i + 1 < (size_t)argc)
			mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--tcp"))
			tcp = 1;
		else if (!strcmp(argv[i], "--map") && i + 1 < (size_t)argc)
			map = argv[++i];
		else if (!strcmp(argv[i], "--state"))
			state = 1;
		else
			return 2;
	}
	if (state && set_state())
		return 5;
	if (map) {
		/* a private mapping of a file, kept (the file may be local) */
		int fd = open(map, O_RDONLY);
		void *m = fd < 0 ? MAP_FAILED :
			  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);

		if (fd >= 0)
			close(fd);
		if (m == MAP_FAILED)
			return 5;
	}
	if (tcp) {
		struct sockaddr_in a = { .sin_family = AF_INET,
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(s, 1))
			return 5;
	}
	pages = mib * 256;
	if (pages) {
		mem = malloc(pages * 4096);
		if (!mem)
			return 5;
		for (p = 0; p < pages; p++)
			mem[p * 512] = pattern(p, 0);
	}
	for (n = 1;; n++) {
		/* every page still holds what the last round wrote */
		for (p = 0; p < pages; p++) {
			if (mem[p * 512] != pattern(p, n - 1))
				bad("memory", n);
			mem[p * 512] = pattern(p, n);
		}
		if (state) {
			snprintf(fmt, sizeof(fmt), "%%llu %%d %d %d\n",
				 (int)usr1s, (int)alarms);
			report(fmt, n);
		} else {
			report("%llu %d\n", n);
		}
		msleep(10);
	}
	return 0;
}

/* ---- threads ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cv[64];
static int nthreads = 4, turn;
static unsigned long long count;
static int pipefd[2];
static unsigned long reads, naps;	/* what each did, so far */

static void *ring(void *arg)
{
	int id = (int)(long)arg;
	unsigned long long mine = 0;

	for (;;) {
		pthread_mutex_lock(&lock);
		while (turn != id)
			pthread_cond_wait(&turn_cv[id], &lock);
		/* the token went round: count is id modulo nthreads */
		if (count % nthreads != (unsigned long long)id ||
		    mine * nthreads + id != count)
			bad("token order", count);
		count++;
		mine++;
		turn = (id + 1) % nthreads;
		pthread_cond_signal(&turn_cv[turn]);
		pthread_mutex_unlock(&lock);
		if (!(mine % 16))
			msleep(1);
	}
	return NULL;
}

static void *reader(void *arg)
{
	char c;

	(void)arg;
	/* blocked in read() until the main thread writes, once a second */
	for (;;) {
		if (read(pipefd[0], &c, 1) != 1 || c != 'k')
			bad("pipe", count);
		__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	time_t t;

	(void)arg;
	for (;;) {
		t = time(NULL);
		msleep(2000);
		if (time(NULL) < t)
			bad("clock", count);
		__atomic_add_fetch(&naps, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int threads(int argc, char **argv)
{
	unsigned long long c, last = 0;
	unsigned long r, z, last_naps = 0, writes = 0;
	time_t nap_at = time(NULL);
	pthread_t th;
	int i, ticks = 0;
	char fmt[64];

	if (argc == 5 && !strcmp(argv[3], "-n"))
		nthreads = atoi(argv[4]);
	else if (argc != 3)
		return 2;
	if (nthreads < 2 || nthreads > 64 || pipe(pipefd))
		return 2;
	for (i = 0; i < nthreads; i++)
		pthread_cond_init(&turn_cv[i], NULL);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th, NULL, ring, (void *)(long)i))
			return 5;
	if (pthread_create(&th, NULL, reader, NULL) ||
	    pthread_create(&th, NULL, sleeper, NULL))
		return 5;
	for (;;) {
		msleep(50);
		pthread_mutex_lock(&lock);
		c = count;
		pthread_mutex_unlock(&lock);
		if (c < last)
			bad("count went back", c);
		last = c;
		r = __atomic_load_n(&reads, __ATOMIC_RELAXED);
		z = __atomic_load_n(&naps, __ATOMIC_RELAXED);
		/* the reader and the sleeper still do their part */
		if (writes - r >= 30)
			bad("reader stuck", c);
		if (z != last_naps) {
			last_naps = z;
			nap_at = time(NULL);
		} else if (time(NULL) - nap_at >= 30) {
			bad("sleeper stuck", c);
		}
		snprintf(fmt, sizeof(fmt), "%%llu %%d %lu %lu\n", r, z);
		report(fmt, c);
		if (++ticks % 20 == 0) {
			if (write(pipefd[1], "k", 1) != 1)
				bad("pipe write", c);
			writes++;
		}
	}
	return 0;
}

static int pipeline(void)
{
	unsigned long long n, want;
	int fd[2];
	pid_t c;

	if (pipe(fd))
		return 5;
	c = fork();
	if (c < 0)
		return 5;
	if (!c) {
		close(fd[0]);
		for (n = 1;; n++) {
			if (write(fd[1], &n, sizeof(n)) != sizeof(n))
				_exit(1);
			if (!(n % 64))
				msleep(5);
		}
	}
	close(fd[1]);
	for (want = 1;; want++) {
		char *p = (char *)&n;
		size_t got = 0;
		ssize_t r;

		while (got < sizeof(n)) {
			r = read(fd[0], p + got, sizeof(n) - got);
			if (r <= 0)
				bad("pipe closed", want);
			got += r;
		}
		if (n != want)
			bad("sequence", want);
		if (!(want % 64))
			report("%llu %d\n", want);
	}
	return 0;
}

/* ---- kipc ping-pong ---- */

#define PP_SLOTS	(65536 / 64)

struct pp_slot {
	uint64_t turn;
	uint64_t check;
	char pad[48];
};

static int sem_step(int semid, int sem, int delta, unsigned long long n)
{
	struct sembuf op = { .sem_num = sem, .sem_op = delta };

	while (semop(semid, &op, 1)) {
		if (errno != EINTR)
			bad("semop", n);
	}
	return 0;
}

static int pingpong(char **argv)
{
	key_t key = strtol(argv[3], NULL, 0);
	int role = atoi(argv[4]) & 1;
	struct pp_slot *s, *prev;
	unsigned long long n;
	int shmid, semid;

	shmid = shmget(key, PP_SLOTS * sizeof(*s), IPC_CREAT | 0600);
	semid = semget(key, 2, IPC_CREAT | 0600);
	if (shmid < 0 || semid < 0)
		return 5;
	s = shmat(shmid, NULL, 0);
	if (s == (void *)-1)
		return 5;
	report("%llu %d\n", 0);
	for (n = role;; n += 2) {
		/* turn 0 needs no hand-over; turn n > 0 waits for n - 1's */
		if (n)
			sem_step(semid, role, -1, n);
		if (n) {
			prev = &s[(n - 1) % PP_SLOTS];
			if (prev->turn != n - 1 ||
			    prev->check != pattern(n - 1, n))
				bad("hand-over", n);
		}
		s[n % PP_SLOTS].turn = n;
		s[n % PP_SLOTS].check = pattern(n, n + 1);
		report("%llu %d\n", n);
		sem_step(semid, !role, 1, n);
	}
	return 0;
}

static int undo(char **argv)
{
	int semid = semget(strtol(argv[3], NULL, 0), 1, IPC_CREAT | 0600);
	struct sembuf op = { .sem_num = 0, .sem_op = 5, .sem_flg = SEM_UNDO };
	unsigned long long n;

	if (semid < 0 || semctl(semid, 0, SETVAL, 10) || semop(semid, &op, 1))
		return 5;
	for (n = 1;; n++) {
		report("%llu %d\n", n);
		msleep(10);
	}
	return 0;
}

/*
 * Blocked in msgrcv() on queue KEY for a message of type 1 carrying n (its
 * text "n"), answers each with type 2 "n"; writes the last n over FILE (0
 * once the queue is there), BAD if n is not the one after the last.
 */
static int msgecho(char **argv)
{
	int q = msgget(strtol(argv[3], NULL, 0), IPC_CREAT | 0600);
	struct { long type; char text[32]; } m;
	unsigned long long n = 0;
	ssize_t len;

	if (q < 0)
		return 5;
	report("%llu %d\n", 0);
	for (;;) {
		len = msgrcv(q, &m, sizeof(m.text) - 1, 1, 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			bad("msgrcv", n);
		m.text[len] = '\0';
		if (strtoull(m.text, NULL, 10) != n + 1)
			bad("message order", n);
		n++;
		m.type = 2;
		if (msgsnd(q, &m, len, 0))
			bad("msgsnd", n);
		report("%llu %d\n", n);
	}
	return 0;
}

/* ---- a writer to a file, under a lock ---- */

static int writer(const char *data)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	unsigned long long n;
	char rec[17];
	int fd = open(data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || fcntl(fd, F_SETLK, &fl))
		return 5;
	for (n = 1;; n++) {
		snprintf(rec, sizeof(rec), "%15llu\n", n);
		if (write(fd, rec, 16) != 16)
			bad("write", n);
		if (lseek(fd, 0, SEEK_CUR) != (off_t)(n * 16))
			bad("offset", n);
		report("%llu %d\n", n);
		msleep(2);
	}
	return 0;
}

/* ---- files: a shared mapping and an unlinked file, both on kdfs ---- */

/* Does @path name the file of @st? */
static bool named(const char *path, const struct stat *st)
{
	struct stat p;

	return !stat(path, &p) && p.st_dev == st->st_dev &&
	       p.st_ino == st->st_ino;
}

#define MAP_SLOTS	16	/* pages of the mapped file */
#define TMP_SLOTS	256	/* 8-byte records of the unlinked file */

static int files(const char *mapped, const char *tmp)
{
	int mfd = open(mapped, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int tfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	unsigned long long n, v;
	volatile uint64_t *m;
	struct stat st;

	if (mfd < 0 || tfd < 0 || ftruncate(mfd, MAP_SLOTS * 4096) ||
	    unlink(tmp))
		return 5;
	m = mmap(NULL, MAP_SLOTS * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		 mfd, 0);
	if (m == MAP_FAILED)
		return 5;
	close(mfd);
	for (n = 1;; n++) {
		/* what it wrote MAP_SLOTS and TMP_SLOTS steps ago is there */
		size_t s = n % MAP_SLOTS, t = n % TMP_SLOTS;

		if (m[s * 512] != (n > MAP_SLOTS ? n - MAP_SLOTS : 0))
			bad("mapping", n);
		m[s * 512] = n;
		v = 0;
		if (pread(tfd, &v, 8, t * 8) < 0 ||
		    v != (n > TMP_SLOTS ? n - TMP_SLOTS : 0))
			bad("unlinked file", n);
		if (pwrite(tfd, &n, 8, t * 8) != 8)
			bad("unlinked write", n);
		if (fstat(tfd, &st) || (st.st_nlink && !named(tmp, &st)))
			bad("unlinked link count", n);
		report("%llu %d\n", n);
		msleep(5);
	}
	return 0;
}

/* ---- share and echo: one unlinked kdfs file, open on two nodes ---- */

/* Waits up to 60 s for @path to be there. */
static int wait_name(const char *path)
{
	int i;

	for (i = 0; i < 6000; i++) {
		if (!access(path, F_OK))
			return 0;
		msleep(10);
	}
	return -1;
}

#define UNLINKED	0x756e6c696e6b6564ULL	/* echo's word at offset 16 */

static int share(const char *tmp)
{
	int fd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	unsigned long long n, e, last = 0, said = 0;
	char buf[64];
	int i, len;

	for (i = 0; fd >= 0 && i < 6000 && said != UNLINKED; i++) {
		if (pread(fd, &said, 8, 16) < 0)
			return 5;
		msleep(10);
	}
	if (said != UNLINKED)
		return 5;
	for (n = 1;; n++) {
		if (pwrite(fd, &n, 8, 0) != 8)
			bad("shared write", n);
		e = 0;
		if (pread(fd, &e, 8, 8) < 0 || e < last || e > n)
			bad("echo", n);
		last = e;
		len = snprintf(buf, sizeof(buf), "%llu %llu\n", n, e);
		if (pwrite(out_fd, buf, len, 0) != len || ftruncate(out_fd, len))
			exit(4);
		msleep(5);
	}
	return 0;
}

static int echo(const char *tmp)
{
	unsigned long long v, last = 0, n;
	int fd;

	if (wait_name(tmp))
		return 5;
	fd = open(tmp, O_RDWR | O_CLOEXEC);
	v = UNLINKED;
	if (fd < 0 || unlink(tmp) || pwrite(fd, &v, 8, 16) != 8)
		return 5;
	for (n = 1;; n++) {
		v = 0;
		if (pread(fd, &v, 8, 0) < 0 || v < last)
			bad("shared read", n);
		last = v;
		if (pwrite(fd, &v, 8, 8) != 8 ||
		    pwrite(fd, &v, 8, 16 + 8 * n) != 8)
			bad("echo write", n);
		report("%llu %d\n", v);
		msleep(5);
	}
	return 0;
}

/* The mapped file of "files", as read here: its last count, or exit 1. */
static int mapcheck(const char *mapped)
{
	uint64_t v[MAP_SLOTS], max = 0;
	int fd = open(mapped, O_RDONLY | O_CLOEXEC), s;

	if (fd < 0)
		return 1;
	for (s = 0; s < MAP_SLOTS; s++) {
		if (pread(fd, &v[s], 8, s * 4096) != 8 || v[s] % MAP_SLOTS != (uint64_t)s)
			return 1;
		max = v[s] > max ? v[s] : max;
	}
	for (s = 0; s < MAP_SLOTS; s++)
		if (v[s] + MAP_SLOTS <= max)
			return 1;
	printf("%llu\n", (unsigned long long)max);
	return 0;
}

/* @cmd with @rd fails with @err; else says so and counts it in *@bad. */
static void want_err(int dev, unsigned long cmd, struct kddm_mig_read rd,
		     int err, const char *what, int *bad)
{
	if (!ioctl(dev, cmd, &rd) || errno != err) {
		printf("%s: %s, not %s\n", what, strerror(errno),
		       strerror(err));
		(*bad)++;
	}
}

/* /dev/kddm_mig's answers to bad reads and read aheads of a set. */
static int ioctls(const char *path)
{
	int dev = open("/dev/kddm_mig", O_RDWR | O_CLOEXEC), bad = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	static char chunk[KDDM_MIG_CHUNK], want[KDDM_MIG_CHUNK];
	struct kddm_mig_export ex = { .nr_files = 1 };
	struct kddm_mig_read rd = { .buf = (uintptr_t)chunk,
				    .len = KDDM_MIG_CHUNK };
	int32_t fds[1] = { fd };

	ex.fds = (uintptr_t)fds;
	if (dev < 0 || fd < 0 || pread(fd, want, sizeof(want), 0) !=
	    (ssize_t)sizeof(want) || ioctl(dev, KDDM_MIG_EXPORT, &ex)) {
		perror("mig-worker ioctls: export");
		return 1;
	}
	rd.set_id = ex.set_id;
	rd.flags = 0x4;
	want_err(dev, KDDM_MIG_READ, rd, EINVAL, "read, unknown flag", &bad);
	rd.flags = KDDM_MIG_READ_DROP;
	rd.len = KDDM_MIG_CHUNK - 1;
	want_err(dev, KDDM_MIG_READ, rd, EINVAL, "read, short buffer", &bad);
	rd.len = KDDM_MIG_PREFETCH_MAX + 1;
	rd.flags = 0;
	want_err(dev, KDDM_MIG_PREFETCH, rd, EINVAL, "65 chunks ahead", &bad);
	rd.len = 1;
	rd.flags = KDDM_MIG_READ_DROP;
	want_err(dev, KDDM_MIG_PREFETCH, rd, EINVAL, "flags ahead", &bad);
	rd.obj_id = 0xffffffffULL;
	rd.len = 2;
	rd.flags = 0;
	want_err(dev, KDDM_MIG_PREFETCH, rd, EINVAL, "past a file's end",
		 &bad);
	rd.obj_id = 0;
	rd.len = KDDM_MIG_PREFETCH_MAX;
	if (ioctl(dev, KDDM_MIG_PREFETCH, &rd)) {
		printf("64 chunks ahead: %s\n", strerror(errno));
		bad++;
	}
	rd.len = KDDM_MIG_CHUNK;
	rd.flags = KDDM_MIG_READ_DROP;
	if (ioctl(dev, KDDM_MIG_READ, &rd) || rd.len != KDDM_MIG_CHUNK ||
	    memcmp(chunk, want, sizeof(want))) {
		printf("read of chunk 0: %s, %u bytes\n", strerror(errno),
		       rd.len);
		bad++;
	}
	if (ioctl(dev, KDDM_MIG_UNEXPORT, &ex.set_id)) {
		printf("unexport: %s\n", strerror(errno));
		bad++;
	}
	close(fd);
	close(dev);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 3 && !strcmp(argv[1], "as")) {
		unsigned int id = strtoul(argv[2], NULL, 10);

		if (setgroups(0, NULL) || setresgid(id, id, id) ||
		    setresuid(id, id, id)) {
			perror("mig-worker as");
			return 1;
		}
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		return 127;
	}
	if (argc == 3 && !strcmp(argv[1], "semval")) {
		int sem = semget(strtol(argv[2], NULL, 0), 0, 0);
		int v = sem < 0 ? -1 : semctl(sem, 0, GETVAL);

		if (v < 0) {
			perror("mig-worker semval");
			return 1;
		}
		printf("%d\n", v);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ipcrm")) {
		key_t key = strtol(argv[2], NULL, 0);
		int shm = shmget(key, 0, 0), sem = semget(key, 0, 0);

		if ((shm < 0 && sem < 0) ||
		    (shm >= 0 && shmctl(shm, IPC_RMID, NULL)) ||
		    (sem >= 0 && semctl(sem, 0, IPC_RMID))) {
			perror("mig-worker ipcrm");
			return 1;
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "mapcheck"))
		return mapcheck(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "ioctls"))
		return ioctls(argv[2]);
	if (argc < 3) {
		fprintf(stderr, "usage: mig-worker counter|threads FILE [options]\n");
		return 2;
	}
	out_fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		perror(argv[2]);
		return 1;
	}
	if (!strcmp(argv[1], "counter"))
		return counter(argc, argv);
	if (!strcmp(argv[1], "threads"))
		return threads(argc, argv);
	if (!strcmp(argv[1], "pipeline") && argc == 3)
		return pipeline();
	if (!strcmp(argv[1], "pingpong") && argc == 5)
		return pingpong(argv);
	if (!strcmp(argv[1], "undo") && argc == 4)
		return undo(argv);
	if (!strcmp(argv[1], "msgecho") && argc == 4)
		return msgecho(argv);
	if (!strcmp(argv[1], "files") && argc == 5)
		return files(argv[3], argv[4]);
	if (!strcmp(argv[1], "share") && argc == 4)
		return share(argv[3]);
	if (!strcmp(argv[1], "echo") && argc == 4)
		return echo(argv[3]);
	if (!strcmp(argv[1], "writer") && argc == 4)
		return writer(argv[3]);
	fprintf(stderr, "mig-worker: unknown program '%s'\n", argv[1]);
	return 2;
}
