#!/usr/bin/perl
# Log rotation: rename the logs under a light load and send `weft -k
# graceful`: the next requests land in new files and no line is lost (old +
# new = requests served).  Then contrib/weft.logrotate itself, run by
# logrotate(8) when it is installed, with its paths pointed at this server.
# And ErrorLog /dev/stderr with CustomLog /dev/stdout (containers) survive
# graceful restarts.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep);
use WeftTest qw(wait_for scale);

my $CONF = <<'EOF';
StartServers 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 2
ErrorLog logs/error_log
CustomLog logs/access_log "%U %>s"
EOF

# Runs a program with its output in a file; its exit status, or -1 after
# killing it at the deadline.
sub run_bounded {
    my ($timeout, $output, @command) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $output or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { exec { $command[0] } @command; }
        POSIX::_exit(127);
    }
    my $status;
    wait_for(sub { my $r = waitpid($pid, POSIX::WNOHANG()); $status = $? if $r == $pid; $r == $pid }, $timeout);
    return $status if defined $status;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return -1;
}

sub count_lines {
    my ($w, @names) = @_;
    my $n = 0;
    for my $name (@names) {
        $n += grep { length } split /\n/, ($w->read_file("logs/$name") // '');
    }
    return $n;
}

# ---------------------------------------------------------------- rename + graceful
{
    my $w = WeftTest->new(conf => $CONF, files => { 'www/a.txt' => "AAAA\n" });
    $w->start;
    $w->get('/a.txt') for 1 .. 3;
    my $load = $w->start_load(clients => 2, duration => scale(2), path => '/a.txt', pause => 0.005);
    sleep 0.7;
    ok(rename($w->path('logs/access_log'), $w->path('logs/access_log.1')), 'access_log renamed under load');
    ok(rename($w->path('logs/error_log'), $w->path('logs/error_log.1')), 'error_log renamed');
    my ($code, $out, $err) = $w->ctl('graceful');
    is($code, 0, 'weft -k graceful') or diag($err);
    my $res = $load->finish;
    is($res->{failures}, 0, 'the load saw no failure across the rotation') or diag(join "\n", @{ $res->{errors} });
    my $total = 3 + $res->{requests};
    wait_for(sub { count_lines($w, 'access_log', 'access_log.1') >= $total }, scale(10));
    ok(-e $w->path('logs/access_log'), 'a new access_log was created');
    my $new = count_lines($w, 'access_log');
    my $old = count_lines($w, 'access_log.1');
    cmp_ok($new, '>', 0, "the requests after the restart are in the new file ($new lines)");
    cmp_ok($old, '>', 3, "the requests before it stay in the renamed one ($old lines)");
    is($old + $new, $total, "no line lost: $old + $new = the $total requests served");
    my @all = map { split /\n/, ($w->read_file("logs/$_") // '') } 'access_log.1', 'access_log';
    is(scalar(grep { $_ ne '/a.txt 200' } @all), 0, 'every line is whole');

    ok(-e $w->path('logs/error_log'), 'a new error_log was created');
    like($w->read_file('logs/error_log.1') // '', qr/SIGUSR1 received/, 'the restart itself was logged in the old error log');
    $w->signal('USR1');
    ok(wait_for(sub { ($w->read_file('logs/error_log') // '') =~ /SIGUSR1 received/ }, scale(5)),
        'what is logged afterwards goes to the new error log');
    $w->stop;
}

# ---------------------------------------------------------------- contrib/weft.logrotate
SKIP: {
    my ($logrotate) = grep { -x $_ } qw(/usr/sbin/logrotate /sbin/logrotate /usr/bin/logrotate);
    skip 'logrotate is not installed', 8 unless $logrotate;
    my $w = WeftTest->new(conf => $CONF, files => { 'www/a.txt' => "AAAA\n" });
    $w->start;
    $w->get('/a.txt') for 1 .. 5;
    wait_for(sub { count_lines($w, 'access_log') >= 5 }, scale(5));

    # The shipped file, with its paths pointed at this server.
    my $shipped = WeftTest::_slurp("$WeftTest::REPO_ROOT/contrib/weft.logrotate");
    ok(defined $shipped, 'contrib/weft.logrotate exists');
    my $root = $w->root;
    my $bin = WeftTest::binary();
    (my $conf = $shipped) =~ s{/var/log/weft/}{$root/logs/}g;
    $conf =~ s{/run/weft\.pid}{$root/logs/weft.pid}g;
    $conf =~ s{/usr/sbin/weft -d / -f /etc/weft/weft\.conf}{$bin -d $root -f conf/weft.conf}g;
    $conf =~ s{^\s*create .*\n}{}m if $> != 0;    # chown needs root
    isnt($conf, $shipped, 'the logrotate file names the installed paths, which the test can replace');
    $w->write_file('logrotate.conf', $conf);
    my $status = run_bounded(scale(20), "$root/logrotate.out", $logrotate, '-f', '-s', "$root/logrotate.state",
        "$root/logrotate.conf");
    is($status, 0, 'logrotate -f with contrib/weft.logrotate succeeds')
        or diag($w->read_file('logrotate.out'));
    ok(-e $w->path('logs/access_log.1'), 'the access log was rotated to access_log.1 (delaycompress: not yet compressed)');
    ok(-e $w->path('logs/error_log.1'), 'the error log too');
    is(count_lines($w, 'access_log.1'), 5, 'the rotated file has the lines written before');
    $w->get('/a.txt') for 1 .. 4;
    ok(wait_for(sub { count_lines($w, 'access_log') == 4 }, scale(5)),
        'postrotate\'s weft -k graceful made the server write to a new access_log');
    ok(wait_for(sub { ($w->read_file('logs/error_log.1') // '') =~ /SIGUSR1 received/ }, scale(5)),
        'the graceful restart came from postrotate');
    $w->stop;
}

# ---------------------------------------------------------------- stderr and stdout
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/a.txt' => "AAAA\n" });
StartServers 1
ThreadsPerChild 2
MinSpareThreads 1
MaxSpareThreads 8
MaxClients 1
LogLevel notice
ErrorLog /dev/stderr
CustomLog /dev/stdout "%U %>s stdout"
EOF
    $w->start;
    $w->get('/a.txt');
    for my $round (1 .. 2) {
        $w->signal('USR1');
        ok(wait_for(sub { my @n = $w->output =~ /SIGUSR1 received/g; @n >= $round }, scale(5)),
            "graceful restart $round with ErrorLog /dev/stderr: logged there");
    }
    $w->get('/a.txt');
    ok(wait_for(sub { my @n = $w->output =~ m{^/a\.txt 200 stdout$}mg; @n == 2 }, scale(5)),
        'CustomLog /dev/stdout keeps writing across graceful restarts (reopening it is harmless)');
    # (The harness's own checks would read the error log, /dev/stderr here.)
    ok($w->stop(check => 0), 'container-style server: stops cleanly on TERM');
    unlike($w->output, $WeftTest::SANITIZER_RE, 'container-style server: no sanitizer report in its output');
}

done_testing;
