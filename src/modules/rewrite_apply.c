/*
 * rewrite_apply.c — running a rule list over a request, as Apache 2.4's
 * apply_rewrite_list and apply_rewrite_rule: the pattern first (against the
 * URL-path, or in directory context the path with the directory's prefix
 * stripped), then the conditions, then the substitution, the query string
 * (QSA, QSD, QSL), the prefix added back, [R], self-reduction of an
 * absolute URL naming this server, and the flags that end or repeat the
 * list (L, END, N, S, C, PT).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/log.h"
#include "../http/response.h"
#include "rewrite_internal.h"

size_t rewrite_absolute_uri(const char *uri, bool *has_query)
{
    static const struct {
        const char *prefix;
        bool query;
    } schemes[] = {
        { "http://", true },  { "https://", true }, { "ws://", true },    { "wss://", true },
        { "ftp://", true },   { "ajp://", true },   { "fcgi://", true },  { "scgi://", true },
        { "uwsgi://", true }, { "h2://", true },    { "h2c://", true },   { "balancer://", true },
        { "gopher://", true }, { "nntp://", true }, { "ldap://", false }, { "mailto:", false },
        { "news:", false },
    };
    for (size_t i = 0; i < COUNT_OF(schemes); i++) {
        size_t length = strlen(schemes[i].prefix);
        if (strncasecmp(uri, schemes[i].prefix, length) == 0) {
            if (has_query)
                *has_query = schemes[i].query;
            return length;
        }
    }
    return 0;
}

/* Apache's splitout_queryargs: a '?' in the result starts the new query,
 * which replaces the old one, or with QSA goes before it; QSD drops the
 * old one. */
static void split_query(rewrite_run *run, unsigned flags)
{
    bool has_query = true;
    if (rewrite_absolute_uri(run->filename, &has_query) && !has_query) {
        run->query = NULL;
        return;
    }
    if (flags & RULE_QS_DISCARD) {
        rewrite_log(run, 2, "discarding query string, no parse from substitution");
        run->query = NULL;
    }
    char *question = (flags & RULE_QS_LAST) ? strrchr(run->filename, '?') : strchr(run->filename, '?');
    if (!question)
        return;
    *question++ = '\0';
    if (flags & RULE_QS_APPEND) {
        if (*question)
            run->query = run->query ? pool_printf(run->r->pool, "%s&%s", question, run->query)
                                    : pool_strdup(run->r->pool, question);
    } else {
        run->query = pool_strdup(run->r->pool, question);
    }
    if (run->query) {
        size_t length = strlen(run->query);
        if (length == 0)
            run->query = NULL;
        else if (run->query[length - 1] == '&')
            run->query[length - 1] = '\0';
    }
    rewrite_log(run, 3, "split uri=%s -> uri=%s, args=%s", run->filename, run->filename,
                run->query ? run->query : "<none>");
}

/* An absolute URL for [R]: a URL-path gets this server's scheme, name and
 * port (Apache's fully_qualify_uri). */
static void fully_qualify(rewrite_run *run)
{
    if (rewrite_absolute_uri(run->filename, NULL))
        return;
    const char *path = run->filename[0] == '/' ? run->filename : pool_printf(run->r->pool, "/%s", run->filename);
    run->filename = request_self_url(run->r, path);
}

/* Apache's reduce_uri: "http://this-server[:port]/path" -> "/path". */
static void reduce_uri(rewrite_run *run)
{
    request *r = run->r;
    const char *scheme = request_scheme(r);
    size_t scheme_length = strlen(scheme);
    const char *uri = run->filename;
    if (strncasecmp(uri, scheme, scheme_length) != 0 || strncmp(uri + scheme_length, "://", 3) != 0)
        return;
    const char *host = uri + scheme_length + 3;
    const char *host_end = host + strcspn(host, ":/");
    int port = strcasecmp(scheme, "https") == 0 ? 443 : 80;
    const char *rest = host_end;
    if (*rest == ':') {
        port = 0;
        for (rest++; *rest >= '0' && *rest <= '9' && port < 100000; rest++)
            port = port * 10 + (*rest - '0');
        if (*rest && *rest != '/')
            return;
    }
    const char *name = request_server_name(r);
    bool ours = (size_t)(host_end - host) == strlen(name) && strncasecmp(host, name, strlen(name)) == 0;
    const char *server_name = r->server->server_name;
    if (!ours && server_name) {
        const char *colon = strchr(server_name, ':');
        size_t length = colon ? (size_t)(colon - server_name) : strlen(server_name);
        ours = (size_t)(host_end - host) == length && strncasecmp(host, server_name, length) == 0;
    }
    if (!ours || port != request_server_port(r))
        return;
    const char *reduced = *rest ? rest : "/";
    rewrite_log(run, 3, "reduce %s -> %s", run->filename, reduced);
    run->filename = pool_strdup(r->pool, reduced);
}

