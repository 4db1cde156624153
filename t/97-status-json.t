#!/usr/bin/perl
# /server-status?json: parsed with JSON::PP (core Perl) and checked against
# the schema below (every documented key, with its type), against itself and
# the scoreboard (thread counts add up: busy + idle + graceful + other is
# ThreadsPerChild per counted child; the state counts are the state string),
# against ?auto, and against what the server did: requests counted, the
# per-thread rows with the client and the request line (bytes that are not
# UTF-8 still give valid JSON), the regulation's decisions with their reasons
# once a burst of sleeping CGI requests made children fork and the surplus
# retire.  Then the access rules (Require denies ?json as it does the page),
# ExtendedStatus Off (no client, virtual host or request line), and a
# regulation ring full of hostile bytes (the document stays valid JSON).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use B ();
use JSON::PP ();
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw read_response);

my $SLEEP_CGI = <<'EOF';
#!/bin/sh
sleep 1
printf 'Content-Type: text/plain\r\n\r\nslept\n'
EOF

my %files = ('www/index.html' => "index\n", 'cgi-bin/sleep.cgi' => $SLEEP_CGI);
my $w = WeftTest->new(
    conf => <<'EOF',
ServerLimit 6
StartServers 1
ThreadsPerChild 2
MinSpareThreads 1
MaxSpareThreads 4
MaxClients 6
ServerName status.example
ScoreBoardFile logs/scoreboard
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
<Location /server-status>
    SetHandler server-status
</Location>
<Location /denied-status>
    SetHandler server-status
    Require ip 192.0.2.1
</Location>
EOF
    files => \%files,
);
chmod 0755, $w->path('cgi-bin/sleep.cgi');
$w->start;

my $json = JSON::PP->new->utf8;    # the document is UTF-8

