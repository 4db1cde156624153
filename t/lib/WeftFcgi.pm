package WeftFcgi;
# A small FastCGI application server for the proxy tests, in one process
# with a select loop, so that it holds any number of requests at once.
# What it answers depends on the request's SCRIPT_FILENAME (its last path
# component):
#   slow-N      waits N tenths of a second, then "slow done\n"
#   two-lengths a head with two Content-Length fields
#   fold        a folded header line (obs-fold)
#   inject      a CR inside a header value
#   garbage     bytes that are not FastCGI records
#   end-early   END_REQUEST without any output
#   cut         a head and half a body, then the connection closes
#   count       "connections=N max=M\n": connections accepted, most open at once
#   anything else: "hello from fcgi\n"
# start(socket => path) forks it and returns its pid; stop it with kill.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(time);
use POSIX ();

sub record {
    my ($type, $content) = @_;
    my $padding = (8 - length($content) % 8) % 8;
    return pack('CCnnCC', 1, $type, 1, length $content, $padding, 0) . $content . ("\0" x $padding);
}

sub stdout_records {
    my ($data) = @_;
    my $out = '';
    while (length $data) {
        $out .= record(6, substr($data, 0, 65535, ''));
    }
    return $out;
}

sub end_request { return record(3, pack('NCCCC', 0, 0, 0, 0, 0)) }

sub answer {
    my ($name, $counters) = @_;
    my $ok = sub { stdout_records("Content-Type: text/plain\r\n\r\n$_[0]") . record(6, '') . end_request() };
    return $ok->("hello from fcgi\n") if !defined $name;
    return $ok->("slow done\n") if $name =~ /^slow-/;
    return $ok->("connections=$counters->{accepted} max=$counters->{max}\n") if $name eq 'count';
    return stdout_records("Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc") . record(6, '') . end_request()
        if $name eq 'two-lengths';
    return stdout_records("X-Folded: one\r\n two\r\n\r\nabc") . record(6, '') . end_request() if $name eq 'fold';
    return stdout_records("X-Injected: a\rSet-Cookie: evil=1\r\n\r\nabc") . record(6, '') . end_request()
        if $name eq 'inject';
    return "HTTP/1.1 200 OK\r\n\r\nnot fastcgi" if $name eq 'garbage';
    return end_request() if $name eq 'end-early';
    return stdout_records("Content-Type: text/plain\r\n\r\n" . ('x' x 5000)) if $name eq 'cut';
    return $ok->("hello from fcgi\n");
}

# The params of a complete request in $buffer: (\%params, stdin complete).
sub parse {
    my ($buffer) = @_;
    my ($params, $stdin_done, $at) = ('', 0, 0);
    while (length($buffer) - $at >= 8) {
        my ($version, $type, $id, $length, $padding) = unpack('CCnnC', substr($buffer, $at, 8));
        last if length($buffer) - $at < 8 + $length + $padding;
        my $content = substr($buffer, $at + 8, $length);
        $params .= $content if $type == 4;
        $stdin_done = 1 if $type == 5 && $length == 0;
        $at += 8 + $length + $padding;
    }
    my %params;
    my $p = 0;
    while ($p < length $params) {
        my @lengths;
        for (1 .. 2) {
            my $byte = ord substr($params, $p, 1);
            if ($byte < 128) { push @lengths, $byte; $p += 1 }
            else { push @lengths, unpack('N', substr($params, $p, 4)) & 0x7FFFFFFF; $p += 4 }
        }
        my $name = substr($params, $p, $lengths[0]);
        $params{$name} = substr($params, $p + $lengths[0], $lengths[1]);
        $p += $lengths[0] + $lengths[1];
    }
    return (\%params, $stdin_done);
}

sub serve {
    my ($listener) = @_;
    my $select = IO::Select->new($listener);
    my %conn;    # fileno => { sock, buffer, due, reply, name }
    my %counters = (accepted => 0, max => 0);
    my $deadline = time + 300;    # never outlives a test run
    while (time < $deadline) {
        my $now = time;
        my $wait = 0.05;
        for my $c (values %conn) {
            next unless defined $c->{due};
            my $left = $c->{due} - $now;
            $wait = $left if $left < $wait;
        }
        $wait = 0 if $wait < 0;
        for my $sock ($select->can_read($wait)) {
            if ($sock == $listener) {
                my $client = $listener->accept or next;
                $counters{accepted}++;
                $select->add($client);
                $conn{fileno $client} = { sock => $client, buffer => '' };
                my $open = scalar keys %conn;
                $counters{max} = $open if $open > $counters{max};
                next;
            }
            my $c = $conn{fileno $sock};
            my $got = sysread($sock, my $data, 65536);
            if (!$got) {
                $select->remove($sock);
                delete $conn{fileno $sock};
                close $sock;
                next;
            }
            $c->{buffer} .= $data;
            next if defined $c->{due};
            my ($params, $done) = parse($c->{buffer});
            next unless $done;
            my ($name) = ($params->{SCRIPT_FILENAME} // '') =~ m{([^/]+)$};
            my $delay = defined $name && $name =~ /^slow-(\d+)/ ? $1 / 10 : 0;
            $c->{due} = time + $delay;
            $c->{name} = $name;
        }
        for my $key (keys %conn) {
            my $c = $conn{$key};
            next unless defined $c->{due} && $c->{due} <= time;
            my $reply = answer($c->{name}, \%counters);
            my $sock = $c->{sock};
            $sock->blocking(1);
            syswrite($sock, $reply);
            $select->remove($sock);
            delete $conn{$key};
            close $sock;
        }
    }
    POSIX::_exit(0);
}

sub start {
    my (%o) = @_;
    unlink $o{socket};
    my $listener = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $o{socket}, Listen => 256)
        or die "listen on $o{socket}: $!";
    chmod 0666, $o{socket};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        serve($listener);    # _exit: none of the test's END blocks or destructors run here
    }
    close $listener;
    return $pid;
}

1;
