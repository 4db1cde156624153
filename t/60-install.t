#!/usr/bin/perl
# make install / make uninstall into scratch roots: `make install PREFIX=/usr
# DESTDIR=$stage` lays out the tree a Debian administrator expects (binary,
# configuration, empty log directory, manuals, systemd unit, logrotate file,
# documentation), the installed binary passes -t on the installed
# configuration from the staged tree, an existing weft.conf is never
# overwritten, uninstall removes what install wrote, and another PREFIX keeps
# everything under it.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();
use WeftTest qw(wait_for scale);

my $repo = $WeftTest::REPO_ROOT;
my $binary = WeftTest::binary();
WeftTest::check_binary();

# make in the repository, installing the binary under test as it is (-o: do
# not rebuild it nor regenerate the manuals), with the files install
# generates made in a directory of this test's own (runs of the suite may
# overlap).  Returns (status, output).
my $work = tempdir('weft-install-build-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub make_in_repo {
    my (@arguments) = @_;
    my $out = tempdir('weft-make-XXXXXX', TMPDIR => 1, CLEANUP => 1) . '/make.out';
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { exec 'make', '-s', '-C', $repo, '-o', 'build/weft', '-o', 'man', '-o', $binary,
            "INSTALL_BINARY=$binary", "INSTALL_BUILD=$work", @arguments; }
        POSIX::_exit(127);
    }
    my $status;
    wait_for(sub { my $r = waitpid($pid, POSIX::WNOHANG()); $status = $? if $r == $pid; $r == $pid }, scale(60));
    unless (defined $status) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        $status = -1;
    }
    return ($status, WeftTest::_slurp($out) // '');
}

sub mode_of { return (stat $_[0])[2] & 07777 }

