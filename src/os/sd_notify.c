/*
 * sd_notify.c — the systemd notification protocol (see sd_notify.h).
 *
 * The socket is opened once, in the control process, before any child is
 * forked; it is close-on-exec and children never send on it.
 */
#include "sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_fd = -1;
static struct sockaddr_un notify_address;
static socklen_t notify_address_length;

int sd_notify_init(void)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return WEFT_DECLINED;
    size_t length = strlen(name);
    int rc = WEFT_ERROR;
    /* A path, or "@name": the abstract namespace, where the leading byte of
     * sun_path is NUL and the length counts exactly the name's bytes. */
    if ((name[0] == '/' || name[0] == '@') && length < sizeof notify_address.sun_path) {
        memset(&notify_address, 0, sizeof notify_address);
        notify_address.sun_family = AF_UNIX;
        memcpy(notify_address.sun_path, name, length);
        if (name[0] == '@')
            notify_address.sun_path[0] = '\0';
        notify_address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length +
                                            (name[0] == '/'));
        notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        rc = notify_fd >= 0 ? WEFT_OK : WEFT_ERROR;
    }
    unsetenv("NOTIFY_SOCKET");
    return rc;
}

bool sd_notify_enabled(void)
{
    return notify_fd >= 0;
}

void sd_notify_send(const char *text)
{
    if (notify_fd < 0)
        return;
    ssize_t sent;
    do
        sent = sendto(notify_fd, text, strlen(text), MSG_NOSIGNAL, (const struct sockaddr *)&notify_address,
                      notify_address_length);
    while (sent < 0 && errno == EINTR);
}

void sd_notify_printf(const char *format, ...)
{
    if (notify_fd < 0)
        return;
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    sd_notify_send(text);
}

void sd_notify_close(void)
{
    if (notify_fd >= 0)
        close(notify_fd);
    notify_fd = -1;
}
