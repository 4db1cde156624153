#!/bin/sh
# hello.cgi — the demo CGI script: what a script is told about the request.
# weft runs it because conf/weft.conf says `ScriptAlias /cgi-bin/ www/cgi-bin/`.

# HTML-escape standard input.
escape() {
    sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
cat <<HTML
<!DOCTYPE html>
<html><head><title>hello from CGI</title>
<link rel="stylesheet" href="/style.css"></head>
<body>
<h1>Hello from $(printf '%s' "$SERVER_SOFTWARE" | escape)</h1>
<p>This page was written by <code>www/cgi-bin/hello.cgi</code>, running as
user <code>$(id -un | escape)</code> in <code>$(pwd | escape)</code>.
Its environment, as RFC 3875 and Apache define it:</p>
<pre>
$(env | LC_ALL=C sort | escape)
</pre>
</body></html>
HTML
