#!/usr/bin/perl
# The command line: -v, -V, -h, unknown options, -t (Syntax OK, capacity,
# every error as file:line), -D with <IfDefine>, -C / -c, -X, -f relative to
# ServerRoot, and the built-in defaults when there is no conf/weft.conf.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);
use IO::Socket::IP;

# ---------------------------------------------------------------- -v -V -h
{
    my ($code, $out, $err) = WeftTest->run_weft('-v');
    is($code, 0, '-v exits 0');
    like($out, qr{weft/\d+\.\d+\.\d+}, '-v prints weft/X.Y.Z on stdout');

    my ($vcode, $vout) = ($code, $out);
    ($code, $out, $err) = WeftTest->run_weft('-V');
    is($code, 0, '-V exits 0');
    like($out, qr{weft/\d+\.\d+\.\d+}, '-V prints the version');
    my @vlines = grep { /\S/ } split /\n/, $out;
    my @v1lines = grep { /\S/ } split /\n/, $vout;
    cmp_ok(scalar @vlines, '>', scalar @v1lines, '-V prints build settings beyond what -v prints');

    ($code, $out, $err) = WeftTest->run_weft('-h');
    my $usage = $out . $err;
    like($usage, qr/usage/i, '-h prints a usage text');
    for my $opt (qw(-f -d -D -C -c -t -X -v -V -k)) {
        like($usage, qr/(^|\s|\[)\Q$opt\E\b/m, "-h usage mentions $opt");
    }

    ($code, $out, $err) = WeftTest->run_weft('-Z');
    is($code, 1, 'an unknown option exits 1');
    like($err, qr/usage/i, 'an unknown option prints the usage on stderr');

    ($code, $out, $err) = WeftTest->run_weft('-f');
    is($code, 1, '-f without its argument exits 1');
}

# ---------------------------------------------------------------- -t
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "x\n" });
ServerName test.example
StartServers 2
ThreadsPerChild 8
MinSpareThreads 4
MaxSpareThreads 20
MaxClients 4
EOF
    my ($code, $out, $err) = $w->check_config;
    is($code, 0, '-t on a valid configuration exits 0') or diag($out . $err);
    like($out . $err, qr/^Syntax OK$/m, '-t prints Syntax OK');
    like($out . $err, qr/^capacity: 4 processes x 8 threads = 32 simultaneous clients$/m,
        '-t prints the capacity line (MaxClients counts processes)');
    ok(!-e $w->pid_file, '-t starts nothing (no PidFile)');

    # MaxRequestWorkers counts threads.
    $w->write_conf(<<'EOF');
ThreadsPerChild 25
MaxRequestWorkers 100
StartServers 1
MinSpareThreads 5
MaxSpareThreads 60
EOF
    ($code, $out, $err) = $w->check_config;
    is($code, 0, '-t with MaxRequestWorkers exits 0') or diag($out . $err);
    like($out . $err, qr/^capacity: 4 processes x 25 threads = 100 simultaneous clients$/m,
        'MaxRequestWorkers 100 / ThreadsPerChild 25 gives 4 processes');

    # A value that is not a multiple is reconciled with a warning.
    $w->write_conf(<<'EOF');
ThreadsPerChild 25
MaxRequestWorkers 110
StartServers 1
MinSpareThreads 5
MaxSpareThreads 60
EOF
    ($code, $out, $err) = $w->check_config;
    is($code, 0, '-t with MaxRequestWorkers 110 still exits 0') or diag($out . $err);
    like($out . $err, qr/^capacity: 4 processes x 25 threads = 100 simultaneous clients$/m,
        'MaxRequestWorkers 110 is lowered to a multiple of ThreadsPerChild');
    like($out . $err, qr/MaxRequestWorkers.*(multiple|110)/i, 'the reconciliation is announced by a warning');

    # Neither cap: Apache's 400 threads.
    $w->write_conf(<<'EOF');
ThreadsPerChild 25
StartServers 1
MinSpareThreads 5
MaxSpareThreads 60
EOF
    ($code, $out, $err) = $w->check_config;
    like($out . $err, qr/^capacity: 16 processes x 25 threads = 400 simultaneous clients$/m,
        'default capacity is 16 processes x 25 threads');

    # Every error, each as file:line.
    $w->write_conf(<<'EOF', bare => 1);
# line 1: a comment
Listen 127.0.0.1:@PORT@
NoSuchDirective foo
KeepAlive Maybe
<Location /x>
    Listen 127.0.0.1:1
</Location>
DocumentRoot
ThreadsPerChild many
<Directory "@ROOT@/www">
    Options None
EOF
    ($code, $out, $err) = $w->check_config;
    my $all = $out . $err;
    is($code, 1, '-t on a configuration with errors exits 1');
    unlike($all, qr/Syntax OK/, 'no Syntax OK when there are errors');
    like($all, qr/weft\.conf:3:.*NoSuchDirective/, 'an unknown directive is reported as file:line with its name');
    like($all, qr/weft\.conf:4:.*KeepAlive/, 'a bad value is reported as file:line with the directive');
    like($all, qr/weft\.conf:6:.*Listen/, 'a directive in the wrong context is reported as file:line');
    like($all, qr/weft\.conf:8:.*DocumentRoot/, 'a missing argument is reported as file:line');
    like($all, qr/weft\.conf:9:.*ThreadsPerChild/, 'a non-numeric number is reported as file:line');
    like($all, qr/weft\.conf:\d+:.*(Directory|clos|end)/i, 'an unclosed section is reported as file:line');
    my @reported = $all =~ /weft\.conf:\d+:/g;
    cmp_ok(scalar @reported, '>=', 6, 'all six errors are reported, not only the first');

    $w->write_conf(<<'EOF', bare => 1);
