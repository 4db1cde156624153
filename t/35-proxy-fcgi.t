#!/usr/bin/perl
# mod_proxy_fcgi with Debian's php8.2-fpm: the stock php8.2-fpm.conf block
# (<IfModule proxy_fcgi_module> + <FilesMatch> + SetHandler proxy:unix:...)
# runs .php files instead of sending their source; ProxyPass to fcgi:// over
# TCP; the environment php-fpm expects; a POST body streamed to the
# script; headers and Status from the script; a large body streamed out;
# ProxyTimeout -> 504; a backend that is not there -> 503.  The test starts
# its own php-fpm master (foreground, its own pools in the temp directory)
# and stops it by its PID.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(WNOHANG);
use Digest::MD5 qw(md5_hex);
use WeftTest qw(wait_for);
use WeftFcgi;

my ($fpm) = grep { -x } qw(/usr/sbin/php-fpm8.2);
BAIL_OUT('php-fpm8.2 is missing: .ci/run installs php8.2-fpm') unless $fpm;

my %php = (
    'www/env.php' => <<'PHP',
<?php
header('X-From-Php: yes');
foreach (['SCRIPT_FILENAME', 'SCRIPT_NAME', 'PATH_INFO', 'REQUEST_METHOD', 'QUERY_STRING', 'REQUEST_URI',
          'HTTPS', 'HTTP_AUTHORIZATION', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'HTTP_X_CUSTOM', 'SERVER_PORT',
          'REMOTE_ADDR', 'GATEWAY_INTERFACE', 'DOCUMENT_ROOT'] as $k)
    echo "$k=", $_SERVER[$k] ?? '(unset)', "\n";
PHP
    'www/post.php' => <<'PHP',
<?php
$body = file_get_contents('php://input');
echo "LENGTH=", strlen($body), "\nMD5=", md5($body), "\n";
PHP
    'www/status.php' => <<'PHP',
<?php
http_response_code(201);
header('X-Multi: one');
header('X-Multi: two', false);
header('Content-Type: text/plain');
echo "created\n";
PHP
    'www/redirect.php' => <<'PHP',
<?php
header('Location: http://example.com/elsewhere');
PHP
    'www/big.php' => <<'PHP',
<?php
header('Content-Type: application/octet-stream');
$line = str_repeat('0123456789abcdef', 64);   // 1 KiB
for ($i = 0; $i < 3072; $i++) { echo $line; if ($i % 64 == 0) flush(); }
PHP
    'www/sleep.php' => <<'PHP',
<?php
sleep(4);
echo "late\n";
PHP
    'www/stderr.php' => <<'PHP',
<?php
error_log("weft-test-stderr-line");
echo "ok\n";
PHP
    'www/plain.txt' => "just text\n",
    'app/hello.php' => "<?php echo 'app:', \$_SERVER['SCRIPT_FILENAME'], \"\\n\";\n",
);

my $w = WeftTest->new(
    conf => <<'CONF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
LogLevel info
ProxyRequests Off
<IfModule proxy_fcgi_module>
    <FilesMatch ".+\.ph(ar|p|tml)$">
        SetHandler "proxy:unix:@ROOT@/php.sock|fcgi://localhost"
    </FilesMatch>
</IfModule>
<Location /slow/>
    ProxyTimeout 1
</Location>
<Directory "@ROOT@/www/slow">
    SetHandler "proxy:unix:@ROOT@/php.sock|fcgi://localhost"
</Directory>
<Directory "@ROOT@/www/blog">
    DirectoryIndex index.php
    FallbackResource /blog/index.php
</Directory>
<Directory "@ROOT@/www/auth">
    SetEnvIfNoCase ^Authorization$ "(.+)" HTTP_AUTHORIZATION=$1
</Directory>
<Directory "@ROOT@/www/down">
    SetHandler "proxy:unix:@ROOT@/nobody-listens.sock|fcgi://localhost"
</Directory>
ProxyPass /app/ fcgi://127.0.0.1:@PORT2@@ROOT@/app/
ProxyPass /refused/ fcgi://127.0.0.1:@PORT3@/nothing/
ProxyPass /odd/ unix:@ROOT@/odd.sock|fcgi://localhost/odd/
CONF
    files => { %php, 'www/slow/sleep.php' => $php{'www/sleep.php'}, 'www/down/x.txt' => "text\n",
               'www/auth/env.php' => $php{'www/env.php'},
               'www/blog/index.php' => "<?php echo 'front:', \$_SERVER['SCRIPT_NAME'], ' ', \$_SERVER['REQUEST_URI'], \"\\n\";\n" },
);
my $root = $w->root;
my $tcp_port = $w->port2;
$w->port_n(3);    # allocated, never listened on

