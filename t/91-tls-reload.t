#!/usr/bin/perl
# Certificate renewal as certbot does it (issue 14): the configuration
# names live/ symlinks; a renewal writes a new certificate and key into
# archive/, moves the symlinks and runs `apachectl graceful` (SIGUSR1).
# Under a bounded TLS load (new connections and keep-alive), new
# connections then get the new certificate and no request fails.  A
# broken renewal (a key that does not match) is reported at file:line and
# the old certificate keeps being served, without a failed request.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale);
use WeftTLS;

for my $tool (qw(openssl curl)) {
    my ($code) = WeftTLS::run({ timeout => 10 }, 'sh', '-c', "command -v $tool");
    BAIL_OUT("$tool is needed by the TLS tests (apt-get install $tool)") if $code != 0;
}

my $pki_dir = tempdir('weft-pki-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $pki_dir;
my $dir = "$pki_dir/pki";
my $pki = WeftTLS::make_pki($dir);
my $user = '';
if ($> == 0) {
    my $group = getgrgid((getpwnam('nobody'))[3] // 65534) // 'nogroup';
    $user = "User nobody\nGroup $group\n";
}

my $w = WeftTest->new(conf => <<"EOF", dirs => [qw(a live archive)], files => { 'a/id.txt' => "site a\n" });
${user}StartServers 2
ThreadsPerChild 8
MinSpareThreads 1
MaxSpareThreads 32
MaxClients 16
ServerName localhost
Listen 127.0.0.1:\@PORT\@ https
<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName a.test
    DocumentRoot "\@ROOT\@/a"
    SSLEngine on
    SSLCertificateFile \@ROOT\@/live/fullchain.pem
    SSLCertificateKeyFile \@ROOT\@/live/privkey.pem
</VirtualHost>
EOF
my @conf_lines = split /\n/, $w->conf_text;
my ($key_line) = grep { $conf_lines[$_ - 1] =~ /SSLCertificateKeyFile/ } 1 .. @conf_lines;

# certbot's layout: archive/certN.pem and privkeyN.pem, live/ symlinks to
# the newest, switched by rename (atomic for a reader).
my $renewals = 0;
sub renew {
    my (%o) = @_;
    $renewals++;
    my $n = $renewals;
    my $serial = 5000 + $n;
    my ($crt, $key) = WeftTLS::make_leaf($dir, "renewed$n", 'ca', "/O=Weft Renewal $n/CN=a.test",
                                         san => 'DNS:a.test,DNS:localhost,IP:127.0.0.1', serial => $serial,
                                         $o{key} ? (key => $o{key}) : ());
    my $archive = $w->path('archive');
    WeftTLS::spew("$archive/cert$n.pem", WeftTLS::slurp($crt));
    WeftTLS::spew("$archive/privkey$n.pem", WeftTLS::slurp($o{wrong_key} // $key));
    chmod 0644, "$archive/cert$n.pem";
    chmod 0600, "$archive/privkey$n.pem";
    for (['fullchain.pem', "cert$n.pem"], ['privkey.pem', "privkey$n.pem"]) {
        my ($link, $target) = @$_;
        my $live = $w->path("live/$link");
        unlink "$live.new";
        symlink("../archive/$target", "$live.new") or die "symlink: $!";
        rename("$live.new", $live) or die "rename: $!";
    }
    return sprintf('%04X', $serial);
}

sub served_serial {
    my ($code, $out) = WeftTLS::s_client(port => $w->port, args => ['-servername', 'a.test'], timeout => 10);
    return WeftTLS::peer_serial($out);
}

sub load {
    my ($seconds) = @_;
    # Two clients with a new connection (a full handshake) per request,
    # one with ten requests per connection.
    return WeftTLS::start_load(port => $w->port, ca => $pki->{ca}, name => 'a.test', path => '/id.txt',
                               expect => "site a\n", clients => [1, 1, 10], duration => $seconds);
}

my $first = renew();
$w->start;
is(served_serial(), $first, 'the first certificate is served');

# ---------------------------------------------------------------- a renewal under load
{
    my $load = load(scale(8));
    sleep 1.5;
    my $second = renew();
    ok($w->signal('USR1'), 'SIGUSR1 (graceful restart) after the renewal');
    my $seen = wait_for(sub { served_serial() eq $second }, scale(20), 0.2);
    ok($seen, "new connections get the renewed certificate (serial $second)")
        or diag('served: ' . served_serial() . "\n" . WeftTest::_tail($w->error_log, 20));
    my $res = WeftTLS::finish_load($load);
    cmp_ok($res->{requests}, '>=', 20, "the load made requests across the reload ($res->{requests})");
    is($res->{failures}, 0, 'no request failed across the graceful certificate reload')
        or diag(join("\n", @{ $res->{errors} }));
    ok($w->running, 'the server runs');

    # ---------------------------------------------------------------- a broken renewal
    $load = load(scale(6));
    sleep 1;
    renew(wrong_key => $pki->{'other.key'});
    ok($w->signal('USR1'), 'SIGUSR1 after a broken renewal (a key that does not match)');
    ok($w->wait_error_log(qr/weft\.conf:$key_line: .*does not match/, scale(15)),
       "the error log names weft.conf:$key_line and the mismatch")
        or diag(WeftTest::_tail($w->error_log, 20));
    $res = WeftTLS::finish_load($load);
    is($res->{failures}, 0, 'no request failed after the broken renewal') or diag(join("\n", @{ $res->{errors} }));
    cmp_ok($res->{requests}, '>=', 10, "the load was answered ($res->{requests} requests)");
    is(served_serial(), $second, 'the previous certificate keeps being served');
    ok($w->running, 'the server runs');

    # ---------------------------------------------------------------- the renewal fixed
    my $fourth = renew();
    ok($w->signal('USR1'), 'SIGUSR1 after a good renewal again');
    ok(wait_for(sub { served_serial() eq $fourth }, scale(20), 0.2), "the fixed renewal is served ($fourth)")
        or diag(WeftTest::_tail($w->error_log, 20));
    my ($status, $body) = WeftTLS::https_get(port => $w->port, ca => $pki->{ca}, path => '/id.txt');
    is("$status $body", "200 site a\n", 'curl verifies it and gets the content');
}

unlike($w->error_log, qr/signal \d+|Sanitizer/, 'the error log names no crash');
$w->stop;
done_testing;
