#!/usr/bin/perl
# TLS as mod_ssl configures it (issue 14): Listen ... https and virtual
# hosts with SSLEngine on; SNI chooses the virtual host and its
# certificate; RSA and ECDSA side by side; ALPN; SSLProtocol and
# SSLCipherSuite limits; client certificates (SSLVerifyClient,
# SSLVerifyDepth); plain HTTP on a TLS port (Apache's 400); handshake
# garbage (no crash, no descriptor leak); 421 and SSLStrictSNIVHostCheck;
# `weft -t` errors at file:line; keys read by root, children not root.
# Clients: openssl s_client and curl against certificates made by
# t/lib/WeftTLS.pm in a temporary directory.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use IO::Select;
use POSIX ();
use Digest::SHA ();
use IO::Socket::IP;
use Socket ();
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw wait_closed);
use WeftTLS;

for my $tool (qw(openssl curl)) {
    my ($code) = WeftTLS::run({ timeout => 10 }, 'sh', '-c', "command -v $tool");
    BAIL_OUT("$tool is needed by the TLS tests (apt-get install $tool)") if $code != 0;
}

my $pki_dir = tempdir('weft-pki-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $pki_dir;
my $pki = WeftTLS::make_pki("$pki_dir/pki");
my %P = %$pki;
my $as_root = $> == 0;
my ($nobody_uid) = (getpwnam('nobody'))[2];
my $group = getgrgid((getpwnam('nobody'))[3] // 65534) // 'nogroup';
my $ipv6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1) ? 1 : 0;

my $user = $as_root ? "User nobody\nGroup $group\n" : '';
my $six = $ipv6 ? "Listen [::1]:\@PORT10\@ https\n" : '';
my $six_vhost = $ipv6 ? <<"EOF" : '';
<VirtualHost [::1]:\@PORT10\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
</VirtualHost>
EOF

my $conf = <<"EOF";
${user}StartServers 1
ThreadsPerChild 8
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 8
ServerName localhost
Listen 127.0.0.1:\@PORT\@ https
Listen 127.0.0.1:\@PORT2\@
Listen 127.0.0.1:\@PORT3\@ https
Listen 127.0.0.1:\@PORT4\@ https
Listen 127.0.0.1:\@PORT5\@ https
Listen 127.0.0.1:\@PORT6\@ https
Listen 127.0.0.1:\@PORT7\@ https
Listen 127.0.0.1:\@PORT8\@ https
Listen 127.0.0.1:\@PORT9\@ https
Listen 127.0.0.1:\@PORT11\@ https
$six
# Name-based: a.test (RSA and ECDSA) is the default, b.test by SNI.
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName a.test
    ServerAlias localhost
    DocumentRoot "\@ROOT\@/a"
    ScriptAlias /cgi-bin/ "\@ROOT\@/cgi-bin/"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLCertificateFile $P{'a-ec.crt'}
    SSLCertificateKeyFile $P{'a-ec.key'}
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName b.test
    DocumentRoot "\@ROOT\@/b"
    SSLEngine on
    SSLCertificateFile $P{'b.crt'}
    SSLCertificateKeyFile $P{'b.key'}
</VirtualHost>
# A name-based host with its own protocol and cipher limits (chosen by
# SNI before the protocol version is: mod_ssl 2.4.42+ honours them).
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName c.test
    DocumentRoot "\@ROOT\@/b"
    SSLEngine on
    SSLCertificateFile $P{'b.crt'}
    SSLCertificateKeyFile $P{'b.key'}
    SSLProtocol -all +TLSv1.3
    SSLCipherSuite TLSv1.3 TLS_CHACHA20_POLY1305_SHA256
</VirtualHost>
# Client certificates required, then optional.
<VirtualHost 127.0.0.1:\@PORT3\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLCACertificateFile $P{'client-ca'}
    SSLVerifyClient require
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT4\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLCACertificateFile $P{'client-ca'}
    SSLVerifyClient optional
</VirtualHost>
# TLS 1.3 only, one cipher suite.
<VirtualHost 127.0.0.1:\@PORT5\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLProtocol -all +TLSv1.3
    SSLCipherSuite TLSv1.3 TLS_CHACHA20_POLY1305_SHA256
</VirtualHost>
# TLS 1.2 only, one cipher.
<VirtualHost 127.0.0.1:\@PORT6\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLProtocol TLSv1.2
    SSLCipherSuite ECDHE-RSA-AES256-GCM-SHA384
</VirtualHost>
# SSLStrictSNIVHostCheck in the default of two name-based hosts.
<VirtualHost 127.0.0.1:\@PORT7\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLStrictSNIVHostCheck on
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT7\@>
    ServerName b.test
    DocumentRoot "\@ROOT\@/b"
    SSLEngine on
    SSLCertificateFile $P{'b.crt'}
    SSLCertificateKeyFile $P{'b.key'}
</VirtualHost>
# SSLVerifyDepth: carol's chain has an intermediate CA.
<VirtualHost 127.0.0.1:\@PORT8\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLCACertificateFile $P{'client-ca'}
    SSLVerifyClient require
    SSLVerifyDepth 1
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT9\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLCACertificateFile $P{'client-ca'}
    SSLVerifyClient require
    SSLVerifyDepth 2
</VirtualHost>
# The client CA from a hashed directory.
<VirtualHost 127.0.0.1:\@PORT11\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
    SSLCACertificatePath $P{'client-ca-dir'}
    SSLVerifyClient require
</VirtualHost>
$six_vhost
EOF

srand(90);
my $big = join('', map { pack('N', int rand 4294967296) } 1 .. (6 * 1024 * 1024 / 4));
my $w = WeftTest->new(conf => $conf, dirs => [qw(a b cgi-bin)],
                      files => { 'a/id.txt' => "site a\n", 'b/id.txt' => "site b\n", 'www/id.txt' => "main\n",
                                 'a/big.bin' => $big,
                                 'cgi-bin/count' => { mode => 0755, content =>
                                     "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nwc -c\n" } });
$w->start;
my %port = map { $_ => $w->port_n($_) } 1 .. 11;

sub request_text {
    my ($host, $path) = @_;
    return "GET " . ($path // '/id.txt') . " HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
}

# s_client on port N with arguments and a request for /id.txt.
sub fetch {
    my ($n, $host, @args) = @_;
    my ($code, $out) = WeftTLS::s_client(port => $port{$n}, args => \@args,
                                         input => defined $host ? request_text($host) : undef);
    my $got = WeftTLS::negotiated($out);
    $got->{code} = $code;
    $got->{subject} = WeftTLS::peer_subject($out);
    $got->{body} = $out =~ /\r\n\r\n(site \w+|main)\n/ ? $1 : undef;
    $got->{output} = $out;
    return $got;
}

# s_client's output without its hex dumps and PEM blocks.
sub fetch_from {
    my ($port, @args) = @_;
    my ($code, $out) = WeftTLS::s_client(port => $port, args => \@args);
    return $out;
}

sub show {
    my ($got) = @_;
    my $text = $got->{output} =~ s/^-----BEGIN.*?^-----END[^\n]*\n//msgr;
    $text = join "\n", grep { !/^\s+[0-9a-f]{4} - / } split /\n/, $text;
    diag("s_client exit $got->{code}:\n" . substr($text, -3000));
}

# ---------------------------------------------------------------- SNI and the default vhost
{
    my $a = fetch(1, 'a.test', '-servername', 'a.test');
    like($a->{subject}, qr/CN = a\.test/, 'SNI a.test: the a.test certificate') or show($a);
    is($a->{body}, 'site a', 'SNI a.test: a.test\'s content') or show($a);
    my $b = fetch(1, 'b.test', '-servername', 'b.test');
    like($b->{subject}, qr/CN = b\.test/, 'SNI b.test: the b.test certificate') or show($b);
    is($b->{body}, 'site b', 'SNI b.test: b.test\'s content') or show($b);
    my $none = fetch(1, 'a.test', '-noservername');
    like($none->{subject}, qr/CN = a\.test/, 'no SNI: the default (first) vhost\'s certificate') or show($none);
    is($none->{status}, 200, 'no SNI: the request is served') or show($none);
    my ($status, $body) = WeftTLS::https_get(port => $port{1}, ca => $P{ca}, name => 'b.test', path => '/id.txt');
    is($status, 200, 'curl verifies b.test\'s certificate against the CA');
    is($body, "site b\n", '... and gets b.test\'s content');
    ($status, $body) = WeftTLS::https_get(port => $port{1}, ca => $P{ca}, name => 'a.test', path => '/id.txt');
    is("$status $body", "200 site a\n", 'curl: a.test');
}

# ---------------------------------------------------------------- large bodies both ways
{
    my $want = Digest::SHA::sha256_hex($big);
    # Two downloads on one keep-alive connection, the second read slowly
    # (the server's writes then block: OpenSSL's retry of the same record).
    my ($code, $out, $err) = WeftTLS::curl(max_time => scale(60), args => [
        '--cacert', $P{ca}, '--resolve', "a.test:$port{1}:127.0.0.1", '--write-out', '%{num_connects} ',
        '-o', "$pki_dir/big1", "https://a.test:$port{1}/big.bin",
        '--limit-rate', '3M', '-o', "$pki_dir/big2", "https://a.test:$port{1}/big.bin" ]);
    is($code, 0, 'curl downloads a 6 MiB file twice over TLS') or diag($err);
    is(Digest::SHA::sha256_hex(WeftTLS::slurp("$pki_dir/big1")), $want, '... intact the first time');
    is(Digest::SHA::sha256_hex(WeftTLS::slurp("$pki_dir/big2")), $want, '... and the second, read slowly');
    is($out, '1 0 ', '... on one keep-alive connection');
    my (undef, $part) = WeftTLS::curl(args => ['--cacert', $P{ca}, '--resolve', "a.test:$port{1}:127.0.0.1",
                                               '-r', '1000000-1000099', "https://a.test:$port{1}/big.bin"]);
    is($part, substr($big, 1000000, 100), 'a Range request over TLS');

    # A 3 MiB request body through TLS to a CGI that counts it.
    WeftTLS::spew("$pki_dir/upload", substr($big, 0, 3 * 1024 * 1024));
    ($code, $out, $err) = WeftTLS::curl(max_time => scale(60), args => [
        '--cacert', $P{ca}, '--resolve', "a.test:$port{1}:127.0.0.1", '--data-binary', "\@$pki_dir/upload",
        '-H', 'Content-Type: application/octet-stream', "https://a.test:$port{1}/cgi-bin/count" ]);
    is($code, 0, 'curl uploads 3 MiB over TLS') or diag($err);
    like($out, qr/^\s*3145728\s*$/, '... and the CGI reads every byte') or diag($out);
}

# ---------------------------------------------------------------- RSA and ECDSA side by side
{
    my $rsa = fetch(1, undef, '-servername', 'a.test', '-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256');
    like($rsa->{subject}, qr/O = Weft RSA/, 'TLS 1.2, an RSA cipher: the RSA certificate') or show($rsa);
    my $ec = fetch(1, undef, '-servername', 'a.test', '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256');
    like($ec->{subject}, qr/O = Weft ECDSA/, 'TLS 1.2, an ECDSA cipher: the ECDSA certificate') or show($ec);
    # TLS 1.3: the signature algorithms decide (RSA+SHA256 stays allowed for
    # the CA's signature on either certificate).
    $rsa = fetch(1, undef, '-servername', 'a.test', '-tls1_3', '-sigalgs', 'RSA-PSS+SHA256:RSA+SHA256');
    like($rsa->{subject}, qr/O = Weft RSA/, 'TLS 1.3, RSA signatures only: the RSA certificate') or show($rsa);
    $ec = fetch(1, undef, '-servername', 'a.test', '-tls1_3', '-sigalgs', 'ECDSA+SHA256:RSA+SHA256');
    like($ec->{subject}, qr/O = Weft ECDSA/, 'TLS 1.3, ECDSA signatures: the ECDSA certificate') or show($ec);
}

# ---------------------------------------------------------------- ALPN
{
    my $h1 = fetch(1, 'a.test', '-servername', 'a.test', '-alpn', 'http/1.1');
    is($h1->{alpn}, 'http/1.1', 'ALPN http/1.1 is selected') or show($h1);
    is($h1->{status}, 200, '... and the request is served');
    my $both = fetch(1, 'a.test', '-servername', 'a.test', '-alpn', 'h2,http/1.1');
    is($both->{alpn}, 'http/1.1', 'ALPN h2,http/1.1: http/1.1 (no h2 here)') or show($both);
    my $h2 = fetch(1, 'a.test', '-servername', 'a.test', '-alpn', 'h2');
    ok(!defined $h2->{alpn} && $h2->{output} =~ /No ALPN negotiated/, 'ALPN h2 alone: no protocol selected')
        or show($h2);
    is($h2->{status}, 200, '... and the connection still serves HTTP/1.1') or show($h2);
}

# ---------------------------------------------------------------- protocols and ciphers
{
    my $d12 = fetch(1, 'a.test', '-servername', 'a.test', '-tls1_2');
    is($d12->{protocol}, 'TLSv1.2', 'defaults: TLS 1.2 is offered') or show($d12);
    my $d13 = fetch(1, 'a.test', '-servername', 'a.test', '-tls1_3');
    is($d13->{protocol}, 'TLSv1.3', 'defaults: TLS 1.3 is offered') or show($d13);
    for my $old (qw(tls1_1 tls1)) {
        my $got = fetch(1, undef, '-servername', 'a.test', "-$old", '-cipher', 'DEFAULT@SECLEVEL=0');
        ok($got->{code} != 0 && (!$got->{cipher} || $got->{cipher} eq '(NONE)'),
           "defaults: -$old is refused") or show($got);
    }
    my $weak = fetch(1, undef, '-servername', 'a.test', '-tls1_2', '-cipher', 'AES128-SHA');
    ok($weak->{code} != 0 && (!$weak->{cipher} || $weak->{cipher} eq '(NONE)'),
       'defaults: a static-RSA CBC cipher (AES128-SHA) is refused') or show($weak);

    # A scan of the defaults, one cipher at a time (what sslscan does):
    # exactly Mozilla's intermediate list is accepted.
    my (undef, $all) = WeftTLS::run({ timeout => 20 }, 'openssl', 'ciphers', '-s', '-tls1_2',
                                    'ALL:COMPLEMENTOFALL:@SECLEVEL=0');
    my @tls12 = grep { !/^TLS_/ } split /:/, $all =~ s/\s+//gr;
    cmp_ok(scalar @tls12, '>=', 40, scalar(@tls12) . ' TLS 1.2 ciphers to try');
    my @accepted12;
    for my $cipher (@tls12) {
        my $got = fetch(1, undef, '-servername', 'a.test', '-tls1_2', '-cipher', "$cipher:\@SECLEVEL=0");
        push @accepted12, $cipher if ($got->{cipher} // '(NONE)') eq $cipher;
    }
    is_deeply([sort @accepted12], [sort qw(ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-GCM-SHA256
        ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305
        ECDHE-RSA-CHACHA20-POLY1305 DHE-RSA-AES128-GCM-SHA256 DHE-RSA-AES256-GCM-SHA384 DHE-RSA-CHACHA20-POLY1305)],
        'scan: the TLS 1.2 ciphers accepted by default are Mozilla intermediate\'s');
    my @accepted13;
    for my $suite (qw(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256
                      TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256)) {
        my $got = fetch(1, undef, '-servername', 'a.test', '-tls1_3', '-ciphersuites', $suite);
        push @accepted13, $suite if ($got->{cipher} // '(NONE)') eq $suite;
    }
    is_deeply(\@accepted13, [qw(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256)],
              'scan: the TLS 1.3 suites accepted by default are the three AEAD ones (no CCM)');
    for my $group (qw(X25519 P-256 P-384)) {
        my $got = fetch(1, undef, '-servername', 'a.test', '-groups', $group);
        is($got->{protocol}, 'TLSv1.3', "scan: key exchange group $group is accepted") or show($got);
    }
    for my $group (qw(P-521 ffdhe2048 X448)) {
        my $got = fetch(1, undef, '-servername', 'a.test', '-tls1_3', '-groups', $group);
        ok($got->{code} != 0 && ($got->{cipher} // '(NONE)') eq '(NONE)', "scan: group $group is not offered")
            or show($got);
    }

    my $only13 = fetch(5, 'a.test', '-servername', 'a.test');
    is($only13->{cipher}, 'TLS_CHACHA20_POLY1305_SHA256', 'SSLCipherSuite TLSv1.3 ...: the one suite is used')
        or show($only13);
    is($only13->{status}, 200, '... and serves');
    my $no12 = fetch(5, undef, '-servername', 'a.test', '-tls1_2');
    ok($no12->{code} != 0 && ($no12->{cipher} // '(NONE)') eq '(NONE)', 'SSLProtocol -all +TLSv1.3: -tls1_2 fails')
        or show($no12);
    my $other13 = fetch(5, undef, '-servername', 'a.test', '-ciphersuites', 'TLS_AES_128_GCM_SHA256');
    ok($other13->{code} != 0 && ($other13->{cipher} // '(NONE)') eq '(NONE)',
       'SSLCipherSuite TLSv1.3: a client without that suite fails') or show($other13);

    my $only12 = fetch(6, 'a.test', '-servername', 'a.test');
    is("$only12->{protocol} $only12->{cipher}", 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
       'SSLProtocol TLSv1.2 + SSLCipherSuite: TLS 1.2 with that cipher') or show($only12);
    my $other12 = fetch(6, undef, '-servername', 'a.test', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256');
    ok($other12->{code} != 0 && ($other12->{cipher} // '(NONE)') eq '(NONE)',
       'SSLCipherSuite: a client without that cipher fails') or show($other12);
    my $no13 = fetch(6, undef, '-servername', 'a.test', '-tls1_3');
    ok($no13->{code} != 0 && ($no13->{cipher} // '(NONE)') eq '(NONE)', 'SSLProtocol TLSv1.2: -tls1_3 fails')
        or show($no13);
}

# ---------------------------------------------------------------- per name-based host, by SNI
{
    my $c13 = fetch(1, 'c.test', '-servername', 'c.test');
    is("$c13->{protocol} $c13->{cipher}", 'TLSv1.3 TLS_CHACHA20_POLY1305_SHA256',
       'SNI c.test: its own SSLCipherSuite TLSv1.3 applies') or show($c13);
    is($c13->{status}, 200, '... and it serves');
    my $c12 = fetch(1, undef, '-servername', 'c.test', '-tls1_2');
    ok($c12->{code} != 0 && ($c12->{cipher} // '(NONE)') eq '(NONE)', 'SNI c.test: its SSLProtocol refuses TLS 1.2')
        or show($c12);
    my $a12 = fetch(1, 'a.test', '-servername', 'a.test', '-tls1_2');
    is($a12->{protocol}, 'TLSv1.2', 'SNI a.test on the same port: TLS 1.2 still works') or show($a12);
    my $a13 = fetch(1, 'a.test', '-servername', 'a.test', '-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256');
    is($a13->{cipher}, 'TLS_AES_128_GCM_SHA256', '... and so does another TLS 1.3 suite') or show($a13);
}

# ---------------------------------------------------------------- client certificates
{
    my $none = fetch(3, 'a.test', '-servername', 'a.test');
    ok(!defined $none->{status}, 'SSLVerifyClient require, no certificate: no response') or show($none);
    like($none->{output}, qr/alert|error/i, '... the handshake is refused with an alert') or show($none);
    my $alice = fetch(3, 'a.test', '-servername', 'a.test', '-cert', $P{'alice.crt'}, '-key', $P{'alice.key'});
    is($alice->{status}, 200, 'SSLVerifyClient require, alice\'s certificate: 200') or show($alice);
    my $expired = fetch(3, 'a.test', '-servername', 'a.test', '-cert', $P{'expired-client.crt'},
                        '-key', $P{'expired-client.key'});
    ok(!defined $expired->{status}, 'SSLVerifyClient require, an expired certificate: refused') or show($expired);
    like($expired->{output}, qr/certificate expired|alert/i, '... with an alert') or show($expired);
    my $foreign = fetch(3, 'a.test', '-servername', 'a.test', '-cert', $P{'a.crt'}, '-key', $P{'a.key'});
    ok(!defined $foreign->{status}, 'SSLVerifyClient require, a certificate of another CA: refused')
        or show($foreign);
    my ($status) = WeftTLS::https_get(port => $port{3}, ca => $P{ca}, path => '/id.txt',
                                      args => ['--cert', $P{'bob.crt'}, '--key', $P{'bob.key'}]);
    is($status, 200, 'curl with bob\'s certificate: 200');
    ($status) = WeftTLS::https_get(port => $port{3}, ca => $P{ca}, path => '/id.txt');
    like($status, qr/^curl \d+/, 'curl without a certificate: the request fails');

    my $optional = fetch(4, 'a.test', '-servername', 'a.test');
    is($optional->{status}, 200, 'SSLVerifyClient optional, no certificate: 200') or show($optional);
    $alice = fetch(4, 'a.test', '-servername', 'a.test', '-cert', $P{'alice.crt'}, '-key', $P{'alice.key'});
    is($alice->{status}, 200, 'SSLVerifyClient optional, alice: 200') or show($alice);
    $expired = fetch(4, 'a.test', '-servername', 'a.test', '-cert', $P{'expired-client.crt'},
                     '-key', $P{'expired-client.key'});
    ok(!defined $expired->{status}, 'SSLVerifyClient optional, an expired certificate: refused') or show($expired);

    like($alice->{output}, qr/Acceptable client certificate CA names\n.*CN = Weft Test Client CA/,
         'the certificate request names the client CA (SSLCACertificateFile)') or show($alice);
    my $by_path = fetch(11, 'a.test', '-servername', 'a.test', '-cert', $P{'alice.crt'}, '-key', $P{'alice.key'});
    is($by_path->{status}, 200, 'SSLCACertificatePath: alice\'s certificate is verified') or show($by_path);
    like($by_path->{output}, qr/Acceptable client certificate CA names\n.*CN = Weft Test Client CA/,
         '... and the certificate request names the CA of the directory, as mod_ssl') or show($by_path);
    $none = fetch(11, 'a.test', '-servername', 'a.test');
    ok(!defined $none->{status}, 'SSLCACertificatePath + require, no certificate: no response') or show($none);

    # carol -> intermediate -> client CA: three certificates, depth 2.
    my @carol = ('-cert', $P{'carol.crt'}, '-key', $P{'carol.key'}, '-cert_chain', $P{'client-intermediate'});
    my $deep = fetch(8, 'a.test', '-servername', 'a.test', @carol);
    ok(!defined $deep->{status}, 'SSLVerifyDepth 1: a client certificate below an intermediate CA is refused')
        or show($deep);
    $alice = fetch(8, 'a.test', '-servername', 'a.test', '-cert', $P{'alice.crt'}, '-key', $P{'alice.key'});
    is($alice->{status}, 200, 'SSLVerifyDepth 1: a certificate the CA signed itself is accepted') or show($alice);
    $deep = fetch(9, 'a.test', '-servername', 'a.test', @carol);
    is($deep->{status}, 200, 'SSLVerifyDepth 2: the intermediate\'s certificate is accepted') or show($deep);
}

# ---------------------------------------------------------------- 421 and strict SNI
{
    my $mismatch = fetch(1, 'b.test', '-servername', 'a.test');
    is($mismatch->{status}, 421, 'SNI a.test, Host b.test (another certificate): 421') or show($mismatch);
    my $alias = fetch(1, 'localhost', '-servername', 'a.test');
    is($alias->{status}, 200, 'SNI a.test, Host localhost (its alias): 200') or show($alias);
    my $strict = fetch(7, 'a.test', '-noservername');
    is($strict->{status}, 403, 'SSLStrictSNIVHostCheck on, no SNI: 403') or show($strict);
    $strict = fetch(7, 'b.test', '-noservername');
    is($strict->{status}, 403, 'SSLStrictSNIVHostCheck on in the default vhost, no SNI, Host of the second: 403') or show($strict);
    $strict = fetch(7, 'b.test', '-servername', 'b.test');
    is($strict->{status}, 200, 'SSLStrictSNIVHostCheck on, SNI b.test: 200') or show($strict);
}

# ---------------------------------------------------------------- IPv6
SKIP: {
    unless ($ipv6) {
        diag('SKIP: no IPv6 loopback (::1) on this machine: the [::1] https listener is not checked');
        skip('no IPv6 loopback', 1);
    }
    my ($code, $out) = WeftTLS::s_client(host => '::1', port => $port{10}, args => ['-servername', 'a.test'],
                                         input => request_text('a.test'));
    like($out, qr{^HTTP/1\.1 200 .*site a}ms, 'Listen [::1]:PORT https serves over IPv6') or diag($out);
}

# ---------------------------------------------------------------- plain HTTP on a TLS port
{
    my ($r, $sock) = $w->request("GET /id.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", port => $port{1}, keep => 1);
    is($r->{status}, 400, 'plain HTTP on the TLS port: 400');
    like($r->{body}, qr/You're speaking plain HTTP to an SSL-enabled server port/, '... Apache\'s explanation');
    is(lc($r->{headers}{connection} // ''), 'close', '... with Connection: close');
    my ($state) = wait_closed($sock, scale(5));
    is($state, 'closed', '... and the connection is closed');
    my $plain = $w->request("GET /id.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                            port => $port{2});
    is($plain->{status}, 200, 'the plain port serves plain HTTP');
    is($plain->{body}, "main\n", '... the main server\'s content');
}

# ---------------------------------------------------------------- privileges
SKIP: {
    skip('not running as root: the key files are the user\'s own', 4) unless $as_root;
    my @st = stat $P{'a.key'};
    ok($st[4] == 0 && ($st[2] & 0777) == 0600, 'the key file is root\'s, mode 0600');
    my @kids = $w->child_pids;
    my @root_kids = grep { my @u = $w->uids_of($_); !@u || grep { $_ == 0 } @u } @kids;
    ok(@kids && !@root_kids, 'no child runs as root (User nobody)') or diag("children @kids, root: @root_kids");
    my $got = fetch(1, 'a.test', '-servername', 'a.test');
    is($got->{status}, 200, 'HTTPS works: the control process read the key before the children dropped root');
    # What the children's user could do with the key file: nothing.
    my $pid = fork;
    if (defined $pid && $pid == 0) {
        POSIX::setgid((getpwnam('nobody'))[3]);
        POSIX::setuid($nobody_uid);
        POSIX::_exit(open(my $fh, '<', $P{'a.key'}) ? 1 : 0);
    }
    waitpid($pid, 0);
    is($? >> 8, 0, 'the children\'s user (nobody) cannot open the key file');
}

# ---------------------------------------------------------------- handshake garbage
sub descriptors {
    my $n = 0;
    for my $kid ($w->child_pids) {
        opendir my $dh, "/proc/$kid/fd" or next;
        $n += grep { /^\d+$/ } readdir $dh;
        closedir $dh;
    }
    return $n;
}

{
    my @kids_before = $w->child_pids;
    my $fds_before = descriptors();
    my $hello = WeftTLS::capture_client_hello(name => 'a.test');
    ok(length $hello > 100 && substr($hello, 0, 1) eq "\x16", 'a real ClientHello was captured')
        or diag(length $hello);

    srand(14);
    my @garbage = (
        join('', map { chr int rand 256 } 1 .. 4096),       # random bytes
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . ("\xaa" x 20),   # a truncated ClientHello
        substr($hello, 0, int(length($hello) / 2)),           # half a real one
        "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",          # a ClientHello too short for its own length
        "\x15\x03\x03\x00\x02\x02\x28",                      # an alert first
        "\x17\x03\x03\x00\x10" . ("\x00" x 16),              # application data before any handshake
        "\x80\x2e\x01\x00\x02\x00\x15",                      # an SSLv2 ClientHello's start
    );
    my $answered = 0;
    for my $bytes (@garbage) {
        my $sock = $w->connect(port => $port{1}) or next;
        send_raw($sock, $bytes, scale(5));
        my ($state) = wait_closed($sock, scale(5));
        $answered++ if $state ne 'open';
        close $sock;
    }
    # Half a ClientHello and then silence stays open (the server waits);
    # the bad ones are closed.
    cmp_ok($answered, '>=', 4, 'garbage: the server ends the bad handshakes');

    # ClientHellos and then silence: they must not hold the server.
    my @silent;
    for (1 .. 20) {
        my $sock = $w->connect(port => $port{1}) or next;
        send_raw($sock, $hello, scale(5));
        push @silent, $sock;
    }
    is(scalar @silent, 20, '20 connections sent a ClientHello and then nothing');
    my $got = fetch(1, 'a.test', '-servername', 'a.test');
    is($got->{status}, 200, '... while they wait, the server still answers') or show($got);

    # Hundreds opened and dropped mid-handshake, in several ways.
    my $dropped = 0;
    for my $i (1 .. 300) {
        my $sock = $w->connect(port => $port{1}, timeout => scale(5)) or next;
        my $kind = $i % 4;
        if ($kind == 1) {
            send_raw($sock, $hello, scale(2));
        } elsif ($kind == 2) {
            send_raw($sock, substr($hello, 0, 1 + ($i % length $hello)), scale(2));
        } elsif ($kind == 3) {
            send_raw($sock, $hello, scale(2));
            my $buf;
            IO::Select->new($sock)->can_read(scale(2)) and sysread($sock, $buf, 100);
            # Reset instead of FIN: SO_LINGER 0.
            setsockopt($sock, Socket::SOL_SOCKET(), Socket::SO_LINGER(), pack('ii', 1, 0));
        }
        close $sock;
        $dropped++;
    }
    is($dropped, 300, '300 connections opened and dropped mid-handshake');
    close $_ for @silent;

    $got = fetch(1, 'a.test', '-servername', 'a.test');
    is($got->{status}, 200, 'after the garbage the server answers') or show($got);
    my ($status) = WeftTLS::https_get(port => $port{1}, ca => $P{ca}, path => '/id.txt');
    is($status, 200, '... curl too');
    is_deeply([$w->child_pids], \@kids_before, 'the same children serve (none crashed)');
    unlike($w->error_log, qr/signal|Sanitizer|segmentation/i, 'the error log names no signal');
    # The server closes each connection in its own time: wait (bounded)
    # until the children hold as many descriptors as before.
    my $settled = wait_for(sub { descriptors() <= $fds_before }, scale(20), 0.2);
    ok($settled, "no descriptor leak: the children hold $fds_before descriptors again")
        or diag("before $fds_before, now " . descriptors());
}

$w->stop;

# ---------------------------------------------------------------- weft -t errors at file:line
sub config_error_like {
    my ($body, $line_re, $message_re, $name) = @_;
    my $t = WeftTest->new(conf => "Listen 127.0.0.1:\@PORT\@ https\n$body");
    my ($code, $out, $err) = $t->check_config;
    isnt($code, 0, "-t fails: $name");
    like($out . $err, qr/weft\.conf:$line_re: .*$message_re/, "... at file:line: $name") or diag($out . $err);
}

config_error_like("SSLEngine on\nSSLCertificateFile $pki_dir/no-such.crt\nSSLCertificateKeyFile $P{'a.key'}\n",
                  3, qr/no-such\.crt/, 'a missing certificate file');
config_error_like("SSLEngine on\nSSLCertificateFile $P{'a.crt'}\nSSLCertificateKeyFile $P{'other.key'}\n",
                  4, qr/does not match/, 'a key that does not match its certificate');
config_error_like("ServerName localhost\nSSLEngine on\n", 3, qr/no SSLCertificateFile/,
                  'SSLEngine on without a certificate');
config_error_like("SSLEngine on\nSSLCertificateFile $P{'a.crt'}\nSSLCertificateKeyFile $P{'a-encrypted.key'}\n",
                  4, qr/terminal/, 'an encrypted key, SSLPassPhraseDialog builtin, no terminal');
config_error_like("SSLEngine optional\nSSLCertificateFile $P{'a.crt'}\n", 2, qr/optional/, 'SSLEngine optional');
config_error_like("SSLEngine on\nSSLCertificateFile $P{'a.crt'}\nSSLCertificateKeyFile $P{'a.key'}\n"
                  . "SSLCipherSuite NO-SUCH-CIPHER\n", 5, qr/NO-SUCH-CIPHER/, 'an unknown cipher');
config_error_like("SSLEngine on\nSSLCertificateFile $P{'a.crt'}\nSSLCertificateKeyFile $P{'a.key'}\n"
                  . "SSLProtocol SSLv3\n", 5, qr/SSLv3/, 'SSLProtocol SSLv3');
config_error_like("SSLEngine on\nSSLCertificateFile $P{'a.crt'}\nSSLCertificateKeyFile $P{'a.key'}\n"
                  . "<Location /private>\n    SSLVerifyClient require\n</Location>\n", 6, qr/SSLVerifyClient/,
                  'SSLVerifyClient per directory (no renegotiation)');

{
    # An encrypted key whose pass phrase a program prints.
    my $t = WeftTest->new(conf => <<"EOF", files => { 'pass.sh' => { content => "#!/bin/sh\necho \"\$1 \$2\" >> \"\$(dirname \"\$0\")/pass.log\"\necho '$WeftTLS::PASS_PHRASE'\n", mode => 0755 }, 'www/id.txt' => "main\n" });
Listen 127.0.0.1:\@PORT\@ https
ServerName a.test
SSLPassPhraseDialog exec:\@ROOT\@/pass.sh
SSLEngine on
SSLCertificateFile $P{'a.crt'}
SSLCertificateKeyFile $P{'a-encrypted.key'}
SSLCertificateFile $P{'a-ec.crt'}
SSLCertificateKeyFile $P{'a-ec-encrypted.key'}
SSLRandomSeed startup builtin
SSLRandomSeed connect file:/dev/urandom 512
$user
EOF
    my ($code, $out, $err) = $t->check_config;
    is($code, 0, 'SSLPassPhraseDialog exec: with encrypted RSA and ECDSA keys passes -t') or diag($out . $err);
    is($t->read_file('pass.log'), "a.test:443 RSA\na.test:443 ECC\n",
       '... the program is called with servername:port and the key type, as by mod_ssl');
    $t->start;
    my ($status, $body) = WeftTLS::https_get(port => $t->port, ca => $P{ca}, path => '/id.txt');
    is("$status $body", "200 main\n", '... and serves HTTPS with the decrypted key');
    my $ec = fetch_from($t->port, '-servername', 'a.test', '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256');
    like($ec, qr/O = Weft ECDSA/, '... and with the decrypted ECDSA key');
    my $asked = () = $t->read_file('pass.log') =~ /\n/g;
    $t->signal('USR1');
    my $again = wait_for(sub { my $n = () = $t->read_file('pass.log') =~ /\n/g; $n >= $asked + 2 }, scale(15));
    ok($again, 'a graceful restart asks the program again, for both keys (docs/tls.md: Key handling)');
    ($status, $body) = WeftTLS::https_get(port => $t->port, ca => $P{ca}, path => '/id.txt');
    is("$status $body", "200 main\n", '... and serves after it');
    $t->stop(name => 'exec: pass phrase server');

    $t->write_file('pass.sh', { content => "#!/bin/sh\nexit 3\n", mode => 0755 });
    ($code, $out, $err) = $t->check_config;
    isnt($code, 0, 'a pass phrase program that fails: -t fails');
    like($out . $err, qr/weft\.conf:6: .*exit status 3/, '... at the key\'s line, with its exit status')
        or diag($out . $err);
}

# ---------------------------------------------------------------- an expired server certificate
{
    my $t = WeftTest->new(conf => <<"EOF", files => { 'www/id.txt' => "main\n" });
Listen 127.0.0.1:\@PORT\@ https
ServerName a.test
SSLEngine on
SSLCertificateFile $P{'expired-server.crt'}
SSLCertificateKeyFile $P{'expired-server.key'}
$user
EOF
    my ($code, $out, $err) = $t->check_config;
    is($code, 0, 'an expired server certificate passes -t (Apache warns and starts)') or diag($out . $err);
    like($out . $err, qr/weft\.conf:4: .*expired/i, '... with a warning at its line') or diag($out . $err);
    $t->start;
    my $got = WeftTLS::s_client(port => $t->port, args => ['-servername', 'a.test'], input => request_text('a.test'));
    like($got, qr{HTTP/1\.1 200 }, '... and the server starts and serves with it');
    like($t->output . $t->error_log, qr/weft\.conf:4: .*expired/, '... and the warning is also given at start')
        or diag($t->output . $t->error_log);
    $t->stop(name => 'expired certificate server');
}

# 'closed' once the peer closed (whatever it sent before), 'open' at the deadline.
sub closed_by {
    my ($sock, $deadline) = @_;
    my $select = IO::Select->new($sock);
    for (my $i = 0; $i < 10_000; $i++) {
        my $left = $deadline - time;
        return 'open' if $left <= 0;
        next unless $select->can_read($left);
        my $n = sysread($sock, my $buffer, 65536);
        return 'closed' if !defined $n || $n == 0;
    }
    return 'open';
}

# ---------------------------------------------------------------- certbot's configuration
# The plain vhost serves the HTTP-01 challenge; Listen 443 (no "https")
# inside <IfModule mod_ssl.c>, the TLS vhost in another, as certbot and
# Debian write them.  RequestReadTimeout also bounds a handshake that
# stalls (mod_reqtimeout's header stage covers it in Apache).
{
    my $t = WeftTest->new(conf => <<"EOF", dirs => [qw(a acme)],
Listen 127.0.0.1:\@PORT\@
<IfModule mod_ssl.c>
    Listen 127.0.0.1:\@PORT2\@
</IfModule>
RequestReadTimeout header=2-4,MinRate=500 body=5,MinRate=500
# A silent connection must reach weft (not wait in the kernel) to be timed.
AcceptFilter http none
AcceptFilter https none
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    Alias /.well-known/acme-challenge/ "\@ROOT\@/acme/"
    <Directory "\@ROOT\@/acme/">
        Require all granted
    </Directory>
</VirtualHost>
<IfModule mod_ssl.c>
<VirtualHost 127.0.0.1:\@PORT2\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLProtocol all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1
    SSLHonorCipherOrder off
    SSLCertificateFile $P{'a.crt'}
    SSLCertificateKeyFile $P{'a.key'}
</VirtualHost>
</IfModule>
$user
EOF
        files => { 'a/id.txt' => "site a\n", 'acme/token-123' => "token-123.thumbprint\n" });
    $t->start;
    my $challenge = $t->request("GET /.well-known/acme-challenge/token-123 HTTP/1.1\r\nHost: a.test\r\n"
                                . "Connection: close\r\n\r\n");
    is($challenge->{status}, 200, 'certbot: the HTTP-01 challenge is served on the plain port');
    is($challenge->{body}, "token-123.thumbprint\n", '... with the token\'s content');
    my ($status, $body) = WeftTLS::https_get(port => $t->port2, ca => $P{ca}, path => '/id.txt');
    is("$status $body", "200 site a\n", 'certbot: Listen without "https" + a vhost with SSLEngine on speaks TLS');
    my $plain = $t->request("GET /id.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", port => $t->port2);
    is($plain->{status}, 400, '... and answers plain HTTP with 400');

    # Stalled handshakes end with RequestReadTimeout's header stage.
    my $hello = WeftTLS::capture_client_hello(name => 'a.test');
    my @stalled;
    for my $bytes ('', substr($hello, 0, 50), $hello) {
        my $sock = $t->connect(port => $t->port2) or next;
        send_raw($sock, $bytes, scale(5)) if length $bytes;
        push @stalled, $sock;
    }
    my $t0 = time;
    my $deadline = $t0 + scale(15);
    my @states = map { closed_by($_, $deadline) } @stalled;
    is_deeply(\@states, [qw(closed closed closed)],
              'silent, half-ClientHello and stalled-after-ClientHello connections are closed by the '
              . 'header timeout') or diag("after " . (time - $t0) . " s: @states");
    close $_ for @stalled;
    $t->stop(name => 'certbot-style server');
}

done_testing;
