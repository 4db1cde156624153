/*
 * status_live.c — /server-status?live: a page that polls ?json once a second
 * and draws the last five minutes of it: requests per second, busy and idle
 * threads against the Min/MaxSpareThreads band, the children with every fork
 * and retirement the control process decided marked on the line, the
 * scoreboard as a grid coloured by state, and the latest decisions with
 * their reasons.
 *
 * Self-contained: no file, font or script from anywhere, so that it works on
 * a server without Internet access and under the strict
 * Content-Security-Policy the response sends itself: nothing but this
 * page's one <style> and one <script> (allowed by a nonce fresh for each
 * response, no 'unsafe-inline'), fetches to the same origin, and an empty
 * data: icon (else the browser asks for /favicon.ico, and a 404 there is
 * an error on the console).  Without
 * JavaScript it goes to the plain status page (a <noscript> refresh).
 * Phones get a viewport and a layout that reflows; a dark colour scheme
 * follows prefers-color-scheme.
 *
 * The elements carry ids and data- attributes (data-samples, data-points,
 * data-action on each event mark, data-polls, data-errors) that
 * t/98-status-live.t reads from the DOM of a headless browser.
 */
#include <stddef.h>
#include <sys/random.h>

#include "../core/buffer.h"
#include "../http/request.h"
#include "../http/response.h"
#include "status_internal.h"

/* The page, cut where the nonce goes (in <style> and in <script>). */
static const char live_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"color-scheme\" content=\"light dark\">\n"
    "<title>Weft live status</title>\n"
    "<link rel=\"icon\" href=\"data:,\">\n"
    "<noscript><meta http-equiv=\"refresh\" content=\"0; url=?refresh=5\"></noscript>\n"
    "<style nonce=\"";

