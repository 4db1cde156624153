package WeftHttpBackend;
# A small HTTP/1.1 origin server for the proxy tests: one process, a select
# loop, keep-alive, any number of requests held at once.  What it answers
# depends on the path's last component:
#   echo         200: the request line and fields as received, one per line
#   chunked      200, a chunked body "chunk-one chunk-two "
#   close        200 without Content-Length, the body ends with the connection
#   slow-N       waits N tenths of a second, then "slow done\n"
#   post         "length=N md5=HEX\n" of the request body (Content-Length or chunked)
#   redirect     302 to http://<its Host>/<the path's directory>/elsewhere
#   count        "connections=N\n": connections accepted so far
#   two-lengths  two Content-Length fields
#   te-cl        both Transfer-Encoding and Content-Length
#   inject       a CR inside a header value
#   fold         a folded header line
#   bad-chunk    a chunked body with a chunk size that is not hex
#   short        Content-Length 100 and 10 bytes, then close
#   anything else: 200 "hello from http\n"
# start(port => N) forks it and returns its pid.
use strict;
use warnings;
use IO::Socket::IP;
use IO::Select;
use Digest::MD5 qw(md5_hex);
use Time::HiRes qw(time);
use POSIX ();

sub response {
    my ($status, $headers, $body) = @_;
    return "HTTP/1.1 $status\r\n" . $headers . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
}

sub answer {
    my ($req, $counters) = @_;
    my ($name) = $req->{path} =~ m{([^/?]+)(?:\?.*)?$};
    $name //= '';
    return response('200 OK', "Content-Type: text/plain\r\n", join("\n", $req->{line}, @{ $req->{fields} }) . "\n")
        if $name eq 'echo';
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" . "a\r\nchunk-one \r\na\r\nchunk-two \r\n0\r\n\r\n"
        if $name eq 'chunked';
    return ("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end\n", 1) if $name eq 'close';
    return response('200 OK', '', "slow done\n") if $name =~ /^slow-/;
    return response('200 OK', '', sprintf("length=%d md5=%s\n", length $req->{body}, md5_hex($req->{body})))
        if $name eq 'post';
    if ($name eq 'redirect') {
        (my $target = $req->{path}) =~ s{[^/]*$}{elsewhere};
        return response('302 Found', "Location: http://$req->{host}$target\r\n", "moved\n");
    }
    return response('200 OK', '', "connections=$counters->{accepted}\n") if $name eq 'count';
    return "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc" if $name eq 'two-lengths';
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        if $name eq 'te-cl';
    return response('200 OK', "X-Injected: a\rSet-Cookie: evil=1\r\n", "abc") if $name eq 'inject';
    return response('200 OK', "X-Folded: one\r\n two\r\n", "abc") if $name eq 'fold';
    return ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbad\r\n0\r\n\r\n", 1)
        if $name eq 'bad-chunk';
    return ("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", 1) if $name eq 'short';
    return response('200 OK', "Content-Type: text/plain\r\n", "hello from http\n");
}

# A complete request at the start of $$buffer (taken off it), or undef.
sub take_request {
    my ($buffer) = @_;
    my $end = index($$buffer, "\r\n\r\n");
    return undef if $end < 0;
    my $head = substr($$buffer, 0, $end);
    my ($line, @fields) = split /\r\n/, $head;
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } @fields;
    my $at = $end + 4;
    my $body = '';
    if (defined $h{'content-length'}) {
        return undef if length($$buffer) < $at + $h{'content-length'};
        $body = substr($$buffer, $at, $h{'content-length'});
        $at += $h{'content-length'};
    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        for (my $guard = 0; $guard < 100000; $guard++) {
            my $eol = index($$buffer, "\r\n", $at);
            return undef if $eol < 0;
            my $size = hex substr($$buffer, $at, $eol - $at);
            if ($size == 0) {
                return undef if length($$buffer) < $eol + 4;
                $at = $eol + 4;
                last;
            }
            return undef if length($$buffer) < $eol + 2 + $size + 2;
            $body .= substr($$buffer, $eol + 2, $size);
            $at = $eol + 2 + $size + 2;
        }
    }
    substr($$buffer, 0, $at, '');
    my ($path) = $line =~ /^\S+ (\S+)/;
    return { line => $line, fields => \@fields, path => $path // '/', host => $h{host} // '', body => $body,
             close => (($h{connection} // '') =~ /close/i ? 1 : 0) };
}

sub serve {
    my ($listener) = @_;
    my $select = IO::Select->new($listener);
    my %conn;
    my %counters = (accepted => 0);
    my $deadline = time + 300;
    while (time < $deadline) {
        my $wait = 0.05;
        for my $sock ($select->can_read($wait)) {
            if ($sock == $listener) {
                my $client = $listener->accept or next;
                $counters{accepted}++;
                $select->add($client);
                $conn{fileno $client} = { sock => $client, buffer => '', queue => [] };
                next;
            }
            my $c = $conn{fileno $sock} or next;
            my $got = sysread($sock, my $data, 65536);
            if (!$got) {
                $select->remove($sock);
                delete $conn{fileno $sock};
                close $sock;
                next;
            }
            $c->{buffer} .= $data;
            while (my $req = take_request(\$c->{buffer})) {
                my ($tenths) = $req->{path} =~ m{/slow-(\d+)};
                push @{ $c->{queue} }, { req => $req, due => time + ($tenths // 0) / 10 };
            }
        }
        for my $key (keys %conn) {
            my $c = $conn{$key};
            while (@{ $c->{queue} } && $c->{queue}[0]{due} <= time) {
                my $job = shift @{ $c->{queue} };
                my ($reply, $close) = answer($job->{req}, \%counters);
                my $sock = $c->{sock};
                $sock->blocking(1);
                syswrite($sock, $reply);
                $sock->blocking(0);
                if ($close || $job->{req}{close}) {
                    $select->remove($sock);
                    delete $conn{$key};
                    close $sock;
                    last;
                }
            }
        }
    }
    POSIX::_exit(0);
}

sub start {
    my (%o) = @_;
    my $listener = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => $o{port}, Listen => 256,
                                       ReuseAddr => 1) or die "listen on $o{port}: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        serve($listener);    # _exit: none of the test's END blocks or destructors run here
    }
    close $listener;
    return $pid;
}

1;