/* E=[!]VAR[:VAL] */
static void apply_env(rewrite_run *run, const rewrite_rule *rule)
{
    for (int i = 0; i < rule->env_count; i++) {
        char *spec = rewrite_expand(run, rule->env[i].name, NULL);
        if (spec[0] == '!') {
            rewrite_log(run, 5, "unsetting env variable '%s'", spec + 1);
            request_unset_env(run->r, spec + 1);
            continue;
        }
        char *colon = strchr(spec, ':');
        if (colon)
            *colon++ = '\0';
        rewrite_log(run, 5, "setting env variable '%s' to '%s'", spec, colon ? colon : "");
        request_set_env(run->r, spec, colon ? colon : "");
    }
}

static bool cookie_flag_on(const char *value, const char *word)
{
    return value && (strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0 || strcasecmp(value, word) == 0);
}

/* CO=NAME:VALUE:DOMAIN[:lifetime[:path[:secure[:httponly[:samesite]]]]]
 * (';' separates instead when the value starts with it). */
static void apply_cookies(rewrite_run *run, const rewrite_rule *rule)
{
    pool *p = run->r->pool;
    rewrite_note *note = rewrite_request_note(run->r);
    for (int i = 0; i < rule->cookie_count; i++) {
        char *spec = rewrite_expand(run, rule->cookies[i], NULL);
        char separator[2] = { ':', '\0' };
        if (spec[0] == ';') {
            separator[0] = ';';
            spec++;
        }
        char *parts[8] = { NULL };
        int count = 0;
        for (char *save = NULL, *part = strtok_r(spec, separator, &save); part && count < 8;
             part = strtok_r(NULL, separator, &save))
            parts[count++] = part;
        if (count < 3)
            continue;
        bool seen = false;
        size_t name_length = strlen(parts[0]);
        for (int j = 0; j < note->cookie_count && !seen; j++)
            seen = strncmp(note->cookies[j], parts[0], name_length) == 0 && note->cookies[j][name_length] == '=';
        if (seen)
            continue;  /* once per name and request, as Apache */
        const char *expires = "";
        long minutes = parts[3] ? atol(parts[3]) : 0;
        if (minutes) {
            time_t when = run->r->start_seconds + minutes * 60;
            struct tm gmt;
            gmtime_r(&when, &gmt);
            char date[64];
            strftime(date, sizeof(date), "%a, %d-%b-%Y %H:%M:%S GMT", &gmt);
            expires = pool_printf(p, "; expires=%s", date);
        }
        char *cookie = pool_printf(p, "%s=%s; path=%s; domain=%s%s%s%s%s%s", parts[0], parts[1],
                                   parts[4] ? parts[4] : "/", parts[2], expires,
                                   cookie_flag_on(parts[5], "secure") ? "; secure" : "",
                                   cookie_flag_on(parts[6], "HttpOnly") ? "; HttpOnly" : "",
                                   parts[7] && strcmp(parts[7], "0") != 0 && strcasecmp(parts[7], "false") != 0
                                       ? "; SameSite=" : "",
                                   parts[7] && strcmp(parts[7], "0") != 0 && strcasecmp(parts[7], "false") != 0
                                       ? parts[7] : "");
        rewrite_log(run, 5, "setting cookie '%s'", cookie);
        const char **grown = pool_alloc(p, sizeof(char *) * (size_t)(note->cookie_count + 1));
        if (note->cookie_count)
            memcpy(grown, note->cookies, sizeof(char *) * (size_t)note->cookie_count);
        grown[note->cookie_count++] = cookie;
        note->cookies = grown;
    }
}

static void force_type_handler(rewrite_run *run, const rewrite_rule *rule)
{
    if (rule->type) {
        rewrite_log(run, 2, "remember %s to have MIME-type '%s'", run->filename, rule->type);
        run->type = rule->type;
    }
    if (rule->handler) {
        rewrite_log(run, 2, "remember %s to have Content-handler '%s'", run->filename, rule->handler);
        run->handler = rule->handler;
    }
}

/* The conditions of a rule whose pattern matched (OR chains as Apache's). */
static bool conditions_hold(rewrite_run *run, const rewrite_rule *rule)
{
    for (int i = 0; i < rule->cond_count; i++) {
        const rewrite_cond *cond = &rule->conds[i];
        bool holds = rewrite_cond_holds(run, cond);
        if (cond->no_vary)
            run->vary_this = NULL;
        if (cond->or_next) {
            if (!holds)
                continue;
            while (i < rule->cond_count && rule->conds[i].or_next)
                i++;  /* the rest of the OR chain need not be tested */
        } else if (!holds) {
            return false;
        }
        if (run->vary_this) {
            run->vary = run->vary ? pool_printf(run->r->pool, "%s, %s", run->vary, run->vary_this) : run->vary_this;
            run->vary_this = NULL;
        }
    }
    return true;
}

