#!/usr/bin/perl
# Basic authentication (mod_auth_basic, mod_authn_file, mod_authz_user,
# mod_authz_groupfile): the 401 and its WWW-Authenticate, good and bad
# passwords, Require valid-user/user/group, inside <RequireAny>/<RequireAll>
# with an address, Satisfy Any/All with Order/Allow/Deny (a request the
# address lets in is not asked for a password), REMOTE_USER and AUTH_TYPE
# for CGI, %u in the access log, a changed user file seen (and the old
# password's cached success forgotten), the failure limit (429) which a
# cached success passes, and the configuration errors (AuthType Digest).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64 qw(encode_base64);
use Digest::SHA qw(sha1);
use WeftTest qw(wait_for scale);
use WeftCgi;
use WeftApache qw(apache_missing start_apache stop_apache);

# Hashes made by htpasswd -B -C 4, openssl passwd -apr1 and htpasswd -s
# (t/56 makes them with the tools themselves).
my $alice_bcrypt = '$2y$04$4065E5dt3EGVsHwWVTabAemIFFmQv/H9Yql/jugX6AY2x8CKEu0.a';  # p@ss:word
my $bob_apr1 = '$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/';                             # secret
my $carol_sha = '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=';                                 # secret
my $users = "# users\nalice:$alice_bcrypt\n\n  bob:$bob_apr1  \ncarol:$carol_sha\nalice:{SHA}ignored-second-line\n";
my $groups = "admins: alice\nstaff: bob\nstaff: carol dave\n";

my %scripts = WeftCgi::scripts('cgi-bin');

my $auth = <<'EOF';
    AuthType Basic
    AuthName "Private \"Area\""
    AuthUserFile @ROOT@/conf/users
    AuthGroupFile @ROOT@/conf/groups
EOF

# The sections Apache is given too (below).
my $sections = <<"EOF";
<Location /private>
$auth    Require valid-user
</Location>
<Location /custom>
$auth    Require valid-user
    ErrorDocument 401 /errors/index.html
</Location>
<Location /bob-only>
$auth    Require user bob dave
</Location>
<Location /bob-only>
    Header set X-Is-Bob yes "expr=%{REMOTE_USER} == 'bob' && %{AUTH_TYPE} == 'Basic'"
</Location>
<Location /staff>
$auth    Require group nobody staff
</Location>
<Location /any-ip>
$auth    <RequireAny>
        Require ip 127.0.0.1
        Require valid-user
    </RequireAny>
</Location>
<Location /any-other-ip>
$auth    <RequireAny>
        Require ip 10.0.0.0/8
        Require valid-user
    </RequireAny>
</Location>
<Location /all-ip-alice>
$auth    <RequireAll>
        Require ip 127.0.0.1
        Require user alice
    </RequireAll>
</Location>
<Location /satisfy-any>
$auth    Require valid-user
    Order Deny,Allow
    Deny from all
    Allow from 127.0.0.1
    Satisfy Any
</Location>
<Location /satisfy-any-other-ip>
$auth    Require valid-user
    Order Deny,Allow
    Deny from all
    Allow from 10.0.0.1
    Satisfy Any
</Location>
<Location /satisfy-all>
$auth    Require valid-user
    Order Deny,Allow
    Deny from all
    Allow from 127.0.0.1
    Satisfy All
</Location>
<Location /satisfy-all-other-ip>
$auth    Require valid-user
    Order Deny,Allow
    Deny from all
    Allow from 10.0.0.1
    Satisfy All
</Location>
<Location /no-name>
    AuthType Basic
    AuthUserFile \@ROOT\@/conf/users
    Require valid-user
</Location>
<Location /no-type>
    Require valid-user
</Location>
<Location /type-none>
$auth    AuthType None
    Require valid-user
</Location>
<Location /no-require>
$auth</Location>
<Location /merge>
    Require ip 127.0.0.1
</Location>
<Location /merge/and>
$auth    AuthMerging And
    Require valid-user
</Location>
<Location /merge/or>
$auth    AuthMerging Or
    Require valid-user
</Location>
<Location /merge/off>
$auth    AuthMerging Off
    Require valid-user
