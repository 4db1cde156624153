#!/usr/bin/perl
# Privilege boundaries (docs/security.md):
#   - no child runs as root when the server is started as root with the
#     default User, and the control process never holds a client connection;
#   - files outside DocumentRoot and outside Alias targets cannot be reached
#     by any path encoding in a table of traversal tricks;
#   - a symbolic link swapped between check and open (a race from another
#     process) never lets a request out of DocumentRoot without
#     FollowSymLinks;
#   - ChrootDir: children serve from inside the chroot, DocumentRoot being a
#     path inside it (root only).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(time sleep);
use WeftTest qw(scale wait_for send_raw read_response);

my $SECRET = "TOP-SECRET-OUTSIDE-THE-DOCROOT\n";
my $ALIAS_SECRET = "ALIAS-NEIGHBOUR-SECRET\n";

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 2
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 4
Alias /al/ "@ROOT@/aliased/"
<Directory "@ROOT@/www">
    Options -FollowSymLinks
</Directory>
<Directory "@ROOT@/aliased">
    Options -FollowSymLinks
</Directory>
EOF
    files => {
        'www/index.html' => "index\n",
        'www/public.txt' => "public\n",
        'www/sub/page.html' => "page\n",
        'secret.txt' => $SECRET,
        'aliased/in-alias.txt' => "in alias\n",
        'alias-secret.txt' => $ALIAS_SECRET,
        'outside/file.txt' => $SECRET,
        'www/racedir/file.txt' => "public\n",
    },
    symlinks => { 'www/link-out' => '@ROOT@/secret.txt', 'www/link-in' => 'public.txt' },
);
$w->start;

# ---------------------------------------------------------------- no child as root
SKIP: {
    skip 'not running as root', 3 unless $> == 0;
    # A child is root from fork() until it drops its privileges, its first
    # step (a moment, longer under the sanitizers): wait for both children
    # past it.  A child that stayed root would still fail here.
    my (@kids, @root);
    wait_for(sub {
        @kids = $w->child_pids;
        @root = grep { my @u = $w->uids_of($_); !@u || grep { $_ == 0 } @u } @kids;
        return @kids >= 2 && !@root;
    }, scale(10));
    is_deeply(\@root, [], 'started as root with the default User: no child has uid 0 (real, effective, saved, fs)');
    my @root_gid = grep { my @g = $w->gids_of($_); !@g || grep { $_ == 0 } @g } @kids;
    is_deeply(\@root_gid, [], 'and no child has gid 0');
    is(($w->uids_of($w->pid))[1], 0, 'the control process is root (it binds ports and forks, nothing else)');
}

# The control process never holds a client connection: request data cannot
# reach it.  Its sockets are the listening ones; connections are accepted
# and served in the children.
{
    my @open = map { $w->connect } 1 .. 5;
    send_raw($_, "GET /index.html HTTP/1.1\r\nHost: a\r\n") for @open;    # in flight, unfinished
    sleep 0.3;
    my %established = established_socket_inodes();
    my @mine = grep { $established{$_} } socket_inodes($w->pid);
    my $children = 0;
    $children += grep { $established{$_} } socket_inodes($_) for $w->child_pids;
    is(scalar @mine, 0, 'the control process holds no connected socket while clients are connected');
    cmp_ok($children, '>=', 5, "the children hold the connections ($children)");
    close $_ for @open;
}

sub socket_inodes {
    my ($pid) = @_;
    opendir my $dh, "/proc/$pid/fd" or return ();
    my @inodes;
    for my $fd (readdir $dh) {
        my $target = readlink "/proc/$pid/fd/$fd" // next;
        push @inodes, $1 if $target =~ /^socket:\[(\d+)\]$/;
    }
    closedir $dh;
    return @inodes;
}

sub established_socket_inodes {
    my %inodes;
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $file or next;
        <$fh>;
        while (<$fh>) {
            my @f = split;
            $inodes{ $f[9] } = 1 if $f[3] eq '01';    # TCP_ESTABLISHED
        }
        close $fh;
    }
    return %inodes;
}