sub fetch_json {
    my ($path) = @_;
    my $r = $w->get($path // '/server-status?json');
    return (undef, $r) unless ($r->{status} // 0) == 200;
    my $doc = eval { $json->decode($r->{body}) };
    return ($doc, $r, $@);
}

# ---------------------------------------------------------------- the schema
# 'int', 'num', 'str', 'bool'; a trailing '?' admits null; [ $item ] is an
# array of $item; a hash is an object with exactly those keys (optional keys
# are listed in %OPTIONAL).
my $decision = { time_ms => 'int', action => 'str', reason_code => 'int', reason => 'str', count => 'int',
    idle => 'int?', children => 'int' };
my $SCHEMA = {
    version => 'int',
    server => { name => 'str', version => 'str', mpm => 'str', built => 'str', extended_status => 'bool' },
    time => { now_ms => 'int', now => 'int', restart => 'int', start => 'int', uptime => 'int' },
    load => [ 'num' ],
    generation => { mpm => 'int', config => 'int' },
    totals => { accesses => 'int', bytes => 'int', duration_ms => 'int',
        responses => { map { ("${_}xx" => 'int') } 1 .. 5 },
        cpu => { user => 'num', system => 'num', children_user => 'num', children_system => 'num' } },
    workers => { busy => 'int', idle => 'int', graceful => 'int', other => 'int', processes => 'int' },
    connections => { open => 'int', parked => 'int' },
    scoreboard => { threads_per_child => 'int', slots => 'int', states => 'str', counts => 'counts' },
    processes => [ { slot => 'int', pid => 'int', generation => 'int', old => 'bool', quiescing => 'bool',
        accepting => 'bool', connections => 'int', parked => 'int', busy => 'int', idle => 'int',
        started_ms => 'int' } ],
    regulation => { updated_ms => 'int', idle => 'int', min_spare_threads => 'int', max_spare_threads => 'int',
        spawn_rate => 'int', children => 'int', starting => 'int', stopping => 'int', max_processes => 'int',
        children_started => 'int', children_crashed => 'int', spawn_rate_events => 'int',
        decisions_total => 'int', decisions => [ $decision ] },
    threads => [ { slot => 'int', thread => 'int', pid => 'int', generation => 'int', state => 'str',
        accesses => 'int', bytes => 'int', seconds_since => 'int', last_duration_ms => 'int', client => 'str',
        vhost => 'str', request => 'str' } ],
};
my %OPTIONAL = (threads => 1);    # with ExtendedStatus On only

sub is_number {
    my ($v) = @_;
    return 0 if !defined $v || ref $v;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return ($flags & (B::SVp_IOK | B::SVp_NOK)) && !($flags & B::SVp_POK);
}

# Returns a list of problems ("where: what").
sub check_schema {
    my ($value, $schema, $where) = @_;
    if (ref $schema eq 'HASH') {
        return "$where: not an object" unless ref $value eq 'HASH';
        my @problems;
        for my $key (sort keys %$schema) {
            if (!exists $value->{$key}) {
                push @problems, "$where.$key: missing" unless $where eq '' && $OPTIONAL{$key};
                next;
            }
            push @problems, check_schema($value->{$key}, $schema->{$key}, "$where.$key");
        }
        push @problems, map { "$where.$_: not in the schema" } grep { !exists $schema->{$_} } sort keys %$value;
        return @problems;
    }
    if (ref $schema eq 'ARRAY') {
        return "$where: not an array" unless ref $value eq 'ARRAY';
        my $i = 0;
        return map { check_schema($_, $schema->[0], $where . '[' . $i++ . ']') } @$value;
    }
    my ($type, $nullable) = $schema =~ /^(\w+)(\?)?$/;
    return () if $nullable && !defined $value;
    if ($type eq 'counts') {
        return "$where: not an object" unless ref $value eq 'HASH';
        return map { "$where.$_: not a count" } grep { !/^[._SRWKDCLGI?]$/ || !is_number($value->{$_}) }
            sort keys %$value;
    }
    return "$where: not a boolean" if $type eq 'bool' && !JSON::PP::is_bool($value);
    return "$where: not a string" if $type eq 'str' && (!defined $value || ref $value || is_number($value));
    return "$where: not a number" if $type eq 'num' && !is_number($value);
    return "$where: not an integer" if $type eq 'int' && !(is_number($value) && $value == int $value);
    return ();
}

# The figures that must agree within one document.
sub check_sums {
    my ($d, $label) = @_;
    my $sb = $d->{scoreboard};
    my $cells = 0;
    $cells += $_ for values %{ $sb->{counts} };
    is(length $sb->{states}, $sb->{slots} * $sb->{threads_per_child},
        "$label: the state string has slots x ThreadsPerChild letters");
    is($cells, length $sb->{states}, "$label: the state counts add up to the state string");
    my %letters;
    $letters{$_}++ for split //, $sb->{states};
    is_deeply(\%letters, $sb->{counts}, "$label: each state's count is its letters in the string");
    my $wk = $d->{workers};
    my @counted = grep { !$_->{quiescing} } @{ $d->{processes} };
    is($wk->{processes}, scalar @counted, "$label: workers.processes are the children not quiescing");
    is($wk->{busy} + $wk->{idle} + $wk->{graceful} + $wk->{other}, @counted * $sb->{threads_per_child},
        "$label: busy + idle + graceful + other = counted children x ThreadsPerChild");
    my ($busy, $idle) = (0, 0);
    for my $p (@counted) {
        $busy += $p->{busy};
        $idle += $p->{idle} unless $p->{old};
    }
    is($busy, $wk->{busy}, "$label: busy threads are the sum over the processes");
    is($idle, $wk->{idle}, "$label: idle threads are the sum over the processes");
    # Every process's own letters, in the string at its slot.
    my $agree = 1;
    for my $p (@{ $d->{processes} }) {
        next if $p->{slot} >= $sb->{slots};
        my $row = substr($sb->{states}, $p->{slot} * $sb->{threads_per_child}, $sb->{threads_per_child});
        my $row_idle = () = $row =~ /_/g;
        my $row_busy = () = $row =~ /[RWKDCL]/g;
        $agree = 0 unless $row_idle == $p->{idle} && $row_busy == $p->{busy};
    }
    ok($agree, "$label: each process's busy and idle counts are its row of the state string");
}

# ---------------------------------------------------------------- basics
ok(wait_for(sub { my ($d) = fetch_json(); $d && $d->{workers}{idle} >= 1 }, scale(10)), 'the first child is up');
$w->get('/index.html') for 1 .. 5;
my ($d, $r, $error) = fetch_json();
ok($d, '?json answers 200 with a document JSON::PP parses') or diag($error // $r->{status});
BAIL_OUT('no JSON document') unless $d;
like($r->header('content-type'), qr{^application/json}, 'Content-Type: application/json');
is($r->header('cache-control'), 'no-store', 'not cached: it is polled');
is($d->{version}, 1, 'version 1');
my @problems = check_schema($d, $SCHEMA, '');
is_deeply(\@problems, [], 'the document matches the schema (keys and types)') or diag(explain(\@problems));
ok(exists $d->{threads}, 'ExtendedStatus On: per-thread rows');
is($d->{server}{name}, '127.0.0.1', 'server.name as the page prints it (the Host asked for)');
like($d->{server}{version}, qr{^weft/\S+ \(Unix\)$}, 'server.version as ServerVersion');
ok(JSON::PP::is_bool($d->{server}{extended_status}) && $d->{server}{extended_status}, 'extended_status true');
cmp_ok(abs($d->{time}{now_ms} / 1000 - time), '<', 5, 'time.now_ms is now');
cmp_ok($d->{totals}{accesses}, '>=', 5, 'the requests are counted');
cmp_ok($d->{totals}{responses}{'2xx'}, '>=', 5, 'as 2xx responses');
is($d->{scoreboard}{threads_per_child}, 2, 'ThreadsPerChild 2');
is($d->{regulation}{min_spare_threads}, 1, 'regulation: MinSpareThreads in force');
is($d->{regulation}{max_spare_threads}, 4, 'regulation: MaxSpareThreads in force');
is($d->{regulation}{max_processes}, 6, 'regulation: the process cap');
cmp_ok($d->{regulation}{updated_ms}, '>', 0, 'the control process published its state');
my ($startup) = grep { $_->{action} eq 'fork' && $_->{reason} eq 'StartServers' } @{ $d->{regulation}{decisions} };
ok($startup && $startup->{count} == 1, 'the first decision: fork 1 child for StartServers');
check_sums($d, 'quiet');

my $auto = $w->status_auto;
is(length $d->{scoreboard}{states}, length $auto->{Scoreboard}, 'as many scoreboard letters as ?auto');

# ---------------------------------------------------------------- per-thread rows, escaping
# A request line with a quote, a backslash, a UTF-8 character and a stray
# Latin-1 byte: whatever the parser makes of it, the document must parse.
my $odd = "/odd\"\\-\xc3\xa9-\xe9-\x7f";
my $sock = $w->connect;
send_raw($sock, "GET $odd HTTP/1.1\r\nHost: status.example\r\nConnection: close\r\n\r\n");
my $odd_response = read_response($sock);
close $sock;
$w->get('/index.html?marker=json-test');
($d, $r, $error) = fetch_json();
ok($d, 'the document still parses after a request line of odd bytes') or diag($error // '');
my ($marker) = grep { $_->{request} =~ /marker=json-test/ } @{ $d->{threads} // [] };
ok($marker, 'a thread row shows the last request line');
is($marker && $marker->{client}, '127.0.0.1', 'and the client');
is($marker && $marker->{vhost}, 'status.example', 'and the virtual host');
my ($odd_row) = grep { $_->{request} =~ /^GET \/odd/ } @{ $d->{threads} // [] };
if ($odd_row) {
    # As the HTML page shows it: UTF-8 kept, the stray byte as Latin-1.
    is($odd_row->{request}, "GET /odd\"\\-\x{e9}-\x{e9}-\x7f HTTP/1.1", 'odd bytes: valid JSON, each byte shown');
    like($r->{body}, qr/\\u00e9-\\u007f/, 'the stray byte and DEL as \\u escapes');
} else {
    pass("the parser refused the odd request line ($odd_response->{status}): nothing to escape");
    pass('(no row)');
}
unlike($r->{body}, qr/[\x00-\x09\x0b-\x1f]|\n./s, 'no raw control character in the document (a newline ends it)');

# ---------------------------------------------------------------- a burst
# Sleeping CGI requests hold threads: idle drops below MinSpareThreads, the
# control process forks; when they end, the surplus retires.
my $load = $w->start_load(clients => 6, duration => scale(3), path => '/cgi-bin/sleep.cgi');
my ($busiest, $forked);
my $deadline = time + scale(10);
while (time < $deadline) {
    my ($doc) = fetch_json();
    if ($doc) {
        $busiest = $doc if !$busiest || @{ $doc->{processes} } > @{ $busiest->{processes} };
        ($forked) = grep { $_->{action} eq 'fork' && $_->{reason} =~ /MinSpareThreads/ }
            @{ $doc->{regulation}{decisions} };
        last if $forked && @{ $doc->{processes} } >= 3;
    }
    sleep 0.2;
}
ok($forked, 'a fork decision with its reason: idle threads below MinSpareThreads');
cmp_ok($forked ? $forked->{count} : 0, '>=', 1, 'it forked at least one child');
ok($forked && defined $forked->{idle} && $forked->{idle} < 1, 'with the idle threads it saw (below 1)');
cmp_ok(scalar @{ $busiest->{processes} }, '>=', 3, 'children forked during the burst') if $busiest;
check_sums($busiest, 'busy') if $busiest;
my @results = $load->finish;
my $retired = wait_for(sub {
    my ($doc) = fetch_json();
    $doc && grep { $_->{action} eq 'retire' && $_->{reason} =~ /MaxSpareThreads/ } @{ $doc->{regulation}{decisions} };
}, scale(15));
ok($retired, 'after the burst: a retire decision, idle threads above MaxSpareThreads');
($d) = fetch_json();
my @decisions = @{ $d->{regulation}{decisions} };
my @times = map { $_->{time_ms} } @decisions;
is_deeply(\@times, [ sort { $b <=> $a } @times ], 'decisions newest first');
cmp_ok($d->{regulation}{decisions_total}, '>=', scalar @decisions, 'decisions_total counts them all');
cmp_ok($d->{regulation}{children_started}, '>=', 3, 'children_started counts the forks');
check_sums($d, 'after');

# ---------------------------------------------------------------- a crash
# A child killed by a signal nobody sent it (as the OOM killer would) is
# replaced in its slot, and the decision says so.
my ($victim) = grep { !$_->{quiescing} } @{ $d->{processes} };
kill 'KILL', $victim->{pid} if $victim;    # SEGV would be ASan's to report
my $replaced;
ok(wait_for(sub {
    my ($doc) = fetch_json();
    return 0 unless $doc;
    ($replaced) = grep { $_->{action} eq 'fork' && $_->{reason} =~ /crashed/ } @{ $doc->{regulation}{decisions} };
    $replaced && $doc->{regulation}{children_crashed} >= 1;
}, scale(10)), 'a crashed child: replaced, with that reason, and counted in children_crashed');
is($replaced && $replaced->{reason_code}, 6, 'reason code 6');
ok($replaced && !defined $replaced->{idle}, 'idle is null for a replacement (no census behind it)');

# ---------------------------------------------------------------- access rules
my $denied = $w->get('/denied-status?json');
is($denied->{status}, 403, 'Require denies ?json as it denies the page');
unlike($denied->{body} // '', qr/"version"/, 'and nothing of the document leaks');
is($w->get('/denied-status')->{status}, 403, '(the page too)');

# ---------------------------------------------------------------- a hostile ring
# The regulation block is the last 1024 bytes of the ScoreBoardFile; a child
# could write anything there.  The control process never reads it; readers
# must still produce valid JSON.
my $file = $w->path('logs/scoreboard');
my $size = -s $file;
my $valid = 0;
for my $round (1 .. 6) {
    my $bytes = $round % 2
        ? join('', map { chr int rand 256 } 1 .. 1024)
        : pack('q< l< l< l< l< l< l< l< x4 Q<', -1, -5, 2**31 - 1, -(2**31), 7, -1, -1, -1, 2**64 - 1)
            . (pack('q< C C x2 l< l< l<', -(2**62), 0xff, 0xfe, -1, -(2**31), 2**31 - 1) x 32);
    open my $fh, '+<:raw', $file or last;
    sysseek($fh, $size - 1024, 0);
    syswrite($fh, $bytes);
    close $fh;
    my ($doc, $res, $err) = fetch_json();
    $valid++ if $doc && !check_schema($doc, $SCHEMA, '');
    diag("round $round: " . ($err // $res->{status})) unless $doc;
}
is($valid, 6, 'a ring of random and crafted bytes still gives a document that matches the schema');
ok($w->running, 'the control process does not care');
ok(wait_for(sub { my ($doc) = fetch_json(); $doc && $doc->{regulation}{min_spare_threads} == 1 }, scale(5)),
    'and rewrites its state at the next cycle');
$w->stop;

# ---------------------------------------------------------------- ExtendedStatus Off
my $off = WeftTest->new(
    conf => <<'EOF',
StartServers 1
ThreadsPerChild 2
MinSpareThreads 1
MaxSpareThreads 4
ExtendedStatus Off
ServerName off.example
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    files => { 'www/index.html' => "index\n" },
);
$off->start;
$off->get('/index.html?secret-marker') for 1 .. 3;
my ($body, $doc) = ('', undef);
wait_for(sub {
    $body = $off->get('/server-status?json')->{body} // '';
    $doc = eval { $json->decode($body) };
    $doc && $doc->{totals}{accesses} >= 3;
}, scale(5));
ok($doc, 'ExtendedStatus Off: a document');
ok($doc && !$doc->{server}{extended_status}, 'extended_status false');
ok($doc && !exists $doc->{threads}, 'no per-thread rows');
unlike($body, qr/secret-marker|"client"|"request"|"vhost"/, 'no request line, no client, no virtual host');
is_deeply([ check_schema($doc // {}, $SCHEMA, '') ], [], 'the rest matches the schema');
cmp_ok($doc ? $doc->{totals}{accesses} : 0, '>=', 3, 'the counters are there (as in ?metrics)');
$off->stop;

done_testing;
