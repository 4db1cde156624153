#!/usr/bin/perl
# A child that can no longer re-arm its timer in its epoll set would hold
# connections past every timeout: it logs why, stops, and the control
# process replaces it while the other children go on serving.
#
# The failure is injected with a small LD_PRELOAD library, built here with
# cc: it fails EPOLL_CTL_MOD of a timerfd (ENOMEM) in the one process whose
# pid is written in a file, so only the chosen child is hit.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep);
use WeftTest qw(wait_for scale);

my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "index\n" });
StartServers 2
ThreadsPerChild 4
MinSpareThreads 8
MaxSpareThreads 16
MaxClients 4
EOF

my $victim_file = $w->path('victim.pid');
my $source = $w->path('rearm_fault.c');
my $library = $w->path('rearm_fault.so');
open my $c, '>', $source or die "$source: $!";
print $c <<'C';
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

int epoll_ctl(int epoll_fd, int operation, int fd, struct epoll_event *event)
{
    static int (*real)(int, int, int, struct epoll_event *);
    if (!real)
        real = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
    struct itimerspec timer;
    const char *file = getenv("WEFT_FAULT_REARM_FILE");
    if (operation == EPOLL_CTL_MOD && file && timerfd_gettime(fd, &timer) == 0) {
        long pid = 0;
        FILE *f = fopen(file, "r");
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid == (long)getpid()) {
            errno = ENOMEM;
            return -1;
        }
    }
    return real(epoll_fd, operation, fd, event);
}
C
close $c;
my $cc_out = `cc -shared -fPIC -O1 -o '$library' '$source' -ldl 2>&1`;
if ($? != 0) {
    my $why = "cannot build the fault-injection library with cc: $cc_out";
    diag("SKIP: $why");
    plan skip_all => $why;
}
chmod 0644, $library;

{
    local $ENV{LD_PRELOAD} = $library;
    local $ENV{WEFT_FAULT_REARM_FILE} = $victim_file;
    # A sanitizer runtime insists on coming first in the library list.
    local $ENV{ASAN_OPTIONS} = join(':', grep { defined && length } $ENV{ASAN_OPTIONS}, 'verify_asan_link_order=0');
    $w->start;
}
ok(wait_for(sub { $w->child_pids == 2 }, scale(10)), 'two children to begin with');
my @before = $w->child_pids;
my ($victim, $other) = @before;

open my $f, '>', $victim_file or die "$victim_file: $!";
print $f "$victim\n";
close $f;
chmod 0644, $victim_file;

ok($w->wait_error_log(qr/cannot re-arm its timer, stopping to be replaced/, scale(5)),
   'the child that cannot re-arm its timer says so in the error log')
    or diag(WeftTest::_tail($w->error_log, 10));
# Replaced: the victim is gone and at least two children serve.  While the
# replacement starts, its threads are not idle yet, so regulation may fork
# one more (MinSpareThreads 8); three children are within MaxSpareThreads
# and stay.
ok(wait_for(sub { my @n = $w->child_pids; @n >= 2 && !grep { $_ == $victim } @n }, scale(10)),
   'it stops, and the control process replaces it: two children again (or more), without it')
    or diag('children now: ' . join(' ', $w->child_pids));
ok((grep { $_ == $other } $w->child_pids), 'the other child goes on');
unlink $victim_file;
my $r = $w->get('/index.html');
is($r->{status}, 200, 'the server answers after the replacement') or diag($r->summary);
my @lines = $w->error_log =~ /cannot re-arm/g;
is(scalar @lines, 1, 'only the chosen child failed: one such line');
ok($w->running, 'the control process is still running');
$w->stop;

done_testing;