</Location>
<Location /merge/none>
$auth</Location>
<Location /merge-other>
    Require ip 10.0.0.0/8
</Location>
<Location /merge-other/and>
$auth    AuthMerging And
    Require valid-user
</Location>
<Location /merge-other/or>
$auth    AuthMerging Or
    Require valid-user
</Location>
<Location /missing-file>
$auth    AuthUserFile \@ROOT\@/conf/no-such-file
    Require valid-user
</Location>
EOF

my $w = WeftTest->new(
    conf => <<"EOF",
AuthBasicFailureLimit 100 60
ScriptAlias /cgi-bin/ "\@ROOT\@/cgi-bin/"
<Directory "\@ROOT\@/cgi-bin">
$auth    Require valid-user
</Directory>
$sections
EOF
    files => {
        'conf/users' => $users,
        'conf/groups' => $groups,
        'cgi-bin/env.cgi' => { content => $scripts{'cgi-bin/env.cgi'}{content}, mode => 0755 },
        map({ ("www/$_/index.html" => "$_\n") }
            qw(private custom errors merge/and merge/or merge/off merge/none merge-other/and merge-other/or
               bob-only staff any-ip any-other-ip all-ip-alice satisfy-any satisfy-any-other-ip
               satisfy-all satisfy-all-other-ip no-name no-type type-none no-require missing-file)),
    });
$w->start;

sub basic { 'Basic ' . encode_base64("$_[0]:$_[1]", '') }

my @asked;  # [path, user, password, status]: the same requests go to Apache below
sub get_as {
    my ($path, $user, $password) = @_;
    my $r = $w->get($path, defined $user ? (Authorization => basic($user, $password)) : ());
    push @asked, [$path, $user, $password, $r->{status}] if $path !~ m{^/cgi-bin/};
    return $r;
}

# ---- the challenge
my $r = get_as('/private/');
is($r->{status}, 401, 'no credentials: 401');
is($r->{headers}{'www-authenticate'}, 'Basic realm="Private \"Area\""', 'WWW-Authenticate names the realm, quotes escaped');
like($r->{body}, qr/401 Unauthorized/, 'the built-in 401 page');

$r = get_as('/custom/');
is($r->{status}, 401, 'ErrorDocument 401 with a local page: still 401');
is($r->{body}, "errors\n", '... the page');
is($r->{headers}{'www-authenticate'}, 'Basic realm="Private \"Area\""', '... and the challenge is kept');

# ---- each user, good and bad passwords
is(get_as('/private/', 'alice', 'p@ss:word')->{status}, 200, 'alice (bcrypt, a colon in the password): 200');
is(get_as('/private/', 'alice', 'p@ss:word')->{body}, "private\n", 'alice again (from the cache): the page');
is(get_as('/private/', 'bob', 'secret')->{status}, 200, 'bob (apr1): 200');
is(get_as('/private/', 'carol', 'secret')->{status}, 200, 'carol ({SHA}): 200');
$r = get_as('/private/', 'alice', 'wrong');
is($r->{status}, 401, 'a wrong password: 401');
ok($r->{headers}{'www-authenticate'}, '... with WWW-Authenticate');
is(get_as('/private/', 'alice', '{SHA}ignored-second-line')->{status}, 401, 'the first line of a user wins');
is(get_as('/private/', 'mallory', 'secret')->{status}, 401, 'an unknown user: 401');
is(get_as('/private/', 'alice', '')->{status}, 401, 'an empty password: 401');
is(get_as('/private/', "evil\n[error] forged", 'x')->{status}, 401, 'a user name with a newline: 401');
$r = $w->get('/private/', Authorization => 'Bearer abc');
is($r->{status}, 401, 'another scheme: 401');
$r = $w->get('/private/', Authorization => 'basic ' . encode_base64('bob:secret', ''));
is($r->{status}, 200, 'the scheme name is case-insensitive');
$r = $w->get('/private/', Authorization => 'Basic ' . encode_base64('bob', ''));
is($r->{status}, 401, 'credentials without a colon: 401');