/* 0: no match; 1: matched and rewritten; 2: matched, no substitution. */
static int apply_rule(rewrite_run *run, const rewrite_rule *rule)
{
    request *r = run->r;
    const char *uri = run->filename;
    if (run->perdir && run->path_info)
        uri = pool_printf(r->pool, "%s%s", run->filename, run->path_info);  /* the whole path again */
    if (run->perdir) {
        size_t length = strlen(run->perdir);
        if (strlen(uri) >= length && strncmp(uri, run->perdir, length) == 0) {
            rewrite_log(run, 3, "strip per-dir prefix: %s -> %s", uri, uri + length);
            uri += length;
        }
    }
    rewrite_log(run, 3, "applying pattern '%s' to uri '%s'", rule->pattern, uri);
    regex_group groups[REGEX_MAX_GROUPS];
    bool matched = regex_match(rule->regex, uri, strlen(uri), groups, REGEX_MAX_GROUPS);
    if (matched == ((rule->flags & RULE_NEGATE) != 0))
        return 0;
    run->vary_this = NULL;
    run->cond_subject = NULL;
    if (rule->flags & RULE_NEGATE) {
        run->rule_subject = NULL;
    } else {
        run->rule_subject = pool_strdup(r->pool, uri);
        memcpy(run->rule_groups, groups, sizeof(groups));
    }
    if (!conditions_hold(run, rule))
        return 0;

    char *result = NULL;
    if (!(rule->flags & RULE_NO_SUBSTITUTION)) {
        result = rewrite_expand(run, rule->output, rule);
        rewrite_log(run, 2, "rewrite '%s' -> '%s'", uri, result);
    }
    apply_env(run, rule);
    apply_cookies(run, rule);
    if (rule->flags & RULE_NO_SUBSTITUTION) {
        force_type_handler(run, rule);
        if (rule->flags & RULE_STATUS) {
            rewrite_log(run, 2, "forcing responsecode %d for %s", rule->status, run->filename);
            run->status = rule->status;
        }
        return 2;
    }
    run->filename = result;
    if (run->perdir && (rule->flags & RULE_DISCARD_PATH_INFO))
        run->path_info = NULL;
    split_query(run, rule->flags);
    if (run->perdir && run->filename[0] != '/' && !rewrite_absolute_uri(run->filename, NULL)) {
        rewrite_log(run, 3, "add per-dir prefix: %s -> %s%s", run->filename, run->perdir, run->filename);
        run->filename = pool_printf(r->pool, "%s%s", run->perdir, run->filename);
    }
    if (rule->flags & RULE_REDIRECT) {
        fully_qualify(run);
        rewrite_log(run, 2, "explicitly forcing redirect with %s", run->filename);
        run->status = rule->status;
        return 1;
    }
    reduce_uri(run);
    if (rewrite_absolute_uri(run->filename, NULL)) {
        rewrite_log(run, 2, "implicitly forcing redirect (rc=%d) with %s", rule->status ? rule->status : 302,
                    run->filename);
        run->status = rule->status;
        return 1;
    }
    force_type_handler(run, rule);
    return 1;
}

int rewrite_apply_list(rewrite_run *run, const rewrite_rule *rules, int count)
{
    request *r = run->r;
    int changed = REWRITE_UNCHANGED;
    bool lookup = r->lookup_depth > 0;
restart:
    for (int i = 0; i < count; i++) {
        const rewrite_rule *rule = &rules[i];
        if (lookup && (rule->flags & (RULE_NO_SUBREQUEST | RULE_REDIRECT)))
            continue;
        run->vary = NULL;
        int rc = apply_rule(run, rule);
        if (!rc) {
            while (i < count && (rules[i].flags & RULE_CHAIN))
                i++;  /* a failed link fails the rest of its chain */
            continue;
        }
        if (strlen(run->filename) > 2 * (size_t)r->server->limit_request_line + 2) {
            log_module_message(LOG_LEVEL_ERROR, "rewrite", "RewriteRule '%s' and URI '%s' exceeded the maximum "
                               "length (%d)", rule->pattern, r->path, 2 * r->server->limit_request_line);
            run->status = 500;
            return REWRITE_STATUS;
        }
        if (run->vary)
            response_add_header(r, "Vary", run->vary);
        if (rule->flags & RULE_STATUS)
            return REWRITE_STATUS;
        if (rc != 2)
            changed = (rule->flags & RULE_NO_ESCAPE) ? REWRITE_CHANGED_NO_ESCAPE : REWRITE_CHANGED;
        if (rule->flags & RULE_PASS_THROUGH) {
            rewrite_log(run, 2, "forcing '%s' to get passed through to next API URI-to-filename handler",
                        run->filename);
            run->filename = pool_printf(r->pool, "passthrough:%s", run->filename);
            return REWRITE_CHANGED;
        }
        if (rule->flags & RULE_END) {
            rewrite_log(run, 8, "Rule has END flag, no further rewriting for this request");
            run->end = true;
            break;
        }
        if (rule->flags & RULE_LAST)
            break;
        if (rule->flags & RULE_NEXT_ROUND) {
            if (++run->rounds > rule->max_rounds) {
                log_module_message(LOG_LEVEL_ERROR, "rewrite", "RewriteRule '%s' and URI '%s' exceeded maximum "
                                   "number of rounds (%d) via the [N] flag", rule->pattern, r->path, rule->max_rounds);
                run->status = 500;
                return REWRITE_STATUS;
            }
            goto restart;
        }
        if (rule->skip > 0)
            i += rule->skip;
    }
    return changed;
}
