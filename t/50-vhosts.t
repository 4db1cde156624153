#!/usr/bin/perl
# Virtual hosts: name-based selection by Host (port, case and a trailing
# dot ignored, wildcard aliases, IPv6 literals, absolute-form targets),
# the default vhost for an unknown or missing Host, address:port groups on
# two ports (and ::1 when the machine has IPv6), the main server where no
# vhost listens, per-vhost DocumentRoot, DirectoryIndex and CustomLog,
# `weft -S`, and configuration errors with file:line.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::IP;
use WeftTest qw(wait_for);

my $ipv6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1) ? 1 : 0;

my $conf = <<'EOF';
Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@
Listen 127.0.0.1:@PORT4@
PidFile logs/weft.pid
ErrorLog logs/error_log
ServerName main.example
DocumentRoot "@ROOT@/www"
LogFormat "%v %U" vhostlog
CustomLog logs/access_log vhostlog

<VirtualHost *:@PORT@>
    ServerName default.example
    DocumentRoot "@ROOT@/default"
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName first.example
    ServerAlias www.first.example *.wild.example f?.example
    DocumentRoot "@ROOT@/first"
</VirtualHost>
<virtualhost *:@PORT@>
    ServerName second.example
    DocumentRoot "@ROOT@/second"
    DirectoryIndex home.html
    CustomLog logs/second_log vhostlog
</virtualhost>
<VirtualHost *:@PORT@>
    ServerName [::1]
    DocumentRoot "@ROOT@/v6name"
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT2@>
    ServerName port2.example
    DocumentRoot "@ROOT@/port2"
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT2@ _default_:@PORT3@>
    ServerName other2.example
    DocumentRoot "@ROOT@/other2"
</VirtualHost>
EOF
$conf .= <<'EOF' if $ipv6;
Listen [::1]:@PORT3@
<VirtualHost [::1]:@PORT3@>
    ServerName six.example
    DocumentRoot "@ROOT@/six"
</VirtualHost>
EOF

my %files = map { ("$_/index.html" => "$_\n") } qw(www default first second v6name port2 other2 six);
$files{'second/home.html'} = "second home\n";
my $w = WeftTest->new(conf => $conf, files => \%files);
$w->start;
my ($port, $port2, $port3, $port4) = ($w->port, $w->port2, $w->port_n(3), $w->port_n(4));

