/*
 * control_command.c — `weft -k start|stop|restart|graceful|graceful-stop`
 * (reference 9.2): read the PidFile, check that the process it names is a
 * live weft, signal it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../os/os.h"
#include "control.h"
#include "upgrade.h"

static void print_not_running(int pid_status, pid_t pid)
{
    if (pid_status == WEFT_DECLINED)
        printf("%s (no pid file) not running\n", WEFT_NAME);
    else
        printf("%s (pid %ld?) not running\n", WEFT_NAME, (long)pid);
}

/* After -k stop: wait (up to 15 s) until the control process is gone, so
 * that "weft -k stop; weft" works. */
static void wait_until_gone(pid_t pid)
{
    for (int i = 0; i < 1500 && os_process_is_weft(pid); i++) {
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
}

int control_signal_command(const char *command, const server_config *server)
{
    pid_t pid = 0;
    int status = server->pid_file ? os_pid_file_read(server->pid_file, &pid) : WEFT_DECLINED;
    if (status == WEFT_ERROR) {
        fprintf(stderr, "%s: Error retrieving pid file %s: %s\n"
                        "Remove it before continuing if it is corrupted.\n",
                WEFT_NAME, server->pid_file, strerror(errno));
        return 1;
    }
    bool running = status == WEFT_OK && os_process_is_weft(pid);

    if (strcmp(command, "start") == 0) {
        if (!running)
            return CONTROL_START;
        printf("%s (pid %ld) already running\n", WEFT_NAME, (long)pid);
        return 0;
    }
    if (strcmp(command, "upgrade") == 0) {
        /* This binary, with this configuration (already checked), takes
         * the running server's sockets over (upgrade.h). */
        if (!running) {
            printf("%s not running, trying to start\n", WEFT_NAME);
            return CONTROL_START;
        }
        char error[256];
        if (upgrade_receive_sockets(pid, error, sizeof error) != WEFT_OK) {
            fprintf(stderr, "%s: upgrade failed, pid %ld keeps serving: %s\n", WEFT_NAME, (long)pid, error);
            return 1;
        }
        return CONTROL_START;
    }
    int signo;
    if (strcmp(command, "stop") == 0)
        signo = SIGTERM;
    else if (strcmp(command, "restart") == 0)
        signo = SIGHUP;
    else if (strcmp(command, "graceful") == 0)
        signo = SIGUSR1;
    else if (strcmp(command, "graceful-stop") == 0)
        signo = SIGWINCH;
    else {
        fprintf(stderr, "%s: unknown -k command '%s' (start, restart, graceful, graceful-stop, stop, upgrade)\n",
                WEFT_NAME, command);
        return 1;
    }

    if (!running) {
        if (signo == SIGHUP || signo == SIGUSR1) {
            printf("%s not running, trying to start\n", WEFT_NAME);
            return CONTROL_START;
        }
        print_not_running(status, pid);
        return 0;
    }
    if (kill(pid, signo) != 0) {
        fprintf(stderr, "%s: could not send %s to pid %ld: %s\n", WEFT_NAME, os_signal_name(signo),
                (long)pid, strerror(errno));
        return 1;
    }
    if (signo == SIGTERM)
        wait_until_gone(pid);
    return 0;
}