my $stage = tempdir('weft-stage-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($status, $output) = make_in_repo('install', 'PREFIX=/usr', "DESTDIR=$stage");
is($status, 0, 'make install PREFIX=/usr DESTDIR=stage succeeds') or diag($output);

# ---------------------------------------------------------------- the layout
my %files = (
    'usr/sbin/weft'                      => 'the server',
    'etc/weft/weft.conf'                 => 'the configuration',
    'etc/weft/mime.types'                => 'the media types',
    'var/www/weft/index.html'            => 'a default page',
    'usr/share/man/man8/weft.8'          => 'weft(8)',
    'usr/share/man/man5/weft.conf.5'     => 'weft.conf(5)',
    'lib/systemd/system/weft.service'    => 'the systemd unit',
    'etc/logrotate.d/weft'               => 'the logrotate file',
    'usr/share/doc/weft/operations.md'   => 'the operations guide',
    'usr/share/doc/weft/migration.md'    => 'the migration guide',
    'usr/share/doc/weft/directives.md'   => 'the directive reference',
    'usr/share/doc/weft/weft-forking.service' => 'the Type=forking unit, as documentation',
);
for my $file (sort keys %files) {
    ok(-f "$stage/$file", "$file: $files{$file}");
}
ok(-x "$stage/usr/sbin/weft", 'the binary is executable');
is(-s "$stage/usr/sbin/weft", -s $binary, 'the binary is the one built');
ok(-d "$stage/etc/weft/conf.d", 'etc/weft/conf.d for site files');
ok(-d "$stage/var/log/weft", 'var/log/weft: the log directory');
opendir my $logs, "$stage/var/log/weft";
is(scalar(grep { !/^\.\.?$/ } readdir $logs), 0, '... empty');
closedir $logs;
is(sprintf('%o', mode_of("$stage/var/log/weft")), '750', '... and not world-readable');
is(sprintf('%o', mode_of("$stage/etc/weft/weft.conf")), '644', 'weft.conf is 0644');

# ---------------------------------------------------------------- the configuration
my $conf = WeftTest::_slurp("$stage/etc/weft/weft.conf") // '';
unlike($conf, qr/\@[A-Z_]+\@/, 'no template placeholder is left in weft.conf');
unlike($conf, qr/^\s*ServerRoot\b/mi, 'weft.conf leaves ServerRoot to -d (the root of the installation)');
like($conf, qr{^ErrorLog var/log/weft/error_log$}m, 'ErrorLog in var/log/weft');
like($conf, qr{^CustomLog var/log/weft/access_log combined$}m, 'CustomLog in var/log/weft, combined');
like($conf, qr{^PidFile run/weft\.pid$}m, 'PidFile in /run');
like($conf, qr{^TypesConfig etc/weft/mime\.types$}m, 'TypesConfig: the installed mime.types');
like($conf, qr{<Location /server-status>\s*\n\s*SetHandler server-status\s*\n\s*Require ip 127\.0\.0\.1}, 'the status page is for local clients only');

my $check = "$stage/check.out";
my $pid = fork;
if ($pid == 0) {
    open STDOUT, '>', $check;
    open STDERR, '>&', \*STDOUT;
    chdir '/';
    { exec "$stage/usr/sbin/weft", '-d', $stage, '-f', 'etc/weft/weft.conf', '-t'; }
    POSIX::_exit(127);
}
waitpid($pid, 0);
is($? >> 8, 0, 'the installed binary passes -t on the installed configuration, from the staged tree')
    or diag(WeftTest::_slurp($check));
like(WeftTest::_slurp($check) // '', qr/^Syntax OK$/m, '... Syntax OK');

my $dump = "$stage/dump.out";
$pid = fork;
if ($pid == 0) {
    open STDOUT, '>', $dump;
    open STDERR, '>&', \*STDOUT;
    { exec "$stage/usr/sbin/weft", '-d', $stage, '-f', 'etc/weft/weft.conf', '-D', 'DUMP_CONFIG'; }
    POSIX::_exit(127);
}
waitpid($pid, 0);
my $effective = WeftTest::_slurp($dump) // '';
like($effective, qr{^DocumentRoot \Q$stage\E/var/www/weft$}m, '-d relocates every path: DocumentRoot');
like($effective, qr{^ErrorLog \Q$stage\E/var/log/weft/error_log$}m, '... ErrorLog');

# ---------------------------------------------------------------- systemd and logrotate files
my $unit = WeftTest::_slurp("$stage/lib/systemd/system/weft.service") // '';
my %service;
my $section = '';
for my $line (split /\n/, $unit) {
    next if $line =~ /^\s*(?:#|$)/;
    if ($line =~ /^\[(\w+)\]$/) { $section = $1; next }
    my ($key, $value) = $line =~ /^(\w+)=(.*)$/ or next;
    push @{ $service{"$section.$key"} }, $value;
}
is_deeply($service{'Service.Type'}, ['notify'], 'weft.service: Type=notify');
is_deeply($service{'Service.ExecStartPre'}, ['/usr/sbin/weft -d / -f /etc/weft/weft.conf -t'], 'ExecStartPre checks the configuration');
is_deeply($service{'Service.ExecStart'}, ['/usr/sbin/weft -d / -f /etc/weft/weft.conf -D FOREGROUND'], 'ExecStart stays in the foreground');
is_deeply($service{'Service.ExecReload'}, ['/usr/sbin/weft -d / -f /etc/weft/weft.conf -t', '/bin/kill -USR1 $MAINPID'],
    'ExecReload: a configuration check, then a graceful restart (systemd 252 has no notify-reload)');
is_deeply($service{'Service.KillMode'}, ['mixed'], 'KillMode=mixed: the control process stops its children');
is_deeply($service{'Install.WantedBy'}, ['multi-user.target'], 'WantedBy=multi-user.target');
my $rotate = WeftTest::_slurp("$stage/etc/logrotate.d/weft") // '';
like($rotate, qr{^/var/log/weft/\*_log \{}m, 'logrotate: the installed log directory');
like($rotate, qr{/usr/sbin/weft -d / -f /etc/weft/weft\.conf -k graceful}, 'logrotate: postrotate asks for a graceful restart');
like($rotate, qr{/run/weft\.pid}, 'logrotate: only when the pid file names a running server');
SKIP: {
    my ($logrotate) = grep { -x $_ } qw(/usr/sbin/logrotate /sbin/logrotate);
    skip 'logrotate is not installed', 1 unless $logrotate;
    my $state = "$stage/logrotate.state";
    my $rc = system("$logrotate -d -s '$state' '$stage/etc/logrotate.d/weft' >'$stage/logrotate.out' 2>&1");
    is($rc, 0, 'logrotate -d parses the installed file') or diag(WeftTest::_slurp("$stage/logrotate.out"));
}
SKIP: {
    skip 'groff is not installed', 2 unless -x '/usr/bin/groff';
    for my $page ('usr/share/man/man8/weft.8', 'usr/share/man/man5/weft.conf.5') {
        my $warnings = `groff -man -ww -z '$stage/$page' 2>&1`;
        is($warnings, '', "$page formats without a groff warning");
    }
}

# ---------------------------------------------------------------- an existing configuration is kept
{
    open my $fh, '>>', "$stage/etc/weft/weft.conf";
    print $fh "# changed by the administrator\n";
    close $fh;
    my ($again, $text) = make_in_repo('install', 'PREFIX=/usr', "DESTDIR=$stage");
    is($again, 0, 'a second make install succeeds') or diag($text);
    like(WeftTest::_slurp("$stage/etc/weft/weft.conf") // '', qr/# changed by the administrator/,
        'the changed weft.conf is not overwritten');
    ok(-f "$stage/etc/weft/weft.conf.default", 'the new one is installed as weft.conf.default');
    like($text, qr/kept the existing .*weft\.conf/, 'and make says so');
}

# ---------------------------------------------------------------- uninstall
{
    my ($rc, $text) = make_in_repo('uninstall', 'PREFIX=/usr', "DESTDIR=$stage");
    is($rc, 0, 'make uninstall succeeds') or diag($text);
    for my $file ('usr/sbin/weft', 'usr/share/man/man8/weft.8', 'usr/share/man/man5/weft.conf.5',
        'lib/systemd/system/weft.service', 'etc/logrotate.d/weft', 'etc/weft/weft.conf.default',
        'etc/weft/mime.types', 'usr/share/doc/weft/operations.md', 'var/www/weft/index.html') {
        ok(!-e "$stage/$file", "uninstall removed $file");
    }
    ok(-f "$stage/etc/weft/weft.conf", 'uninstall keeps a weft.conf the administrator changed');
}

# ---------------------------------------------------------------- another prefix
{
    my $root = tempdir('weft-stage-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my ($rc, $text) = make_in_repo('install', 'PREFIX=/opt/weft', "DESTDIR=$root");
    is($rc, 0, 'make install PREFIX=/opt/weft') or diag($text);
    ok(-x "$root/opt/weft/sbin/weft", 'the binary in PREFIX/sbin');
    ok(-f "$root/opt/weft/etc/weft/weft.conf", 'the configuration in PREFIX/etc/weft');
    ok(-d "$root/opt/weft/var/log/weft", 'the logs in PREFIX/var/log/weft');
    ok(-d "$root/opt/weft/var/run", 'PREFIX/var/run for the pid file');
    my $other_unit = WeftTest::_slurp("$root/opt/weft/lib/systemd/system/weft.service") // '';
    like($other_unit, qr{^ExecStart=/opt/weft/sbin/weft -d / -f /opt/weft/etc/weft/weft\.conf -D FOREGROUND$}m,
        'the unit names the prefix\'s paths');
    my $pid2 = fork;
    if ($pid2 == 0) {
        open STDOUT, '>', "$root/check.out";
        open STDERR, '>&', \*STDOUT;
        { exec "$root/opt/weft/sbin/weft", '-d', $root, '-f', 'opt/weft/etc/weft/weft.conf', '-t'; }
        POSIX::_exit(127);
    }
    waitpid($pid2, 0);
    is($? >> 8, 0, 'that installation passes -t too') or diag(WeftTest::_slurp("$root/check.out"));
}

done_testing;
