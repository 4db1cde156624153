package WeftCgi;

# WeftCgi — CGI fixtures and checks shared by t/30-cgi-*.t.
#
#   my %files = WeftCgi::scripts('cgi-bin');    # name => { content, mode } for WeftTest->new(files => ...)
#   my %env = WeftCgi::parse_env($r->{body});   # what env.cgi printed
#   my $snap = WeftCgi::child_snapshot($w);     # { pid, fds => [...], targets, kids => [{pid, state, comm}] }
#   my $base = WeftCgi::baseline($w);           # the snapshot once the child serves and is idle
#   WeftCgi::check_clean($w, $baseline, $label) # no zombie, no script left, no extra descriptor
#
# The scripts are written by the tests into their temporary ServerRoot;
# nothing here is committed as a fixture file.

use strict;
use warnings;

use Test::More ();
use WeftTest qw(wait_for scale);

my $PERL = $^X;

# The block big.cgi repeats: the test computes the same bytes.
sub big_block { join('', map { chr(($_ * 7 + 3) % 256) } 0 .. 65535) }

sub scripts {
    my ($dir) = @_;
    $dir //= 'cgi-bin';
    my %s = (
        # Every variable, the command line, and facts about the process.
        'env.cgi' => <<"EOF",
#!$PERL
use strict;
print "Content-Type: text/plain\\r\\n\\r\\n";
for my \$k (sort keys %ENV) { my \$v = \$ENV{\$k}; \$v =~ s/\\n/\\\\n/g; print "\$k=\$v\\n"; }
print "X-ARGC=", scalar(\@ARGV), "\\n";
print "X-ARG\$_=\$ARGV[\$_]\\n" for 0 .. \$#ARGV;
require Cwd; print "X-CWD=", Cwd::getcwd(), "\\n";
print "X-UID=\$<\\n", "X-EUID=\$>\\n";
my (\$gid) = split / /, \$(; print "X-GID=\$gid\\n";
print "X-PID=\$\$\\n", "X-PGID=", getpgrp(0), "\\n";
opendir my \$d, "/proc/self/fd"; my \$self = fileno(\$d);
print "X-FDS=", join(",", sort { \$a <=> \$b } grep { /^\\d+\$/ && \$_ != \$self } readdir \$d), "\\n";
my \$mask = ''; if (open my \$st, '<', '/proc/self/status') { while (<\$st>) { \$mask = \$1 if /^SigBlk:\\s*(\\S+)/ } }
print "X-SIGBLK=\$mask\\n";
print "X-SIGPIPE=", (defined \$SIG{PIPE} ? \$SIG{PIPE} : ''), "\\n";
my \$in = do { local \$/; <STDIN> }; print "X-STDIN-LENGTH=", length(\$in // ''), "\\n";
EOF
        'echo.cgi' => "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\nexec cat\n",
        # Reads all its input first, then answers (as Apache's mod_cgi needs).
        'slurp.cgi' => <<"EOF",
#!$PERL
binmode STDIN; binmode STDOUT;
my \$in = do { local \$/; <STDIN> }; \$in = '' unless defined \$in;
print "Content-Type: application/octet-stream\\r\\nX-Length: ", length(\$in), "\\r\\n\\r\\n", \$in;
EOF
        # QUERY_STRING megabytes of big_block.
        'big.cgi' => <<"EOF",
#!$PERL
my \$block = join('', map { chr((\$_ * 7 + 3) % 256) } 0 .. 65535);
my \$mb = \$ENV{QUERY_STRING} || 1;
\$| = 1;
print "Content-Type: application/octet-stream\\r\\n\\r\\n";
print \$block for 1 .. \$mb * 16;
EOF
        'status.cgi' => "#!/bin/sh\nprintf 'Status: 404 Not Here\\r\\nContent-Type: text/plain\\r\\nX-Script: yes\\r\\n\\r\\nnot here\\n'\n",
        'local.cgi' => "#!/bin/sh\nprintf 'Location: /target.txt\\r\\n\\r\\n'\n",
        'local-cgi.cgi' => "#!/bin/sh\nprintf 'Location: /$dir/env.cgi?from=local\\n\\n'\n",
        'absolute.cgi' => "#!/bin/sh\nprintf 'Location: http://example.com/elsewhere\\r\\nSet-Cookie: a=b\\r\\n\\r\\nignored body\\n'\n",
        'moved.cgi' => "#!/bin/sh\nprintf 'Status: 301 Moved\\r\\nLocation: http://example.com/moved\\r\\nContent-Type: text/plain\\r\\n\\r\\nmoved body\\n'\n",
        'loop.cgi' => "#!/bin/sh\nprintf 'Location: /$dir/loop.cgi\\r\\n\\r\\n'\n",
        'nph-raw.cgi' => "#!/bin/sh\nprintf 'HTTP/1.1 202 Accepted\\r\\nContent-Type: text/plain\\r\\nX-Nph: yes\\r\\n\\r\\nraw body\\n'\n",
        'stderr.cgi' => "#!/bin/sh\necho 'first complaint' >&2\nprintf 'second complaint' >&2\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n",
        'length.cgi' => "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nContent-Length: 6\\r\\n\\r\\nhello\\n'\n",
        'short.cgi' => "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nContent-Length: 100\\r\\n\\r\\nhello\\n'\n",
        'noheader.cgi' => "#!/bin/sh\necho hello\n",
        'empty.cgi' => "#!/bin/sh\nexit 0\n",
        'badheader.cgi' => "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nBad Header Line\\r\\n\\r\\nbody\\n'\n",
        'badstatus.cgi' => "#!/bin/sh\nprintf 'Status: 99x\\r\\nContent-Type: text/plain\\r\\n\\r\\nbody\\n'\n",
        # Silent for ever, with a background job in its process group.
        'slow.cgi' => "#!/bin/sh\nsleep 60 &\nsleep 60\n",
        # A head and some body, then silence.
        'partial.cgi' => "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nsome'\nexec sleep 60\n",
        # Answers without reading its input.
        'noread.cgi' => "#!$PERL\n\$| = 1; print \"Content-Type: text/plain\\r\\n\\r\\n\"; print 'x' x 300000;\n",
        'noshebang.cgi' => "echo 'Content-Type: text/plain'\necho\necho hi\n",
        'noexec.cgi' => { content => "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nno\\n'\n", mode => 0644 },
    );
    my %files;
    for my $name (keys %s) {
        my $spec = ref $s{$name} ? $s{$name} : { content => $s{$name}, mode => 0755 };
        $files{"$dir/$name"} = $spec;
    }
    return %files;
}

sub parse_env {
    my ($body) = @_;
    my %env;
    for my $line (split /\n/, $body // '') {
        $env{$1} = $2 if $line =~ /^([^=]+)=(.*)$/;
    }
    return %env;
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return undef;
    local $/;
    my $text = <$fh>;
    return $text;
}

# The child process (the only one: tests run with StartServers 1 and
# MaxClients 1), its descriptors and its own children (scripts, zombies).
sub child_snapshot {
    my ($w) = @_;
    my @kids = $w->child_pids;
    return undef unless @kids == 1;
    my $pid = $kids[0];
    opendir my $dh, "/proc/$pid/fd" or return undef;
    my @fds = sort { $a <=> $b } grep { /^\d+$/ } readdir $dh;
    closedir $dh;
    my %targets = map { $_ => (readlink("/proc/$pid/fd/$_") // '?') } @fds;
    my @scripts;
    opendir my $proc, '/proc' or return undef;
    for my $entry (readdir $proc) {
        next unless $entry =~ /^\d+$/;
        my $stat = _slurp("/proc/$entry/stat") // next;
        next unless $stat =~ /^(\d+) \((.*)\) (\S) (-?\d+)/s;
        push @scripts, { pid => $1, comm => $2, state => $3 } if $4 == $pid;
    }
    closedir $proc;
    return { pid => $pid, fds => \@fds, targets => \%targets, kids => \@scripts };
}

# The child's state once it serves: after one answered request (its event
# loop's descriptors exist by then) and when two looks agree.
sub baseline {
    my ($w) = @_;
    $w->get('/');
    my $snapshot;
    wait_for(sub {
        my $first = child_snapshot($w) or return 0;
        select(undef, undef, undef, 0.1);
        $snapshot = child_snapshot($w) or return 0;
        return "@{ $first->{fds} }" eq "@{ $snapshot->{fds} }" && !@{ $snapshot->{kids} };
    }, scale(5));
    return $snapshot;
}

# Waits for the child to come back to its baseline: no process of its own
# (no zombie, no script still running) and the same descriptors.
sub check_clean {
    my ($w, $baseline, $label) = @_;
    my $now;
    wait_for(sub {
        $now = child_snapshot($w);
        return $now && !@{ $now->{kids} } && "@{ $now->{fds} }" eq "@{ $baseline->{fds} }";
    }, scale(8));
    Test::More::ok($now && $now->{pid} == $baseline->{pid}, "$label: the same child is still serving");
    my @zombies = grep { $_->{state} eq 'Z' } @{ $now->{kids} || [] };
    Test::More::is(scalar @zombies, 0, "$label: no zombie left in the child")
        or Test::More::diag(join ' ', map { "$_->{pid}($_->{comm})" } @zombies);
    Test::More::is(scalar @{ $now->{kids} || [] }, 0, "$label: no script left running")
        or Test::More::diag(join ' ', map { "$_->{pid}($_->{comm} $_->{state})" } @{ $now->{kids} });
    Test::More::is("@{ $now->{fds} || [] }", "@{ $baseline->{fds} }", "$label: no descriptor leaked in the child")
        or Test::More::diag(join ', ', map { "$_ -> $now->{targets}{$_}" } @{ $now->{fds} || [] });
}

1;
