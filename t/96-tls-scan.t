#!/usr/bin/perl
# A TLS scan of weft's defaults with Debian's sslscan (installed here when
# missing and the test runs as root): no protocol older than TLS 1.2, no
# cipher outside Mozilla's intermediate profile, nothing under 128 bits,
# no renegotiation, no compression, no Heartbleed, and only the profile's
# key exchange groups.  The server has only SSLEngine and an RSA and an
# ECDSA certificate: everything else is weft's default.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;
use WeftTLS;

my ($sslscan) = grep { -x } map { "$_/sslscan" } split /:/, $ENV{PATH}, -1;
if (!$sslscan && $> == 0 && -x '/usr/bin/apt-get') {
    diag('installing sslscan (Debian package) for the TLS scan');
    system("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sslscan >/dev/null 2>&1");
    ($sslscan) = grep { -x } map { "$_/sslscan" } split /:/, $ENV{PATH}, -1;
}
plan skip_all => 'sslscan is not installed and cannot be installed here (not root): apt-get install sslscan'
    unless $sslscan;

my $w = WeftTest->new(conf => "# set below\n");
my $pki = WeftTLS::make_pki($w->path('pki'));
$w->write_file('www/index.html', "hello\n");
$w->write_conf(<<"EOF");
Listen 127.0.0.1:\@PORT\@ https
SSLEngine on
SSLCertificateFile $pki->{'a.crt'}
SSLCertificateKeyFile $pki->{'a.key'}
SSLCertificateFile $pki->{'a-ec.crt'}
SSLCertificateKeyFile $pki->{'a-ec.key'}
EOF
$w->start;

my ($code, $out, $err) = WeftTLS::run({ timeout => 120 }, $sslscan, '--no-colour', '--show-sigs', '--sni-name=a.test',
                                      '127.0.0.1:' . $w->port);
is($code, 0, 'sslscan ran') or diag($err);
$out =~ s/\e\[[0-9;]*m//g;

for my $old (qw(SSLv2 SSLv3 TLSv1.0 TLSv1.1)) {
    like($out, qr/^\Q$old\E\s+disabled/m, "$old is disabled");
}
like($out, qr/^TLSv1\.2\s+enabled/m, 'TLSv1.2 is enabled');
like($out, qr/^TLSv1\.3\s+enabled/m, 'TLSv1.3 is enabled');

my %intermediate = map { $_ => 1 } qw(
    TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256
    ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384
    ECDHE-RSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-RSA-CHACHA20-POLY1305
    DHE-RSA-AES128-GCM-SHA256 DHE-RSA-AES256-GCM-SHA384 DHE-RSA-CHACHA20-POLY1305);
my @accepted = $out =~ /^(?:Preferred|Accepted)\s+(TLSv1\.[23])\s+(\d+) bits\s+(\S+)/mg;
my (@outside, @weak, %seen);
while (my ($version, $bits, $cipher) = splice @accepted, 0, 3) {
    $seen{$cipher} = 1;
    push @outside, "$version $cipher" unless $intermediate{$cipher};
    push @weak, "$version $cipher ($bits bits)" if $bits < 128;
}
ok(keys %seen >= 6, 'sslscan lists the accepted ciphers (' . join(' ', sort keys %seen) . ')');
is_deeply(\@outside, [], 'every accepted cipher is one of Mozilla intermediate\'s');
is_deeply(\@weak, [], 'no cipher under 128 bits');
unlike($out, qr/^(?:Preferred|Accepted).*(?:RC4|3DES|DES-CBC|NULL|EXPORT|MD5|-CBC-|-SHA\s)/m,
       'no RC4, DES, NULL, export, MD5 or CBC cipher');
like($out, qr/Session renegotiation not supported|Insecure session renegotiation not supported/,
     'no client-initiated renegotiation');
unlike($out, qr/^Compression enabled/m, 'no TLS compression');
unlike($out, qr/^TLSv1\.[23] vulnerable to heartbleed/m, 'not vulnerable to Heartbleed');
my @groups = $out =~ /^TLSv1\.[23]\s+\d+ bits\s+(\S+)/mg;
my %allowed = map { $_ => 1 } qw(x25519 secp256r1 secp384r1);
is_deeply([ grep { !$allowed{$_} } @groups ], [], 'key exchange groups: x25519, P-256, P-384 only')
    or diag(join ' ', @groups);
ok(scalar(@groups) >= 3, 'sslscan lists the groups');

$w->stop;
done_testing;
