#!/usr/bin/perl
# Require: all granted|denied, ip (address, CIDR, partial, netmask, IPv6),
# local, "not", <RequireAll>/<RequireAny>/<RequireNone> and their nesting,
# with the client at 127.0.0.1 (allowed by 127/8, denied by a CIDR that
# excludes it); a section's Require replaces what it inherits; denial is a
# 403 before any handler, for every method, with ErrorDocument; errors.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::IP;
use WeftTest;

my $ipv6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1) ? 1 : 0;

my $conf = <<'EOF';
<Directory "@ROOT@/www/granted">
    Require all granted
</Directory>
<Directory "@ROOT@/www/denied">
    Require all denied
</Directory>
<Directory "@ROOT@/www/denied/open">
    Require all granted
</Directory>
<Location /ip-ok>
    Require ip 127.0.0.1
</Location>
<Location /ip-cidr-ok>
    Require ip 10.0.0.0/8 127.0.0.0/8
</Location>
<Location /ip-partial-ok>
    Require ip 127
</Location>
<Location /ip-mask-ok>
    Require ip 127.0.0.0/255.0.0.0
</Location>
<Location /ip-no>
    Require ip 10.0.0.0/8 192.168.0.0/16 127.0.0.2/32 128.0.0.0/1
</Location>
<Location /ip6-no>
    Require ip 2001:db8::/32 ::1
</Location>
<Location /local>
    Require local
</Location>
<Location /all-ok>
    <RequireAll>
        Require all granted
        Require not ip 10.0.0.0/8
    </RequireAll>
</Location>
<Location /all-no>
    <RequireAll>
        Require all granted
        Require not ip 127.0.0.0/8
    </RequireAll>
</Location>
<Location /any-ok>
    <requireany>
        Require ip 10.0.0.0/8
        Require ip 127.0.0.1
    </requireany>
</Location>
<Location /any-no>
    <RequireAny>
        Require ip 10.0.0.0/8
        Require all denied
    </RequireAny>
</Location>
<Location /none-no>
    <RequireNone>
        Require ip 10.0.0.0/8
    </RequireNone>
</Location>
<Location /nested-ok>
    <RequireAll>
        Require ip 127.0.0.0/8
        <RequireNone>
            Require ip 10.0.0.0/8
        </RequireNone>
    </RequireAll>
</Location>
<Location /nested-no>
    <RequireAll>
        Require ip 127.0.0.0/8
        <RequireNone>
            Require ip 127.0.0.1
        </RequireNone>
    </RequireAll>
</Location>
<Location /implicit-any>
    Require ip 10.0.0.0/8
    Require ip 127.0.0.1
</Location>
<Location /denied/override>
    Require all granted
</Location>
<Location /status-no>
    SetHandler server-status
    Require ip 10.0.0.0/8
</Location>
<Location /errdoc>
    Require all denied
    ErrorDocument 403 "go away"
</Location>
EOF
$conf .= <<'EOF' if $ipv6;
Listen 127.0.0.1:@PORT@
Listen [::1]:@PORT2@
<Location /v6-ok>
    Require ip ::1/128
</Location>
EOF
my $w = WeftTest->new(conf => $conf, files => {
    'www/index.html' => "index\n",
    map { ("www/$_/index.html" => "$_\n") }
        qw(granted denied denied/open denied/override ip-ok ip-cidr-ok ip-partial-ok ip-mask-ok ip-no
           ip6-no local all-ok all-no any-ok any-no none-no nested-ok nested-no implicit-any v6-ok errdoc),
});
$w->start;
my $port = $w->port;

