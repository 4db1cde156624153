#!/usr/bin/perl
# What requests see of TLS (module ssl_vars): HTTPS=on and, with SSLOptions
# +StdEnvVars / +ExportCertData, mod_ssl's SSL_* variables for CGI;
# %{SSL_PROTOCOL}x and friends in LogFormat; %{HTTPS} and %{SSL_*} in <If>
# and Require expr; SSLRequire's common forms and SSLRequireSSL; https in
# the redirects a TLS request gets.  A CA, the server's certificate and two
# client certificates (alice, bob) are made here with the openssl command;
# the requests are made with curl over real handshakes.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);

for my $tool (qw(openssl curl)) {
    my $found = grep { -x "$_/$tool" } split /:/, $ENV{PATH};
    BAIL_OUT("$tool is needed by this test (apt-get install $tool)") unless $found;
}

my $w = WeftTest->new(
    conf => <<'EOF',
Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@ https
Listen 127.0.0.1:@PORT3@ https
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
LogFormat "%U %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{HTTPS}x %{SSL_CLIENT_S_DN_CN}x %{version}c %{NO_SUCH}x %u" tls
CustomLog logs/access_log tls
ScriptAlias /cgi/ "@ROOT@/cgi/"
ScriptAlias /std/ "@ROOT@/cgi/"
ScriptAlias /export/ "@ROOT@/cgi/"
ScriptAlias /both/ "@ROOT@/cgi/"
ScriptAlias /user/ "@ROOT@/cgi/"
Redirect /old /new
<Location /std/>
    SSLOptions +StdEnvVars
</Location>
<Location /export/>
    SSLOptions +ExportCertData
</Location>
<Location /both/>
    SSLOptions +StdEnvVars +ExportCertData
</Location>
<Location /user/>
    SSLUserName SSL_CLIENT_S_DN_CN
</Location>
<Location /both/env.cgi/less>
    SSLOptions -StdEnvVars
</Location>
<If "%{HTTPS} == 'on'">
    Header set X-TLS "on"
</If>
<If "%{SSL:SSL_CLIENT_S_DN_CN} == 'alice'">
    Header set X-Alice "yes"
</If>
Header set X-Client "cn=%{SSL_CLIENT_S_DN_CN}s https=%{HTTPS}s"
<Location /alice.txt>
    Require expr %{SSL_CLIENT_S_DN_CN} == 'alice'
</Location>
<Location /verified.txt>
    Require expr "%{SSL_CLIENT_VERIFY} == 'SUCCESS' && %{SSL_CLIENT_I_DN_CN} == 'Weft Test CA'"
</Location>
<Location /staff.txt>
    SSLRequire %{SSL_CLIENT_S_DN_O} eq "Example, Inc." and %{SSL_CLIENT_S_DN_OU} in {"Staff", "CA", "Dev"}
</Location>
<Location /regex.txt>
    SSLRequire %{SSL_CLIENT_VERIFY} eq "SUCCESS" and %{SSL_CLIENT_S_DN_CN} =~ m#^al#
</Location>
<Location /both-must.txt>
    SSLRequire %{SSL_CIPHER_USEKEYSIZE} >= 128
    SSLRequire %{SSL_CLIENT_S_DN_CN} -strmatch 'b*' || (%{SSL_CLIENT_S_DN_CN} ne "alice" && %{SSL_CLIENT_S_DN_CN} != "")
</Location>
<Location /tls-only.txt>
    SSLRequireSSL
</Location>
<VirtualHost 127.0.0.1:@PORT2@>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile "@ROOT@/tls/server.crt"
    SSLCertificateKeyFile "@ROOT@/tls/server.key"
    SSLCACertificateFile "@ROOT@/tls/ca.crt"
    SSLVerifyClient optional
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT3@>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile "@ROOT@/tls/server.crt"
    SSLCertificateKeyFile "@ROOT@/tls/server.key"
    SSLCACertificateFile "@ROOT@/tls/ca.crt"
    SSLVerifyClient require
</VirtualHost>
EOF
    dirs => [qw(cgi tls www/dir)],
    files => {
        'cgi/env.cgi' => { mode => 0755, content => <<"EOF" },
#!$^X
print "Content-Type: text/plain\\r\\n\\r\\n";
for my \$k (sort keys %ENV) { my \$v = \$ENV{\$k}; \$v =~ s/\\n/\\\\n/g; print "\$k=\$v\\n"; }
EOF
        map({ ("www/$_" => "$_\n") } qw(index.html alice.txt verified.txt staff.txt regex.txt both-must.txt
                                        tls-only.txt new dir/index.html)),
    },
);
my $root = $w->root;
my $tls = "$root/tls";

