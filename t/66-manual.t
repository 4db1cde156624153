#!/usr/bin/perl
# The manuals against the binary: weft.conf(5) and docs/directives.md list
# every directive of `weft -D DUMP_DIRECTIVES` (the parser's own tables) and
# no other, with its syntax and default; weft(8) documents every option of
# `weft -h`.  And the dumps: -M in httpd -M's layout, -D DUMP_CONFIG prints a
# configuration that reads back to the same dump.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(scale);

my $repo = $WeftTest::REPO_ROOT;
my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "x\n" });
ServerTokens Prod
KeepAliveTimeout 1500ms
Options +Indexes -FollowSymLinks
DirectoryIndex index.html index.htm
LogFormat "%h %>s" short
CustomLog logs/short_log short
<Directory "@ROOT@/www">
    Options Indexes
</Directory>
<Location /server-status>
    SetHandler server-status
</Location>
EOF

my ($code, $tsv, $err) = $w->run_weft('-D', 'DUMP_DIRECTIVES');
is($code, 0, 'weft -D DUMP_DIRECTIVES') or diag($err);
my @rows = map { [ split /\t/, $_, -1 ] } grep { length } split /\n/, $tsv;
cmp_ok(scalar @rows, '>', 50, scalar(@rows) . ' directives in the tables');
is(scalar(grep { @$_ != 7 } @rows), 0,
   'every row has 7 fields: name, module, contexts, syntax, default, help, override');
