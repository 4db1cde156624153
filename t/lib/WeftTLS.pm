package WeftTLS;

# WeftTLS — certificates and TLS clients for weft's TLS tests.
#
#   my $pki = WeftTLS::make_pki("$dir/pki");   # { ca => path, 'a.crt' => ..., ... }
#   my ($code, $out) = WeftTLS::s_client(port => $p, args => ['-servername', 'a.test'],
#                                         input => "GET / HTTP/1.1\r\n...");
#   my ($code, $out, $err) = WeftTLS::curl(args => ['--cacert', $pki->{ca}, "https://..."]);
#
# Everything is made with the openssl command in the test's temporary
# directory: a server CA with leaves for a.test (RSA 2048 and ECDSA P-256,
# with localhost/127.0.0.1/::1 as alternative names) and b.test; a client
# CA with alice and bob, an intermediate client CA with carol below it,
# an expired client and an expired server certificate (openssl ca with a
# past -startdate/-enddate), a key that matches nothing, and a.test's key
# encrypted with the pass phrase "weft-secret".
#
# Only core Perl modules.  Every command runs with a deadline.

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use POSIX qw(WNOHANG _exit);
use Time::HiRes qw(time sleep);

our $PASS_PHRASE = 'weft-secret';

# Runs a command with a deadline.  Options (leading hashref): input =>
# bytes for its stdin, timeout => seconds (default 20), env => {...}.
# Returns (exit code, stdout, stderr); -1 after a timeout (killed).
sub run {
    my $o = ref $_[0] eq 'HASH' ? shift : {};
    my @command = @_;
    my $dir = $o->{dir} // ($ENV{TMPDIR} // '/tmp');
    my $tag = "$dir/weft-tls-run-$$-" . int(rand(1e9));
    open my $in, '>:raw', "$tag.in" or croak "cannot write $tag.in: $!";
    print {$in} $o->{input} // '';
    close $in;
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', "$tag.in" or _exit(127);
        open STDOUT, '>', "$tag.out" or _exit(127);
        open STDERR, '>', "$tag.err" or _exit(127);
        %ENV = (%ENV, %{ $o->{env} || {} });
        { no warnings 'exec'; exec { $command[0] } @command; }
        _exit(127);
    }
    my $deadline = time + ($o->{timeout} // 20);
    my $status;
    for (my $i = 0; $i < 1_000_000; $i++) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            last;
        }
        sleep 0.01;
    }
    my $code = !defined $status ? -1 : ($status & 127) ? -($status & 127) : ($status >> 8);
    my ($out, $err) = (slurp("$tag.out"), slurp("$tag.err"));
    unlink "$tag.in", "$tag.out", "$tag.err";
    return ($code, $out, $err);
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    my $data = <$fh>;
    return $data // '';
}

sub spew {
    my ($path, $data) = @_;
    open my $fh, '>:raw', $path or croak "cannot write $path: $!";
    print {$fh} $data;
    close $fh or croak "cannot close $path: $!";
}

# openssl with arguments; dies with its output unless it succeeds.
sub openssl {
    my @args = @_;
    my ($code, $out, $err) = run({ timeout => 60 }, 'openssl', @args);
    croak "openssl @args failed ($code):\n$out$err" if $code != 0;
    return $out;
}

my $SERIAL = 1000 + ($$ % 1000) * 100;

sub _extensions {
    my ($path, %o) = @_;
    my $text = "[v3]\nbasicConstraints = critical,CA:FALSE\n";
    $text .= "keyUsage = critical,digitalSignature" . ($o{rsa} ? ",keyEncipherment" : '') . "\n";
    $text .= "extendedKeyUsage = $o{usage}\n";
    $text .= "subjectAltName = $o{san}\n" if $o{san};
    $text .= "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
        . "subjectKeyIdentifier = hash\n";
    spew($path, $text);
}

sub _new_key {
    my ($path, $type) = @_;
    if ($type eq 'ec') {
        openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', $path);
    } else {
        openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', $path);
    }
    chmod 0600, $path;
}

# A self-signed CA: key and certificate.
sub _make_ca {
    my ($dir, $name, $subject) = @_;
    _new_key("$dir/$name.key", 'rsa');
    _extensions("$dir/$name.ext", usage => 'serverAuth');
    openssl('req', '-x509', '-new', '-key', "$dir/$name.key", '-subj', $subject, '-days', 3650,
            '-set_serial', $SERIAL++, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
            '-out', "$dir/$name.crt");
}

