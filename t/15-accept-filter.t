#!/usr/bin/perl
# AcceptFilter (Apache's directive; on Linux every filter but "none" means
# TCP_DEFER_ACCEPT).  With the default, "http data", the kernel hands a
# connection to weft only once its first bytes arrived: a client that
# connects and stays silent costs weft nothing, and is not subject to
# Timeout until then.  "AcceptFilter http none" hands it over at once.
use strict;
use warnings;
use Test::More;
use IO::Select;
use Time::HiRes qw(time sleep);
use WeftTest qw(scale send_raw read_response wait_closed);

my %files = ('www/index.html' => "hello\n");

# Whether the kernel reports TCP_DEFER_ACCEPT on the listening socket is
# not observable from outside without a peer; what a client sees is: a
# silent connection outlives Timeout, and is served once it speaks.
{
    my $w = WeftTest->new(conf => "Timeout 1\nKeepAliveTimeout 1\n", files => \%files);
    $w->start;
    my $silent = $w->connect;
    my ($state) = wait_closed($silent, 2.5);
    is($state, 'open', 'default (http data): a silent connection is not timed out by weft (2.5 s, Timeout 1)');
    send_raw($silent, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    my $r = read_response($silent, timeout => scale(5));
    is($r->{status}, 200, '... and is served once it sends its request');
    is($r->{body}, "hello\n", '... the right body');
    is($w->get('/index.html')->{status}, 200, 'other clients are served meanwhile');
    $w->stop;
}

{
    my $w = WeftTest->new(conf => "AcceptFilter http none\nTimeout 1\nKeepAliveTimeout 1\n", files => \%files);
    $w->start;
    my $silent = $w->connect;
    my ($state, $elapsed) = wait_closed($silent, scale(6));
    is($state, 'closed', 'AcceptFilter http none: a silent connection reaches weft and is closed after Timeout');
    $w->stop;
}

# Other protocols and filter names are accepted, as Apache accepts them.
{
    my $w = WeftTest->new(conf => "AcceptFilter https none\nAcceptFilter nntp none\nAcceptFilter http httpready\n",
                          files => \%files);
    my ($code, $out, $err) = $w->check_config;
    is($code, 0, 'weft -t accepts AcceptFilter for https, nntp and the httpready filter') or diag("$out$err");
    my $v = WeftTest->new(conf => "AcceptFilter http\n", files => \%files);
    ($code, $out, $err) = $v->check_config;
    isnt($code, 0, 'AcceptFilter with one argument is an error');
    like("$out$err", qr/weft\.conf:\d+/, '... reported with file:line');
}

done_testing;