# A module may give a directive a second row for sections (alias: Redirect
# in <Location>), which the manual shows as one entry; two modules may not.
my %module_of;
is(scalar(grep { ($module_of{ lc $_->[0] } //= $_->[1]) ne $_->[1] } @rows), 0, 'no directive is in two tables');
my %syntax_of;
is(scalar(grep { ($syntax_of{ lc $_->[0] } //= $_->[3]) ne $_->[3] } @rows), 0,
   'the rows of one directive have one syntax');

# ---------------------------------------------------------------- weft.conf(5)
my $man = WeftTest::_slurp("$repo/man/weft.conf.5") // '';
ok(length $man, 'man/weft.conf.5 exists');
my $stale = "run `make man` to regenerate man/weft.conf.5 and docs/directives.md";
my %in_man;
while ($man =~ /^\\fB(.+?)\\fR(?: \\fI(.*?)\\fR)?$/mg) {
    (my $name = $1) =~ s/\\-/-/g;
    (my $syntax = $2 // '') =~ s/\\-/-/g;
    $syntax =~ s/\\e/\\/g;
    $in_man{$name} = $syntax;
}
my @missing = grep { !exists $in_man{ $_->[0] } } @rows;
is(scalar @missing, 0, 'weft.conf(5) lists every directive of the tables')
    or diag("missing: " . join(', ', map { $_->[0] } @missing) . "\n$stale");
my %in_tables = map { $_->[0] => 1 } @rows;
my @extra = grep { !$in_tables{$_} } sort keys %in_man;
is(scalar @extra, 0, 'weft.conf(5) lists no directive the tables do not have')
    or diag("not in the tables: @extra\n$stale");
my @wrong = grep { exists $in_man{ $_->[0] } && $in_man{ $_->[0] } ne $_->[3] } @rows;
is(scalar @wrong, 0, 'weft.conf(5) gives each directive the syntax of its table row')
    or diag(join("\n", map { "$_->[0]: man '$in_man{$_->[0]}' table '$_->[3]'" } @wrong) . "\n$stale");
my @defaults = grep { length $_->[4] } @rows;
my @no_default = grep {
    (my $want = "$_->[0] $_->[4]") =~ s/-/\\-/g;
    $want =~ s/\\(?!-)/\\e/g;
    index($man, "Default: \\fB$want\\fR") < 0
} @defaults;
is(scalar @no_default, 0, 'weft.conf(5) states every default of the tables')
    or diag("defaults missing: " . join(', ', map { $_->[0] } @no_default) . "\n$stale");
like($man, qr/^\.TH WEFT\.CONF 5 /m, 'weft.conf(5) is a section 5 page');
like($man, qr/^\.SH DIFFERENCES FROM APACHE HTTPD$/m, 'it has a section on the differences from Apache');

# ---------------------------------------------------------------- docs/directives.md
my $md = WeftTest::_slurp("$repo/docs/directives.md") // '';
my %in_md;
while ($md =~ /^### (.+)$/mg) {
    (my $name = $1) =~ s/\\(.)/$1/g;
    $in_md{$name} = 1;
}
my @md_missing = grep { !$in_md{ $_->[0] } } @rows;
is(scalar @md_missing, 0, 'docs/directives.md has a section for every directive')
    or diag("missing: " . join(', ', map { $_->[0] } @md_missing) . "\n$stale");
my @md_extra = grep { !$in_tables{$_} } sort keys %in_md;
is(scalar @md_extra, 0, 'docs/directives.md has none the tables lack') or diag("@md_extra\n$stale");

# ---------------------------------------------------------------- weft(8)
my $weft8 = WeftTest::_slurp("$repo/man/weft.8") // '';
ok(length $weft8, 'man/weft.8 exists');
($code, my $help) = $w->run_weft('-h');
my @options = $help =~ /^\s+(-[A-Za-z])\b/mg;
cmp_ok(scalar @options, '>=', 10, 'weft -h lists its options');
for my $option (@options) {
    (my $roff = $option) =~ s/-/\\\\-/;
    like($weft8, qr/^\.(?:B|BI|BR)\s+"?$roff\b/m, "weft(8) documents $option");
}
for my $section ('SIGNALS', 'FILES', 'EXIT STATUS', 'SYSTEMD', 'ENVIRONMENT') {
    like($weft8, qr/^\.SH $section$/m, "weft(8) has $section");
}
for my $signal (qw(SIGTERM SIGHUP SIGUSR1 SIGWINCH)) {
    like($weft8, qr/\b$signal\b/, "weft(8) explains $signal");
}
for my $define (qw(FOREGROUND DUMP_CONFIG DUMP_MODULES DUMP_DIRECTIVES)) {
    like($weft8, qr/^\.B(?:R)? $define\b/m, "weft(8) explains -D $define");
}
SKIP: {
    skip 'groff is not installed', 2 unless -x '/usr/bin/groff';
    for my $page ("$repo/man/weft.8", "$repo/man/weft.conf.5") {
        my $warnings = `groff -man -ww -z '$page' 2>&1`;
        is($warnings, '', "$page formats without a groff warning");
    }
}

# ---------------------------------------------------------------- -M
($code, my $modules) = $w->run_weft($w->weft_args, '-M');
is($code, 0, 'weft -M');
like($modules, qr/\ALoaded Modules:\n core_module \(static\)\n/, 'httpd -M layout: "Loaded Modules:", then core_module (static)');
like($modules, qr/^ mpm_worker_module \(static\)$/m, 'the MPM as mpm_worker_module');
like($modules, qr/^ status_module \(static\)$/m, 'status_module');
like($modules, qr/^ log_config_module \(static\)$/m, 'log_config_module');
my @module_lines = split /\n/, $modules;
is(scalar(grep { !/^ \w+_module \(static\)$/ } @module_lines[1 .. $#module_lines]), 0, 'every line " name_module (static)"');
($code, my $modules2) = $w->run_weft($w->weft_args, '-D', 'DUMP_MODULES');
is($modules2, $modules, '-D DUMP_MODULES is the same');

# ---------------------------------------------------------------- -D DUMP_CONFIG
($code, my $dump, $err) = $w->run_weft($w->weft_args, '-D', 'DUMP_CONFIG');
is($code, 0, 'weft -D DUMP_CONFIG') or diag($err);
my $root = $w->root;
like($dump, qr/^ServerTokens Prod$/m, 'a value the file set');
like($dump, qr/^Timeout 60$/m, 'a default the file did not set');
like($dump, qr/^KeepAliveTimeout 1500ms$/m, 'milliseconds print as such');
like($dump, qr/^LimitRequestBody 1073741824$/m, 'a size');
like($dump, qr/^KeepAlive On$/m, 'a flag');
like($dump, qr/^Options Indexes$/m, 'relative Options at server level, applied to the default');
like($dump, qr/^DirectoryIndex index\.html index\.htm$/m, 'a list');
like($dump, qr/^DocumentRoot \Q$root\E\/www$/m, 'paths resolved against ServerRoot');
like($dump, qr/^Listen 127\.0\.0\.1:\d+$/m, 'Listen');
like($dump, qr/^CustomLog \Q$root\E\/logs\/short_log "%h %>s"$/m, 'CustomLog with its nickname resolved');
like($dump, qr/^StartServers \d+$/m, 'MPM directives');
like($dump, qr/^ThreadLimit 64$/m, 'MPM defaults');
like($dump, qr{^<Directory \Q$root\E/www>\n    Options Indexes\n</Directory>$}m, 'a Directory section with what it sets');
like($dump, qr{^<Location /server-status>\n    SetHandler server-status\n</Location>$}m, 'a Location section');
$w->write_file('conf/dumped.conf', $dump);
($code, my $again, $err) = $w->run_weft('-d', $root, '-f', 'conf/dumped.conf', '-D', 'DUMP_CONFIG');
is($code, 0, 'the dump is itself a valid configuration') or diag($err);
# Rows of other modules that have no formatter yet print as a comment once
# the file sets them (the dump sets everything); the rest must match.
my %unshown = map { $_ => 1 } $again =~ /^# (\S+): set; its value cannot be shown/mg;
my @first = grep { !/^#/ && !(/^(\S+)/ && $unshown{$1}) } split /\n/, $dump;
my @second = grep { !/^#/ } split /\n/, $again;
is_deeply(\@second, \@first, 'read back, it dumps the same values')
    or diag("rows without a formatter: " . join(' ', sort keys %unshown));
note('rows printed only as comments when set (no formatter in their module): ' . join(' ', sort keys %unshown));

done_testing;