# ---------------------------------------------------------------- certificates
sub openssl {
    my @args = @_;
    my $out = "$tls/openssl.out";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out;
        open STDERR, '>>', $out;
        { no warnings 'exec'; exec 'openssl', @args; }
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return 1 if $? == 0;
    diag("openssl @args failed:\n" . ($w->read_file('tls/openssl.out') // ''));
    return 0;
}

sub leaf {
    my ($name, $subject, $extension) = @_;
    $w->write_file("tls/$name.ext", "$extension\n");
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$tls/$name.key",
            '-out', "$tls/$name.csr", '-subj', $subject)
        && openssl('x509', '-req', '-in', "$tls/$name.csr", '-CA', "$tls/ca.crt", '-CAkey', "$tls/ca.key",
                   '-set_serial', $name eq 'alice' ? '0x1A2B' : '0x77', '-days', '30', '-out', "$tls/$name.crt",
                   '-extfile', "$tls/$name.ext");
}

ok(openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
           '-keyout', "$tls/ca.key", '-out', "$tls/ca.crt", '-subj', '/C=DE/O=Weft Test/CN=Weft Test CA'),
   'a CA');
ok(leaf('server', '/CN=localhost', "subjectAltName=DNS:localhost,IP:127.0.0.1"), 'the server certificate');
ok(leaf('alice', '/C=DE/O=Example, Inc./OU=Staff/CN=alice/emailAddress=alice@example.test',
        "subjectAltName=email:alice\@example.test,DNS:alice.example.test\nextendedKeyUsage=clientAuth"),
   'a client certificate for alice');
ok(leaf('bob', '/C=DE/O=Example, Inc./OU=Sales/CN=bob', "extendedKeyUsage=clientAuth"),
   'a client certificate for bob');
chmod 0644, glob("$tls/*");

$w->start;
my ($plain_port, $tls_port, $require_port) = ($w->port, $w->port2, $w->port_n(3));

# ---------------------------------------------------------------- requests
# curl over TLS to https://localhost:PORT (SNI localhost, resolved to
# 127.0.0.1), as $who (alice, bob or nobody), or over plain HTTP.
sub fetch {
    my ($path, %o) = @_;
    my $port = $o{port} // $tls_port;
    my @command = ('curl', '-sS', '-i', '--http1.1', '--max-time', scale(10), '--connect-timeout', scale(5));
    my $url;
    if ($o{plain}) {
        $url = "http://127.0.0.1:$port$path";
    } else {
        push @command, '--cacert', "$tls/ca.crt", '--resolve', "localhost:$port:127.0.0.1";
        push @command, '--cert', "$tls/$o{as}.crt", '--key', "$tls/$o{as}.key" if $o{as};
        push @command, '--tls-max', '1.2' if $o{tls12};
        $url = "https://localhost:$port$path";
    }
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec @command, $url; }
        POSIX::_exit(127);
    }
    my $text = do { local $/; <$fh> } // '';
    close $fh;
    my %r = (exit => $? >> 8, raw => $text);
    if ($text =~ /\AHTTP\/1\.1 (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n(.*)\z/s) {
        $r{status} = $1;
        $r{body} = $3;
        for my $line (split /\r\n/, $2) {
            $r{headers}{ lc $1 } = $2 if $line =~ /^([^:]+):\s*(.*)$/;
        }
    }
    return \%r;
}

sub env_of {
    my ($r) = @_;
    my %e;
    for my $line (split /\n/, $r->{body} // '') {
        $e{$1} = $2 if $line =~ /^([^=]+)=(.*)$/;
    }
    return %e;
}

sub status_is {
    my ($r, $status, $label) = @_;
    is($r->{status}, $status, $label) or diag("curl exit $r->{exit}: $r->{raw}");
}

# ---------------------------------------------------------------- CGI without SSLOptions
my $r = fetch('/cgi/env.cgi', as => 'alice');
status_is($r, 200, 'CGI over TLS');
my %e = env_of($r);
is($e{HTTPS}, 'on', 'HTTPS=on over TLS, without any SSLOptions');
is($e{REQUEST_SCHEME}, 'https', 'REQUEST_SCHEME=https');
is($e{SERVER_PORT}, $tls_port, 'SERVER_PORT is the TLS port');
is_deeply([grep { /^SSL_/ } sort keys %e], [], 'no SSL_* variable without +StdEnvVars');