static const char live_middle[] =
    "\">\n"
    ":root { --bg: #fbfbfa; --fg: #1d1f21; --muted: #6b7075; --panel: #ffffff; --line: #d9dcdf;\n"
    "  --rps: #1f6feb; --busy: #d1495b; --idle: #2e9e5b; --band: rgba(46, 158, 91, .14);\n"
    "  --children: #6f42c1; --fork: #e36209; --retire: #0a7ea4;\n"
    "  --s-idle: #cfe8d8; --s-busy: #d1495b; --s-read: #f0a04b; --s-start: #9ecae1; --s-grace: #b39ddb;\n"
    "  --s-open: #eceff1; --s-other: #9e9e9e; }\n"
    "@media (prefers-color-scheme: dark) {\n"
    "  :root { --bg: #111417; --fg: #e6e6e6; --muted: #9aa0a6; --panel: #1a1e22; --line: #30363d;\n"
    "    --rps: #58a6ff; --busy: #ff7b72; --idle: #56d364; --band: rgba(86, 211, 100, .16);\n"
    "    --children: #bc8cff; --fork: #ffa657; --retire: #39c5cf;\n"
    "    --s-idle: #1f4d2e; --s-busy: #ff7b72; --s-read: #d29922; --s-start: #1f6feb; --s-grace: #8957e5;\n"
    "    --s-open: #262c33; --s-other: #6e7681; }\n"
    "}\n"
    "* { box-sizing: border-box; }\n"
    "body { margin: 0; padding: 12px; background: var(--bg); color: var(--fg);\n"
    "  font: 14px/1.4 system-ui, -apple-system, \"Segoe UI\", sans-serif; }\n"
    "h1 { font-size: 1.25em; margin: 0 0 4px; }\n"
    "h2 { font-size: 1em; margin: 0 0 6px; }\n"
    "a { color: var(--rps); }\n"
    "#state { color: var(--muted); margin: 0 0 10px; }\n"
    ".figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(110px, 1fr)); gap: 8px; margin-bottom: 12px; }\n"
    ".figure { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }\n"
    ".figure b { display: block; font-size: 1.4em; font-variant-numeric: tabular-nums; }\n"
    ".figure span { color: var(--muted); font-size: .85em; }\n"
    ".panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }\n"
    ".panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px; min-width: 0; }\n"
    ".legend { color: var(--muted); font-size: .85em; margin-top: 4px; }\n"
    ".legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 3px 0 8px; vertical-align: -1px; }\n"
    "svg.chart { width: 100%; height: 140px; display: block; }\n"
    "svg.chart .frame { fill: none; stroke: var(--line); }\n"
    "svg.chart polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; stroke-linejoin: round; }\n"
    "#rps-line { stroke: var(--rps); }\n"
    "#busy-line, i.busy { stroke: var(--busy); background: var(--busy); }\n"
    "#idle-line, i.idle { stroke: var(--idle); background: var(--idle); }\n"
    "#children-line { stroke: var(--children); }\n"
    "i.band, rect.band { fill: var(--band); background: var(--band); }\n"
    "i.fork, .event.fork { stroke: var(--fork); background: var(--fork); }\n"
    "i.retire, .event.retire { stroke: var(--retire); background: var(--retire); }\n"
    "i.children { background: var(--children); }\n"
    ".event { stroke-width: 2; vector-effect: non-scaling-stroke; }\n"
    ".scale { color: var(--muted); font-size: .8em; display: flex; justify-content: space-between; }\n"
    "#grid { display: flex; flex-wrap: wrap; gap: 2px; }\n"
    "#grid .row { display: flex; gap: 2px; margin-right: 6px; }\n"
    "#grid span { width: 12px; height: 12px; border-radius: 2px; background: var(--s-other); }\n"
    "#grid .s-idle, i.s-idle { background: var(--s-idle); }\n"
    "#grid .s-sending, #grid .s-logging, #grid .s-closing, #grid .s-keepalive, #grid .s-dns, i.s-busy { background: var(--s-busy); }\n"
    "#grid .s-reading, i.s-reading { background: var(--s-read); }\n"
    "#grid .s-starting, i.s-starting { background: var(--s-start); }\n"
    "#grid .s-graceful, #grid .s-cleanup, i.s-graceful { background: var(--s-grace); }\n"
    "#grid .s-open, i.s-open { background: var(--s-open); outline: 1px solid var(--line); }\n"
    "table { border-collapse: collapse; width: 100%; font-size: .9em; }\n"
    "td, th { text-align: left; padding: 2px 6px 2px 0; border-bottom: 1px solid var(--line); vertical-align: top; }\n"
    "td.n { text-align: right; font-variant-numeric: tabular-nums; }\n"
    ".wide { grid-column: 1 / -1; }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>Weft live status</h1>\n"
    "<p id=\"state\">Waiting for the first figures&hellip; (<a href=\"?refresh=5\">plain status page</a>)</p>\n"
    "<noscript><p>This page draws with JavaScript; <a href=\"?refresh=5\">the plain status page</a> shows the same figures.</p></noscript>\n"
    "<div class=\"figures\">\n"
    "<div class=\"figure\"><b id=\"f-rps\">-</b><span>requests/s</span></div>\n"
    "<div class=\"figure\"><b id=\"f-busy\">-</b><span>busy threads</span></div>\n"
    "<div class=\"figure\"><b id=\"f-idle\">-</b><span>idle threads</span></div>\n"
    "<div class=\"figure\"><b id=\"f-band\">-</b><span>Min&ndash;MaxSpareThreads</span></div>\n"
    "<div class=\"figure\"><b id=\"f-children\">-</b><span>children</span></div>\n"
    "<div class=\"figure\"><b id=\"f-moving\">-</b><span>starting / stopping</span></div>\n"
    "<div class=\"figure\"><b id=\"f-rate\">-</b><span>spawn rate</span></div>\n"
    "</div>\n"
    "<div class=\"panels\">\n"
    "<div class=\"panel\"><h2>Requests per second</h2>\n"
    "<svg class=\"chart\" id=\"chart-rps\" viewBox=\"0 0 600 140\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"requests per second\"></svg>\n"
    "<div class=\"scale\"><span id=\"rps-age\">-</span><span id=\"rps-max\">-</span></div></div>\n"
    "<div class=\"panel\"><h2>Threads</h2>\n"
    "<svg class=\"chart\" id=\"chart-threads\" viewBox=\"0 0 600 140\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"busy and idle threads\"></svg>\n"
    "<div class=\"scale\"><span id=\"threads-age\">-</span><span id=\"threads-max\">-</span></div>\n"
    "<div class=\"legend\"><i class=\"busy\"></i>busy <i class=\"idle\"></i>idle <i class=\"band\"></i>Min/MaxSpareThreads</div></div>\n"
    "<div class=\"panel\"><h2>Children</h2>\n"
    "<svg class=\"chart\" id=\"chart-children\" viewBox=\"0 0 600 140\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"child processes\"></svg>\n"
    "<div class=\"scale\"><span id=\"children-age\">-</span><span id=\"children-max\">-</span></div>\n"
    "<div class=\"legend\"><i class=\"children\"></i>children <i class=\"fork\"></i>fork <i class=\"retire\"></i>retire</div></div>\n"
    "<div class=\"panel\"><h2>Scoreboard</h2><div id=\"grid\"></div>\n"
    "<div class=\"legend\"><i class=\"s-idle\"></i>idle <i class=\"s-reading\"></i>reading <i class=\"s-busy\"></i>busy <i class=\"s-starting\"></i>starting <i class=\"s-graceful\"></i>finishing <i class=\"s-open\"></i>open</div></div>\n"
    "<div class=\"panel wide\"><h2>Regulation decisions</h2>\n"
    "<table><thead><tr><th>time</th><th>action</th><th>count</th><th>idle</th><th>reason</th></tr></thead><tbody id=\"decisions\"></tbody></table></div>\n"
    "</div>\n"
    "<script nonce=\"";