sub fetch {
    my (%o) = @_;
    my $target = $o{target} // '/';
    my $host = exists $o{host} ? (defined $o{host} ? "Host: $o{host}\r\n" : '') : '';
    my $version = $o{version} // '1.1';
    my $raw = "GET $target HTTP/$version\r\n${host}Connection: close\r\n\r\n";
    return $w->request($raw, port => $o{port} // $port, $o{ipv6} ? (host => '::1') : ());
}

sub serves {
    my ($expected, $name, %o) = @_;
    my $r = fetch(%o);
    is(($r->{status} // 0) . ' ' . ($r->{body} // ''), "200 $expected\n", $name);
}

# ---- name-based on one address:port
serves('first', 'Host names a vhost', host => 'first.example');
serves('second home', 'another vhost, with its own DirectoryIndex', host => 'second.example');
serves('first', 'Host with a port: the port is ignored', host => "first.example:$port");
serves('first', 'Host is case-insensitive', host => 'FIRST.Example');
serves('first', 'a trailing dot is ignored', host => 'first.example.');
serves('first', 'ServerAlias', host => 'www.first.example');
serves('first', 'ServerAlias with *', host => 'a.b.wild.example');
serves('default', '*.wild.example does not cover wild.example itself', host => 'wild.example');
serves('first', 'ServerAlias with ?', host => 'fx.example');
serves('default', '? is one character only', host => 'fxx.example');
serves('default', 'an unknown Host gets the first vhost of the address', host => 'nobody.example');
serves('default', 'the main ServerName is not a vhost name', host => 'main.example');
serves('v6name', 'an IPv6 literal Host matches ServerName [::1]', host => "[::1]:$port");
serves('default', 'HTTP/1.0 without Host: the default vhost', host => undef, version => '1.0');
serves('second home', 'absolute-form target: its host wins over Host', host => 'first.example',
       target => 'http://second.example/');
serves('first', 'absolute-form with a port and upper case', host => 'second.example',
       target => "http://First.Example:$port/");

# ---- address groups and ports
serves('port2', 'second port: the first vhost listed for 127.0.0.1:PORT2 is its default',
       port => $port2, host => 'second.example');
serves('other2', 'second port: name-based among the vhosts of that address', port => $port2,
       host => 'other2.example');
serves('www', 'a port no vhost names: the main server', port => $port4, host => 'first.example');
SKIP: {
    # Visible in prove's normal output (diag goes to standard error), not only in -v.
    my $why = 'no IPv6 loopback (::1) on this machine: the [::1] vhost is not checked';
    diag("SKIP: $why"), skip($why, 1) unless $ipv6;
    serves('six', 'over IPv6: the exact [::1] address beats _default_', port => $port3, ipv6 => 1,
           host => 'anything');
}

# A missing name on HTTP/1.1 is a 400 before any vhost is chosen.
is(fetch(host => undef)->{status}, 400, 'HTTP/1.1 without Host is still 400');

# ---- per-vhost access logs
# %U is the URL-path served: after DirectoryIndex, the index's (as Apache).
my $log_ok = wait_for(sub { ($w->read_file('logs/second_log') // '') =~ /second\.example \/home\.html\n/ });
ok($log_ok, 'the vhost with its own CustomLog logs there (%v is its ServerName)');
my $second_log = $w->read_file('logs/second_log') // '';
unlike($second_log, qr/^(?!second\.example )/m, '... and only its own requests');
wait_for(sub { ($w->access_log =~ tr/\n//) >= 15 });
my $main_log = $w->access_log;
like($main_log, qr/^first\.example \/index\.html$/m, 'vhosts without CustomLog use the main server\'s log');
like($main_log, qr/^main\.example \/index\.html$/m, 'the main server logs its own ServerName');
unlike($main_log, qr/^second\.example/m, 'the main log has none of the vhost with its own');

$w->stop;

# ---- weft -S
my ($code, $out, $err) = $w->run_weft($w->weft_args, '-S');
is($code, 0, 'weft -S exits 0') or diag($err);
my $conf_file = $w->conf_path;
my $pad = ' ' x 8;
like($out, qr/\AVirtualHost configuration:\n/, '-S starts like httpd -S');
like($out, qr/^\Q127.0.0.1:$port2\E\s+is a NameVirtualHost\n\Q$pad\E default server port2\.example \(\Q$conf_file\E:\d+\)\n/m,
     '-S: an address with two vhosts is a NameVirtualHost, the first its default');
like($out, qr/^\Q*:$port\E +is a NameVirtualHost$/m, '-S: the wildcard group');
like($out, qr/^\Q$pad\E port $port namevhost first\.example \(\Q$conf_file\E:\d+\)\n\s{17}alias www\.first\.example\n\s{17}wild alias \*\.wild\.example\n\s{17}wild alias f\?\.example\n/m,
     '-S: namevhost lines with alias and wild alias lines');
like($out, qr/^\Q*:$port3\E {10,}other2\.example \(\Q$conf_file\E:\d+\)$/m,
     '-S: a single vhost on an address is one line');
my $root = $w->root;
like($out, qr/^ServerRoot: "\Q$root\E"\nMain DocumentRoot: "\Q$root\E\/www"\nMain ErrorLog: "\Q$root\E\/logs\/error_log"\nPidFile: "\Q$root\E\/logs\/weft\.pid"\n/m,
     '-S: then ServerRoot, Main DocumentRoot, Main ErrorLog, PidFile');
like($out, qr/^Define: DUMP_VHOSTS\nDefine: DUMP_RUN_CFG\nUser: name="[^"]+" id=-?\d+/m, '-S: Defines and User');
unlike($out, qr/Syntax OK/, '-S does not print Syntax OK');

# ---- configuration errors
sub config_error_like {
    my ($body, $re, $name) = @_;
    my $t = WeftTest->new(conf => $body, files => { 'www/index.html' => "x\n" });
    my ($status, $stdout, $stderr) = $t->check_config;
    isnt($status, 0, "$name: -t fails");
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:$re/m, "$name: file:line message");
}
config_error_like("<VirtualHost www.example.com:80>\n</VirtualHost>\n",
                  qr/1: Invalid address 'www\.example\.com:80' in <VirtualHost>: weft needs a numeric address/,
                  'a host name as address');
config_error_like("\n<VirtualHost *:99999>\n</VirtualHost>\n", qr/2: Invalid address '\*:99999'.*port/,
                  'a bad port');
config_error_like("<VirtualHost ::1>\n</VirtualHost>\n", qr/1: .*brackets/, 'IPv6 without brackets');
config_error_like("<VirtualHost>\n</VirtualHost>\n", qr/1: <VirtualHost> requires at least one argument/,
                  'no address');
config_error_like("<VirtualHost *>\n  Listen 127.0.0.1:1\n</VirtualHost>\n", qr/2: Listen not allowed here/,
                  'a server-only directive in a vhost');
config_error_like("ServerAlias x.example\n", qr/1: ServerAlias not allowed here/, 'ServerAlias outside a vhost');
config_error_like("<VirtualHost *>\n<VirtualHost *>\n</VirtualHost>\n</VirtualHost>\n",
                  qr/2: <VirtualHost> cannot occur within <VirtualHost> section/, 'nested vhosts');
config_error_like("\n\n<VirtualHost *>\n  DocumentRoot /nonexistent/weft\n</VirtualHost>\n",
                  qr/3: DocumentRoot '\/nonexistent\/weft' of this <VirtualHost> is not a directory/,
                  'a vhost DocumentRoot that does not exist');

done_testing();
