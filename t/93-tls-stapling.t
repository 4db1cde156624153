#!/usr/bin/perl
# OCSP stapling (SSLUseStapling, SSLStaplingCache, SSLStapling*) against a
# local responder on loopback: `openssl ocsp` with an index.txt, behind a
# small HTTP front end of this test bound to 127.0.0.1 (openssl 3.0's own
# -port listens on every interface), which also counts the requests and
# can stall.  A local CA made here with the openssl command signs a
# delegated OCSP responder certificate, a good leaf and a revoked leaf,
# both with authorityInfoAccess OCSP;URI:http://127.0.0.1:PORT/.
#
#  - `openssl s_client -status` gets "successful" and "good", stapled from
#    the background fetch; several children share one fetch (the responder
#    sees one request);
#  - the revoked certificate's staple says "revoked";
#  - a stalled responder: handshakes go on at once without a staple while
#    the fetch waits; its timeout is logged; a responder that is down: the
#    error is logged, handshakes go on (tryLater staple with the default
#    SSLStaplingFakeTryLater On, none with Off); when it is back, the next
#    retry (SSLStaplingErrorCacheTimeout) staples again;
#  - SSLUseStapling without SSLStaplingCache is refused with file:line.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(strftime _exit);
use IO::Select;
use IO::Socket::IP;
use Time::HiRes qw(time sleep);
use WeftTest qw(free_port wait_for scale);

my $openssl = `openssl version 2>&1`;
chomp $openssl;
ok($? == 0 && $openssl =~ /^OpenSSL 3/, "the openssl command is OpenSSL 3 ($openssl)")
    or BAIL_OUT('the openssl command is needed (Debian package openssl)');

# ---------------------------------------------------------------- the CA

my $responder_port = free_port();
my $w = WeftTest->new(dirs => ['ca'], conf => '');
my $ca = $w->path('ca');

sub run {
    my (@command) = @_;
    my $out = `cd $ca && @command 2>&1`;
    die "failed: @command\n$out" if $?;
    return $out;
}

my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
run("openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj '/CN=Weft Stapling Test CA'"
    . " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
$w->write_file('ca/responder.ext', "extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\n");
$w->write_file('ca/leaf.ext', "authorityInfoAccess=OCSP;URI:http://127.0.0.1:$responder_port/\n"
    . "subjectAltName=DNS:localhost,IP:127.0.0.1\nkeyUsage=critical,digitalSignature\n"
    . "extendedKeyUsage=serverAuth\n");
$w->write_file('ca/plain.ext', "subjectAltName=DNS:localhost\n");
my %serial = (responder => 2, good => 16, revoked => 17, plain => 18);
for my $name (qw(responder good revoked plain)) {
    my $ext = $name eq 'responder' ? 'responder.ext' : $name eq 'plain' ? 'plain.ext' : 'leaf.ext';
    run("openssl req $ec -keyout $name.key -out $name.csr -subj '/CN=$name'");
    run("openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -set_serial $serial{$name} -days 2"
        . " -out $name.pem -extfile $ext");
}
chmod 0644, glob("$ca/*");
my $expiry = strftime('%y%m%d%H%M%SZ', gmtime(time + 2 * 86400));
my $revoked_at = strftime('%y%m%d%H%M%SZ', gmtime(time - 3600));
$w->write_file('ca/index.txt', sprintf("V\t%s\t\t%02X\tunknown\t/CN=good\nR\t%s\t%s\t%02X\tunknown\t/CN=revoked\n",
    $expiry, $serial{good}, $expiry, $revoked_at, $serial{revoked}));

# ---------------------------------------------------------------- the responder

my %responders;

# Forks the front end: each POSTed request is answered by `openssl ocsp`
# from the index (nextUpdate one day ahead); a line per request goes to
# ca/requests.log.  With ca/stall present it takes the request and answers
# nothing for 60 s (or until killed).
sub start_responder {
    my $listen;
    wait_for(sub {
        $listen = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => $responder_port, Listen => 16,
                                      ReuseAddr => 1, Proto => 'tcp');
    }, scale(10), 0.2) or die "cannot listen on 127.0.0.1:$responder_port: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        for (my $n = 0; $n < 1000; $n++) {
            my $client = $listen->accept or next;
            my $data = '';
            my $deadline = time + 10;
            my $select = IO::Select->new($client);
            while (time < $deadline && $select->can_read(1)) {
                my $got = sysread($client, my $chunk, 65536);
                last unless $got;
                $data .= $chunk;
                my $end = index($data, "\r\n\r\n");
                last if $end >= 0 && length($data) >= $end + 4 + ($data =~ /content-length:\s*(\d+)/i ? $1 : 0);
            }
            open my $log, '>>', "$ca/requests.log";
            print $log "request\n";
            close $log;
            if (-e "$ca/stall") {
                sleep 60;
                close $client;
                next;
            }
            my ($body) = $data =~ /\r\n\r\n(.*)\z/s;
            open my $req, '>:raw', "$ca/req.der";
            print $req $body // '';
            close $req;
            unlink "$ca/resp.der";
            system("cd $ca && openssl ocsp -index index.txt -CA ca.pem -rsigner responder.pem -rkey responder.key"
                . " -ndays 1 -reqin req.der -respout resp.der >/dev/null 2>&1");
            my $answer = '';
            if (open my $resp, '<:raw', "$ca/resp.der") {
                local $/;
                $answer = <$resp>;
            }
            print $client "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
                . "Content-Length: " . length($answer) . "\r\nConnection: close\r\n\r\n" . $answer;
            close $client;
        }
        _exit(0);
    }
    close $listen;
    $responders{$pid} = 1;
    return $pid;
}

