/*
 * Unit tests for src/os/socket_passing.c: descriptors over SCM_RIGHTS, the
 * peer's credentials, the upgrade address, and LISTEN_FDS.
 */
#include "tap.h"

#include "os/socket_passing.c"

#include <netinet/in.h>

static int adopted[8];
static int adopted_count;

static void adopt(int fd)
{
    if (adopted_count < 8)
        adopted[adopted_count++] = fd;
}

static void test_send_receive(void)
{
    int channel[2], a[2], b[2];
    ok(socketpair(AF_UNIX, SOCK_STREAM, 0, channel) == 0 && pipe(a) == 0 && pipe(b) == 0, "a channel and two pipes");
    int sent[2] = { a[1], b[1] };
    is_int(os_send_fds(channel[0], sent, 2), WEFT_OK, "two descriptors sent");
    int got[4] = { -1, -1, -1, -1 };
    is_int(os_receive_fds(channel[1], got, 4, 1000), 2, "two received");
    ok(got[0] >= 0 && got[0] != a[1] && got[1] >= 0, "as new descriptors");
    ok((fcntl(got[0], F_GETFD) & FD_CLOEXEC) != 0, "close-on-exec");
    char byte = 0;
    ok(write(got[1], "x", 1) == 1 && read(b[0], &byte, 1) == 1 && byte == 'x',
       "the second is the second pipe's write end");
    close(got[0]);
    close(got[1]);

    is_int(os_send_fds(channel[0], sent, 2), WEFT_OK, "sent again");
    int one[1] = { -1 };
    is_int(os_receive_fds(channel[1], one, 1, 1000), 1, "a receiver with room for one takes one");
    close(one[0]);

    is_int(os_receive_fds(channel[1], got, 4, 50), -1, "nothing sent: -1 after the wait");
    is_int(errno, ETIMEDOUT, "... ETIMEDOUT");
    int too_many[OS_PASS_MAX_FDS + 1] = { 0 };
    is_int(os_send_fds(channel[0], too_many, OS_PASS_MAX_FDS + 1), WEFT_ERROR, "more than OS_PASS_MAX_FDS refused");

    pid_t pid;
    uid_t uid;
    is_int(os_peer_credentials(channel[0], &pid, &uid), WEFT_OK, "peer credentials");
    is_int(pid, getpid(), "... our pid");
    is_int(uid, getuid(), "... our uid");

    close(channel[0]);
    is_int(os_receive_fds(channel[1], got, 4, 1000), 0, "the peer closed: 0");
    close(channel[1]);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
}

static void test_upgrade_address(void)
{
    struct sockaddr_un address;
    socklen_t length = os_upgrade_address(1234, &address);
    is_int(address.sun_path[0], 0, "abstract namespace");
    ok(memcmp(address.sun_path + 1, "weft-upgrade-1234", 17) == 0, "named after the pid");
    is_int((int)length, (int)(offsetof(struct sockaddr_un, sun_path) + 18), "its length counts the name only");
}

static void test_listen_fds(void)
{
    setenv("LISTEN_PID", "1", 1);
    setenv("LISTEN_FDS", "1", 1);
    adopted_count = 0;
    is_int(os_systemd_listen_fds(adopt), 0, "LISTEN_PID of another process: nothing adopted");
    ok(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS"), "... and the variables are removed");

    setenv("LISTEN_PID", "x", 1);
    setenv("LISTEN_FDS", "1", 1);
    is_int(os_systemd_listen_fds(adopt), -1, "malformed: -1");
    ok(!getenv("LISTEN_PID"), "... the variables removed too");
    is_int(os_systemd_listen_fds(adopt), 0, "no variables: 0");

    /* fd 3: a listening socket; fd 4: a pipe, which is not adopted. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int pipe_fds[2];
    ok(listener >= 0 && bind(listener, (struct sockaddr *)&any, sizeof any) == 0 && listen(listener, 4) == 0 &&
       pipe(pipe_fds) == 0, "a listening socket and a pipe");
    ok(dup2(listener, 3) == 3 && dup2(pipe_fds[0], 4) == 4, "at descriptors 3 and 4");
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "%ld", (long)getpid());
    setenv("LISTEN_PID", pid_text, 1);
    setenv("LISTEN_FDS", "2", 1);
    adopted_count = 0;
    is_int(os_systemd_listen_fds(adopt), 1, "one adopted");
    is_int(adopted_count, 1, "... given to the callback once");
    is_int(adopted[0], 3, "... descriptor 3");
    ok((fcntl(3, F_GETFD) & FD_CLOEXEC) && (fcntl(3, F_GETFL) & O_NONBLOCK), "made close-on-exec and non-blocking");
    ok(fcntl(4, F_GETFD) >= 0, "the pipe is left alone");
    close(3);
    close(4);
    close(listener);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

int main(void)
{
    test_send_receive();
    test_upgrade_address();
    test_listen_fds();
    return done_testing();
}