# A leaf signed by the CA $ca (its .crt and .key in $dir).  Options: type
# (rsa|ec), usage (serverAuth|clientAuth), san, serial, key (reuse a key
# file), ca_extension => 1 (an intermediate CA).
sub make_leaf {
    my ($dir, $name, $ca, $subject, %o) = @_;
    my $key = $o{key} // "$dir/$name.key";
    _new_key($key, $o{type} // 'rsa') unless $o{key} && -e $o{key};
    _extensions("$dir/$name.ext", usage => $o{usage} // 'serverAuth', san => $o{san},
                rsa => ($o{type} // 'rsa') eq 'rsa');
    openssl('req', '-new', '-key', $key, '-subj', $subject, '-out', "$dir/$name.csr");
    openssl('x509', '-req', '-in', "$dir/$name.csr", '-CA', "$dir/$ca.crt", '-CAkey', "$dir/$ca.key",
            '-set_serial', $o{serial} // $SERIAL++, '-days', 825, '-sha256',
            '-extfile', "$dir/$name.ext", '-extensions', $o{ca_extension} ? 'ca' : 'v3',
            '-out', "$dir/$name.crt");
    return ("$dir/$name.crt", $key);
}

# A certificate valid only in January 2020, signed by $ca (openssl ca: the
# only way OpenSSL 3.0 sets dates in the past without faketime).
sub _make_expired {
    my ($dir, $name, $ca, $subject, $usage) = @_;
    my $db = "$dir/$name-db";
    make_path("$db/new");
    spew("$db/index.txt", '');
    spew("$db/serial", sprintf("%08X\n", $SERIAL++ + 0x1000));
    spew("$db/ca.cnf", <<"EOF");
[ca]
default_ca = here
[here]
database = $db/index.txt
new_certs_dir = $db/new
serial = $db/serial
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = $usage
subjectAltName = DNS:localhost,DNS:a.test,IP:127.0.0.1
EOF
    _new_key("$dir/$name.key", 'rsa');
    openssl('req', '-new', '-key', "$dir/$name.key", '-subj', $subject, '-out', "$dir/$name.csr");
    openssl('ca', '-batch', '-config', "$db/ca.cnf", '-cert', "$dir/$ca.crt", '-keyfile', "$dir/$ca.key",
            '-in', "$dir/$name.csr", '-out', "$dir/$name.crt", '-notext', '-extensions', 'leaf',
            '-startdate', '20200101000000Z', '-enddate', '20200102000000Z');
}

# Makes everything in $dir; returns a hash of paths.
sub make_pki {
    my ($dir) = @_;
    make_path($dir);
    chmod 0755, $dir;
    my %pki = (dir => $dir);
    my $local = 'DNS:localhost,IP:127.0.0.1,IP:::1';
    _make_ca($dir, 'ca', '/O=Weft Test/CN=Weft Test Server CA');
    $pki{ca} = "$dir/ca.crt";
    @pki{qw(a.crt a.key)} = make_leaf($dir, 'a', 'ca', '/O=Weft RSA/CN=a.test', san => "DNS:a.test,$local");
    @pki{qw(a-ec.crt a-ec.key)} =
        make_leaf($dir, 'a-ec', 'ca', '/O=Weft ECDSA/CN=a.test', type => 'ec', san => "DNS:a.test,$local");
    @pki{qw(b.crt b.key)} = make_leaf($dir, 'b', 'ca', '/O=Weft RSA/CN=b.test', san => 'DNS:b.test');
    _make_expired($dir, 'expired-server', 'ca', '/O=Weft Expired/CN=a.test', 'serverAuth');
    @pki{qw(expired-server.crt expired-server.key)} = ("$dir/expired-server.crt", "$dir/expired-server.key");

    _new_key("$dir/other.key", 'rsa');
    $pki{'other.key'} = "$dir/other.key";
    openssl('pkey', '-in', "$dir/a.key", '-aes256', '-passout', "pass:$PASS_PHRASE", '-out', "$dir/a-encrypted.key");
    chmod 0600, "$dir/a-encrypted.key";
    $pki{'a-encrypted.key'} = "$dir/a-encrypted.key";
    openssl('pkey', '-in', "$dir/a-ec.key", '-aes256', '-passout', "pass:$PASS_PHRASE",
            '-out', "$dir/a-ec-encrypted.key");
    chmod 0600, "$dir/a-ec-encrypted.key";
    $pki{'a-ec-encrypted.key'} = "$dir/a-ec-encrypted.key";

    _make_ca($dir, 'client-ca', '/O=Weft Test/CN=Weft Test Client CA');
    $pki{'client-ca'} = "$dir/client-ca.crt";
    for my $who (qw(alice bob)) {
        @pki{ ("$who.crt", "$who.key") } =
            make_leaf($dir, $who, 'client-ca', "/O=Weft Clients/CN=$who", usage => 'clientAuth');
    }
    # carol: below an intermediate CA, so that her chain is three long.
    make_leaf($dir, 'client-intermediate', 'client-ca', '/O=Weft Test/CN=Weft Test Client Intermediate',
              ca_extension => 1);
    $pki{'client-intermediate'} = "$dir/client-intermediate.crt";
    @pki{qw(carol.crt carol.key)} =
        make_leaf($dir, 'carol', 'client-intermediate', '/O=Weft Clients/CN=carol', usage => 'clientAuth');
    # The client CA as a hashed directory (SSLCACertificatePath).
    make_path("$dir/client-ca.d");
    spew("$dir/client-ca.d/client-ca.pem", slurp("$dir/client-ca.crt"));
    openssl('rehash', "$dir/client-ca.d");
    $pki{'client-ca-dir'} = "$dir/client-ca.d";
    _make_expired($dir, 'expired-client', 'client-ca', '/O=Weft Clients/CN=expired', 'clientAuth');
    @pki{qw(expired-client.crt expired-client.key)} = ("$dir/expired-client.crt", "$dir/expired-client.key");
    # The keys are root's; the certificates anybody's.
    chmod 0644, grep { /\.crt$/ } map { $pki{$_} } keys %pki;
    return \%pki;
}

# A certificate's serial ("serial=1F4") or subject, as openssl prints it.
sub certificate_field {
    my ($path, $field) = @_;
    my $out = openssl('x509', '-in', $path, '-noout', "-$field");
    chomp $out;
    return $out;
}

# openssl s_client to 127.0.0.1 (or host => '::1') port => N.  args: more
# arguments; input: what is written once the connection is up (with
# -ign_eof unless quit => 1, so that the whole answer is read: end it with
# Connection: close).  Returns (exit code, stdout and stderr together).
sub s_client {
    my (%o) = @_;
    my $host = $o{host} // '127.0.0.1';
    my $connect = $host =~ /:/ ? "[$host]:$o{port}" : "$host:$o{port}";
    my @args = ('openssl', 's_client', '-connect', $connect);
    push @args, '-ign_eof' if defined $o{input} && !$o{quit};
    push @args, @{ $o{args} || [] };
    my ($code, $out, $err) = run({ timeout => $o{timeout} // 20, input => $o{input} // '' }, @args);
    return ($code, $out . $err);
}

# The leaf certificate's subject line from s_client's output ('' if none).
sub peer_subject {
    my ($output) = @_;
    return $output =~ /^subject=(.*)$/m ? $1 : '';
}

# The negotiated cipher and protocol from s_client's output.
sub negotiated {
    my ($output) = @_;
    my %n;
    $n{protocol} = $1, $n{cipher} = $2 if $output =~ /^New, (\S+), Cipher is (\S+)/m;
    $n{alpn} = $output =~ /^ALPN protocol: (\S+)/m ? $1 : undef;
    $n{status} = $output =~ m{HTTP/1\.1 (\d{3}) } ? $1 : undef;
    return \%n;
}

# A real ClientHello, as `openssl s_client` sends it (with SNI $name),
# caught by a listener of our own on 127.0.0.1.  Returns its bytes ('' if
# none came within the deadline).
sub capture_client_hello {
    my (%o) = @_;
    require IO::Socket::IP;
    require IO::Select;
    my $listener = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1, Proto => 'tcp')
        or croak "listen: $!";
    my $port = $listener->sockport;
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        close $listener;
        run({ timeout => 10 }, 'openssl', 's_client', '-connect', "127.0.0.1:$port",
            '-servername', $o{name} // 'a.test', @{ $o{args} || [] });
        _exit(0);
    }
    my $hello = '';
    my $deadline = time + 10;
    if (IO::Select->new($listener)->can_read(10)) {
        my $peer = $listener->accept;
        my $select = IO::Select->new($peer);
        # The record header says how long the ClientHello is.
        for (my $i = 0; $i < 1000 && time < $deadline; $i++) {
            last if length $hello >= 5 && length $hello >= 5 + unpack('n', substr($hello, 3, 2));
            last unless $select->can_read($deadline - time);
            my $n = sysread($peer, $hello, 65536, length $hello);
            last unless $n;
        }
        close $peer;
    }
    close $listener;
    kill 'KILL', $pid unless waitpid($pid, WNOHANG) == $pid;
    waitpid($pid, 0);
    return $hello;
}

# The serial of the certificate s_client printed ('' if none).
sub peer_serial {
    my ($output) = @_;
    return '' unless $output =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n)/s;
    my ($code, $out) = run({ timeout => 20, input => $1 }, 'openssl', 'x509', '-noout', '-serial');
    return $code == 0 && $out =~ /serial=(\w+)/ ? $1 : '';
}

# Load: forked clients running curl for a bounded time, each curl fetching
# `per_curl` URLs (1: a new connection, and a full handshake, per request;
# more: keep-alive).  Every request must answer 200 with `expect`.
#
#   my $load = WeftTLS::start_load(port => $p, ca => $ca, name => 'a.test', path => '/id.txt',
#                                  expect => "site a\n", clients => [1, 1, 10], duration => 5);
#   my $res = WeftTLS::finish_load($load);   # { requests, failures, errors => [...] }
sub start_load {
    my (%o) = @_;
    my @kids;
    my $id = 0;
    for my $per_curl (@{ $o{clients} || [1] }) {
        $id++;
        pipe(my $rd, my $wr) or croak "pipe: $!";
        my $pid = fork;
        croak "fork: $!" unless defined $pid;
        if ($pid == 0) {
            close $rd;
            print {$wr} _load_client(\%o, $per_curl, $id);
            close $wr;
            _exit(0);
        }
        close $wr;
        push @kids, { pid => $pid, fh => $rd };
    }
    return { kids => \@kids, started => time, duration => $o{duration} // 5 };
}

sub _load_client {
    my ($o, $per_curl, $id) = @_;
    my $end = time + ($o->{duration} // 5);
    my ($ok, $fail, $runs) = (0, 0, 0);
    my @errors;
    my $name = $o->{name} // 'a.test';
    my $url = "https://$name:$o->{port}" . ($o->{path} // '/');
    my $expect = ($o->{expect} // '') . "\n200\n";
    for (my $i = 0; $i < 100_000 && time < $end; $i++) {
        $runs++;
        my @urls = map { "$url?client=$id&run=$runs&n=$_" } 1 .. $per_curl;
        my ($code, $out, $err) = curl(max_time => 20, args => [
            '--cacert', $o->{ca}, '--resolve', "$name:$o->{port}:127.0.0.1", '--write-out', '\n%{http_code}\n',
            @urls ]);
        my $good = () = $out =~ /\Q$expect\E/g;
        $ok += $good;
        if ($good != $per_curl || $code != 0) {
            $fail += $per_curl - $good || 1;
            push @errors, "client $id run $runs: curl exit $code, $good of $per_curl answered: "
                . substr("$err $out", 0, 300) if @errors < 10;
        }
    }
    return join("\n", "ok $ok fail $fail", @errors) . "\n";
}

sub finish_load {
    my ($load) = @_;
    require IO::Select;
    my %res = (requests => 0, failures => 0, errors => []);
    my $deadline = $load->{started} + $load->{duration} + 60;
    for my $k (@{ $load->{kids} }) {
        my $data = '';
        my $select = IO::Select->new($k->{fh});
        for (my $i = 0; $i < 100_000 && time < $deadline; $i++) {
            last unless $select->can_read($deadline - time);
            my $n = sysread($k->{fh}, $data, 65536, length $data);
            last unless $n;
        }
        close $k->{fh};
        kill 'KILL', $k->{pid} if waitpid($k->{pid}, WNOHANG) == 0 && !_reaped_soon($k->{pid});
        waitpid($k->{pid}, 0);
        if ($data =~ /^ok (\d+) fail (\d+)\n(.*)$/s) {
            $res{requests} += $1;
            $res{failures} += $2;
            push @{ $res{errors} }, grep { length } split /\n/, $3;
        } else {
            $res{failures}++;
            push @{ $res{errors} }, 'a load client reported nothing';
        }
    }
    return \%res;
}

sub _reaped_soon {
    my ($pid) = @_;
    for (1 .. 200) {
        return 1 if waitpid($pid, WNOHANG) != 0;
        sleep 0.01;
    }
    return 0;
}

# curl with arguments; returns (exit code, stdout, stderr).
sub curl {
    my (%o) = @_;
    my @args = ('curl', '--silent', '--show-error', '--max-time', $o{max_time} // 15, @{ $o{args} || [] });
    return run({ timeout => ($o{max_time} // 15) + 10, input => $o{input} // '' }, @args);
}

# GET https://$name:$port$path over 127.0.0.1, verifying against $ca.
# Returns (HTTP status or curl's failure "curl N: message", body).
sub https_get {
    my (%o) = @_;
    my $name = $o{name} // 'a.test';
    my @args = ('--cacert', $o{ca}, '--resolve', "$name:$o{port}:127.0.0.1", '-o', '-',
                '--write-out', '\n%{http_code}', @{ $o{args} || [] }, "https://$name:$o{port}" . ($o{path} // '/'));
    my ($code, $out, $err) = curl(args => \@args, max_time => $o{max_time});
    return ("curl $code: $err", $out) if $code != 0;
    return $out =~ /\A(.*)\n(\d{3})\z/s ? ($2, $1) : ("curl: unexpected output", $out);
}

1;