sub stop_responder {
    my ($pid) = @_;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    delete $responders{$pid};
}
END { kill 'KILL', keys %responders if %responders }

sub requests_seen {
    open my $log, '<', "$ca/requests.log" or return 0;
    my @lines = <$log>;
    return scalar @lines;
}

# ---------------------------------------------------------------- helpers

# One handshake asking for the staple: (handshake completed, status text).
sub s_client {
    my ($port, $name) = @_;
    $name //= 'localhost';
    my $out = `timeout 20 openssl s_client -connect 127.0.0.1:$port -servername $name -status </dev/null 2>&1`;
    my $done = $out =~ /^New, TLSv1\.[23], Cipher is (?!\(NONE\))/m ? 1 : 0;
    my $status = $out =~ /OCSP response: no response sent/ ? 'none'
        : $out =~ /OCSP Response Status: (\w+)/ ? $1 : 'unreadable';
    $status .= " $1" if $out =~ /Cert Status: (\w+)/;
    return ($done, $status, $out);
}

# Handshakes until the staple reads $want (bounded); returns the last status.
sub wait_staple {
    my ($port, $want, $name) = @_;
    my $status = '';
    wait_for(sub { (undef, $status) = s_client($port, $name); $status eq $want }, scale(20), 0.3);
    return $status;
}

sub conf {
    my (%o) = @_;
    my $extra = $o{extra} // '';
    return <<"EOF";
Listen 127.0.0.1:\@PORT\@ https
Listen 127.0.0.1:\@PORT2\@ https
Listen 127.0.0.1:\@PORT3\@ https
ServerName localhost
StartServers 2
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 8
SSLStaplingCache "shmcb:\@ROOT\@/logs/ocsp(128000)"
$extra
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile \@ROOT\@/ca/good.pem
    SSLCertificateKeyFile \@ROOT\@/ca/good.key
    SSLCertificateChainFile \@ROOT\@/ca/ca.pem
    SSLUseStapling on
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT2\@>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile \@ROOT\@/ca/revoked.pem
    SSLCertificateKeyFile \@ROOT\@/ca/revoked.key
    SSLCertificateChainFile \@ROOT\@/ca/ca.pem
    SSLUseStapling on
</VirtualHost>
# Name-based, chosen by SNI; the same certificates as above (one fetch each).
<VirtualHost 127.0.0.1:\@PORT3\@>
    ServerName good.test
    SSLEngine on
    SSLCertificateFile \@ROOT\@/ca/good.pem
    SSLCertificateKeyFile \@ROOT\@/ca/good.key
    SSLCertificateChainFile \@ROOT\@/ca/ca.pem
    SSLUseStapling on
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT3\@>
    ServerName revoked.test
    SSLEngine on
    SSLCertificateFile \@ROOT\@/ca/revoked.pem
    SSLCertificateKeyFile \@ROOT\@/ca/revoked.key
    SSLCertificateChainFile \@ROOT\@/ca/ca.pem
    SSLUseStapling on
</VirtualHost>
EOF
}

