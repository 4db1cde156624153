#!/usr/bin/perl
# Pipelined requests are all answered, in order, whatever their sizes and
# however they are split across writes (issue 11, part 1).  The connection
# reads into a buffer of 4096 bytes that doubles; a read that fills it
# exactly proves nothing about what is still queued in the socket, so the
# sizes here are every power of two from 32 to 16,384 bytes and one byte
# either side, in one write and split at awkward offsets; then bodies
# (Content-Length and chunked, read by a CGI script or discarded by the
# connection) and heads whose boundary lands on the buffer size,
# Expect: 100-continue, a CGI POST followed by a GET, and a graceful stop
# with pipelined requests in flight.  A stranded request shows up as a
# response that does not come within a few seconds (KeepAliveTimeout is 30).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);
use WeftTest qw(scale send_raw read_response wait_closed);
use WeftCgi;

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
KeepAliveTimeout 30
MaxKeepAliveRequests 0
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
EOF
    files => { WeftCgi::scripts('cgi-bin'), map { ("www/f$_" => "file $_\n") } 0 .. 9 },
);
$w->start;
my $RESPONSE_WAIT = scale(4);

# A head of exactly $size bytes: "METHOD /PATH?" padded in the query and,
# past what a request line may hold, in header fields of up to 4000 bytes.
sub head_of_size {
    my ($method, $path, $extra, $size) = @_;
    my $prefix = "$method $path?";
    my $version = " HTTP/1.1\r\nHost: a\r\n";
    my $pad = $size - length($prefix) - length($version) - length($extra) - 2;
    die "a head cannot be $size bytes" if $pad < 0;
    my $in_fields = $pad > 4000 ? $pad - 4000 : 0;
    my $head = $prefix . ('q' x ($pad - $in_fields)) . $version;
    while ($in_fields) {
        my $field = $in_fields > 4000 ? 4000 : $in_fields;
        $field -= 5 if $in_fields - $field > 0 && $in_fields - $field < 5;
        $head .= 'X: ' . ('h' x ($field - 5)) . "\r\n";
        $in_fields -= $field;
    }
    $head .= $extra . "\r\n";
    die "built " . length($head) . " bytes, not $size" unless length($head) == $size;
    return $head;
}

sub get_of_size {
    my ($i, $size) = @_;
    return (head_of_size('GET', '/f' . ($i % 10), '', $size), { status => 200, body => "file " . ($i % 10) . "\n" });
}

sub body_bytes {
    my ($length, $seed) = @_;
    my $unit = join '', map { chr(ord('a') + ($_ * 7 + $seed) % 26) } 0 .. 25;
    return substr($unit x (int($length / 26) + 1), 0, $length);
}

sub chunked {
    my ($data, $chunk) = @_;
    my $out = '';
    for (my $at = 0; $at < length $data; $at += $chunk) {
        my $piece = substr($data, $at, $chunk);
        $out .= sprintf('%x', length $piece) . "\r\n$piece\r\n";
    }
    return $out . "0\r\n\r\n";
}

# A POST whose head and body together are $total bytes.
sub post_of_size {
    my ($path, $body_length, $total, $expect, %o) = @_;
    my $body = body_bytes($body_length, $total % 26);
    my ($framed, $field) = $o{chunked} ? (chunked($body, $o{chunked}), "Transfer-Encoding: chunked\r\n")
                                       : ($body, "Content-Length: $body_length\r\n");
    $field .= $o{extra} // '';
    my $head = head_of_size('POST', $path, $field, $total - length $framed);
    $expect = { %$expect, body => $body } if $expect->{echo};
    return ($head . $framed, $expect);
}

