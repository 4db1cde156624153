#!/usr/bin/perl
# Every password hash Debian's htpasswd (apache2-utils) makes, and those of
# openssl passwd: weft lets each user in with the right password and refuses
# a wrong one; plain text (htpasswd -p) never matches, as with Apache on Unix
# (apr_password_validate hands it to crypt()).  Where apache2 is installed,
# Apache answers every one of the same requests on the same file, and weft
# must answer as it does.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64 qw(encode_base64);
use WeftTest;
use WeftApache qw(apache_missing start_apache stop_apache);

# ---- the tools ---------------------------------------------------------------
my $htpasswd = '/usr/bin/htpasswd';
if (!-x $htpasswd && $> == 0) {
    system('DEBIAN_FRONTEND=noninteractive apt-get install -y -q apache2-utils >/dev/null 2>&1');
}
ok(-x $htpasswd, "htpasswd is installed ($htpasswd, from apache2-utils)")
    or BAIL_OUT("htpasswd is missing and we are not root to install apache2-utils: run apt-get install apache2-utils");
my $usage = `$htpasswd 2>&1`;
my %supports = map { $_ => ($usage =~ /^\s*-\Q$_\E\s/m ? 1 : 0) } qw(B m s d p 2 5 C);
note('htpasswd supports: ' . join(' ', map { "-$_" } grep { $supports{$_} } sort keys %supports));
ok($supports{$_}, "htpasswd has -$_") for qw(B m s d p);
chomp(my $openssl = `openssl version 2>&1`);
ok($? == 0, "openssl is installed ($openssl)");

# Passwords with what breaks naive parsers: a colon, blanks, UTF-8, a quote.
my @formats = (
    # [user, how, password, expected]
    ['bcrypt', [qw(-B)], 'bcrypt: pässwörd "1"', 200],
    ['bcrypt_cost4', [qw(-B -C 4)], 'c0st:4 bcrypt', 200],
    ['default', [], 'the default format', 200],
    ['md5', [qw(-m)], 'apr1 : with colons : ', 200],
    ['sha1', [qw(-s)], "{SHA} pässword", 200],
    ['crypt', [qw(-d)], 's3cr:t!x', 200],
    ['plain', [qw(-p)], 'plain text', 401],
);
push @formats, ['sha256', [qw(-2)], 'SHA-256 crypt pässwörd', 200] if $supports{2};
push @formats, ['sha512', [qw(-5)], 'SHA-512 crypt pässwörd', 200] if $supports{5};
diag("this htpasswd has no -2/-5 (SHA-256/512 crypt): openssl passwd -5/-6 below cover the formats")
    unless $supports{2} && $supports{5};

my $w = WeftTest->new(
    conf => <<'EOF',
AuthBasicFailureLimit 0
<Location /p>
    AuthType Basic
    AuthName "formats"
    AuthUserFile conf/htpasswd
    Require valid-user
</Location>
EOF
    files => { 'www/p/index.html' => "in\n", 'www/index.html' => "x\n" });
my $file = $w->path('conf/htpasswd');

# htpasswd writes the file itself, as an administrator would: -c for the first.
my $first = 1;
for my $f (@formats) {
    my ($user, $flags, $password) = @$f;
    my @command = ($htpasswd, ($first ? '-cb' : '-b'), @$flags, $file, $user, $password);
    my $out = `@{[ join(' ', map { quotemeta } @command) ]} 2>&1`;
    is($?, 0, "htpasswd @$flags makes $user") or diag($out);
    $first = 0;
}
# openssl passwd's formats (MD5-crypt $1$, SHA-256 $5$, SHA-512 $6$, apr1)
for my $o (['openssl_1', '-1', 'openssl md5-crypt'], ['openssl_5', '-5', 'openssl sha-256'],
           ['openssl_6', '-6', 'openssl sha-512'], ['openssl_apr1', '-apr1', 'openssl apr1']) {
    my ($user, $flag, $password) = @$o;
    my $hash = `openssl passwd $flag @{[ quotemeta $password ]} 2>&1`;
    chomp $hash;
    ok($hash =~ /^\$/, "openssl passwd $flag: $hash");
    open my $fh, '>>', $file or die "$file: $!";
    print $fh "$user:$hash\n";
    close $fh;
    push @formats, [$user, [$flag], $password, 200];
}
chmod 0644, $file;
my $text = $w->read_file('conf/htpasswd');
like($text, qr/^bcrypt:\$2y\$05\$/m, 'bcrypt is $2y$ (cost 5 by default)');
like($text, qr/^bcrypt_cost4:\$2y\$04\$/m, '-C 4 gives cost 4');
like($text, qr/^md5:\$apr1\$/m, '-m is $apr1$');
like($text, qr/^sha1:\{SHA\}/m, '-s is {SHA}');
like($text, qr/^crypt:[.\/0-9A-Za-z]{13}$/m, '-d is a 13-character DES crypt');
like($text, qr/^plain:plain text$/m, '-p is the password itself');
like($text, qr/^sha256:\$5\$/m, '-2 is $5$') if $supports{2};
like($text, qr/^sha512:\$6\$/m, '-5 is $6$') if $supports{5};

$w->start;

my @asked;
sub status_at {
    my ($port, $user, $password) = @_;
    my $raw = "GET /p/index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n"
        . "Authorization: Basic " . encode_base64("$user:$password", '') . "\r\n\r\n";
    my $r = $w->request($raw, port => $port);
    return $r->{status} // "no response: $r->{error}";
}
sub check {
    my ($user, $password, $expected, $name) = @_;
    my $status = status_at($w->port, $user, $password);
    is($status, $expected, $name);
    push @asked, [$user, $password, $status, $name];
}

for my $f (@formats) {
    my ($user, $flags, $password, $expected) = @$f;
    check($user, $password, $expected, "$user (@$flags): the right password gives $expected");
    check($user, 'x' . $password, 401, "$user (@$flags): a wrong one gives 401");
    check($user, $password, $expected, "$user (@$flags): the right one again (cached) gives $expected");
}
check('crypt', 's3cr:t!x and more', 200, 'DES crypt reads 8 characters only, as crypt(3)');
check('plain', 'anything', 401, 'plain text: another password is refused too');
check('nobody', 'x', 401, 'an unknown user: 401');
like($w->error_log, qr/AuthUserFile \S*htpasswd, line \d+: the password of user plain is not a hash/,
     'the plain-text entry is warned about when the file is read');

# ---- the same requests against Apache httpd 2.4, where it is installed --------
my @modules = qw(mpm_event authn_core authn_file auth_basic authz_core authz_user);
my $why_not = apache_missing(@modules);
SKIP: {
    skip "$why_not: weft's answers not compared with Apache's", scalar(@asked) + 1 if $why_not;
    my $port = $w->port2;
    my $root = $w->root;
    my ($pid, $problem) = start_apache(root => $root, port => $port, modules => \@modules,
        config => "DocumentRoot $root/www\n<Location /p>\nAuthType Basic\nAuthName formats\n"
                . "AuthUserFile $file\nRequire valid-user\n</Location>\n");
    ok(defined $pid, 'apache2 -X serves the same file') or diag($problem);
    for my $asked (@asked) {
        my ($user, $password, $weft, $name) = @$asked;
        my $theirs = defined $pid ? status_at($port, $user, $password) : 'not started';
        is($weft, $theirs, "as Apache: $name");
    }
    stop_apache($pid);
}

$w->stop;
done_testing();
