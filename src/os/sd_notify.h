/*
 * sd_notify.h — systemd's readiness protocol, without libsystemd: one
 * datagram per message to the Unix socket named by $NOTIFY_SOCKET (a path,
 * or "@name" for the abstract namespace), as sd_notify(3) describes.
 *
 * sd_notify_init() reads and then unsets NOTIFY_SOCKET (children, CGI
 * programs and piped loggers must not talk to systemd in weft's name).
 * Without the variable every call is a no-op, so callers need no checks.
 * Sending never blocks and never fails loudly: systemd may be gone.
 */
#ifndef WEFT_OS_SD_NOTIFY_H
#define WEFT_OS_SD_NOTIFY_H

#include "../core/common.h"

/* WEFT_OK when a socket is configured (and usable), WEFT_DECLINED when
 * NOTIFY_SOCKET is not set, WEFT_ERROR when it is set but unusable. */
int sd_notify_init(void);
bool sd_notify_enabled(void);
/* Sends text as is ("READY=1\nSTATUS=..."). */
void sd_notify_send(const char *text);
void sd_notify_printf(const char *format, ...) PRINTF_LIKE(1, 2);
void sd_notify_close(void);

#endif