# ---------------------------------------------------------------- good and revoked

my $responder = start_responder();
$w->write_conf(conf());
$w->start;
is(wait_staple($w->port, 'successful good'), 'successful good',
   's_client -status: "OCSP Response Status: successful", "Cert Status: good"');
is(wait_staple($w->port2, 'successful revoked'), 'successful revoked',
   'the revoked certificate: "Cert Status: revoked"');
is(wait_staple($w->port_n(3), 'successful revoked', 'revoked.test'), 'successful revoked',
   'SNI revoked.test: its certificate\'s staple (revoked)');
is(wait_staple($w->port_n(3), 'successful good', 'good.test'), 'successful good',
   'SNI good.test on the same port: good');
my ($done, $status) = s_client($w->port);
ok($done, 'handshakes complete with the staple');
for (1 .. 4) {
    ($done, $status) = s_client($w->port);
}
is($status, 'successful good', 'further handshakes staple the cached response');
is(scalar(() = $w->child_pids($w->pid)), 2, 'two children serve');
is(requests_seen(), 2,
   'the responder was asked once per certificate, not once per child, vhost or handshake');

# A graceful restart keeps the responses: the new children staple at once
# and ask nobody (the responder stalls now: a fetch would not answer).
$w->write_file('ca/stall', '');
my @old_children = $w->child_pids($w->pid);
ok($w->signal('USR1'), 'graceful restart');
ok(wait_for(sub {
    my @now = $w->child_pids($w->pid);
    my %old = map { $_ => 1 } @old_children;
    return @now >= 2 && !grep { $old{$_} } @now;
}, scale(20)), 'a new generation of children serves');
($done, $status) = s_client($w->port);
ok($done && $status eq 'successful good', "its first handshake is stapled from the carried-over response ($status)");
is(requests_seen(), 2, 'no responder was asked');
$w->stop;
unlink "$ca/stall";

# ---------------------------------------------------------------- a stalled responder

# Fresh shared memory: nothing is held yet; the first fetch hangs.
unlink "$ca/requests.log";
$w->write_file('ca/stall', '');
$w->write_conf(conf(extra => "SSLStaplingResponderTimeout 10\nSSLStaplingErrorCacheTimeout 2\nSSLStaplingFakeTryLater off\nLogLevel info"));
$w->start;
ok(wait_for(sub { requests_seen() >= 1 }, scale(10)), 'the stalled responder got the fetch');
($done, $status) = s_client($w->port);
ok($done, 'a handshake while the fetch hangs completes');
is($status, 'none', '... without a staple (SSLStaplingFakeTryLater off)');
unlike($w->error_log, qr/OCSP stapling: no response/, '... before the fetch gave up: the handshake did not wait for it');
ok($w->wait_error_log(qr/\[ssl:error\].*OCSP stapling: no response for '\/CN=good' from http:\/\/127\.0\.0\.1:$responder_port\//,
                      scale(30)),
   'the responder timeout is logged');
stop_responder($responder);
unlink "$ca/stall";

# ---------------------------------------------------------------- the responder down