sub status_of {
    my ($path, %o) = @_;
    my $method = $o{method} // 'GET';
    my $r = $w->request("$method $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        $o{ipv6} ? (host => '::1', port => $w->port2) : ());
    return $r->{status} // 0;
}

my @cases = (
    ['/', 200, 'no Require anywhere: granted'],
    ['/granted/', 200, 'Require all granted'],
    ['/denied/', 403, 'Require all denied'],
    ['/denied/index.html', 403, 'Require all denied covers what is below'],
    ['/denied/open/', 200, 'a deeper Directory\'s Require replaces the inherited one'],
    ['/denied/override/', 200, 'a Location\'s Require replaces the Directory\'s'],
    ['/ip-ok/', 200, 'Require ip 127.0.0.1'],
    ['/ip-cidr-ok/', 200, 'Require ip with a CIDR that includes 127.0.0.1'],
    ['/ip-partial-ok/', 200, 'Require ip 127 (whole octets)'],
    ['/ip-mask-ok/', 200, 'Require ip with a netmask'],
    ['/ip-no/', 403, 'Require ip with networks that exclude 127.0.0.1'],
    ['/ip6-no/', 403, 'IPv6 networks do not cover an IPv4 client'],
    ['/local/', 200, 'Require local'],
    ['/all-ok/', 200, '<RequireAll>: granted and not in an excluded CIDR'],
    ['/all-no/', 403, '<RequireAll>: "not" the client\'s network denies'],
    ['/any-ok/', 200, '<RequireAny>: one match is enough'],
    ['/any-no/', 403, '<RequireAny>: none matches'],
    ['/none-no/', 403, '<RequireNone> alone never grants'],
    ['/nested-ok/', 200, '<RequireNone> nested in <RequireAll>: neutral when nothing matches'],
    ['/nested-no/', 403, '<RequireNone> nested in <RequireAll>: a match inside denies'],
    ['/implicit-any/', 200, 'several Require lines: an implicit <RequireAny>'],
    ['/status-no', 403, 'denied before the handler runs (SetHandler server-status)'],
);
is(status_of($_->[0]), $_->[1], "$_->[2]: $_->[1]") for @cases;
is(status_of('/denied/', method => 'HEAD'), 403, 'HEAD is denied too');
is(status_of('/denied/', method => 'OPTIONS'), 403, 'OPTIONS is denied too');
is(status_of('/denied/nothing-here'), 403, 'a missing file in a denied place is 403, not 404');
my $r = $w->request("GET /errdoc/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is(($r->{status} // 0) . ' ' . ($r->{body} // ''), '403 go away', 'ErrorDocument 403 applies to a denial');
SKIP: {
    # Visible in prove's normal output (diag goes to standard error), not only in -v.
    my $why = 'no IPv6 loopback (::1) on this machine: Require ip ::1 and Require local over IPv6 not checked';
    diag("SKIP: $why"), skip($why, 3) unless $ipv6;
    is(status_of('/v6-ok/', ipv6 => 1), 200, 'Require ip ::1/128 from ::1');
    is(status_of('/v6-ok/'), 403, '... and not from 127.0.0.1');
    is(status_of('/local/', ipv6 => 1), 200, 'Require local from ::1');
}

$w->stop;

# ---- configuration errors
sub config_error_like {
    my ($body, $line, $re, $name) = @_;
    my $t = WeftTest->new(conf => $body, files => { 'www/index.html' => "x\n" });
    my ($status, undef, $stderr) = $t->check_config;
    isnt($status, 0, "$name: -t fails");
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:$line: $re/m, "$name: file:line message");
}
config_error_like("<Location />\nRequire not ip 10.0.0.1\n</Location>\n", 2,
                  qr/negative Require directive has no effect in <RequireAny> directive/, 'a lone "not"');
config_error_like("<Location />\n<RequireAll>\nRequire not ip 10.0.0.1\n</RequireAll>\n</Location>\n", 4,
                  qr/<RequireAll> directive contains only negative authorization directives/,
                  'a RequireAll of negations');
config_error_like("<Location />\n<RequireAll>\n</RequireAll>\n</Location>\n", 3,
                  qr/<RequireAll> contains no Require directive/, 'an empty RequireAll');
config_error_like("<Location />\nRequire method GET\n</Location>\n", 2,
                  qr/Require method is not supported: weft authorizes by address, expression and user/, 'Require method');
config_error_like("<Location />\nRequire host example.com\n</Location>\n", 2,
                  qr/Require host is not supported: weft makes no DNS lookups/, 'Require host');
config_error_like("<Location />\nRequire ip 300.1.1.1\n</Location>\n", 2,
                  qr/Require ip: '300\.1\.1\.1' is not an IP address or network/, 'a bad address');
config_error_like("<Location />\nRequire ip 10.0.0.0/33\n</Location>\n", 2,
                  qr/Require ip: '10\.0\.0\.0\/33' is not/, 'a bad prefix');
config_error_like("<Location />\nRequire ip 10.0.0.0/255.0.255.0\n</Location>\n", 2,
                  qr/Require ip: '10\.0\.0\.0\/255\.0\.255\.0' is not/, 'a netmask with holes');
config_error_like("Require all granted\n", 1, qr/Require not allowed here/, 'Require at server level');
config_error_like("<Location />\n<RequireAll>\nOptions None\n</RequireAll>\n</Location>\n", 3,
                  qr/Options not allowed in <RequireAll> section/, 'another directive inside RequireAll');
config_error_like("<Location />\n<RequireAll>\nRequire all granted\n</Location>\n", 4,
                  qr/Expected <\/RequireAll> but saw <\/Location>/, 'an unclosed RequireAll');
config_error_like("<RequireAny>\n</RequireAny>\n", 1, qr/<RequireAny> not allowed here/,
                  'RequireAny outside a section');

done_testing();