# php-fpm: its own master, two pools (unix socket, TCP), as this user.
my $fpm_conf = "$root/php-fpm.conf";
open my $fh, '>', $fpm_conf or die "$fpm_conf: $!";
print $fh <<"FPM";
[global]
pid = $root/php-fpm.pid
error_log = $root/php-fpm.log
daemonize = no
[unix]
listen = $root/php.sock
listen.mode = 0666
pm = static
pm.max_children = 2
catch_workers_output = yes
[tcp]
listen = 127.0.0.1:$tcp_port
pm = static
pm.max_children = 2
FPM
close $fh;
my @root_flag = $> == 0 ? ('-R') : ();
my $fpm_pid = fork // die "fork: $!";
if (!$fpm_pid) {
    open STDOUT, '>', "$root/php-fpm.out";
    open STDERR, '>&', \*STDOUT;
    exec $fpm, '-F', @root_flag, '-y', $fpm_conf;
    exit 127;
}
# Stopped by its PID however the test ends.
END { local $?; if ($fpm_pid) { kill 'TERM', $fpm_pid; my $n = 0; while (waitpid($fpm_pid, WNOHANG) == 0 && $n++ < 100) { select(undef, undef, undef, 0.05) } kill 'KILL', $fpm_pid; } }
my $fpm_ready = wait_for(sub { -S "$root/php.sock" }, 10);
ok($fpm_ready, 'php-fpm started') or diag(`cat $root/php-fpm.out $root/php-fpm.log 2>/dev/null`);

# A FastCGI server that misbehaves on request (t/lib/WeftFcgi.pm).
my $odd = WeftFcgi::start(socket => "$root/odd.sock");
END { local $?; if ($odd) { kill 'KILL', $odd; waitpid($odd, 0) } }

$w->start;

# The Debian block: .php runs, never comes as source.
my $r = $w->get('/env.php?a=1&b=2', 'X-Custom' => 'custom-value', Authorization => 'Basic c2VjcmV0');
is($r->status, 200, 'a .php file runs through php-fpm');
unlike($r->body, qr/<\?php/, 'its source is not sent');
is($r->header('X-From-Php'), 'yes', 'the script\'s header field is passed');
my %env = $r->body =~ /^(\w+)=(.*)$/mg;
is($env{SCRIPT_FILENAME}, "$root/www/env.php", 'SCRIPT_FILENAME is the file');
is($env{SCRIPT_NAME}, '/env.php', 'SCRIPT_NAME');
is($env{QUERY_STRING}, 'a=1&b=2', 'QUERY_STRING');
is($env{REQUEST_URI}, '/env.php?a=1&b=2', 'REQUEST_URI');
is($env{REQUEST_METHOD}, 'GET', 'REQUEST_METHOD');
is($env{HTTP_X_CUSTOM}, 'custom-value', 'request fields as HTTP_*');
is($env{HTTP_AUTHORIZATION}, '(unset)', 'Authorization is not passed unless asked');
is($env{HTTPS}, '(unset)', 'no HTTPS without TLS');
is($env{GATEWAY_INTERFACE}, 'CGI/1.1', 'GATEWAY_INTERFACE');
is($env{DOCUMENT_ROOT}, "$root/www", 'DOCUMENT_ROOT');
is($w->get('/plain.txt')->body, "just text\n", 'other files are served as before');
$r = $w->get('/auth/env.php', Authorization => 'Basic c2VjcmV0');
like($r->body, qr/^HTTP_AUTHORIZATION=Basic c2VjcmV0$/m, 'Authorization when asked (Debian\'s SetEnvIfNoCase line)');

# A WordPress-style front controller: DirectoryIndex and FallbackResource.
is($w->get('/blog/')->body, "front:/blog/index.php /blog/\n", 'DirectoryIndex index.php runs it');
is($w->get('/blog/2024/hello-world?x=1')->body, "front:/blog/index.php /blog/2024/hello-world?x=1\n",
   'FallbackResource: a pretty permalink runs the front controller');

# A POST body streamed to the script.
my $body = join '', map { chr(65 + $_ % 26) } 0 .. 300_000;
$r = $w->request("POST /post.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n"
                 . "Content-Length: " . length($body) . "\r\n\r\n$body");
is($r->status, 200, 'POST of 300 KB');
is($r->body, "LENGTH=300001\nMD5=" . md5_hex($body) . "\n", 'the script read the whole body');
my $chunked = join '', map { sprintf("%x\r\n%s\r\n", length $_, $_) } ('hello ', 'chunked ', 'world');
$r = $w->request("POST /post.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}0\r\n\r\n");
is($r->status, 411, 'a chunked body: 411 (php-fpm needs CONTENT_LENGTH; spooling is not built yet)');

# Status and repeated fields.
$r = $w->get('/status.php');
is($r->status, 201, 'the script\'s status');
like($r->header('Content-Type'), qr{^text/plain}, 'its Content-Type');
is($r->header_count('X-Multi'), 2, 'repeated fields are kept');
$r = $w->get('/redirect.php');
is($r->status, 302, 'Location alone is a 302');
is($r->header('Location'), 'http://example.com/elsewhere', 'with its Location');