# ---- a refused request with a body, then another on the same connection
{
    my ($first, $sock) = $w->request("POST /cgi-bin/env.cgi HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                                     keep => 1);
    is($first->{status}, 401, 'a POST with a body and no credentials: 401');
    WeftTest::send_raw($sock, "HEAD /private/ HTTP/1.1\r\nHost: x\r\nAuthorization: " . basic('bob', 'secret')
                              . "\r\n\r\n");
    my $second = WeftTest::read_response($sock, method => 'HEAD');
    is($second->{status}, 200, '... then a HEAD with them on the same connection: 200 (the body was skipped)');
}

# ---- Require user and group
$r = get_as('/bob-only/', 'alice', 'p@ss:word');
is($r->{status}, 401, 'Require user bob: alice is refused with 401');
ok($r->{headers}{'www-authenticate'}, '... and asked again');
$r = get_as('/bob-only/', 'bob', 'secret');
is($r->{status}, 200, 'Require user bob: bob is let in');
is($r->{headers}{'x-is-bob'}, 'yes', "expressions see REMOTE_USER and AUTH_TYPE");
is(get_as('/staff/', 'bob', 'secret')->{status}, 200, 'Require group staff: bob (first line)');
is(get_as('/staff/', 'carol', 'secret')->{status}, 200, 'Require group staff: carol (second line)');
is(get_as('/staff/', 'alice', 'p@ss:word')->{status}, 401, 'Require group staff: alice is not in it');

# ---- with addresses
is(get_as('/any-ip/')->{status}, 200, 'RequireAny ip 127.0.0.1 | valid-user: no password asked');
is(get_as('/any-other-ip/')->{status}, 401, 'RequireAny ip 10/8 | valid-user: a password is asked');
is(get_as('/any-other-ip/', 'carol', 'secret')->{status}, 200, '... and carol is let in');
is(get_as('/all-ip-alice/', 'alice', 'p@ss:word')->{status}, 200, 'RequireAll ip and user alice: alice');
is(get_as('/all-ip-alice/', 'bob', 'secret')->{status}, 401, 'RequireAll ip and user alice: bob is refused');
is(get_as('/satisfy-any/')->{status}, 200, 'Satisfy Any, Allow from the client: no password asked');
is(get_as('/satisfy-any-other-ip/')->{status}, 401, 'Satisfy Any, another address allowed: 401');
is(get_as('/satisfy-any-other-ip/', 'bob', 'secret')->{status}, 200, '... and the user is enough');
is(get_as('/satisfy-all/')->{status}, 401, 'Satisfy All, Allow from the client: a password is still asked');
is(get_as('/satisfy-all/', 'bob', 'secret')->{status}, 200, '... and with it: 200');
is(get_as('/satisfy-all-other-ip/', 'bob', 'secret')->{status}, 403, 'Satisfy All, the address denied: 403 whatever the user');

# ---- AuthMerging: a section's Require with the one it inherits (Require ip 127.0.0.1, or 10/8)
is(get_as('/merge/and/')->{status}, 401, 'AuthMerging And: the address is not enough');
is(get_as('/merge/and/', 'bob', 'secret')->{status}, 200, '... address and user');
is(get_as('/merge/or/')->{status}, 200, 'AuthMerging Or: the address is enough');
is(get_as('/merge/off/')->{status}, 401, 'AuthMerging Off: the section replaces what it inherits');
is(get_as('/merge/none/')->{status}, 200, 'AuthType without a Require of its own: the inherited one grants, no password asked');
is(get_as('/merge-other/and/', 'bob', 'secret')->{status}, 403, 'AuthMerging And, another address: 403 whatever the user');
is(get_as('/merge-other/or/')->{status}, 401, 'AuthMerging Or, another address: the user may decide');
is(get_as('/merge-other/or/', 'bob', 'secret')->{status}, 200, '... and does');

# ---- configuration mistakes found at request time, as Apache
is(get_as('/no-name/', 'bob', 'secret')->{status}, 500, 'no AuthName: 500');
is(get_as('/no-type/', 'bob', 'secret')->{status}, 500, 'Require valid-user without AuthType: 500');
is(get_as('/type-none/', 'bob', 'secret')->{status}, 500, 'AuthType None turns authentication off: 500');
is(get_as('/no-require/')->{status}, 500, 'AuthType without any Require: 500');
is(get_as('/missing-file/', 'bob', 'secret')->{status}, 500, 'a user file that cannot be read: 500');
like($w->error_log, qr/need AuthName: \/no-name\//, 'the error log says AuthName is missing');
like($w->error_log, qr/AuthType not set!/, 'the error log says AuthType is missing');
like($w->error_log, qr/Could not open password file: \S*no-such-file/, 'the error log names the missing file');
like($w->error_log, qr/user alice: authentication failure for "\/private\/": Password Mismatch/,
     'a wrong password is logged as Apache logs it');
like($w->error_log, qr/user mallory not found: \/private\//, 'an unknown user is logged as Apache logs it');
like($w->error_log, qr/user evil\\x0a\[error\] forged not found/, 'a control character in a user name is escaped');
unlike($w->error_log, qr/^\[error\] forged/m, '... so it forges no line');

# ---- the same requests against Apache httpd 2.4, where it is installed
my @modules = qw(mpm_event authn_core authn_file auth_basic authz_core authz_user authz_groupfile authz_host
                 access_compat dir headers);
my $why_not = apache_missing(@modules);
SKIP: {
    skip "$why_not: weft's answers not compared with Apache's", scalar(@asked) + 2 if $why_not;
    my $port = $w->port2;
    my $root = $w->root;
    chmod 0644, map { $w->path($_) } qw(conf/users conf/groups);
    (my $theirs = $sections) =~ s/\@ROOT\@/$root/g;
    my ($pid, $problem) = start_apache(root => $root, port => $port, modules => \@modules,
        config => "DocumentRoot $root/www\nDirectoryIndex index.html\n$theirs");
    ok(defined $pid, 'apache2 -X serves the same sections') or diag($problem);
    my $challenge = defined $pid ? $w->request("GET /private/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                               port => $port) : {};
    is($challenge->{headers}{'www-authenticate'}, 'Basic realm="Private \"Area\""', 'as Apache: the challenge');
    for my $asked (@asked) {
        my ($path, $user, $password, $weft) = @$asked;
        my $raw = "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n"
            . (defined $user ? "Authorization: " . basic($user, $password) . "\r\n" : '') . "\r\n";
        my $r = defined $pid ? $w->request($raw, port => $port) : {};
        is($weft, $r->{status} // 'none', "as Apache: $path as " . ($user // 'nobody'));
    }
    stop_apache($pid);
}

# ---- CGI sees the user
$r = get_as('/cgi-bin/env.cgi', 'carol', 'secret');
is($r->{status}, 200, 'a protected script runs');
my %env = WeftCgi::parse_env($r->{body});
is($env{REMOTE_USER}, 'carol', 'REMOTE_USER');
is($env{AUTH_TYPE}, 'Basic', 'AUTH_TYPE');
ok(!exists $env{HTTP_AUTHORIZATION}, 'the credentials are not passed on');

# ---- %u in the access log
# The line is written after the response: wait for it.
wait_for(sub { $w->access_log =~ m{ carol \[[^\]]+\] "GET /cgi-bin/} }, 5 * scale(), 0.05);
my $log = $w->access_log;
like($log, qr/^127\.0\.0\.1 - carol \[[^\]]+\] "GET \/cgi-bin\/env\.cgi HTTP\/1\.1" 200 /m, '%u is the user');
like($log, qr/^127\.0\.0\.1 - alice \[[^\]]+\] "GET \/private\/ HTTP\/1\.1" 401 /m,
     'a failed user is logged too, as Apache does');
like($log, qr/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/any-ip\/ HTTP\/1\.1" 200 /m, 'no user: -');

# ---- a changed user file is seen, and its old passwords are forgotten
is(get_as('/private/', 'bob', 'secret')->{status}, 200, 'bob before the change (now cached)');
$w->write_file('conf/users', "bob:{SHA}" . encode_base64(sha1('Password'), '') . "\n");
my $seen = wait_for(sub { get_as('/private/', 'bob', 'Password')->{status} == 200 }, 5 * scale(), 0.2);
ok($seen, 'the new password is accepted within seconds of the change');
is(get_as('/private/', 'bob', 'secret')->{status}, 401, 'the old password (cached before) is refused');
is(get_as('/private/', 'alice', 'p@ss:word')->{status}, 401, 'a user removed from the file is refused');
$w->stop;

# ---- the failure limit, and a cached success that passes it
my $limited = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
AuthBasicFailureLimit 3 60
<Location /private>
    AuthType Basic
    AuthName "Private"
    AuthUserFile conf/users
    Require valid-user
</Location>
EOF
    files => { 'conf/users' => $users, 'www/private/index.html' => "private\n" });
$limited->start;
sub limited_as { $limited->get('/private/', Authorization => basic($_[0], $_[1])) }
is(limited_as('bob', 'secret')->{status}, 200, 'bob logs in (cached from now on)');
is(limited_as('alice', "wrong$_")->{status}, 401, "wrong password $_ of 3: 401") for 1 .. 3;
$r = limited_as('alice', 'p@ss:word');
is($r->{status}, 429, 'then even the right password is not checked: 429');
like($r->{headers}{'retry-after'} // '', qr/^[1-9][0-9]*$/, '... with Retry-After');
is(limited_as('bob', 'secret')->{status}, 200, 'a success cached before the lockout still passes');
is($limited->get('/private/')->{status}, 401, 'a request without credentials is still asked for them');
like($limited->error_log, qr/authentication refused for "\/private\/": 3 failures within 60 s/, 'the lockout is logged');
$limited->stop;

# ---- one check for credentials several connections send at once
my $dora = 'dora:$2y$12$meU0NxKLF9b2kN6T2vEFUuNqUiODux5J9MgcKSD2Mj8Cs9lF/s5mK';  # parallel, cost 12
my $parallel = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 16
MinSpareThreads 1
MaxSpareThreads 16
LogLevel debug
<Location /private>
    AuthType Basic
    AuthName "Private"
    AuthUserFile conf/users
    Require valid-user
</Location>
EOF
    files => { 'conf/users' => "$dora\n", 'www/private/index.html' => "private\n" });
$parallel->start;
my @socks = grep { defined } map { $parallel->connect } 1 .. 6;
is(scalar(@socks), 6, 'six connections');
WeftTest::send_raw($_, $parallel->build_request('GET', '/private/', Authorization => basic('dora', 'parallel')))
    for @socks;
my @statuses = map { WeftTest::read_response($_, timeout => 30 * scale())->{status} // 'none' } @socks;
is("@statuses", '200 200 200 200 200 200', 'the same new credentials on six connections at once: all let in');
my @checks = $parallel->error_log =~ /user dora: password checked/g;
is(scalar(@checks), 1, '... after one bcrypt, not six');
$parallel->stop;

# ---- configuration errors, with file and line
sub config_error_like {
    my ($body, $line, $re, $name) = @_;
    my $t = WeftTest->new(conf => $body, files => { 'www/index.html' => "x\n" });
    my ($status, undef, $stderr) = $t->check_config;
    isnt($status, 0, "$name: -t fails");
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:$line: $re/m, "$name: file:line message") or diag($stderr);
}
config_error_like("<Location />\nAuthType Digest\n</Location>\n", 2,
                  qr/AuthType Digest is not supported: mod_auth_digest is not built/, 'AuthType Digest');
config_error_like("<Location />\nAuthType Basic\nAuthBasicProvider dbm\n</Location>\n", 3,
                  qr/Unknown Authn provider: dbm/, 'AuthBasicProvider dbm');
config_error_like("<Location />\nRequire valid-user extra\n</Location>\n", 2,
                  qr/Require valid-user takes no arguments/, 'valid-user with an argument');
config_error_like("<Location />\nRequire user\n</Location>\n", 2,
                  qr/Require user needs at least one name/, 'Require user without a name');
config_error_like("<Location />\nAuthMerging Both\n</Location>\n", 2, qr/AuthMerging must be one of: Off \| And \| Or/,
                  'AuthMerging Both');
config_error_like("AuthBasicFailureLimit many\n", 1, qr/AuthBasicFailureLimit: 'many' is not a number/,
                  'AuthBasicFailureLimit many');

done_testing();