Listen 127.0.0.1:@PORT@
</Directory>
EOF
    ($code, $out, $err) = $w->check_config;
    is($code, 1, 'a closing tag without an opening one is an error');
    like($out . $err, qr/weft\.conf:2:/, '... reported at its line');

    $w->write_conf(<<'EOF', bare => 1);
Listen 127.0.0.1:@PORT@
<Directory "@ROOT@/www">
</Location>
EOF
    ($code, $out, $err) = $w->check_config;
    is($code, 1, 'mismatched section tags are an error');

    # -t with a missing -f file.
    ($code, $out, $err) = $w->run_weft('-d', $w->root, '-f', 'conf/nonexistent.conf', '-t');
    is($code, 1, '-t with a missing -f file exits 1');
    like($out . $err, qr/nonexistent\.conf/, '... and names the file');

    # -f relative to ServerRoot, from another working directory.
    $w->write_file('conf/other.conf', $w->subst("Listen 127.0.0.1:\@PORT\@\nDocumentRoot www\n"));
    ($code, $out, $err) = $w->run_weft({ cwd => '/' }, '-d', $w->root, '-f', 'conf/other.conf', '-t');
    is($code, 0, '-f resolves a relative path against ServerRoot (-d)') or diag($out . $err);
}

# ---------------------------------------------------------------- -D / <IfDefine>
{
    my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "main\n", 'www-alt/index.html' => "alt\n" });
<IfDefine BROKEN>
    NoSuchDirective here
</IfDefine>
<IfDefine ALT>
    DocumentRoot "@ROOT@/www-alt"
</IfDefine>
<IfDefine !ALT>
    DocumentRoot "@ROOT@/www"
</IfDefine>
EOF
    my ($code, $out, $err) = $w->check_config;
    is($code, 0, '<IfDefine NAME> contents are skipped when NAME is not defined') or diag($out . $err);
    ($code, $out, $err) = $w->check_config('-D', 'BROKEN');
    is($code, 1, '-D NAME makes <IfDefine NAME> contents apply');
    like($out . $err, qr/weft\.conf:2:.*NoSuchDirective/, '... and errors inside it are reported');

    $w->start(args => ['-D', 'ALT']);
    my $r = $w->get('/');
    is($r->{body}, "alt\n", 'a server started with -D ALT uses the <IfDefine ALT> DocumentRoot')
        or diag($r->summary);
    $w->stop(name => '-D ALT server');

    $w->start;
    $r = $w->get('/');
    is($r->{body}, "main\n", 'without -D ALT, <IfDefine !ALT> applies') or diag($r->summary);
    $w->stop(name => 'server without -D');

    # -C before the files (the file's DocumentRoot wins), -c after (it wins).
    $w->write_conf(<<'EOF');
DocumentRoot "@ROOT@/www"
EOF
    $w->start(args => ['-C', 'DocumentRoot ' . $w->root . '/www-alt']);
    $r = $w->get('/');
    is($r->{body}, "main\n", '-C is processed before the configuration file') or diag($r->summary);
    $w->stop(name => '-C server');

    $w->start(args => ['-c', 'DocumentRoot ' . $w->root . '/www-alt']);
    $r = $w->get('/');
    is($r->{body}, "alt\n", '-c is processed after the configuration file') or diag($r->summary);
    $w->stop(name => '-c server');

    ($code, $out, $err) = $w->check_config('-C', 'NoSuchDirective x');
    is($code, 1, 'an unknown directive given with -C is an error');
    ($code, $out, $err) = $w->check_config('-c', 'KeepAlive Maybe');
    is($code, 1, 'a bad value given with -c is an error');
}

# ---------------------------------------------------------------- -X
{
    my $w = WeftTest->new(conf => '', files => { 'www/index.html' => "one process\n" });
    $w->start(x => 1);
    my $r = $w->get('/');
    is($r->{status}, 200, '-X serves requests') or diag($r->summary);
    is(scalar($w->child_pids), 0, '-X runs no child processes');
    $w->stop(name => '-X server');
}

# ---------------------------------------------------------------- a config that does not start
{
    my $w = WeftTest->new(conf => "NoSuchDirective\n", files => { 'www/index.html' => "x\n" });
    my ($ok) = $w->try_start(timeout => scale(10));
    ok(!$ok, 'a server with a broken configuration does not start');
    like($w->output . $w->error_log, qr/weft\.conf:1:/, '... and says where the error is');
}

# ---------------------------------------------------------------- built-in defaults
SKIP: {
    my $probe = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 8080, Listen => 1, ReuseAddr => 1);
    skip 'port 8080 is in use: cannot check the built-in defaults', 4 unless $probe;
    close $probe;
    my $w = WeftTest->new(no_conf => 1, files => { 'www/index.html' => "built-in defaults\n" });
    ok(!-e $w->conf_path, 'there is no conf/weft.conf');
    # -d only: no conf/weft.conf, so the built-in defaults serve ./www on 8080.
    my ($ok, $why) = $w->try_start(base_args => ['-d', $w->root], wait_port => 8080);
    ok($ok, 'with no conf/weft.conf weft starts on its built-in defaults') or diag($why, "\n", $w->output);
    my $r = $w->request("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n", port => 8080);
    is($r->{body}, "built-in defaults\n", 'the built-in defaults serve ./www on 127.0.0.1:8080')
        or diag($r->summary);
    $w->stop(name => 'built-in defaults server');
}

done_testing;
