#!/usr/bin/perl
# Debian's stock /etc/apache2 tree, unchanged, under weft and under Apache
# (issue 12, part 4).  The tree is copied twice into the test's directory;
# in each copy only ports.conf's "Listen 80" and the default site's
# <VirtualHost *:80> get the test's port.  Debian's envvars are exported with
# the log, run and lock directories and the PidFile pointed into the test's
# directory, and APACHE_RUN_USER/GROUP naming a user that exists (www-data
# when we are root, else ourselves).
#
# Then: `weft -d COPY -f apache2.conf -t` must say "Syntax OK" (every
# warning is shown as a note); weft and Apache (`apache2 -d COPY -f
# apache2.conf -D FOREGROUND`, stopped by its pid) serve /, /index.html,
# /icons/, /server-status?auto, /.htaccess, a 404 and TRACE, and their
# answers are compared: status codes, bodies (error pages byte for byte but
# for the product token in the signature line), and Content-Type,
# Content-Length, Allow, ETag, Last-Modified, Accept-Ranges, Vary.  Known
# difference (docs/migration.md, "Debian's stock tree"): the keys of
# /server-status?auto that only Apache's event MPM prints.
#
# apache2 missing: installed with apt-get when we are root; otherwise, or if
# that fails, the test fails saying why (it never skips).
#
# /var/www/html/index.html (Debian's default page, which the package
# installs) missing: the copies' "/var/www" (DocumentRoot and <Directory
# /var/www/>) are pointed at a directory of the test's holding Debian's
# default page from /usr/share/apache2/default-site, so that the tree still
# serves what a fresh install serves; the test says so in a note.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Path qw(make_path);
use IO::Socket::IP;
use POSIX qw(WNOHANG);
use WeftApache qw(apache_missing);
use WeftTest qw(scale);

my $TREE = '/etc/apache2';
my $APACHE = '/usr/sbin/apache2';

sub fail_loudly {
    my ($why) = @_;
    fail($why);
    done_testing();
    exit 1;
}

# ---------------------------------------------------------------- apache2 itself
my $why_not = apache_missing();  # installs apache2 when we are root (WeftApache.pm)
fail_loudly("the stock tree cannot be tested: $why_not") if $why_not;
fail_loudly("apache2 is installed but $TREE/apache2.conf is missing") unless -f "$TREE/apache2.conf";

my $w = WeftTest->new(bare => 1, conf => '');
my $root = $w->root;
my ($user, $group) = $> == 0 ? ('www-data', 'www-data')
    : (scalar(getpwuid($>)), scalar(getgrgid($) + 0)));
my $page = '/var/www/html/index.html';
my $own_www = !-f $page;
if ($own_www) {
    note("$page is missing: the copies serve Debian's default page from $root/var-www instead");
    make_path("$root/var-www/html", { mode => 0755 });
    system('cp', '/usr/share/apache2/default-site/index.html', "$root/var-www/html/index.html") == 0
        or fail_loudly("no $page and no /usr/share/apache2/default-site/index.html to stand in for it");
    chmod 0644, "$root/var-www/html/index.html";
}

sub slurp { my ($f) = @_; open my $h, '<', $f or return undef; local $/; my $t = <$h>; close $h; $t }
sub spew { my ($f, $t) = @_; open my $h, '>', $f or die "$f: $!"; print $h $t; close $h }

# A copy of the tree for one server on its port; returns its directory and
# the environment Debian's envvars would give it.
sub copy_tree {
    my ($name, $port) = @_;
    my $copy = "$root/$name";
    system('cp', '-a', $TREE, $copy) == 0 or fail_loudly("cannot copy $TREE to $copy");
    system('chmod', '-R', 'a+rX', $copy);
    my $ports = slurp("$copy/ports.conf");
    $ports =~ s/^Listen 80$/Listen 127.0.0.1:$port/m or fail_loudly("$copy/ports.conf has no 'Listen 80'");
    spew("$copy/ports.conf", $ports);
    my $site_file = "$copy/sites-enabled/000-default.conf";
    my $site = slurp($site_file) // fail_loudly("no $site_file");
    $site =~ s/<VirtualHost \*:80>/<VirtualHost *:$port>/ or fail_loudly("$site_file has no <VirtualHost *:80>");
    my $target = readlink($site_file);
    unlink $site_file;    # a symbolic link into sites-available: write a file of its own
    if ($own_www) {
        $site =~ s{/var/www/html}{$root/var-www/html}g;
        my $main = slurp("$copy/apache2.conf");
        $main =~ s{<Directory /var/www/>}{<Directory $root/var-www/>};
        spew("$copy/apache2.conf", $main);
    }
    spew($site_file, $site);
    my %env = (APACHE_RUN_USER => $user, APACHE_RUN_GROUP => $group, APACHE_RUN_DIR => "$root/$name-run",
               APACHE_PID_FILE => "$root/$name-run/apache2.pid", APACHE_LOCK_DIR => "$root/$name-lock",
               APACHE_LOG_DIR => "$root/$name-log", LANG => 'C');
    make_path($env{$_}, { mode => 0755 }) for qw(APACHE_RUN_DIR APACHE_LOCK_DIR APACHE_LOG_DIR);
    return ($copy, \%env);
}

my $weft_port = $w->port;
my $httpd_port = $w->port2;
my ($weft_copy, $weft_env) = copy_tree('apache2-weft', $weft_port);
my ($httpd_copy, $httpd_env) = copy_tree('apache2-httpd', $httpd_port);