$w->write_conf(conf(extra => "SSLStaplingResponderTimeout 5\nSSLStaplingErrorCacheTimeout 2\nLogLevel info"));
ok($w->signal('USR1'), 'graceful restart with SSLStaplingFakeTryLater at its default (On)');
ok(wait_for(sub { (() = $w->error_log =~ /OCSP stapling: no response.*connect/g) > 0 }, scale(20)),
   'the unreachable responder is logged (OpenSSL retries a refused connect until the timeout)');
is(wait_staple($w->port, 'trylater'), 'trylater', 'handshakes go on with a tryLater staple');
($done) = s_client($w->port);
ok($done, 'handshakes complete while the responder is down');

# ---------------------------------------------------------------- back up

$responder = start_responder();
is(wait_staple($w->port, 'successful good'), 'successful good',
   'the responder back: the retry after SSLStaplingErrorCacheTimeout staples again');
ok($w->wait_error_log(qr/\[ssl:info\].*OCSP stapling: response for '\/CN=good'.*status good/, scale(5)),
   'the successful fetch is logged at info');
$w->stop;

# ---------------------------------------------------------------- single process

# -X: the fetching thread lives in the process that frees the
# configuration when it stops; it is joined first, also mid-fetch.
$w->write_conf(conf(extra => "SSLStaplingResponderTimeout 3"));
$w->start(x => 1);
is(wait_staple($w->port, 'successful good'), 'successful good', '-X (single process) staples too');
unlink "$ca/requests.log";
$w->write_file('ca/stall', '');
$w->stop(name => 'weft -X');
$w->write_conf(conf(extra => "SSLStaplingResponderTimeout 3"));
$w->start(x => 1);
ok(wait_for(sub { requests_seen() >= 1 }, scale(10)), '-X: a fetch hangs on the stalled responder');
$w->stop(name => 'weft -X stopped while its fetch hangs');
stop_responder($responder);
unlink "$ca/stall";

# ---------------------------------------------------------------- configuration

my $bad = WeftTest->new(conf => <<"EOF");
Listen 127.0.0.1:\@PORT\@ https
ServerName localhost
SSLEngine on
SSLCertificateFile $ca/good.pem
SSLCertificateKeyFile $ca/good.key
SSLCertificateChainFile $ca/ca.pem
SSLUseStapling on
EOF
my ($rc, $out, $err) = $bad->run_weft($bad->weft_args, '-t');
isnt($rc, 0, 'SSLUseStapling without SSLStaplingCache: -t fails');
like($out . $err, qr/weft\.conf:7: .*SSLUseStapling On needs an SSLStaplingCache/, '... naming the line');

my $plain = WeftTest->new(conf => <<"EOF");
Listen 127.0.0.1:\@PORT\@ https
ServerName localhost
SSLEngine on
SSLCertificateFile $ca/plain.pem
SSLCertificateKeyFile $ca/plain.key
SSLCertificateChainFile $ca/ca.pem
SSLUseStapling on
SSLStaplingCache shmcb:logs/ocsp(64000)
EOF
($rc, $out, $err) = $plain->run_weft($plain->weft_args, '-t');
is($rc, 0, 'a certificate without an OCSP responder passes -t');
like($out . $err, qr/names no OCSP responder.*stapling disabled/, '... with a warning');

($rc, $out, $err) = $plain->run_weft($plain->weft_args, '-D', 'DUMP_CONFIG', '-C', 'SSLStaplingResponseMaxAge 900',
                                     '-C', 'SSLStaplingForceURL http://127.0.0.1:9/ocsp');
like($out, qr/^SSLUseStapling On\n(?s:.*)^SSLStaplingCache shmcb:logs\/ocsp\(64000\)\n(?s:.*)^SSLStaplingResponseMaxAge 900\n(?s:.*)^SSLStaplingForceURL http:\/\/127\.0\.0\.1:9\/ocsp\n/m,
     'DUMP_CONFIG shows the stapling directives');

($rc, $out, $err) = $plain->run_weft($plain->weft_args, '-t', '-C', 'SSLStaplingCache dbm:/tmp/x');
isnt($rc, 0, 'SSLStaplingCache dbm: is refused');

done_testing();
