/*
 * access_log.h — mod_log_config: LogFormat, CustomLog, TransferLog and the
 * access log lines they describe.
 *
 * Configuration (all server context):
 *   LogFormat format [nickname]   one argument sets the default format
 *                                 (TransferLog's); predefined nicknames are
 *                                 common, combined and combinedio, byte for
 *                                 byte upstream Apache's (%b, not Debian's %O)
 *   CustomLog path format|nickname
 *   TransferLog path              the default format (LogFormat's one-argument
 *                                 form, else common)
 * Paths are relative to ServerRoot; "/dev/stdout" and "/dev/stderr" are
 * allowed; "|program" is a piped log (core/piped_log.h).  A nickname may be
 * defined after the CustomLog that uses it; nicknames are resolved and every
 * format compiled by the module's post_config, which stores the result in
 * server->access_logs.
 *
 * Lifecycle:
 *   access_log_open()   control process, before forking children: opens
 *                       every log (O_APPEND) into server->access_logs; the
 *                       children inherit the descriptors through fork.
 *   access_log_write()  any thread of a child, once per response.
 *   access_log_close()  when a configuration is retired (or at exit).
 *
 * Lines are formatted into a thread-local buffer (or the request pool when
 * they are longer) and written with one write(2) each, so lines from threads
 * and processes never interleave.  Write errors never block or abort: the
 * first failure after a success is reported in the error log, once.
 */
#ifndef WEFT_MODULES_ACCESS_LOG_H
#define WEFT_MODULES_ACCESS_LOG_H

#include "../core/module.h"
#include "../http/request.h"

extern const module access_log_module;

/* Predefined formats, usable as nicknames. */
#define ACCESS_LOG_FORMAT_COMMON "%h %l %u %t \"%r\" %>s %b"
#define ACCESS_LOG_FORMAT_COMBINED ACCESS_LOG_FORMAT_COMMON " \"%{Referer}i\" \"%{User-Agent}i\""
#define ACCESS_LOG_FORMAT_COMBINEDIO ACCESS_LOG_FORMAT_COMBINED " %I %O"

struct access_log_format;
struct access_log_set;

/* Compiles a format string (mod_log_config syntax).  Returns NULL and sets
 * *error (allocated in p, e.g. "unknown format directive %Z") if it is
 * invalid. */
struct access_log_format *access_log_compile(pool *p, const char *text, char **error);

/* Formats the line for r, followed by '\n', into out.  snprintf semantics:
 * returns the length of the whole line (newline included, NUL excluded);
 * when that is >= size the line was truncated and needs result + 1 bytes. */
size_t access_log_format(const struct access_log_format *format, request *r, char *out, size_t size);

/* Opens every CustomLog of server.  Returns WEFT_OK, or WEFT_ERROR after a
 * log_message naming the file and the reason; on error nothing changes (logs
 * opened by an earlier call stay open).  Calling it again reopens them. */
int access_log_open(server_config *server);
void access_log_close(server_config *server);

void access_log_write(request *r);

#endif