static const char live_tail[] =
    "\">\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var HISTORY_MS = 300000, POLL_MS = 1000, W = 600, H = 140, NS = 'http://www.w3.org/2000/svg';\n"
    "  var STATES = { '_': 'idle', 'S': 'starting', 'R': 'reading', 'W': 'sending', 'K': 'keepalive', 'D': 'dns',\n"
    "    'C': 'closing', 'L': 'logging', 'G': 'graceful', 'I': 'cleanup', '.': 'open' };\n"
    "  var samples = [], events = {}, previous = null, polls = 0, errors = [], span = 20000;\n"
    "  var body = document.body;\n"
    "\n"
    "  function $(id) { return document.getElementById(id); }\n"
    "  function note(message) {\n"
    "    errors.push(String(message));\n"
    "    body.setAttribute('data-errors', String(errors.length));\n"
    "  }\n"
    "  window.addEventListener('error', function (e) { note(e.message); });\n"
    "  document.addEventListener('securitypolicyviolation', function (e) { note('CSP ' + e.violatedDirective); });\n"
    "\n"
    "  function element(name, attributes) {\n"
    "    var e = document.createElementNS(NS, name);\n"
    "    for (var k in attributes) e.setAttribute(k, attributes[k]);\n"
    "    return e;\n"
    "  }\n"
    "  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }\n"
    "  function text(id, value) { $(id).textContent = value; }\n"
    "  function number(n) { return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10); }\n"
    "  /* The window: the history kept (five minutes at most, 20 s at least). */\n"
    "  function x(t, now) { return Math.max(0, (t - (now - span)) / span * W); }\n"
    "  function y(v, top) { return H - 4 - (H - 8) * v / top; }\n"
    "  function ceiling(v) { var top = 1; while (top < v) top = top < 10 ? top + 1 : Math.ceil(top * 1.25); return top; }\n"
    "\n"
    "  function line(svg, id, now, top, field, step) {\n"
    "    var points = [], last = null;\n"
    "    samples.forEach(function (s) {\n"
    "      var v = s[field];\n"
    "      if (v === null || v === undefined) return;\n"
    "      var px = x(s.t, now).toFixed(1);\n"
    "      if (step && last !== null) points.push(px + ',' + y(last, top).toFixed(1));\n"
    "      points.push(px + ',' + y(v, top).toFixed(1));\n"
    "      last = v;\n"
    "    });\n"
    "    svg.appendChild(element('polyline', { id: id, points: points.join(' '), 'data-points': String(points.length) }));\n"
    "    return points.length;\n"
    "  }\n"
    "  function frame(svg) {\n"
    "    clear(svg);\n"
    "    svg.appendChild(element('rect', { 'class': 'frame', x: 0, y: 0, width: W, height: H }));\n"
    "  }\n"
    "  function age(id) {\n"
    "    var first = samples.length ? samples[0].t : 0, last = samples.length ? samples[samples.length - 1].t : 0;\n"
    "    text(id, samples.length ? 'last ' + Math.round(span / 1000) + ' s (' + Math.round((last - first) / 1000) +\n"
    "      ' s polled)' : '-');\n"
    "  }\n"
    "\n"
    "  function drawRates(now) {\n"
    "    var svg = $('chart-rps'), top = 1;\n"
    "    samples.forEach(function (s) { if (s.rps !== null) top = Math.max(top, s.rps); });\n"
    "    top = ceiling(top);\n"
    "    frame(svg);\n"
    "    svg.setAttribute('data-samples', String(line(svg, 'rps-line', now, top, 'rps', false)));\n"
    "    text('rps-max', 'max ' + top + ' req/s');\n"
    "    age('rps-age');\n"
    "  }\n"
    "\n"
    "  function drawThreads(now) {\n"
    "    var svg = $('chart-threads'), top = 1, latest = samples[samples.length - 1];\n"
    "    samples.forEach(function (s) { top = Math.max(top, s.busy, s.idle, s.max); });\n"
    "    top = ceiling(top);\n"
    "    frame(svg);\n"
    "    svg.appendChild(element('rect', { 'class': 'band', id: 'spare-band', x: 0, width: W,\n"
    "      y: y(latest.max, top).toFixed(1), height: Math.max(1, y(latest.min, top) - y(latest.max, top)).toFixed(1),\n"
    "      'data-min': String(latest.min), 'data-max': String(latest.max) }));\n"
    "    var busy = line(svg, 'busy-line', now, top, 'busy', true), idle = line(svg, 'idle-line', now, top, 'idle', true);\n"
    "    svg.setAttribute('data-samples', String(Math.min(busy, idle)));\n"
    "    text('threads-max', 'max ' + top + ' threads');\n"
    "    age('threads-age');\n"
    "  }\n"
    "\n"
    "  function drawChildren(now) {\n"
    "    var svg = $('chart-children'), top = 1, forks = 0, retires = 0;\n"
    "    samples.forEach(function (s) { top = Math.max(top, s.children); });\n"
    "    Object.keys(events).forEach(function (k) { top = Math.max(top, events[k].children); });\n"
    "    top = ceiling(top + 1);\n"
    "    frame(svg);\n"
    "    Object.keys(events).sort().forEach(function (k) {\n"
    "      var e = events[k], px = x(e.t, now).toFixed(1);\n"
    "      var mark = element('line', { 'class': 'event ' + e.action, x1: px, x2: px, y1: 0, y2: H,\n"
    "        'data-action': e.action, 'data-time': String(e.t), 'data-count': String(e.count), 'data-reason': e.reason });\n"
    "      var title = element('title', {});\n"
    "      title.textContent = e.action + ' ' + e.count + ': ' + e.reason;\n"
    "      mark.appendChild(title);\n"
    "      svg.appendChild(mark);\n"
    "      if (e.action === 'fork') forks++; else retires++;\n"
    "    });\n"
    "    svg.setAttribute('data-samples', String(line(svg, 'children-line', now, top, 'children', true)));\n"
    "    svg.setAttribute('data-forks', String(forks));\n"
    "    svg.setAttribute('data-retires', String(retires));\n"
    "    text('children-max', forks + ' fork and ' + retires + ' retire events shown');\n"
    "    age('children-age');\n"
    "  }\n"
    "\n"
    "  function drawGrid(board) {\n"
    "    var grid = $('grid'), perChild = board.threads_per_child, states = board.states, cells = 0;\n"
    "    clear(grid);\n"
    "    for (var slot = 0; slot * perChild < states.length; slot++) {\n"
    "      var row = document.createElement('div');\n"
    "      row.className = 'row';\n"
    "      for (var t = 0; t < perChild; t++) {\n"
    "        var letter = states.charAt(slot * perChild + t), cell = document.createElement('span');\n"
    "        cell.className = 's-' + (STATES[letter] || 'unknown');\n"
    "        cell.title = 'slot ' + slot + ' thread ' + t + ': ' + (STATES[letter] || 'unknown');\n"
    "        cell.setAttribute('data-state', letter);\n"
    "        row.appendChild(cell);\n"
    "        cells++;\n"
    "      }\n"
    "      grid.appendChild(row);\n"
    "    }\n"
    "    grid.setAttribute('data-cells', String(cells));\n"
    "  }\n"
    "\n"
    "  function drawDecisions(list) {\n"
    "    var tbody = $('decisions');\n"
    "    clear(tbody);\n"
    "    list.slice(0, 12).forEach(function (d) {\n"
    "      var tr = document.createElement('tr');\n"
    "      [new Date(d.time_ms).toLocaleTimeString(), d.action, d.count, d.idle === null ? '' : d.idle, d.reason]\n"
    "        .forEach(function (value, i) {\n"
    "          var td = document.createElement('td');\n"
    "          td.textContent = String(value);\n"
    "          if (i === 2 || i === 3) td.className = 'n';\n"
    "          tr.appendChild(td);\n"
    "        });\n"
    "      tbody.appendChild(tr);\n"
    "    });\n"
    "  }\n"
    "\n"
    "  function update(d) {\n"
    "    var now = d.time.now_ms, reg = d.regulation, accesses = d.totals.accesses, rps = null;\n"
    "    if (previous && now > previous.t && accesses >= previous.accesses)\n"
    "      rps = (accesses - previous.accesses) * 1000 / (now - previous.t);\n"
    "    previous = { t: now, accesses: accesses };\n"
    "    samples.push({ t: now, rps: rps, busy: d.workers.busy, idle: d.workers.idle,\n"
    "      min: reg.min_spare_threads, max: reg.max_spare_threads, children: d.processes.length });\n"
    "    while (samples.length && samples[0].t < now - HISTORY_MS) samples.shift();\n"
    "    reg.decisions.forEach(function (e) {\n"
    "      if ((e.action === 'fork' || e.action === 'retire') && e.time_ms > now - HISTORY_MS)\n"
    "        events[e.time_ms + ':' + e.action] = { t: e.time_ms, action: e.action, count: e.count, reason: e.reason,\n"
    "          children: e.children };\n"
    "    });\n"
    "    Object.keys(events).forEach(function (k) { if (events[k].t < now - HISTORY_MS) delete events[k]; });\n"
    "    var first = samples[0].t;\n"
    "    Object.keys(events).forEach(function (k) { first = Math.min(first, events[k].t); });\n"
    "    span = Math.min(HISTORY_MS, Math.max(20000, now - first + 1000));\n"
    "\n"
    "    text('f-rps', rps === null ? '-' : number(rps));\n"
    "    text('f-busy', d.workers.busy);\n"
    "    text('f-idle', d.workers.idle);\n"
    "    text('f-band', reg.min_spare_threads + '\\u2013' + reg.max_spare_threads);\n"
    "    text('f-children', d.processes.length);\n"
    "    text('f-moving', reg.starting + ' / ' + reg.stopping);\n"
    "    text('f-rate', reg.spawn_rate);\n"
    "    drawRates(now);\n"
    "    drawThreads(now);\n"
    "    drawChildren(now);\n"
    "    drawGrid(d.scoreboard);\n"
    "    drawDecisions(reg.decisions);\n"
    "    polls++;\n"
    "    body.setAttribute('data-polls', String(polls));\n"
    "    /* For the browser test: the colour scheme in force, and whether the\n"
    "     * page fits the width of the screen (no sideways scrolling on a phone). */\n"
    "    body.setAttribute('data-scheme', window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');\n"
    "    body.setAttribute('data-fits', String(document.documentElement.scrollWidth <= window.innerWidth));\n"
    "    text('state', d.server.name + ' \\u2014 ' + d.server.version + ', up ' + d.time.uptime + ' s, updated ' +\n"
    "      new Date(now).toLocaleTimeString());\n"
    "  }\n"
    "\n"
    "  function poll() {\n"
    "    fetch('?json', { cache: 'no-store', credentials: 'same-origin' })\n"
    "      .then(function (response) {\n"
    "        if (!response.ok) throw new Error('HTTP ' + response.status);\n"
    "        return response.json();\n"
    "      })\n"
    "      .then(update)\n"
    "      .catch(function (e) { text('state', 'Not updated: ' + e.message + ' (retrying)'); })\n"
    "      .then(function () { setTimeout(poll, POLL_MS); });\n"
    "  }\n"
    "  poll();\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

