#!/usr/bin/perl
# TLS session resumption across children (module ssl_session): with four
# children that retire after a few connections (MaxConnectionsPerChild), a
# session made on one child resumes on others — TLS 1.2 session IDs through
# the shared cache, TLS 1.2 and 1.3 tickets through the shared keys, TLS 1.3
# stateful tickets (SSLSessionTickets Off) through the cache; every
# resumption reports "Reused".  A graceful restart keeps resumption working:
# tickets and cached sessions from before it still resume, and a second
# restart retires the first key.  Clients: `openssl s_client -sess_out /
# -sess_in`; certificates made here with the openssl command.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(_exit);
use WeftTest qw(wait_for scale);

my ($openssl) = grep { -x } map { "$_/openssl" } split /:/, $ENV{PATH};
my ($timeout) = grep { -x } map { "$_/timeout" } split /:/, $ENV{PATH};
BAIL_OUT('the openssl command is needed (Debian package openssl)') unless $openssl;
BAIL_OUT('the timeout command is needed (coreutils)') unless $timeout;

sub conf {
    my ($tickets, $vhosts) = @_;
    return ($vhosts // '') . <<"EOF";
Listen 127.0.0.1:\@PORT\@ https
SSLEngine on
SSLCertificateFile conf/cert.pem
SSLCertificateKeyFile conf/key.pem
SSLSessionCache shmcb:\@ROOT\@/logs/ssl_scache(512000)
SSLSessionTickets $tickets
StartServers 4
ServerLimit 4
ThreadsPerChild 4
MinSpareThreads 16
MaxSpareThreads 64
MaxClients 16
MaxConnectionsPerChild 5
LogFormat "%P %>s" pids
CustomLog logs/access_log pids
EOF
}

sub make_certificate {
    my ($w, $name, $file) = @_;
    $name //= 'localhost';
    $file //= '';
    my $conf = $w->path('conf');
    my $out = `'$openssl' req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=$name -keyout '$conf/key$file.pem' -out '$conf/cert$file.pem' 2>&1`;
    BAIL_OUT("openssl req failed: $out") if $?;
    chmod 0644, "$conf/cert$file.pem";
    chmod 0600, "$conf/key$file.pem";
}

my $request_file;
my $server_name = 'localhost';    # what the client sends in SNI

# One connection: a request over it, then the server closes (HTTP/1.0).
# Returns (reused 0/1 or undef when the handshake failed, the output).
sub s_client {
    my ($w, @args) = @_;
    my @command = ($timeout, scale(10), $openssl, 's_client', '-connect', '127.0.0.1:' . $w->port,
        '-servername', $server_name, '-ign_eof', @args);
    my $pid = open(my $from, '-|') // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', $request_file or _exit(127);
        open STDERR, '>&', \*STDOUT or _exit(127);
        { no warnings "exec"; exec { $command[0] } @command; }
        _exit(127);
    }
    local $/;
    my $output = <$from> // '';
    close $from;
    my $reused = $output =~ /^Reused, /m ? 1 : $output =~ /^New, /m ? 0 : undef;
    $reused = undef unless $output =~ m{^HTTP/1\.1 200 }m && $output =~ /^hello$/m;
    return ($reused, $output);
}