# Sends $data (in one write, or in pieces => [sizes] cycled, 20 ms apart)
# and reads one response per expectation; passes if every response came,
# in order, as expected.  Returns the socket.
sub check_pipeline {
    my ($label, $data, $expected, %o) = @_;
    my $sock = $w->connect or return fail("$label: connect");
    my $writer;
    if ($o{pieces}) {
        setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
        # A separate process writes, so that this one reads meanwhile.
        $writer = fork;
        die "fork: $!" unless defined $writer;
        if ($writer == 0) {
            my ($at, $i) = (0, 0);
            while ($at < length $data && $i < 100_000) {
                my $n = $o{pieces}[$i++ % @{ $o{pieces} }];
                send_raw($sock, substr($data, $at, $n), scale(10)) or POSIX::_exit(1);
                $at += $n;
                sleep 0.02;
            }
            POSIX::_exit(0);
        }
    } else {
        send_raw($sock, $data, scale(20)) or return fail("$label: the requests could not be sent");
    }
    my ($good, $why) = (0, '');
    for my $i (0 .. $#$expected) {
        my $e = $expected->[$i];
        my $r = read_response($sock, timeout => $RESPONSE_WAIT, method => $e->{method} // 'GET');
        if (!defined $r->{status}) {
            $why = "response $i did not come: $r->{error}";
            last;
        }
        if ($r->{status} != $e->{status} || (defined $e->{body} && $r->{body} ne $e->{body})
            || scalar(@{ $r->{interim} }) != ($e->{interim} // 0)) {
            $why = "response $i: status $r->{status}, " . length($r->{body}) . " body bytes, "
                . scalar(@{ $r->{interim} }) . " interim; expected $e->{status}";
            last;
        }
        $good++;
    }
    if (defined $writer) {
        waitpid($writer, 0);
        $why ||= 'the writer failed' if $?;
    }
    ok($good == @$expected && !$why, "$label: all " . scalar(@$expected) . " answered, in order")
        or diag("$good answered as expected; $why");
    return $sock;
}

# ------------------------------------------------ sizes: 2^k and 2^k +- 1, k = 5..14
my @awkward = (4095, 1, 4097, 8191, 2, 16385, 3, 4096);
for my $k (5 .. 14) {
    for my $size (2**$k - 1, 2**$k, 2**$k + 1) {
        my ($data, @expected) = ('');
        for my $i (0 .. 19) {
            my ($request, $e) = get_of_size($i, $size);
            $data .= $request;
            push @expected, $e;
        }
        check_pipeline("20 GETs of $size bytes in one write", $data, \@expected);
        check_pipeline("20 GETs of $size bytes split at awkward offsets", $data, \@expected, pieces => \@awkward);
    }
}

# ------------------------------------------------ bodies and heads on the buffer boundary
{
    my @tail;
    my $tail_data = '';
    for my $i (1 .. 3) {
        my ($request, $e) = get_of_size($i, (100, 4096, 333)[$i - 1]);
        $tail_data .= $request;
        push @tail, $e;
    }
    my $echo = { status => 200, echo => 1 };
    my $static = { status => 405 };
    for my $total (4095, 4096, 4097, 8192, 16384, 16385) {
        my @cases = (
            ['unread Content-Length body (static file, 405)', post_of_size('/f0', 3000, $total, $static)],
            ['long unread Content-Length body', post_of_size('/f0', $total - 100, $total, $static)],
            ['unread chunked body', post_of_size('/f0', $total - 400, $total, $static, chunked => 1000)],
            ['Content-Length body read by a CGI script', post_of_size('/cgi-bin/slurp.cgi', $total - 200, $total, $echo)],
            ['chunked body read by a CGI script', post_of_size('/cgi-bin/slurp.cgi', $total - 400, $total, $echo, chunked => 700)],
            ['Content-Length body through a streaming CGI echo', post_of_size('/cgi-bin/echo.cgi', $total - 200, $total, $echo)],
        );
        for my $case (@cases) {
            my ($name, $request, $e) = @$case;
            die "$name: " . length($request) . " bytes, not $total" unless length($request) == $total;
            check_pipeline("$name ending at byte $total, then 3 GETs", $request . $tail_data, [$e, @tail]);
        }
        my ($request, $e) = post_of_size('/cgi-bin/slurp.cgi', $total - 200, $total, $echo);
        check_pipeline("CGI POST ending at byte $total, then 3 GETs, split at awkward offsets",
            $request . $tail_data, [$e, @tail], pieces => \@awkward);
    }
}

# ------------------------------------------------ Expect: 100-continue
for my $total (4096, 8192, 8193) {
    my ($request, $e) = post_of_size('/cgi-bin/slurp.cgi', $total - 200, $total, { status => 200, echo => 1 },
        extra => "Expect: 100-continue\r\n");
    my ($get, $g) = get_of_size(5, 4096);
    check_pipeline("Expect: 100-continue, the body ending at byte $total, then a GET", $request . $get,
        [{ %$e, interim => 1 }, $g]);
}

# ------------------------------------------------ graceful stop with pipelined requests in flight
{
    my $data = '';
    my @expected;
    for my $i (0 .. 19) {
        my ($request, $e) = get_of_size($i, 1024);
        $data .= $request;
        push @expected, $e;
    }
    # A keep-alive connection parked between requests, and one whose
    # pipeline is being answered when the stop begins.
    my $parked = $w->connect;
    send_raw($parked, (get_of_size(0, 100))[0]);
    is(read_response($parked, timeout => $RESPONSE_WAIT)->{status}, 200, 'graceful stop: a keep-alive connection parked');
    my $busy = $w->connect;
    send_raw($busy, $data);
    ok($w->signal('WINCH'), 'graceful stop (SIGWINCH) with pipelined requests in flight');
    sleep 0.3;
    send_raw($parked, $data);
    for my $case (['in flight', $busy], ['sent to the parked connection', $parked]) {
        my ($name, $sock) = @$case;
        my ($answered, $in_order, $closing) = (0, 1, 0);
        for my $i (0 .. 19) {
            my $r = read_response($sock, timeout => $RESPONSE_WAIT);
            last unless defined $r->{status};
            $answered++;
            $in_order = 0 unless $r->{status} == 200 && $r->{body} eq $expected[$i]{body};
            if (($r->{headers}{connection} // '') =~ /close/i) {
                $closing = 1;
                last;
            }
        }
        my ($state) = wait_closed($sock, scale(5));
        ok($answered >= 1 && $in_order, "graceful stop, pipeline $name: $answered answered, in order");
        ok(($answered == 20 || $closing) && $state eq 'closed',
            "... then Connection: close (or all 20) and the connection closed ($state)");
    }
    ok(WeftTest::wait_for(sub { !$w->running }, scale(10)), 'the server finishes its graceful stop');
}

$w->stop;
done_testing;