/* base64 of 18 random bytes: 24 characters, no padding. */
static void make_nonce(char out[25])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char bytes[18];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    /* getrandom does not fail for 18 bytes once the pool is ready; if it
     * ever did, the rest would be zero bytes: a weaker nonce, still a policy. */
    for (size_t i = got; i < sizeof bytes; i++)
        bytes[i] = 0;
    for (size_t i = 0, o = 0; i < sizeof bytes; i += 3) {
        unsigned value = (unsigned)bytes[i] << 16 | (unsigned)bytes[i + 1] << 8 | bytes[i + 2];
        out[o++] = alphabet[value >> 18 & 63];
        out[o++] = alphabet[value >> 12 & 63];
        out[o++] = alphabet[value >> 6 & 63];
        out[o++] = alphabet[value & 63];
    }
    out[24] = '\0';
}

void status_render_live(buffer *b, request *r)
{
    char nonce[25];
    make_nonce(nonce);
    buffer_append(b, live_head, sizeof live_head - 1);
    buffer_append_string(b, nonce);
    buffer_append(b, live_middle, sizeof live_middle - 1);
    buffer_append_string(b, nonce);
    buffer_append(b, live_tail, sizeof live_tail - 1);
    response_add_header(r, "Content-Security-Policy",
                        pool_printf(r->pool,
                                    "default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; "
                                    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                                    "frame-ancestors 'none'",
                                    nonce, nonce));
    response_add_header(r, "X-Content-Type-Options", "nosniff");
    response_add_header(r, "Referrer-Policy", "no-referrer");
    response_add_header(r, "Cache-Control", "no-store");
}
