/* server.c -- a local nats-server with JetStream, for tests, benchmarks and `cloister demo`.
 *
 * The server gets a config file in the caller's directory (loopback only, port -1 so the kernel
 * picks a free one, 8 MiB messages, the JetStream store below the directory) and writes its port
 * to a ports file there once its listener is up; we wait for that file and for a TCP connect to
 * succeed. Taking the port from the server itself leaves no window in which another process can
 * take a port we probed. The child dies with its parent (PR_SET_PDEATHSIG), so a crashed test
 * leaves no server behind; an exec failure comes back through a close-on-exec pipe, which is how
 * a missing nats-server becomes a clear error. Nothing is removed: the directory is the caller's. */
#include "bus/bus.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fileio.h"

#define BUS_SERVER_START_MS 15000
#define BUS_SERVER_STOP_MS 5000
#define BUS_POLL_NS 10000000L

struct bus_server {
    pid_t pid;
    char url[64];
};

/* The installed binary: on PATH, or Debian's /usr/sbin, which a user's PATH often lacks. */
static const char *const server_paths[] = {"/usr/sbin/nats-server", "/usr/local/sbin/nats-server",
                                           "/usr/bin/nats-server", "/usr/local/bin/nats-server"};

static void sleep_poll(void)
{
    struct timespec ts = {0, BUS_POLL_NS};
    nanosleep(&ts, NULL);
}

static int write_config(const char *dir, struct cloister_err *err)
{
    if (strpbrk(dir, "\"\\\n$"))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "nats-server directory: a quote, backslash, $ or newline in its name");
    char path[4096], conf[8192];
    snprintf(path, sizeof path, "%s/nats.conf", dir);
    int n = snprintf(conf, sizeof conf,
                     "# written by cloister (bus_server_start): loopback only, a free port\n"
                     "host: 127.0.0.1\nport: -1\nmax_payload: 8MB\n"
                     "ports_file_dir: \"%s\"\njetstream { store_dir: \"%s/jetstream\" }\n",
                     dir, dir);
    if (n < 0 || (size_t)n >= sizeof conf || strlen(path) + 1 >= sizeof path)
        return cloister_errf(err, CLOISTER_E_TOO_BIG, "nats-server directory: name too long");
    if (file_write_atomic(path, conf, (size_t)n, 0600) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "nats-server config: %s", strerror(errno));
    return CLOISTER_OK;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void child_exec(const char *dir, pid_t parent, int report)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); /* the server inherits none of our descriptors */
    if (chdir(dir) != 0)
        _exit(127);
    char *argv[] = {"nats-server", "-js", "-c", "nats.conf", "-l", "nats-server.log", NULL};
    execvp(argv[0], argv);
    for (size_t i = 0; errno == ENOENT && i < sizeof server_paths / sizeof *server_paths; i++)
        execv(server_paths[i], argv);
    int e = errno;
    ssize_t w = write(report, &e, sizeof e);
    (void)w;
    _exit(127);
}

static int spawn(struct bus_server *s, const char *dir, struct cloister_err *err)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "nats-server: pipe: %s", strerror(errno));
    pid_t parent = getpid();
    s->pid = fork();
    if (s->pid == 0)
        child_exec(dir, parent, pipefd[1]);
    close(pipefd[1]);
    if (s->pid < 0) {
        close(pipefd[0]);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "nats-server: fork: %s", strerror(errno));
    }
    int e = 0;
    ssize_t r;
    do
        r = read(pipefd[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(pipefd[0]);
    if (r == (ssize_t)sizeof e) { /* exec failed */
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        if (e == ENOENT)
            return cloister_errf(err, CLOISTER_E_NOT_FOUND,
                                 "nats-server is not installed (Debian: apt-get install "
                                 "nats-server; scripts/deps.sh installs it)");
        return cloister_errf(err, CLOISTER_E_SYSTEM, "nats-server: exec: %s", strerror(e));
    }
    return CLOISTER_OK;
}

/* The port the server wrote to its ports file, or 0 while there is none yet. */
static int read_port(const char *dir, pid_t pid)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/nats-server_%d.ports", dir, (int)pid);
    uint8_t *data;
    size_t len;
    if (file_read_all(path, 4096, &data, &len) != 0)
        return 0;
    const char *p = strstr((const char *)data, "nats://127.0.0.1:");
    int port = p ? atoi(p + strlen("nats://127.0.0.1:")) : 0;
    free(data);
    return port > 0 && port < 65536 ? port : 0;
}

static bool accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Polls until the server listens, dies, or the start deadline passes. */
static int wait_ready(struct bus_server *s, const char *dir, struct cloister_err *err)
{
    for (int waited = 0; waited < BUS_SERVER_START_MS; waited += BUS_POLL_NS / 1000000) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return cloister_errf(err, CLOISTER_E_FAILED,
                                 "nats-server exited at startup (status %d); see nats-server.log "
                                 "in its directory",
                                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
        int port = read_port(dir, s->pid);
        if (port && accepts(port)) {
            snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", port);
            return CLOISTER_OK;
        }
        sleep_poll();
    }
    return cloister_errf(err, CLOISTER_E_TIMEOUT, "nats-server did not accept connections in %d s",
                         BUS_SERVER_START_MS / 1000);
}

struct bus_server *bus_server_start(const char *dir, struct cloister_err *err)
{
    if (!dir || !*dir) {
        cloister_errf(err, CLOISTER_E_INVALID, "nats-server: no directory given");
        return NULL;
    }
    /* The server runs in dir, so its config names dir absolutely (a relative one, as `make
     * bench` gives, would resolve inside itself). */
    char *abs = realpath(dir, NULL); /* NULL when dir is missing: writing the config says so */
    const char *d = abs ? abs : dir;
    struct bus_server *s = calloc(1, sizeof *s);
    if (!s) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "nats-server: out of memory");
    } else if (write_config(d, err) != 0 || spawn(s, d, err) != 0 || wait_ready(s, d, err) != 0) {
        bus_server_stop(s);
        s = NULL;
    }
    free(abs);
    return s;
}

const char *bus_server_url(const struct bus_server *s)
{
    return s->url;
}

pid_t bus_server_pid(const struct bus_server *s)
{
    return s->pid;
}

void bus_server_stop(struct bus_server *s)
{
    if (!s)
        return;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        pid_t r = 0;
        for (int waited = 0; r == 0 && waited < BUS_SERVER_STOP_MS;
             waited += BUS_POLL_NS / 1000000) {
            r = waitpid(s->pid, NULL, WNOHANG);
            if (r == 0)
                sleep_poll();
        }
        if (r == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
    }
    free(s);
}
