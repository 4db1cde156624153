package WeftApache;
# Debian's apache2 beside weft, for the tests that compare weft's answers
# with Apache's on the same configuration (t/85, t/86, t/87; t/83 runs the
# whole stock tree its own way).  apache2 is installed with apt-get when it
# is missing and we are root, as .ci/run does, with its service kept from
# starting; it runs in the foreground (-X) on a loopback port with the test's
# own configuration, and is stopped by its pid.
use strict;
use warnings;
use Exporter 'import';
use IO::Socket::IP;
use POSIX qw(WNOHANG);
use WeftTest qw(wait_for scale);

our @EXPORT_OK = qw(apache_missing start_apache stop_apache);

our $BINARY = '/usr/sbin/apache2';
our $MODULES = '/usr/lib/apache2/modules';

# '' when apache2 and the named modules are there (after installing apache2
# when we are root), else why not: the caller's visible skip says it.
sub apache_missing {
    my (@modules) = @_;
    if (!-x $BINARY && $> == 0) {
        # apache2's maintainer scripts start its service wherever nothing
        # forbids it: a policy-rc.d that refuses, for this install only.
        my $policy = '/usr/sbin/policy-rc.d';
        my $made = 0;
        if (!-e $policy && open(my $fh, '>', $policy)) {
            print $fh "#!/bin/sh\nexit 101\n";
            close $fh;
            chmod 0755, $policy;
            $made = 1;
        }
        system("DEBIAN_FRONTEND=noninteractive apt-get install -y -q apache2 >/dev/null 2>&1");
        unlink $policy if $made;
    }
    return "apache2 is not installed ($BINARY) and we are not root to install it" unless -x $BINARY;
    my @missing = grep { !-f "$MODULES/mod_$_.so" } @modules;
    return "apache2 lacks mod_" . join(', mod_', @missing) if @missing;
    return '';
}

# start_apache(root => DIR, port => N, modules => [...], config => TEXT):
# writes DIR/apache/httpd.conf (the modules, ServerRoot, Listen, its own
# PidFile and ErrorLog, User nobody when root, then TEXT), starts apache2 -X
# and waits until it accepts.  Returns (pid, '') or (undef, why).
sub start_apache {
    my (%o) = @_;
    my $dir = "$o{root}/apache";
    mkdir $dir;
    mkdir "$dir/logs";
    chmod 0777, "$dir/logs";
    my $user = $> == 0 ? "User nobody\nGroup nogroup\n" : '';
    open my $conf, '>', "$dir/httpd.conf" or return (undef, "httpd.conf: $!");
    print $conf map({ "LoadModule ${_}_module $MODULES/mod_$_.so\n" } @{ $o{modules} }),
        "ServerRoot $dir\nServerName localhost\nListen 127.0.0.1:$o{port}\nPidFile $dir/logs/httpd.pid\n",
        "ErrorLog $dir/logs/error_log\n", $user, $o{config};
    close $conf;
    my $pid = fork;
    return (undef, "fork: $!") unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/out";
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec $BINARY, '-X', '-d', $dir, '-f', "$dir/httpd.conf"; }
        POSIX::_exit(127);
    }
    my $up = wait_for(sub {
        return -1 if waitpid($pid, WNOHANG) == $pid;  # it exited
        return IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $o{port}) ? 1 : 0;
    }, scale(15), 0.05);
    return ($pid, '') if $up && $up > 0;
    stop_apache($pid) unless $up && $up < 0;
    my $out = '';
    if (open my $fh, '<', "$dir/out") {
        local $/;
        $out = <$fh> // '';
    }
    return (undef, "apache2 did not start: $out");
}

sub stop_apache {
    my ($pid) = @_;
    return unless $pid;
    kill 'TERM', $pid;
    my $gone = wait_for(sub { waitpid($pid, WNOHANG) == $pid }, scale(10));
    unless ($gone) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
}

1;
