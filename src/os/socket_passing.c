/*
 * socket_passing.c — SCM_RIGHTS and LISTEN_FDS (see socket_passing.h).
 */
#include "socket_passing.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3

int os_send_fds(int channel, const int *fds, int count)
{
    if (count < 0 || count > OS_PASS_MAX_FDS) {
        errno = EINVAL;
        return WEFT_ERROR;
    }
    char byte = 'L';
    struct iovec data = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int) * OS_PASS_MAX_FDS)];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = { .msg_iov = &data, .msg_iovlen = 1 };
    if (count > 0) {
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    }
    ssize_t sent;
    do
        sent = sendmsg(channel, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent == 1 ? WEFT_OK : WEFT_ERROR;
}

int os_receive_fds(int channel, int *fds, int max, int timeout_ms)
{
    struct pollfd p = { .fd = channel, .events = POLLIN };
    int ready;
    do
        ready = poll(&p, 1, timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready <= 0) {
        if (ready == 0)
            errno = ETIMEDOUT;
        return -1;
    }
    char byte;
    struct iovec data = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int) * OS_PASS_MAX_FDS)];
    } control;
    struct msghdr message = { .msg_iov = &data, .msg_iovlen = 1, .msg_control = control.bytes,
                              .msg_controllen = sizeof control.bytes };
    ssize_t got;
    do
        got = recvmsg(channel, &message, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return got == 0 ? 0 : -1;
    int count = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
            continue;
        int n = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int received[OS_PASS_MAX_FDS];
        memcpy(received, CMSG_DATA(header), sizeof(int) * (size_t)(n < OS_PASS_MAX_FDS ? n : OS_PASS_MAX_FDS));
        for (int i = 0; i < n && i < OS_PASS_MAX_FDS; i++) {
            if (count < max)
                fds[count++] = received[i];
            else
                close(received[i]);
        }
    }
    if (message.msg_flags & MSG_CTRUNC) {  /* some were lost: a partial set is no handover */
        for (int i = 0; i < count; i++)
            close(fds[i]);
        errno = EMSGSIZE;
        return -1;
    }
    return count;
}

int os_peer_credentials(int channel, pid_t *pid, uid_t *uid)
{
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(channel, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
        return WEFT_ERROR;
    *pid = credentials.pid;
    *uid = credentials.uid;
    return WEFT_OK;
}

socklen_t os_upgrade_address(pid_t pid, struct sockaddr_un *address)
{
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    int length = snprintf(address->sun_path + 1, sizeof address->sun_path - 1, "weft-upgrade-%ld", (long)pid);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)length);
}

static bool parse_count(const char *text, long *value)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    *value = strtol(text, &end, 10);
    return errno == 0 && *end == '\0' && *value >= 0;
}

int os_systemd_listen_fds(void (*adopt)(int fd))
{
    const char *pid_text = getenv("LISTEN_PID"), *fds_text = getenv("LISTEN_FDS");
    int result = 0;
    long pid, count;
    if (!pid_text && !fds_text)
        return 0;
    if (!parse_count(pid_text, &pid) || !parse_count(fds_text, &count) || count > 1024) {
        result = -1;
    } else if (pid == (long)getpid()) {
        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; fd++) {
            int listening = 0, type = 0;
            socklen_t length = sizeof listening, type_length = sizeof type;
            if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening ||
                getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_STREAM)
                continue;  /* not a listening stream socket: not ours to use, left alone */
            int flags = fcntl(fd, F_GETFD);
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
            int status = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, status | O_NONBLOCK);
            adopt(fd);
            result++;
        }
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return result;
}
