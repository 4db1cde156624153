#!/usr/bin/perl
# MaxRequestsPerChild (connections, as Apache counts them): a child is
# replaced after exactly N connections, not before; under load children are
# replaced with zero failed requests, capacity never dips, and the number of
# children stays within bounds.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale);

# One child, MaxConnectionsPerChild 3: the same child serves connections 1
# to 3, then a new child takes over, and no request fails across the change.
for my $directive ('MaxRequestsPerChild', 'MaxConnectionsPerChild') {
    my $w = WeftTest->new(conf => <<"EOF", files => { 'www/index.html' => "recycled\n" });
StartServers 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 6
MaxClients 1
$directive 3
EOF
    $w->start;
    wait_for(sub { $w->child_pids == 1 }, scale(10));
    my ($first) = $w->child_pids;
    ok($first, "$directive 3: one child to begin with");
    my @statuses;
    for my $n (1 .. 2) {
        push @statuses, $w->get('/index.html')->{status} // 0;
    }
    is_deeply([$w->child_pids], [$first], "$directive 3: the same child after 2 connections");
    push @statuses, $w->get('/index.html')->{status} // 0;
    my $replaced = wait_for(sub { my @k = $w->child_pids; @k == 1 && $k[0] != $first }, scale(10));
    ok($replaced, "$directive 3: after the 3rd connection the child is replaced (pid $first gone, one new child)")
        or diag('children now: ' . join(' ', $w->child_pids));
    my ($second) = $w->child_pids;
    push @statuses, $w->get('/index.html')->{status} // 0 for 1 .. 2;
    is_deeply([$w->child_pids], [$second], "$directive 3: the new child serves the next connections");
    is("@statuses", '200 200 200 200 200', "$directive 3: every request across the recycle is answered");
    $w->stop(name => "$directive 3 server");
}

for my $directive ('MaxRequestsPerChild', 'MaxConnectionsPerChild') {
    my $w = WeftTest->new(conf => <<"EOF", files => { 'www/index.html' => "recycled\n" });
StartServers 2
ServerLimit 8
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 6
$directive 5
EOF
    $w->start;
    wait_for(sub { $w->child_pids == 2 }, scale(10));
    my @first = $w->child_pids;
    is(scalar @first, 2, "$directive 5: two children to begin with");

    # Sample the children while the load runs.
    my %seen = map { $_ => 1 } @first;
    my ($min_children, $max_children) = (99, 0);
    my ($samples, $empty) = (0, 0);
    my $load = $w->start_load(clients => 4, duration => scale(3), path => '/index.html',
        expect => "recycled\n", per_connection => 2);
    my $end = time + scale(3);
    for (my $i = 0; $i < 10_000 && time < $end; $i++) {
        my @k = $w->child_pids;
        $seen{$_} = 1 for @k;
        $min_children = @k if @k < $min_children;
        $max_children = @k if @k > $max_children;
        $samples++;
        $empty++ unless @k;
        sleep 0.02;
    }
    my $res = $load->finish;
    cmp_ok($res->{connections}, '>', 20, "$directive: the load opened many connections ($res->{connections}, $res->{requests} requests)");
    is($res->{failures}, 0, "$directive 5 under load: zero failed requests");
    diag(join "\n", @{ $res->{errors} }) if $res->{failures};
    my @now = $w->child_pids;
    ok(!grep({ my $p = $_; grep { $_ == $p } @now } @first), "$directive: the first children have all been replaced");
    cmp_ok(scalar(keys %seen), '>', 4, "$directive: many children came and went (" . scalar(keys %seen) . ' seen)');
    cmp_ok($min_children, '>=', 1, "$directive: capacity never dips to nothing: there is always a child process")
        or diag("$empty of $samples samples (every 20 ms) found no child process at all");
    cmp_ok($max_children, '<=', 8, "$directive: never more children than ServerLimit (8), "
           . "old and new together (at most $max_children)");
    # MinSpareThreads 2 needs one child of 4 threads; the regulation may
    # retire the others once the load is over.
    ok(wait_for(sub { my $n = $w->child_pids; $n >= 1 && $n <= 6 }, scale(10)),
       "$directive: once the load is over, 1 to MaxClients (6) children")
        or diag('children now: ' . join(' ', $w->child_pids));
    ok($w->running, "$directive: the control process is still running");
    my $r = $w->get('/');
    is($r->{status}, 200, "$directive: the server answers after the load");
    $w->stop(name => "$directive server");
}

# MaxRequestsPerChild 0 means never: the children stay the same.
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "kept\n" });
StartServers 2
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 6
MaxRequestsPerChild 0
EOF
    $w->start;
    wait_for(sub { $w->child_pids == 2 }, scale(10));
    my @first = $w->child_pids;
    my $load = $w->start_load(clients => 3, duration => scale(1), path => '/index.html', per_connection => 1);
    my $res = $load->finish;
    is($res->{failures}, 0, 'MaxRequestsPerChild 0: no failed request');
    is_deeply([$w->child_pids], \@first, "MaxRequestsPerChild 0: the same children after $res->{connections} connections");
    $w->stop(name => 'MaxRequestsPerChild 0 server');
}

done_testing;
