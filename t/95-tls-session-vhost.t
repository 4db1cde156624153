#!/usr/bin/perl
# A TLS session made on one virtual host must not carry a client past
# another one's client-certificate requirement.  Two name-based vhosts
# share a port: a.test asks for no certificate, b.test requires one
# (SSLVerifyClient require).  A session (TLS 1.2 session ID, TLS 1.2 and
# TLS 1.3 tickets) made without a certificate on a.test is offered with
# SNI b.test: the client gets no document from b.test — either the
# resumption is refused and the handshake asks for a certificate it cannot
# give, or the request is refused (403), as mod_ssl re-checks per request.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);
use WeftTLS;

my $w = WeftTest->new(conf => "# set below\n");
my $pki = WeftTLS::make_pki($w->path('pki'));
$w->write_file('www/index.html', "a\n");
$w->write_file('www-b/index.html', "secret of b\n");
my $conf = <<"EOF";
Listen 127.0.0.1:\@PORT\@ https
SSLSessionCache shmcb:\@ROOT\@/logs/ssl_scache(512000)
<VirtualHost *:\@PORT\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/www"
    SSLEngine on
    SSLCertificateFile $pki->{'a.crt'}
    SSLCertificateKeyFile $pki->{'a.key'}
</VirtualHost>
<VirtualHost *:\@PORT\@>
    ServerName b.test
    DocumentRoot "\@ROOT\@/www-b"
    SSLEngine on
    SSLCertificateFile $pki->{'b.crt'}
    SSLCertificateKeyFile $pki->{'b.key'}
    SSLCACertificateFile $pki->{'client-ca'}
    SSLVerifyClient require
</VirtualHost>
EOF
$w->write_conf($conf);
$w->start;
my $port = $w->port;
my $session = $w->path('session.pem');

sub fetch {
    my ($name, @args) = @_;
    my ($code, $out) = WeftTLS::s_client(port => $port, args => ['-servername', $name, @args],
                                         input => "GET / HTTP/1.1\r\nHost: $name\r\nConnection: close\r\n\r\n");
    return $out;
}

for my $case (['TLS 1.2 session ID', '-tls1_2', '-no_ticket'], ['TLS 1.2 ticket', '-tls1_2'],
              ['TLS 1.3 ticket', '-tls1_3']) {
    my ($label, @version) = @$case;
    unlink $session;
    my $out = fetch('a.test', @version, '-sess_out', $session);
    like($out, qr{HTTP/1\.1 200}, "$label: a.test answers without a client certificate");
    ok(-s $session, "$label: the session was saved");
    $out = fetch('b.test', @version, '-sess_in', $session);
    unlike($out, qr/secret of b/, "$label: the session of a.test does not open b.test without a certificate");
    $out = fetch('b.test', @version, '-cert', $pki->{'alice.crt'}, '-key', $pki->{'alice.key'});
    like($out, qr/secret of b/, "$label: with alice's certificate b.test answers");
}

$w->stop;
done_testing;