# The pid of the child that answered the last request: the access log's
# last line (written before the connection closes, waited for anyway).
my %lines_seen;
sub last_pid {
    my ($w) = @_;
    my $count = ($lines_seen{$w} // 0) + 1;
    $w->wait_access_log_lines($count, scale(5));
    $lines_seen{$w} = $count;
    my @lines = split /\n/, $w->access_log;
    return @lines >= $count && $lines[$count - 1] =~ /^(\d+) 200$/ ? $1 : 0;
}

# A new session, then `count` resumptions of it.  chain: each resumption
# starts from the session the previous one gave (TLS 1.3 stateful tickets
# are single-use).
sub resume_many {
    my ($w, $name, $count, %o) = @_;
    my @version = @{ $o{args} };
    my $session = $w->path("logs/$name.session");
    my ($new, $output) = s_client($w, @version, '-sess_out', $session);
    is($new, 0, "$name: a full handshake makes a session") or diag($output);
    my $maker = last_pid($w);
    my ($resumed, %pids) = (0);
    for my $i (1 .. $count) {
        my @io = ('-sess_in', $session);
        push @io, '-sess_out', "$session.next" if $o{chain};
        my ($reused, $out) = s_client($w, @version, @io);
        if (!defined $reused && !($o{chain} && -s "$session.next")) {
            # No verdict at all (the client got no answer before its
            # deadline): that is not a resumption refused, which is what
            # this counts.  Said, and tried once more with the same session.
            diag("$name: connection $i got no answer, tried again:\n$out");
            ($reused, $out) = s_client($w, @version, @io);
        }
        if ($reused) {
            $resumed++;
            $pids{ last_pid($w) }++;
        } else {
            diag("$name: connection $i " . (defined $reused ? 'was not resumed' : 'failed') . ":\n$out");
            last_pid($w) if defined $reused;
        }
        rename "$session.next", $session if $o{chain} && -s "$session.next";
    }
    is($resumed, $count, "$name: all $count resumptions report Reused");
    my @others = grep { $_ != $maker } keys %pids;
    ok(@others >= 1, "$name: resumed by children other than the one that made the session ("
        . scalar(keys %pids) . ' children)');
    return $session;
}

sub new_server {
    my ($tickets, $vhosts) = @_;
    my $w = WeftTest->new(conf => conf($tickets, $vhosts), files => { 'www/index.html' => "hello\n" });
    $request_file = $w->write_file('conf/request', "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n");
    make_certificate($w);
    make_certificate($w, 'other.test', 2) if $vhosts;
    $w->start;
    return $w;
}

my $w = new_server('On');
ok(wait_for(sub { $w->child_pids == 4 }, scale(10)), 'four children');

my $NO_TICKET = ['-tls1_2', '-no_ticket'];
my $TLS12 = ['-tls1_2'];
my $TLS13 = ['-tls1_3'];
my $ids = resume_many($w, 'tls12-session-id', 12, args => $NO_TICKET);
my $t12 = resume_many($w, 'tls12-ticket', 12, args => $TLS12);
my $t13 = resume_many($w, 'tls13-ticket', 12, args => $TLS13);

# ---------------------------------------------------------------- graceful restart
sub graceful {
    my ($w) = @_;
    my %old = map { $_ => 1 } $w->child_pids;
    my $before = () = $w->error_log =~ /graceful restart/g;
    ok($w->signal('USR1'), 'SIGUSR1');
    ok(wait_for(sub { (() = $w->error_log =~ /graceful restart/g) > $before }, scale(10)),
        'the control process restarts gracefully');
    my @kids;
    ok(wait_for(sub { @kids = $w->child_pids; @kids >= 2 && !grep { $old{$_} } @kids }, scale(15)),
        'the old children are replaced by new ones')
        or diag('before: ' . join(' ', sort keys %old) . '; now: ' . join(' ', @kids));
}

{
    my %before = (
        'TLS 1.2 session ID' => [$ids, $NO_TICKET],
        'TLS 1.2 ticket'     => [$t12, $TLS12],
        'TLS 1.3 ticket'     => [$t13, $TLS13],
    );
    for my $name (sort keys %before) {
        my ($file, $args) = @{ $before{$name} };
        system('cp', $file, "$file.before") == 0 or die "cp: $?";
    }
    graceful($w);
    for my $name (sort keys %before) {
        my ($file, $args) = @{ $before{$name} };
        my ($reused, $out) = s_client($w, @$args, '-sess_in', "$file.before");
        is($reused, 1, "$name made before the graceful restart resumes after it") or diag($out);
        last_pid($w) if defined $reused;
    }
    resume_many($w, 'tls13-ticket-after-restart', 6, args => $TLS13);

    # A second restart retires the key the first one replaced.
    graceful($w);
    for my $name ('TLS 1.2 ticket', 'TLS 1.3 ticket') {
        my ($file, $args) = @{ $before{$name} };
        my ($reused, $out) = s_client($w, @$args, '-sess_in', "$file.before");
        is($reused, 0, "$name from two restarts ago: a full handshake (its key is retired)") or diag($out);
        last_pid($w) if defined $reused;
    }
}
unlike($w->error_log, qr/\[(crit|alert|emerg)\]/, 'no critical errors in the error log');
$w->stop;

# ---------------------------------------------------------------- SSLSessionTickets Off
{
    my $off = new_server('Off');
    ok(wait_for(sub { $off->child_pids == 4 }, scale(10)), 'tickets off: four children');
    resume_many($off, 'tls13-stateful', 12, args => $TLS13, chain => 1);
    resume_many($off, 'tls12-tickets-off', 8, args => $TLS12);
    $off->stop;
}

# ---------------------------------------------------------------- SNI
# The second virtual host has a context of its own: OpenSSL looks the
# session up before SNI moves the connection to it, and it still resumes.
{
    my $sni = new_server('Off', <<'EOF');
<VirtualHost *:@PORT@>
    ServerName localhost
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName other.test
    SSLEngine on
    SSLCertificateFile conf/cert2.pem
    SSLCertificateKeyFile conf/key2.pem
</VirtualHost>
EOF
    $request_file = $sni->write_file('conf/request', "GET /index.html HTTP/1.0\r\nHost: other.test\r\n\r\n");
    $server_name = 'other.test';
    my ($new, $output) = s_client($sni, '-tls1_2');
    like($output, qr/CN ?= ?other\.test/, 'SNI other.test: that virtual host\'s certificate');
    last_pid($sni) if defined $new;
    resume_many($sni, 'sni-tls12-session-id', 6, args => $NO_TICKET);
    resume_many($sni, 'sni-tls13-stateful', 6, args => $TLS13, chain => 1);
    $sni->stop;
}

done_testing();