$r = fetch('/cgi/env.cgi', plain => 1, port => $plain_port);
status_is($r, 200, 'CGI over plain HTTP');
%e = env_of($r);
ok(!exists $e{HTTPS}, 'no HTTPS variable on a plain connection');
is($e{REQUEST_SCHEME}, 'http', 'REQUEST_SCHEME=http there');

# ---------------------------------------------------------------- +StdEnvVars
$r = fetch('/std/env.cgi', as => 'alice');
status_is($r, 200, 'CGI with SSLOptions +StdEnvVars');
%e = env_of($r);
is($e{HTTPS}, 'on', 'StdEnvVars: HTTPS=on');
is($e{SSL_PROTOCOL}, 'TLSv1.3', 'SSL_PROTOCOL=TLSv1.3');
like($e{SSL_CIPHER} // '', qr/^TLS_(AES|CHACHA20)_\w+$/, 'SSL_CIPHER, a TLS 1.3 suite');
like($e{SSL_CIPHER_USEKEYSIZE} // '', qr/^(128|256)$/, 'SSL_CIPHER_USEKEYSIZE');
is($e{SSL_CLIENT_VERIFY}, 'SUCCESS', 'SSL_CLIENT_VERIFY=SUCCESS');
is($e{SSL_CLIENT_S_DN_CN}, 'alice', 'SSL_CLIENT_S_DN_CN=alice');
is($e{SSL_CLIENT_S_DN_O}, 'Example, Inc.', 'SSL_CLIENT_S_DN_O');
is($e{SSL_CLIENT_S_DN_Email}, 'alice@example.test', 'SSL_CLIENT_S_DN_Email');
is($e{SSL_CLIENT_S_DN}, 'emailAddress=alice@example.test,CN=alice,OU=Staff,O=Example\, Inc.,C=DE',
   'SSL_CLIENT_S_DN as mod_ssl prints it (RFC 2253)');
is($e{SSL_CLIENT_I_DN}, 'CN=Weft Test CA,O=Weft Test,C=DE', 'SSL_CLIENT_I_DN');
is($e{SSL_CLIENT_I_DN_CN}, 'Weft Test CA', 'SSL_CLIENT_I_DN_CN');
is($e{SSL_CLIENT_M_SERIAL}, '1A2B', 'SSL_CLIENT_M_SERIAL');
like($e{SSL_CLIENT_V_END} // '', qr/^\w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/, 'SSL_CLIENT_V_END');
like($e{SSL_CLIENT_V_REMAIN} // '', qr/^(29|30)$/, 'SSL_CLIENT_V_REMAIN in days');
is($e{SSL_CLIENT_SAN_Email_0}, 'alice@example.test', 'SSL_CLIENT_SAN_Email_0');
is($e{SSL_CLIENT_SAN_DNS_0}, 'alice.example.test', 'SSL_CLIENT_SAN_DNS_0');
is($e{SSL_SERVER_S_DN_CN}, 'localhost', 'SSL_SERVER_S_DN_CN');
is($e{SSL_SERVER_SAN_DNS_0}, 'localhost', 'SSL_SERVER_SAN_DNS_0');
is($e{SSL_TLS_SNI}, 'localhost', 'SSL_TLS_SNI');
like($e{SSL_VERSION_LIBRARY} // '', qr{^OpenSSL/3\.}, 'SSL_VERSION_LIBRARY');
like($e{SSL_SESSION_ID} // '', qr/^[0-9A-F]{64}$/, 'SSL_SESSION_ID');
ok(!exists $e{SSL_CLIENT_CERT}, 'no SSL_CLIENT_CERT without +ExportCertData');

$r = fetch('/std/env.cgi');
%e = env_of($r);
is($e{SSL_CLIENT_VERIFY}, 'NONE', 'no client certificate: SSL_CLIENT_VERIFY=NONE');
ok(!exists $e{SSL_CLIENT_S_DN_CN}, '... and no SSL_CLIENT_S_DN_CN');
is($e{SSL_PROTOCOL}, 'TLSv1.3', '... SSL_PROTOCOL still');

$r = fetch('/std/env.cgi', as => 'bob', tls12 => 1);
%e = env_of($r);
is($e{SSL_PROTOCOL}, 'TLSv1.2', 'TLS 1.2: SSL_PROTOCOL=TLSv1.2');
like($e{SSL_CIPHER} // '', qr/^ECDHE-ECDSA-/, '... SSL_CIPHER in OpenSSL\'s TLS 1.2 naming');
is($e{SSL_SECURE_RENEG}, 'true', '... SSL_SECURE_RENEG=true');
is($e{SSL_CLIENT_S_DN_CN}, 'bob', '... SSL_CLIENT_S_DN_CN=bob');
is($e{SSL_CLIENT_M_SERIAL}, '77', '... SSL_CLIENT_M_SERIAL');

$r = fetch('/std/env.cgi', plain => 1, port => $plain_port);
%e = env_of($r);
is_deeply([grep { /^(SSL_|HTTPS)/ } sort keys %e], [], '+StdEnvVars on a plain connection: nothing');

# ---------------------------------------------------------------- resumption (openssl s_client)
# SSL_SESSION_RESUMED follows the session: Initial, then Resumed for a
# client offering the ticket it got (one child, so whatever the core's
# ticket keys are shared through).
sub s_client {
    my ($session_option) = @_;
    my $request = $w->write_file('tls/request.txt',
                                 "GET /std/env.cgi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', $request;
        open STDERR, '>', '/dev/null';
        { no warnings 'exec';
          exec 'timeout', scale(10), 'openssl', 's_client', '-connect', "127.0.0.1:$tls_port", '-servername', 'localhost',
               '-CAfile', "$tls/ca.crt", '-quiet', '-ign_eof', @$session_option; }
        POSIX::_exit(127);
    }
    my $text = do { local $/; <$fh> } // '';
    close $fh;
    return env_of({ body => $text });
}
%e = s_client(['-sess_out', "$tls/session.pem"]);
is($e{SSL_SESSION_RESUMED}, 'Initial', 'a new session: SSL_SESSION_RESUMED=Initial');
%e = s_client(['-sess_in', "$tls/session.pem"]);
is($e{SSL_SESSION_RESUMED}, 'Resumed', 'the same session offered again: SSL_SESSION_RESUMED=Resumed');

# ---------------------------------------------------------------- +ExportCertData
$r = fetch('/export/env.cgi', as => 'alice');
%e = env_of($r);
like($e{SSL_CLIENT_CERT} // '', qr/^-----BEGIN CERTIFICATE-----\\n.*-----END CERTIFICATE-----\\n$/,
     'SSL_CLIENT_CERT (PEM) with +ExportCertData');
like($e{SSL_SERVER_CERT} // '', qr/^-----BEGIN CERTIFICATE-----/, 'SSL_SERVER_CERT');
ok(!exists $e{SSL_PROTOCOL}, '+ExportCertData alone: no SSL_PROTOCOL');
my $alice_pem = do { local $/; open my $fh, '<', "$tls/alice.crt" or die; <$fh> };
(my $sent = $e{SSL_CLIENT_CERT} // '') =~ s/\\n/\n/g;
is($sent, $alice_pem, 'SSL_CLIENT_CERT is alice\'s certificate');

# ---------------------------------------------------------------- merging: +/- on top of what is inherited
$r = fetch('/both/env.cgi', as => 'alice');
%e = env_of($r);
ok(exists $e{SSL_PROTOCOL} && exists $e{SSL_CLIENT_CERT}, '+StdEnvVars +ExportCertData: both');
$r = fetch('/both/env.cgi/less', as => 'alice');
%e = env_of($r);
ok(!exists $e{SSL_PROTOCOL} && exists $e{SSL_CLIENT_CERT}, 'a nested -StdEnvVars leaves ExportCertData on');

# ---------------------------------------------------------------- SSLUserName
$r = fetch('/user/env.cgi', as => 'alice');
%e = env_of($r);
is($e{REMOTE_USER}, 'alice', 'SSLUserName SSL_CLIENT_S_DN_CN: REMOTE_USER=alice');
$r = fetch('/user/env.cgi');
%e = env_of($r);
ok(!exists $e{REMOTE_USER}, '... no REMOTE_USER without a certificate');

# ---------------------------------------------------------------- expressions
$r = fetch('/index.html', as => 'alice');
status_is($r, 200, 'a static file over TLS');
is($r->{headers}{'x-tls'}, 'on', '<If "%{HTTPS} == \'on\'"> holds over TLS');
is($r->{headers}{'x-alice'}, 'yes', '<If "%{SSL:SSL_CLIENT_S_DN_CN} == \'alice\'">');
is($r->{headers}{'x-client'}, 'cn=alice https=on', 'Header set X "%{SSL_CLIENT_S_DN_CN}s %{HTTPS}s"');
$r = fetch('/index.html', as => 'bob');
ok(!defined $r->{headers}{'x-alice'}, '... not for bob');
$r = fetch('/index.html', plain => 1, port => $plain_port);
status_is($r, 200, 'a static file over plain HTTP');
ok(!defined $r->{headers}{'x-tls'}, '<If %{HTTPS}> does not hold on a plain connection');
is($r->{headers}{'x-client'}, 'cn=(null) https=off', '... and %{VAR}s of nothing is "(null)", as Apache');

status_is(fetch('/alice.txt', as => 'alice'), 200, 'Require expr %{SSL_CLIENT_S_DN_CN} == \'alice\': alice 200');
status_is(fetch('/alice.txt', as => 'bob'), 403, '... bob 403');
status_is(fetch('/alice.txt'), 403, '... no certificate 403');
status_is(fetch('/alice.txt', plain => 1, port => $plain_port), 403, '... plain HTTP 403');
status_is(fetch('/verified.txt', as => 'bob'), 200, 'Require expr on SSL_CLIENT_VERIFY and SSL_CLIENT_I_DN_CN');
status_is(fetch('/verified.txt'), 403, '... 403 without a certificate');

# ---------------------------------------------------------------- SSLRequire
status_is(fetch('/staff.txt', as => 'alice'), 200, 'SSLRequire eq ... and ... in {...}: alice (OU Staff) 200');
status_is(fetch('/staff.txt', as => 'bob'), 403, '... bob (OU Sales) 403');
status_is(fetch('/staff.txt'), 403, '... no certificate 403');
status_is(fetch('/regex.txt', as => 'alice'), 200, 'SSLRequire ... =~ m#^al#: alice 200');
status_is(fetch('/regex.txt', as => 'bob'), 403, '... bob 403');
status_is(fetch('/both-must.txt', as => 'bob'), 200, 'two SSLRequire lines (>=, -strmatch, ||, &&, parentheses): bob 200');
status_is(fetch('/both-must.txt', as => 'alice'), 403, '... alice fails the second: 403');
status_is(fetch('/both-must.txt'), 403, '... no certificate: 403');
ok($w->wait_error_log(qr/access to \/staff\.txt denied .*SSL requirement expression not fulfilled/),
   'a failed SSLRequire is logged as mod_ssl does');

# ---------------------------------------------------------------- SSLRequireSSL
status_is(fetch('/tls-only.txt'), 200, 'SSLRequireSSL over TLS: 200');
status_is(fetch('/tls-only.txt', plain => 1, port => $plain_port), 403, 'SSLRequireSSL over plain HTTP: 403');
ok($w->wait_error_log(qr/access to \/tls-only\.txt failed, reason: SSL connection required/),
   'logged as mod_ssl does');

# ---------------------------------------------------------------- SSLVerifyClient require
status_is(fetch('/std/env.cgi', as => 'alice', port => $require_port), 200, 'SSLVerifyClient require: alice 200');
$r = fetch('/index.html', port => $require_port);
ok(!defined $r->{status} || $r->{status} != 200, 'SSLVerifyClient require: no certificate, no answer');

# ---------------------------------------------------------------- self-referential URLs
$r = fetch('/dir', as => 'alice');
status_is($r, 301, 'DirectorySlash over TLS');
is($r->{headers}{location}, "https://localhost:$tls_port/dir/", '... redirects to https://');
$r = fetch('/old');
is($r->{headers}{location}, "https://localhost:$tls_port/new", 'Redirect over TLS: https://');
$r = fetch('/dir', plain => 1, port => $plain_port);
is($r->{headers}{location}, "http://127.0.0.1:$plain_port/dir/", 'DirectorySlash over plain HTTP: http://');

# ---------------------------------------------------------------- the access log
my @lines = $w->wait_access_log_lines(40);
my ($tls_line) = grep { m{^/std/env\.cgi TLSv1\.3 } } @lines;
like($tls_line // '', qr{^/std/env\.cgi TLSv1\.3 TLS_\w+ on (alice|-) TLSv1\.3 - -$},
     'LogFormat %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{HTTPS}x %{SSL_CLIENT_S_DN_CN}x %{version}c %{NO_SUCH}x over TLS')
    or diag(join "\n", @lines);
ok((grep { m{^/alice\.txt TLSv1\.3 TLS_\w+ on alice TLSv1\.3 - -$} } @lines), '... with alice\'s CN');
ok((grep { m{^/index\.html - - off - - - -$} } @lines), '... "-" and off over plain HTTP');
ok((grep { m{^/user/env\.cgi TLSv1\.3 TLS_\w+ on alice TLSv1\.3 - alice$} } @lines),
   '%u is the SSLUserName');

$w->stop;
done_testing();
