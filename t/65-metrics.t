#!/usr/bin/perl
# /server-status?metrics against a validator of the Prometheus text
# exposition format 0.0.4 written here: metric and label names, HELP and TYPE
# once per family and before its samples, counters named *_total, numeric
# values, histogram buckets increasing in le with non-decreasing counts and
# +Inf equal to _count; then the values: requests, bytes, status classes and
# durations follow what the test sent, and child crashes are counted.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep);
use WeftTest qw(wait_for scale);

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 2
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    files => { 'www/index.html' => "index\n", 'www/big.bin' => 'x' x 10000 },
);
$w->start;

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $VALUE = qr/(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)/;

# Returns (\%families, \@errors).  A family: { type, help, samples => [[name, {labels}, value]] }.
sub validate {
    my ($text) = @_;
    my (%families, @errors, %sample_seen);
    my $current;
    push @errors, 'the exposition does not end with a newline' unless $text =~ /\n\z/;
    my $n = 0;
    for my $line (split /\n/, $text) {
        $n++;
        next if $line eq '';
        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            push @errors, "line $n: second HELP for $1" if defined $families{$1}{help};
            push @errors, "line $n: HELP for $1 after its samples" if @{ $families{$1}{samples} || [] };
            $families{$1}{help} = $2;
            next;
        }
        if ($line =~ /^# TYPE ($NAME) (\S+)$/) {
            my ($name, $type) = ($1, $2);
            push @errors, "line $n: unknown type $type" unless $type =~ /^(?:counter|gauge|histogram|summary|untyped)$/;
            push @errors, "line $n: second TYPE for $name" if defined $families{$name}{type};
            push @errors, "line $n: TYPE for $name after its samples" if @{ $families{$name}{samples} || [] };
            $families{$name}{type} = $type;
            $current = $name;
            next;
        }
        if ($line =~ /^#/) {
            next;    # other comments are allowed
        }
        unless ($line =~ /^($NAME)(?:\{(.*)\})? ($VALUE)(?: (-?\d+))?$/) {
            push @errors, "line $n: not a sample: $line";
            next;
        }
        my ($name, $label_text, $value) = ($1, $2, $3);
        my %labels;
        if (defined $label_text && length $label_text) {
            my $rest = $label_text;
            while (length $rest) {
                unless ($rest =~ s/^($LABEL)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)//) {
                    push @errors, "line $n: bad labels {$label_text}";
                    last;
                }
                push @errors, "line $n: label $1 twice" if exists $labels{$1};
                $labels{$1} = $2;
            }
        }
        my $family = $name;
        if (!$families{$family}{type}) {
            ($family = $name) =~ s/_(?:bucket|sum|count)$//;
        }
        my $type = $families{$family}{type};
        push @errors, "line $n: sample $name before any TYPE line of its family" unless $type;
        push @errors, "line $n: sample $name outside its family's group"
            if defined $current && $family ne $current;
        push @errors, "line $n: family $family has no HELP" unless defined $families{$family}{help};
        if (($type // '') eq 'counter') {
            push @errors, "line $n: counter $name does not end in _total" unless $name =~ /_total$/;
            push @errors, "line $n: counter $name is negative" if $value =~ /^-/;
        }
        if (($type // '') eq 'histogram') {
            push @errors, "line $n: histogram sample $name is not _bucket, _sum or _count"
                unless $name =~ /^\Q$family\E_(?:bucket|sum|count)$/;
            push @errors, "line $n: a bucket without le" if $name =~ /_bucket$/ && !exists $labels{le};
        }
        my $key = $name . '{' . join(',', map { "$_=$labels{$_}" } sort keys %labels) . '}';
        push @errors, "line $n: sample $key twice" if $sample_seen{$key}++;
        push @{ $families{$family}{samples} }, [ $name, \%labels, $value ];
    }
    for my $family (sort keys %families) {
        my $f = $families{$family};
        push @errors, "family $family: TYPE without samples" if $f->{type} && !@{ $f->{samples} || [] };
        next unless ($f->{type} // '') eq 'histogram';
        my @buckets = grep { $_->[0] eq "${family}_bucket" } @{ $f->{samples} };
        my ($count) = map { $_->[2] } grep { $_->[0] eq "${family}_count" } @{ $f->{samples} };
        my ($sum) = grep { $_->[0] eq "${family}_sum" } @{ $f->{samples} };
        push @errors, "histogram $family: no _count" unless defined $count;
        push @errors, "histogram $family: no _sum" unless $sum;
        push @errors, "histogram $family: no buckets" unless @buckets;
        my ($last_le, $last_count) = (-9**9**9, 0);
        for my $b (@buckets) {
            my $le = $b->[1]{le} eq '+Inf' ? 9**9**9 : $b->[1]{le};
            push @errors, "histogram $family: le=$b->[1]{le} not increasing" unless $le > $last_le;
            push @errors, "histogram $family: bucket le=$b->[1]{le} count $b->[2] below $last_count"
                if $b->[2] < $last_count;
            ($last_le, $last_count) = ($le, $b->[2]);
        }
        push @errors, "histogram $family: the last bucket is not +Inf" unless @buckets && $buckets[-1][1]{le} eq '+Inf';
        push @errors, "histogram $family: +Inf bucket $last_count != _count " . ($count // 'none')
            if defined $count && @buckets && $last_count != $count;
    }
    return (\%families, \@errors);
}

sub value_of {
    my ($families, $family, $name, %labels) = @_;
    for my $s (@{ $families->{$family}{samples} || [] }) {
        next unless $s->[0] eq $name;
        next if grep { ($s->[1]{$_} // '') ne $labels{$_} } keys %labels;
        return $s->[2];
    }
    return undef;
}

sub scrape {
    my $r = $w->get('/server-status?metrics');
    return ($r, validate($r->{body} // ''));
}

# ---- the validator catches what it should (so a pass means something)
{
    my (undef, $e1) = validate("# HELP x_total a\n# TYPE x_total counter\nx_total 1\n# TYPE x_total counter\n");
    ok(@$e1, 'validator: a second TYPE line is an error');
    my (undef, $e2) = validate("# HELP x a\n# TYPE x counter\nx 1\n");
    ok(@$e2, 'validator: a counter without _total is an error');
    my (undef, $e3) = validate("# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 4\n");
    ok(@$e3, 'validator: decreasing bucket counts are an error');
    my (undef, $e4) = validate("# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 5\n");
    ok(@$e4, 'validator: +Inf != _count is an error');
    my (undef, $e5) = validate("# HELP g a\n# TYPE g gauge\ng{bad-label=\"1\"} 1\n");
    ok(@$e5, 'validator: a bad label name is an error');
    my (undef, $e6) = validate("# HELP g a\n# TYPE g gauge\ng 1\n");
    ok(!@$e6, 'validator: a plain gauge passes') or diag(join "\n", @$e6);
}

# ---- a scrape of a fresh server
my ($r, $families, $errors) = scrape();
is($r->{status}, 200, '?metrics answers 200');
is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8', 'Content-Type of format 0.0.4');
is_deeply($errors, [], 'the exposition passes the validator') or diag(join "\n", @$errors);

my @families = sort keys %$families;
for my $want (qw(weft_requests_total weft_sent_bytes_total weft_responses_total weft_request_duration_seconds
    weft_threads weft_processes weft_generation weft_children_started_total weft_children_crashed_total
    weft_spawn_rate_events_total weft_scoreboard_slots weft_info)) {
    ok($families->{$want}, "family $want is there");
}
is($families->{weft_request_duration_seconds}{type}, 'histogram', 'request durations are a histogram');

# ---- the values follow the traffic
my $requests_before = value_of($families, 'weft_requests_total', 'weft_requests_total');
my $ok_before = value_of($families, 'weft_responses_total', 'weft_responses_total', class => '2xx');
my $nf_before = value_of($families, 'weft_responses_total', 'weft_responses_total', class => '4xx');
my $bytes_before = value_of($families, 'weft_sent_bytes_total', 'weft_sent_bytes_total');
$w->get('/') for 1 .. 5;
$w->get('/missing') for 1 .. 3;
$w->get('/big.bin');
sleep 0.2;    # a request is counted just after its response is sent
($r, $families, $errors) = scrape();
is_deeply($errors, [], 'after traffic, the exposition still passes') or diag(join "\n", @$errors);
# The previous scrape itself was a 2xx request, finished before this one.
is(value_of($families, 'weft_requests_total', 'weft_requests_total') - $requests_before, 10,
    'weft_requests_total grew by the 9 requests sent and the scrape before');
is(value_of($families, 'weft_responses_total', 'weft_responses_total', class => '2xx') - $ok_before, 7,
    '2xx responses counted');
is(value_of($families, 'weft_responses_total', 'weft_responses_total', class => '4xx') - $nf_before, 3,
    '4xx responses counted');
cmp_ok(value_of($families, 'weft_sent_bytes_total', 'weft_sent_bytes_total') - $bytes_before, '>', 10000,
    'weft_sent_bytes_total grew by at least the large file');
my $count = value_of($families, 'weft_request_duration_seconds', 'weft_request_duration_seconds_count');
is($count, value_of($families, 'weft_requests_total', 'weft_requests_total'),
    'the histogram counts every request');
my $fast = value_of($families, 'weft_request_duration_seconds', 'weft_request_duration_seconds_bucket', le => '1');
cmp_ok($fast, '>=', 10, 'local requests land in the buckets up to 1 s');
is(value_of($families, 'weft_processes', 'weft_processes'), 1, 'weft_processes: one child');
cmp_ok(value_of($families, 'weft_threads', 'weft_threads', state => 'busy'), '>=', 1,
    'weft_threads{state="busy"} counts the thread answering');
is(value_of($families, 'weft_generation', 'weft_generation', kind => 'mpm'), 0, 'mpm generation 0 at start');

# ---- restarts and crashes
my $started = value_of($families, 'weft_children_started_total', 'weft_children_started_total');
my @kids = $w->child_pids;
kill 'KILL', $kids[0] if @kids;    # (SIGSEGV would be caught by a sanitizer)
wait_for(sub {
    my (undef, $f) = scrape();
    return (value_of($f, 'weft_children_crashed_total', 'weft_children_crashed_total') // 0) >= 1;
}, scale(10));
($r, $families, $errors) = scrape();
is(value_of($families, 'weft_children_crashed_total', 'weft_children_crashed_total'), 1,
    'a child killed by a signal nobody sent (SIGKILL) is counted as a crash');
cmp_ok(value_of($families, 'weft_children_started_total', 'weft_children_started_total'), '>', $started,
    '... and its replacement as a child started');
$w->signal('USR1');
wait_for(sub {
    my (undef, $f) = scrape();
    return (value_of($f, 'weft_generation', 'weft_generation', kind => 'mpm') // 0) == 1;
}, scale(10));
($r, $families, $errors) = scrape();
is(value_of($families, 'weft_generation', 'weft_generation', kind => 'mpm'), 1, 'a graceful restart: generation 1');
is_deeply($errors, [], 'after a crash and a restart, the exposition still passes') or diag(join "\n", @$errors);
$w->stop;

done_testing;