# A 3 MiB body, streamed: chunked to HTTP/1.1, close-delimited to HTTP/1.0.
$r = $w->get('/big.php');
is($r->status, 200, 'a large streamed body');
is(length($r->body), 3072 * 1024, 'all of it');
is($r->header('Transfer-Encoding'), 'chunked', 'chunked (the length was not known)');
$r = $w->request("GET /big.php HTTP/1.0\r\n\r\n");
is(length($r->body // ''), 3072 * 1024, 'HTTP/1.0: all of it, delimited by the close');

# Keep-alive across several PHP requests on one connection.
my ($responses) = $w->pipeline(join('', map { "GET /status.php HTTP/1.1\r\nHost: x\r\n\r\n" } 1 .. 3)
                               . "GET /env.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 4);
is(scalar(grep { ($_->status // 0) == 201 } @$responses[0 .. 2]), 3, 'pipelined requests on one connection');
is($responses->[3] && $responses->[3]->status, 200, 'and the last one');

# STDERR goes to the error log.
is($w->get('/stderr.php')->body, "ok\n", 'a script that writes to stderr');
ok(wait_for(sub { $w->error_log =~ /weft-test-stderr-line/ }, 5), 'its stderr is in the error log');

# ProxyPass over TCP: the rest of the path appended to the URL's path.
$r = $w->get('/app/hello.php');
is($r->status, 200, 'ProxyPass to fcgi:// over TCP');
is($r->body, "app:$root/app/hello.php\n", 'SCRIPT_FILENAME from the URL and the path');

# Failures.
$r = $w->get('/slow/sleep.php');
is($r->status, 504, 'ProxyTimeout 1 against a script that sleeps 4 s: 504');
$r = $w->get('/down/x.txt');
is($r->status, 503, 'a socket nobody listens on: 503');
$r = $w->get('/refused/x.php');
is($r->status, 503, 'a refused TCP connection: 503');
is($w->get('/env.php')->status, 200, 'php-fpm still serves afterwards');

# A malformed response head is refused: 502, nothing of it reaches the client.
for my $case (['two-lengths', 'two Content-Length fields'], ['fold', 'a folded header line'],
              ['inject', 'a CR inside a header value'], ['garbage', 'bytes that are not FastCGI'],
              ['end-early', 'END_REQUEST before any output']) {
    my ($name, $what) = @$case;
    $r = $w->get("/odd/$name");
    is($r->status, 502, "$what: 502");
    ok(!defined $r->header('X-Injected') && !defined $r->header('Set-Cookie') && !defined $r->header('X-Folded'),
       "$what: none of its fields are passed");
}
like($w->error_log, qr/two Content-Length fields/, 'the error log says why');
# A body cut short after the head: the client sees an incomplete response.
$r = $w->get('/odd/cut');
ok(defined $r->error && length($r->body // '') < 5000, 'a body cut short is not passed off as complete (the chunked body never ends)')
    or diag($r->summary);
is($w->get('/odd/plain')->body, "hello from fcgi\n", 'the same backend answers normally afterwards');

# A client that goes away while the script runs: the server goes on.
{
    my $sock = $w->connect;
    print $sock "GET /slow/sleep.php HTTP/1.1\r\nHost: x\r\n\r\n";
    select(undef, undef, undef, 0.3);
    close $sock;
    ok(wait_for(sub { $w->error_log =~ /client went away while its backend/ }, 5),
       'a client that leaves is noticed while the backend works');
    is($w->get('/status.php')->status, 201, 'served after a client left mid-request');
}

$w->stop;

# Debian's own php8.2-fpm.conf, included as it is: its <IfModule
# proxy_fcgi_module> block is taken, so a .php file goes to php-fpm's
# socket, never out as source (503 here: no system php-fpm listens).
SKIP: {
    my $debian = '/etc/apache2/conf-available/php8.2-fpm.conf';
    skip "$debian is missing (php8.2-fpm installs it)", 3 unless -f $debian;
    my $d = WeftTest->new(conf => "Include $debian\n",
                          files => { 'www/secret.php' => "<?php \$password = 'hunter2';\n" });
    $d->start;
    my $answer = $d->get('/secret.php');
    unlike($answer->body // '', qr/hunter2/, 'Debian\'s php8.2-fpm.conf: the source is never sent');
    my $system_fpm = -S '/run/php/php8.2-fpm.sock';
    ok($system_fpm || $answer->status == 503, 'it goes to /run/php/php8.2-fpm.sock (503: nobody listens)')
        or diag($answer->summary);
    like($d->error_log, qr/php8\.2-fpm\.sock/, 'the error log names the socket') unless $system_fpm;
    pass('a system php-fpm answered') if $system_fpm;
    $d->stop;
}

done_testing;
