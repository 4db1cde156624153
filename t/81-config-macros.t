#!/usr/bin/perl
# Define, UnDefine and ${VAR} as Apache 2.4 and Debian write them (envvars
# exported into the process environment), <IfModule> answering for Apache's
# module names by what weft implements, LoadModule, and the messages -t
# gives: skipped blocks, module levels of LogLevel, connection directives a
# <VirtualHost> cannot change, directives and handlers weft does not have.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);

my $root_user = $< == 0;
my $user = $root_user ? 'nobody' : scalar getpwuid($<);
my $group = $root_user ? 'nogroup' : scalar getgrgid($();

my $w = WeftTest->new(
    dirs  => [qw(var/log/apache2 var/run/apache2 var/lock/apache2)],
    files => {
        'www/index.htm'    => "the index of dir_module's block\n",
        'www/defined.txt'  => "a Define inside <VirtualHost> is global\n",
        'conf/ports.conf'  => "Listen 127.0.0.1:\${WEFT_TEST_PORT}\n<IfModule mod_gnutls.c>\n\tListen 443\n</IfModule>\n",
        'www/broken'       => { content => "#!/bin/sh\necho 'not a header line'\n", mode => 0755 },
    },
    no_conf => 1,
);

# The environment Debian's apache2ctl exports from /etc/apache2/envvars.
my $root = $w->root;
$ENV{APACHE_RUN_USER} = $user;
$ENV{APACHE_RUN_GROUP} = $group;
$ENV{APACHE_PID_FILE} = "$root/var/run/apache2/apache2.pid";
$ENV{APACHE_RUN_DIR} = "$root/var/run/apache2";
$ENV{APACHE_LOCK_DIR} = "$root/var/lock/apache2";
$ENV{APACHE_LOG_DIR} = "$root/var/log/apache2";
$ENV{WEFT_TEST_PORT} = $w->port;
delete $ENV{WEFT_TEST_UNSET};

my $conf = <<'EOF';
# Debian's apache2.conf, in its essentials
PidFile ${APACHE_PID_FILE}
Timeout 300
KeepAlive On
User ${APACHE_RUN_USER}
Group ${APACHE_RUN_GROUP}
ErrorLog ${APACHE_LOG_DIR}/error.log
LogLevel warn ssl:warn proxy:warn
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule include_module /usr/lib/apache2/modules/mod_include.so
Include conf/ports.conf
<IfModule mpm_event_module>
	StartServers 2
	MaxRequestWorkers 150
</IfModule>
<IfModule mpm_worker_module>
	StartServers 1
	ThreadsPerChild 8
	MinSpareThreads 2
	MaxSpareThreads 24
	MaxClients 4
</IfModule>
<IfModule dir_module>
	DirectoryIndex index.html index.cgi index.pl index.php index.xhtml index.htm
</IfModule>
<IfModule mod_include.c>
	SSIErrorMsg "oops"
	<IfModule mod_ssl.c>
		SSITimeFormat "%Y"
	</IfModule>
	SSIUndefinedEcho "-"
</IfModule>
<IfModule !mod_include.c>
	Redirect 301 /old /new
</IfModule>
<IfModule !mpm_prefork_module>
	Define NOT_PREFORK
</IfModule>
<IfModule unixd_module>
<IfModule env_module>
<IfModule cgid_module>
<IfModule log_config_module>
<IfModule so_module>
<IfModule worker.c>
	Define ALL_PRESENT
</IfModule>
</IfModule>
</IfModule>
</IfModule>
</IfModule>
</IfModule>
CustomLog ${APACHE_LOG_DIR}/access.log "%>s %U"
Define SITE_ROOT ${WEFT_TEST_ROOT}
Define DOCS ${SITE_ROOT}/www
DocumentRoot "${DOCS}"
Define HEADER_LINE "Header set X-Expanded ${APACHE_RUN_USER}-ok"
${HEADER_LINE}
<IfDefine NOT_PREFORK>
<IfDefine ALL_PRESENT>
	Header set X-Modules present
</IfDefine>
</IfDefine>
<IfDefine ${WEFT_TEST_UNSET}>
	Header set X-Never yes
</IfDefine>
Define GONE
UnDefine GONE
<IfDefine GONE>
	Header set X-Gone still-defined
</IfDefine>
<IfDefine !GONE>
	Header set X-Gone undefined
</IfDefine>
<IfDefine FROM_COMMAND_LINE>
	Header set X-Command-Line yes
</IfDefine>
<VirtualHost *:${WEFT_TEST_PORT}>
	Define IN_VHOST
	KeepAliveTimeout 3
	LimitRequestLine 4000
</VirtualHost>
<IfDefine IN_VHOST>
	Alias /defined "${DOCS}/defined.txt"
</IfDefine>
<Location /broken>
	SetHandler cgi-script
	Options +ExecCGI
</Location>
# as Debian's mime.conf
AddHandler type-map var
EOF
$ENV{WEFT_TEST_ROOT} = $root;
$w->write_conf($conf, bare => 1);
my $file = $w->conf_path;
my @lines = split /\n/, $conf;
sub line_of {
    my ($text, $from) = @_;
    for my $i (($from // 0) .. $#lines) {
        return $i + 1 if index($lines[$i], $text) >= 0;
    }
    die "no line '$text'";
}

# ---- -t: Syntax OK, and exactly the warnings Apache's files deserve
my ($code, $out, $err) = $w->check_config('-D', 'FROM_COMMAND_LINE');
is($code, 0, '-t passes a configuration written the Debian way') or diag($err);
like($out . $err, qr/Syntax OK/, '... Syntax OK');
my @warnings = grep { /^WARNING: / } split /\n/, $err;
my $rewrite_block = line_of('<IfModule mod_include.c>');
my $rewrite_end = line_of('</IfModule>', line_of('SSIUndefinedEcho') - 1);
my $ssl_ports = "$root/conf/ports.conf";
my @expected = (
    "$file:" . line_of('LoadModule mpm_event') . ": LoadModule mpm_event_module: weft has its own MPM "
        . "(worker-style threads with an event loop) and ignores mod_mpm_event; its <IfModule> sections are skipped",
    "$file:" . line_of('LoadModule include') . ": LoadModule include_module: mod_include is not built into weft; "
        . "its directives will be refused",
    "$ssl_ports:2: mod_gnutls is not built into weft; 1 directive in $ssl_ports:2-4 is skipped",
    "$file:$rewrite_block: mod_include is not built into weft; 3 directives in $file:$rewrite_block-$rewrite_end are skipped",
    "$file:" . line_of('<IfDefine ${WEFT_TEST_UNSET}>') . ': Config variable ${WEFT_TEST_UNSET} is not defined',
    "$file:" . line_of('KeepAliveTimeout 3') . ": KeepAliveTimeout in <VirtualHost> is ignored: weft applies it "
        . "per listening address, from the main server",
    "$file:" . line_of('LimitRequestLine 4000') . ": LimitRequestLine in <VirtualHost> is ignored: the request head "
        . "is read before its host is known, with the main server's limits",
);
# AddHandler type-map var (Debian's mime.conf) is no warning: the negotiation module has type maps.
my @relevant = grep { !/User|Group|not running as root|setuid/i } @warnings;
is_deeply([ map { s/^WARNING: //r } @relevant ], \@expected, '-t gives exactly the expected warnings, in order')
    or diag(join("\n", @warnings));
unlike($err, qr/mpm_event_module is not|mod_mpm_event is not built/, 'no warning for the block of the MPM weft replaces');

# ---- serving it
$w->start(args => ['-D', 'FROM_COMMAND_LINE']);
my $pid_file = "$root/var/run/apache2/apache2.pid";
ok(wait_for(sub { -s $pid_file }, scale(5)), 'PidFile ${APACHE_PID_FILE} is where envvars put it');
ok(!-e "$root/\${APACHE_PID_FILE}" && !-e "$root/\${APACHE_LOG_DIR}", '... and no file is named after a variable');

my $r = $w->get('/');
is($r->{status}, 200, 'GET / with DirectoryIndex from <IfModule dir_module>');
is($r->{body}, "the index of dir_module's block\n", '... serves index.htm, the last name of its list');
is($r->{headers}{'x-expanded'}, "$user-ok", 'a whole line from ${HEADER_LINE} (its value expanded when Define read it)');
is($r->{headers}{'x-modules'}, 'present', 'unixd, env, cgid, log_config, so and worker.c are present, prefork absent');
ok(!defined $r->{headers}{'x-never'}, '<IfDefine ${UNSET}> is false');
is($r->{headers}{'x-gone'}, 'undefined', 'UnDefine forgets a name');
is($r->{headers}{'x-command-line'}, 'yes', '-D defines a name for <IfDefine>');

$r = $w->get('/old');
is($r->{status}, 301, '<IfModule !mod_include.c> holds: its Redirect applies');
like($r->{headers}{location} // '', qr{/new$}, '... to /new');

$r = $w->get('/defined');
is($r->{body}, "a Define inside <VirtualHost> is global\n", 'Define inside <VirtualHost> is seen after it');

$r = $w->get('/broken');
is($r->{status}, 500, 'a CGI script with a malformed header is a 500');
my $error_log = "$root/var/log/apache2/error.log";
ok(wait_for(sub { (WeftTest::_slurp($error_log) // "") =~ /Premature end of script headers: \Q$root\E\/www\/broken/ }, scale(5)),
   'ErrorLog ${APACHE_LOG_DIR}/error.log is the file the error went to');
ok(wait_for(sub { -s "$root/var/log/apache2/access.log" }, scale(5)), 'CustomLog ${APACHE_LOG_DIR}/access.log too');
$w->stop;

# ---- what -t refuses, and how it says so
my $bad = WeftTest->new(conf => <<'EOF');
SSIErrorMsg "oops"
SSLProxyEngine on
ProxyPassMatch ^/app http://127.0.0.1:9/
php_value memory_limit 256M
NoSuchThing here
<Proxy *>
</Proxy>
<Location /info>
	SetHandler server-info
</Location>
AddHandler type-mapp .var
Define A:B value
LogLevel warn nosuch:debug loud
AddHandler application/x-httpd-php .php
<Location /fpm>
	SetHandler "proxy:balancer://cluster"
</Location>
AddHandler server-parsed .shtml
EOF
($code, $out, $err) = $bad->check_config;
isnt($code, 0, '-t fails on directives weft does not have');
my $bad_file = $bad->conf_path;
for my $expected (
    "$bad_file:1: SSIErrorMsg is a directive of mod_include, which is not built into weft",
    "$bad_file:2: SSLProxyEngine is a directive of mod_ssl that weft does not implement",
    "$bad_file:3: ProxyPassMatch is a directive of mod_proxy that weft does not implement",
    "$bad_file:4: php_value is a directive of mod_php, which is not built into weft",
    "$bad_file:5: Invalid command 'NoSuchThing': weft has no such directive (misspelled?)",
    "$bad_file:6: <Proxy> is a section of mod_proxy that weft does not implement",
    "$bad_file:9: SetHandler server-info: that is a handler of mod_info, which is not built into weft; "
        . "weft has default-handler, proxy:fcgi:, proxy:unix:, cgi-script,",
    "$bad_file:11: AddHandler type-mapp: no handler of that name in weft",
    "$bad_file:12: Variable name must not contain ':'",
    "$bad_file:13: LogLevel requires level keyword",
    "$bad_file:14: AddHandler application/x-httpd-php: that is a handler of mod_php, which is not built into weft "
        . "(the files would be served as they are, source and all)",
    "$bad_file:16: SetHandler proxy:balancer://cluster: that is a handler of mod_proxy_balancer, which is not "
        . "built into weft",
    "$bad_file:18: AddHandler server-parsed: that is a handler of mod_include, which is not built into weft; "
        . "weft has",
) {
    like($err, qr/^\Q$expected\E/m, "-t says: $expected");
}
unlike($err, qr/perhaps misspelled or defined by a module not included/, 'never the old advice to include a module');

done_testing;