# ---------------------------------------------------------------- weft -t
my ($code, $out, $err) = $w->run_weft({ env => $weft_env }, '-d', $weft_copy, '-f', 'apache2.conf', '-t');
note("weft -t: $_") for grep { /\S/ } split /\n/, "$out$err";
is($code, 0, 'weft -t on the stock tree: exit status 0');
ok("$out$err" =~ /^Syntax OK$/m, 'weft -t on the stock tree: Syntax OK (the messages are the notes above)');

# ---------------------------------------------------------------- both servers
%ENV = (%ENV, %$weft_env);
my ($weft_up, $why) = $w->try_start(base_args => ['-d', $weft_copy, '-f', 'apache2.conf'], wait_port => $weft_port,
                                    cwd => $root);
ok($weft_up, 'weft serves the stock tree with -D FOREGROUND') or diag("$why\n" . $w->output);

sub start_apache {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        %ENV = (%ENV, %$httpd_env);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$root/apache2.out";
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec $APACHE, '-d', $httpd_copy, '-f', 'apache2.conf', '-D', 'FOREGROUND'; }
        POSIX::_exit(127);
    }
    my $up = WeftTest::wait_for(sub {
        return 'dead' if waitpid($pid, WNOHANG) == $pid;
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $httpd_port, Timeout => 1);
        return $s ? 'up' : 0;
    }, scale(15));
    return $up && $up eq 'up' ? $pid : 0;
}
my $apache_pid = start_apache();
ok($apache_pid, 'Apache serves the same tree') or diag(slurp("$root/apache2.out") // '');

sub ask {
    my ($port, $method, $path) = @_;
    # The same Host for both, port included, so that the signature lines
    # differ only in the product token.
    return $w->request("$method $path HTTP/1.1\r\nHost: localhost:80\r\nConnection: close\r\n\r\n", port => $port);
}

sub signature_free {
    my ($body) = @_;
    $body //= '';
    $body =~ s{<address>[^<]*? Server at }{<address>PRODUCT Server at }g;
    return $body;
}

my %event_only = map { $_ => 1 } qw(Processes Stopping ConnsTotal ConnsAsyncWaitIO ConnsAsyncWriting
                                    ConnsAsyncKeepAlive ConnsAsyncClosing);

my @conditional = qw(CPULoad ReqPerSec BytesPerSec BytesPerReq DurationPerReq);

my @cases = (
    [GET => '/', 'static'],
    [GET => '/index.html', 'static'],
    [GET => '/icons/', 'error'],
    [GET => '/server-status?auto', 'status'],
    [GET => '/.htaccess', 'error'],
    [GET => '/no-such-page.html', 'error'],
    [TRACE => '/', 'error'],
);
for my $case (@cases) {
    my ($method, $path, $kind) = @$case;
    my $name = "$method $path";
    my $mine = ask($weft_port, $method, $path);
    my $theirs = $apache_pid ? ask($httpd_port, $method, $path) : undef;
    ok(defined $mine->{status}, "$name: weft answers") or diag($mine->{error} // '');
    unless ($theirs && defined $theirs->{status}) {
        fail("$name: Apache answers (nothing to compare with)");
        next;
    }
    is($mine->{status}, $theirs->{status}, "$name: the status code is Apache's ($theirs->{status})");
    if ($kind eq 'status') {
        my %keys = map { /^([^:]+):/ ? ($1 => 1) : () } split /\r?\n/, $mine->{body} // '';
        my %apache_keys = map { /^([^:]+):/ ? ($1 => 1) : () } split /\r?\n/, $theirs->{body} // '';
        my $event = ($theirs->{body} // '') =~ /^ServerMPM: event$/m;
        delete @apache_keys{ keys %event_only } if $event;
        # Both print these only once uptime, CPU time or accesses are non-zero:
        # whether they do depends on the moment, not on the server.
        delete @keys{@conditional};
        delete @apache_keys{@conditional};
        is_deeply([sort keys %keys], [sort keys %apache_keys],
                  "$name: the keys are Apache's" . ($event ? ' (but those only the event MPM prints)' : ''));
        is($mine->{headers}{'content-type'}, $theirs->{headers}{'content-type'}, "$name: Content-Type");
        next;
    }
    if ($kind eq 'static') {
        ok(defined $mine->{body} && $mine->{body} eq ($theirs->{body} // ''), "$name: the body is Apache's")
            or diag('weft ' . length($mine->{body} // '') . ' bytes, Apache ' . length($theirs->{body} // ''));
    } else {
        is(signature_free($mine->{body}), signature_free($theirs->{body}),
           "$name: the error page is Apache's but for the product token");
    }
    my @fields = ('content-type', 'allow', 'etag', 'last-modified', 'accept-ranges', 'vary');
    push @fields, 'content-length' if $kind eq 'static';
    for my $field (@fields) {
        is($mine->{headers}{$field}, $theirs->{headers}{$field}, "$name: $field as Apache's");
    }
    is($mine->{headers}{'content-length'}, length($mine->{body} // ''), "$name: Content-Length is the body's")
        if $kind eq 'error';
}

# ---------------------------------------------------------------- stop
if ($apache_pid) {
    kill 'TERM', $apache_pid;
    my $gone = WeftTest::wait_for(sub { waitpid($apache_pid, WNOHANG) == $apache_pid }, scale(15));
    unless ($gone) {
        kill 'KILL', $apache_pid;
        waitpid($apache_pid, 0);
    }
    ok($gone, 'Apache stops on TERM');
}
$w->stop(name => 'weft on the stock tree') if $weft_up;

done_testing();
