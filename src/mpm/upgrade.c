/*
 * upgrade.c — the binary-upgrade handshake (see upgrade.h).
 */
#include "upgrade.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/log.h"
#include "../os/socket_passing.h"
#include "listen.h"

#define HANDOVER_TIMEOUT_MS 10000  /* the old process answers within a regulation cycle, normally */
#define TAKE_OVER 'T'

static int pending_fd = -1;  /* new process: the connection to the old one until the takeover */

int upgrade_receive_sockets(pid_t old_pid, char *error, size_t size)
{
    struct sockaddr_un address;
    socklen_t length = os_upgrade_address(getpid(), &address);
    int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (server < 0 || bind(server, (struct sockaddr *)&address, length) != 0 || listen(server, 1) != 0) {
        snprintf(error, size, "cannot set up the handover socket: %s", strerror(errno));
        if (server >= 0)
            close(server);
        return WEFT_ERROR;
    }
    if (kill(old_pid, SIGUSR2) != 0) {
        snprintf(error, size, "cannot signal the running weft (pid %ld): %s", (long)old_pid, strerror(errno));
        close(server);
        return WEFT_ERROR;
    }
    int fds[OS_PASS_MAX_FDS];
    int count, channel = -1;
    /* Wait for the old process to connect; someone else connecting (the
     * address is in a namespace every local user shares) is dropped. */
    int64_t deadline = monotonic_ms() + HANDOVER_TIMEOUT_MS;
    while (channel < 0 && monotonic_ms() < deadline) {
        struct pollfd p = { .fd = server, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        int accepted = accept4(server, NULL, NULL, SOCK_CLOEXEC);
        if (accepted < 0)
            continue;
        pid_t peer;
        uid_t uid;
        if (os_peer_credentials(accepted, &peer, &uid) == WEFT_OK && peer == old_pid)
            channel = accepted;
        else
            close(accepted);
    }
    close(server);
    if (channel < 0) {
        snprintf(error, size, "the running weft (pid %ld) did not hand over its sockets within %d s",
                 (long)old_pid, HANDOVER_TIMEOUT_MS / 1000);
        return WEFT_ERROR;
    }
    /* It sends them right after connecting. */
    count = os_receive_fds(channel, fds, OS_PASS_MAX_FDS, HANDOVER_TIMEOUT_MS);
    if (count <= 0) {
        snprintf(error, size, "the running weft (pid %ld) sent no listening sockets%s%s", (long)old_pid,
                 count < 0 ? ": " : "", count < 0 ? strerror(errno) : "");
        close(channel);
        return WEFT_ERROR;
    }
    for (int i = 0; i < count; i++)
        listen_adopt(fds[i]);
    pending_fd = channel;
    return WEFT_OK;
}

bool upgrade_pending(void)
{
    return pending_fd >= 0;
}

void upgrade_take_over(void)
{
    if (pending_fd < 0)
        return;
    char byte = TAKE_OVER;
    ssize_t ignored = send(pending_fd, &byte, 1, MSG_NOSIGNAL);
    (void)ignored;
    close(pending_fd);
    pending_fd = -1;
}

int upgrade_send_sockets(pid_t new_pid, uid_t uid)
{
    if (uid != 0 && uid != getuid()) {
        log_message(LOG_LEVEL_WARN, "SIGUSR2 from pid %ld (uid %ld) ignored: only root or uid %ld may "
                                    "upgrade this server", (long)new_pid, (long)uid, (long)getuid());
        return -1;
    }
    struct sockaddr_un address;
    socklen_t length = os_upgrade_address(new_pid, &address);
    int channel = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (channel < 0 || connect(channel, (struct sockaddr *)&address, length) != 0) {
        log_message(LOG_LEVEL_ERROR, "SIGUSR2 from pid %ld, but it waits for no sockets (run `weft -k "
                                     "upgrade` with the new binary): %s", (long)new_pid, strerror(errno));
        if (channel >= 0)
            close(channel);
        return -1;
    }
    pid_t peer;
    uid_t peer_uid;
    int count;
    const int *fds = listen_fds(&count);
    if (os_peer_credentials(channel, &peer, &peer_uid) != WEFT_OK || peer != new_pid ||
        (peer_uid != 0 && peer_uid != getuid())) {
        log_message(LOG_LEVEL_ERROR, "upgrade: the process at the handover address is not pid %ld; "
                                     "nothing sent", (long)new_pid);
        close(channel);
        return -1;
    }
    if (count > OS_PASS_MAX_FDS || os_send_fds(channel, fds, count) != WEFT_OK) {
        log_message(LOG_LEVEL_ERROR, "upgrade: could not send the listening sockets to pid %ld: %s",
                    (long)new_pid, count > OS_PASS_MAX_FDS ? "too many" : strerror(errno));
        close(channel);
        return -1;
    }
    return channel;
}

int upgrade_watch(int fd)
{
    char byte;
    ssize_t got = recv(fd, &byte, 1, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return WEFT_AGAIN;
    close(fd);
    if (got == 1 && byte == TAKE_OVER)
        return WEFT_OK;
    log_message(LOG_LEVEL_ERROR, "upgrade: the new weft exited before taking over; still serving");
    return WEFT_ERROR;
}
