#!/usr/bin/perl
# Privileges: as root, children run as User/Group (default nobody) and the
# control process stays root; User root is a configuration error.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);

plan skip_all => 'not running as root' unless $> == 0;

my ($nobody_uid, $nobody_gid) = (getpwnam('nobody'))[2, 3];
plan skip_all => 'no user nobody' unless defined $nobody_uid;
my $group_name = getgrgid($nobody_gid) // 'nogroup';

my $MPM = "StartServers 2\nThreadsPerChild 3\nMinSpareThreads 1\nMaxSpareThreads 12\nMaxClients 4\n";

sub check_children {
    my ($w, $uid, $gid, $label) = @_;
    wait_for(sub { $w->child_pids == 2 }, scale(10));
    my @kids = $w->child_pids;
    is(scalar @kids, 2, "$label: two children");
    my @bad_uid = grep { my @u = $w->uids_of($_); !@u || grep { $_ != $uid } @u } @kids;
    is_deeply(\@bad_uid, [], "$label: every child's real, effective, saved and fs uid is $uid");
    my @bad_gid = grep { my @g = $w->gids_of($_); !@g || grep { $_ != $gid } @g } @kids;
    is_deeply(\@bad_gid, [], "$label: every child's gids are $gid");
    my @groups = map { my $st = WeftTest::_slurp("/proc/$_/status") // ''; $st =~ /^Groups:\s*(.*)$/m ? $1 : '?' } @kids;
    ok(!grep({ /(^|\s)0(\s|$)/ } @groups), "$label: no child keeps root's supplementary group 0")
        or diag("Groups: @groups");
    my @u = $w->uids_of($w->pid);
    is($u[1], 0, "$label: the control process stays root");
}

# ---------------------------------------------------------------- explicit User / Group
{
    my $w = WeftTest->new(conf => "User nobody\nGroup $group_name\n$MPM", files => { 'www/index.html' => "x\n" });
    $w->start;
    check_children($w, $nobody_uid, $nobody_gid, 'User nobody');
    my $r = $w->get('/');
    is($r->{status}, 200, 'User nobody: the children serve');
    $w->stop(name => 'User nobody server');
}

# ---------------------------------------------------------------- default when root: nobody
{
    my $w = WeftTest->new(conf => $MPM, files => { 'www/index.html' => "x\n" });
    $w->start;
    wait_for(sub { $w->child_pids == 2 }, scale(10));
    my @kids = $w->child_pids;
    my @bad = grep { my @u = $w->uids_of($_); !@u || $u[1] != $nobody_uid } @kids;
    ok(@kids && !@bad, 'without User, children started by root run as nobody');
    $w->stop(name => 'default User server');
}

# ---------------------------------------------------------------- User #uid
{
    my $w = WeftTest->new(conf => "User #$nobody_uid\n$MPM", files => { 'www/index.html' => "x\n" });
    my ($code, $out, $err) = $w->check_config;
    is($code, 0, 'User #uid is accepted') or diag($out . $err);
}

# ---------------------------------------------------------------- User root
{
    my $w = WeftTest->new(conf => "User root\n$MPM", files => { 'www/index.html' => "x\n" });
    my ($code, $out, $err) = $w->check_config;
    is($code, 1, 'User root fails -t');
    like($out . $err, qr/weft\.conf(:\d+)?:.*User.*root|weft\.conf(:\d+)?:.*root.*User/i, '... with a message naming the file and User root');
    $w->write_conf("User #0\n$MPM");
    ($code, $out, $err) = $w->check_config;
    is($code, 1, 'User #0 fails -t too');
    my ($ok) = $w->try_start(timeout => scale(5));
    ok(!$ok, 'a server with User #0 does not start');
}

# ---------------------------------------------------------------- a User that does not exist
{
    my $w = WeftTest->new(conf => "User no-such-user-weft\n$MPM", files => { 'www/index.html' => "x\n" });
    my ($code, $out, $err) = $w->check_config;
    is($code, 1, 'a User that does not exist fails -t');
}

done_testing;