# ---------------------------------------------------------------- traversal encodings
# Each target tries to name ROOT/secret.txt (one level above DocumentRoot)
# or ROOT/alias-secret.txt (next to the Alias target), /etc/passwd, or the
# secret through a symbolic link.  Whatever the status, nothing of them may
# come back; and the answer must be a 4xx.
my $port = $w->port;
my @targets = (
    '/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt',
    '/%252e%252e/secret.txt', '/%25%32%65%25%32%65/secret.txt', '/..%2fsecret.txt', '/..%2Fsecret.txt',
    '/%2e%2e%2fsecret.txt', '/%c0%ae%c0%ae/secret.txt', '/%c0%ae%c0%ae%c0%afsecret.txt', '/%e0%80%ae%e0%80%ae/secret.txt',
    '/%c0%2e%c0%2e/secret.txt', '/%u002e%u002e/secret.txt', '/..\\secret.txt', '/..%5csecret.txt', '/..%5Csecret.txt',
    '/sub/..\\..\\secret.txt', '//../secret.txt', '///..//secret.txt', '/./../secret.txt', '/sub/../../secret.txt',
    '/sub/./../../secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/.../secret.txt', '/..../secret.txt', '/....//secret.txt',
    '/..;/secret.txt', '/..%00/secret.txt', '/secret.txt%00.html', '/..%20/secret.txt', '/.. /secret.txt',
    '/..%09/secret.txt', '/..%0a/secret.txt', '/%2e%2e%00/secret.txt', '/../../../../../../../../etc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/sub/../../../../etc/passwd', '/etc/passwd', '/secret.txt', '/secret.txt.',
    '/index.html/../../secret.txt', '/index.html%2f..%2f..%2fsecret.txt', '/%2fetc/passwd', '/%2f%2e%2e/secret.txt',
    "http://127.0.0.1:$port/../secret.txt", "http://127.0.0.1:$port/%2e%2e/secret.txt",
    "http://127.0.0.1:$port/..%2fsecret.txt", 'http://127.0.0.1/../../etc/passwd', 'file:///etc/passwd',
    '/link-out', '/link-out/', '/link-out%00', '/%6cink-out', '/link-in/../link-out', '/al/../alias-secret.txt',
    '/al/%2e%2e/alias-secret.txt', '/al/..%2falias-secret.txt', '/al%2f..%2falias-secret.txt', '/al/../../secret.txt',
    '/al/%2e%2e%2f%2e%2e%2fsecret.txt', '/al/..\\alias-secret.txt', '/al/.%2e/alias-secret.txt', '/al/./../alias-secret.txt',
    '/al//../alias-secret.txt', '/al/in-alias.txt/../../alias-secret.txt', '/al', '/outside/file.txt', '/../outside/file.txt',
    '/%2e%2e/outside/file.txt', '/www/../secret.txt', '/racedir/../../secret.txt', '/racedir/..%2f..%2fsecret.txt',
);
my @leaks;
my @not_4xx;
for my $target (@targets) {
    my $r = $w->request("GET $target HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    my $raw = $r->{raw} // '';
    push @leaks, "$target -> " . $r->summary if $raw =~ /TOP-SECRET|ALIAS-NEIGHBOUR|root:x:0:/;
    my $status = $r->{status} // 0;
    push @not_4xx, "$target -> $status" unless ($status >= 400 && $status < 500) || ($status == 301 && $target eq '/al');
}
is(scalar @leaks, 0, scalar(@targets) . ' traversal encodings: none reaches a file outside DocumentRoot or the Alias target')
    or diag(join("\n", @leaks));
is(scalar @not_4xx, 0, 'and each is answered with a 4xx') or diag(join("\n", @not_4xx));
is($w->get('/al/in-alias.txt')->{body}, "in alias\n", 'the Alias target itself is served');
is($w->get('/link-in')->{status}, 403, 'without FollowSymLinks, even a link inside DocumentRoot is refused');

# ---------------------------------------------------------------- symlink race
# A forked process swaps names between a harmless and an escaping form as
# fast as it can (rename(2) is atomic, so every lookup sees one or the
# other), while requests for those names go out on keep-alive connections.
{
    my $root = $w->root;
    my $flipper = fork;
    die "fork: $!" unless defined $flipper;
    if ($flipper == 0) {
        my $end = time + scale(3);
        for (my $i = 0; time < $end && $i < 10_000_000; $i++) {
            # A file that is sometimes a regular file, sometimes a link out.
            symlink("$root/secret.txt", "$root/www/.race-link") or unlink("$root/www/.race-link");
            rename("$root/www/.race-link", "$root/www/race.txt");
            open my $fh, '>', "$root/www/.race-file" or next;
            print {$fh} "public\n";
            close $fh;
            rename("$root/www/.race-file", "$root/www/race.txt");
            # A directory that is sometimes real, sometimes a link to one
            # outside (a directory cannot be renamed over a link, so this
            # swap has a moment without the name: a 404).
            my $swap = "$root/www/racedir-swap";
            if ($i % 2) {
                rename($swap, "$root/www/.racedir-old");
                unlink("$root/www/.racedir-old/file.txt");
                rmdir("$root/www/.racedir-old");
                symlink("$root/outside", $swap);
            } else {
                unlink($swap) if -l $swap;
                mkdir($swap);
                if (open my $f2, '>', "$swap/file.txt") {
                    print {$f2} "public\n";
                    close $f2;
                }
            }
        }
        _exit(0);
    }
    my %outcome;
    my $leaked = 0;
    my $requests = 0;
    my $end = time + scale(2.5);
    while (time < $end) {
        my $sock = $w->connect or next;
        my $batch = '';
        $batch .= "GET /race.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /racedir-swap/file.txt HTTP/1.1\r\nHost: a\r\n\r\n" for 1 .. 25;
        send_raw($sock, $batch);
        for (1 .. 50) {
            my $r = read_response($sock, timeout => scale(5));
            last unless defined $r->{status};
            $requests++;
            $outcome{ $r->{status} }++;
            $leaked++ if $r->{raw} =~ /TOP-SECRET/;
        }
        close $sock;
    }
    waitpid($flipper, 0);
    my $summary = join ' ', map { "$_: $outcome{$_}" } sort keys %outcome;
    diag("symlink race: $requests requests ($summary)");
    cmp_ok($requests, '>', 200, "symlink race: $requests requests while the links flipped");
    ok(($outcome{200} // 0) > 0 && (($outcome{403} // 0) + ($outcome{404} // 0)) > 0,
        'both outcomes were seen (the race really ran)');
    is($leaked, 0, 'symlink race: the secret behind the swapped links never appeared');
}
$w->stop;

# ---------------------------------------------------------------- ChrootDir
SKIP: {
    skip 'ChrootDir needs root', 11 unless $> == 0;
    my $c = WeftTest->new(
        conf => <<'EOF',
ChrootDir "@ROOT@/jail"
DocumentRoot "/www"
StartServers 2
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 4
<Directory "/www">
    Options FollowSymLinks
</Directory>
EOF
        files => { 'jail/www/index.html' => "inside the jail\n", 'www/index.html' => "outside the jail\n" },
        symlinks => { 'jail/www/passwd' => '/etc/passwd', 'jail/www/up' => '/../../../..' },
    );
    chmod 0755, $c->path('jail'), $c->path('jail/www');
    $c->start;
    wait_for(sub { $c->child_pids >= 2 }, scale(10));
    is($c->get('/index.html')->{body}, "inside the jail\n", 'ChrootDir: DocumentRoot "/www" is the one inside the jail');
    my @kids = $c->child_pids;
    my $jail = $c->path('jail');
    my @roots = map { readlink("/proc/$_/root") // '?' } @kids;
    is_deeply(\@roots, [($jail) x @kids], 'ChrootDir: every child\'s root directory is the jail');
    is(readlink('/proc/' . $c->pid . '/root'), '/', 'ChrootDir: the control process is not chrooted');
    my @root_uid = grep { my @u = $c->uids_of($_); grep { $_ == 0 } @u } @kids;
    is_deeply(\@root_uid, [], 'ChrootDir: the children still drop root');
    my $r = $c->get('/passwd');
    is($r->{status}, 404, 'ChrootDir: even a followed symlink to /etc/passwd stays in the jail (404)');
    unlike($r->{raw}, qr/root:x:0:/, 'ChrootDir: nothing of the real /etc/passwd');
    unlike($c->get('/up/secret.txt')->{raw}, qr/outside the jail/, 'ChrootDir: /.. from the jail\'s root is the jail');
    $c->stop(name => 'ChrootDir server');

    # A ChrootDir without the DocumentRoot inside it is a configuration error.
    my $bad = WeftTest->new(conf => "ChrootDir \"\@ROOT\@/jail\"\nDocumentRoot \"/nonexistent-www\"\n",
        files => { 'jail/x' => 'x' });
    my ($code, $out, $err) = $bad->check_config;
    isnt($code, 0, 'ChrootDir: a DocumentRoot missing inside the jail fails the configuration check');
    like("$out$err", qr{DocumentRoot '.*/jail/nonexistent-www' is not a directory}, 'and the message names the path inside the jail');
}

done_testing;
