/*
 * negotiation.c — Apache's mod_negotiation for Options MultiViews (module
 * "negotiation", so that <IfModule negotiation_module> holds).
 *
 * A request whose file does not exist, in a directory with MultiViews, is
 * looked for as NAME.* in that directory: every file NAME.ext1.ext2... whose
 * extensions mod_mime all knows (AddType/TypesConfig, AddLanguage,
 * AddEncoding: mime_classify) and that has a type is a variant.  The variant
 * served is Apache's choice (its documented algorithm, charset steps aside):
 *   1. the highest Accept quality of its type ("*" ranges without a q count
 *      0.01, "major/any" 0.02, as Apache fiddles them; no Accept: all 1);
 *   2. the highest Accept-Language quality of its language (a range matches
 *      the tag or its prefix; "en-US" still matches "en", at a thousandth;
 *      a variant without language is acceptable at a thousandth; no
 *      Accept-Language: all 1);
 *   3. the earlier language in LanguagePriority, then in Accept-Language;
 *   4. an encoding the client accepts (Accept-Encoding) over none; an
 *      encoding it does not accept (or no Accept-Encoding) excludes it;
 *   5. the smallest, then the first by name.
 * A variant whose own lookup is refused (its <Files>, Require) is dropped
 * and the next chosen.  None acceptable: 406, unless ForceLanguagePriority
 * Fallback, which serves the LanguagePriority choice among the variants
 * that failed only on language.  The response has Apache's Content-Location
 * (the variant's name), "Vary: negotiate" plus accept, accept-language,
 * accept-encoding for what the variants differ in, and TCN.
 *
 * Type maps: the handler "type-map" (SetHandler, or Debian's "AddHandler
 * type-map var") reads Apache's map format (URI, Content-Type with qs,
 * Content-Language, Content-Encoding records separated by blank lines) and
 * chooses among its variants the same way, qs multiplying the Accept
 * quality; the chosen URI is then served by its own handlers.  Inline
 * Body: records are not supported (left out).
 *
 * Directives (negotiation_module):
 *   LanguagePriority tag ...                      anywhere
 *   ForceLanguagePriority None|Prefer|Fallback [Prefer|Fallback]   anywhere
 */
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/module.h"
#include "../http/negotiate.h"
#include "../http/request.h"
#include "../http/response.h"
#include "../http/uri.h"
#include "cgi.h"
#include "file_open.h"
#include "mime.h"

enum { FORCE_PREFER = 1, FORCE_FALLBACK = 2, FORCE_NONE = 4 };

typedef struct {
    char **language_priority;       /* NULL-terminated; NULL = none */
    int force_language_priority;    /* FORCE_*; 0 = not set: Prefer */
} negotiation_dir_config;

extern const module negotiation_module;

#define MAX_VARIANTS 64
#define MAX_ACCEPT_MEMBERS 32

typedef struct {
    const char *name;
    mime_info info;
    int64_t size;
    int source_quality;      /* a type map's qs, thousandths (1000 otherwise) */
    int type_quality;        /* thousandths */
    int language_quality;    /* millionths */
    int priority_index;      /* in LanguagePriority; INT_MAX if not there */
    int accept_index;        /* of the Accept-Language member that matched */
    bool encoding_accepted;  /* encoded, and Accept-Encoding takes it */
    bool encoding_refused;
    bool dropped;            /* its lookup was refused */
} variant;

typedef struct {
    http_accept_member accept[MAX_ACCEPT_MEMBERS];
    int accept_count;
    bool has_accept;
    http_accept_member languages[MAX_ACCEPT_MEMBERS];
    int language_count;
    bool has_languages;
    slice accept_encoding;
} client_preferences;

static bool range_equals(slice a, const char *text, size_t length)
{
    return a.length == length && strncasecmp(a.data, text, length) == 0;
}

/* The Accept quality of type (parameters ignored): the most specific
 * matching range's. */
static int type_quality(const client_preferences *prefs, const char *type)
{
    if (!prefs->has_accept)
        return 1000;
    size_t length = strcspn(type, "; \t");
    const char *slash = memchr(type, '/', length);
    size_t major = slash ? (size_t)(slash - type) : length;
    int best = 0, best_rank = -1;
    for (int i = 0; i < prefs->accept_count; i++) {
        const http_accept_member *m = &prefs->accept[i];
        int rank, weight = m->weight;
        if (range_equals(m->value, type, length)) {
            rank = 2;
        } else if (m->value.length == major + 2 && strncasecmp(m->value.data, type, major) == 0 &&
                   m->value.data[major] == '/' && m->value.data[major + 1] == '*') {
            rank = 1;
            if (!m->explicit_weight)
                weight = 20;
        } else if (range_equals(m->value, "*/*", 3)) {
            rank = 0;
            if (!m->explicit_weight)
                weight = 10;
        } else {
            continue;
        }
        if (rank > best_rank) {
            best_rank = rank;
            best = weight;
        }
    }
    return best;
}

static void rate_language(const client_preferences *prefs, char *const *priority, variant *v)
{
    v->priority_index = INT_MAX;
    v->accept_index = INT_MAX;
    for (int l = 0; l < v->info.language_count; l++)
        for (int p = 0; priority && priority[p]; p++)
            if (strcasecmp(priority[p], v->info.languages[l]) == 0 && p < v->priority_index)
                v->priority_index = p;
    if (!prefs->has_languages) {
        v->language_quality = 1000000;
        return;
    }
    if (v->info.language_count == 0) {
        v->language_quality = 1000;
        return;
    }
    int best = 0;
    for (int l = 0; l < v->info.language_count; l++) {
        const char *tag = v->info.languages[l];
        size_t tag_length = strlen(tag);
        for (int i = 0; i < prefs->language_count; i++) {
            slice range = prefs->languages[i].value;
            int quality;
            if (range_equals(range, tag, tag_length))
                quality = prefs->languages[i].weight * 1000;
            else if (range.length < tag_length && strncasecmp(range.data, tag, range.length) == 0 &&
                     tag[range.length] == '-')
                quality = prefs->languages[i].weight * 1000;
            else if (range.length == 1 && range.data[0] == '*')
                quality = prefs->languages[i].weight * 999;   /* an explicit match goes first */
            else if (tag_length < range.length && strncasecmp(range.data, tag, tag_length) == 0 &&
                     range.data[tag_length] == '-')
                quality = prefs->languages[i].weight;         /* Apache's leniency: en-US takes en */
            else
                continue;
            if (quality > best || (quality == best && quality > 0 && i < v->accept_index)) {
                best = quality;
                v->accept_index = i;
            }
        }
    }
    v->language_quality = best;
}

static void rate(const client_preferences *prefs, char *const *priority, variant *v)
{
    v->type_quality = type_quality(prefs, v->info.type) * (v->source_quality ? v->source_quality : 1000) / 1000;
    rate_language(prefs, priority, v);
    if (v->info.encoding) {
        v->encoding_accepted = http_accepts_encoding(prefs->accept_encoding, v->info.encoding);
        v->encoding_refused = !v->encoding_accepted;
    }
}

/* Is a better than b (Apache's steps, see the top)? */
static bool better(const variant *a, const variant *b, bool prefer)
{
    if (a->type_quality != b->type_quality)
        return a->type_quality > b->type_quality;
    if (a->language_quality != b->language_quality)
        return a->language_quality > b->language_quality;
    if (prefer && a->priority_index != b->priority_index)
        return a->priority_index < b->priority_index;
    if (a->accept_index != b->accept_index)
        return a->accept_index < b->accept_index;
    if (a->encoding_accepted != b->encoding_accepted)
        return a->encoding_accepted;
    if (a->size != b->size)
        return a->size < b->size;
    return strcmp(a->name, b->name) < 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const variant *)a)->name, ((const variant *)b)->name);
}

/* Every extension after base must be one mod_mime knows (Apache: "index.foo"
 * is no variant of "index" when .foo means nothing). */
static bool read_variant(request *r, int directory_fd, const char *entry, size_t base_length, variant *v)
{
    memset(v, 0, sizeof(*v));
    const char *cursor = entry + base_length;
    while (*cursor == '.') {
        const char *extension = cursor + 1;
        size_t length = strcspn(extension, ".");
        if (!mime_classify_extension(r->server, r->dir, extension, length, &v->info))
            return false;
        cursor = extension + length;
    }
    if (*cursor)
        return false;
    mime_info full;
    mime_classify(r->server, r->dir, entry, &full);  /* ForceType, and the base's own extensions */
    v->info = full;
    if (!v->info.type)
        return false;
    struct stat info;
    if (fstatat(directory_fd, entry, &info, 0) != 0 || !S_ISREG(info.st_mode))
        return false;
    v->name = pool_strdup(r->pool, entry);
    v->size = (int64_t)info.st_size;
    return true;
}

static int find_variants(request *r, const char *directory, const char *base, variant *variants)
{
    int directory_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd < 0)
        return 0;
    DIR *listing = fdopendir(directory_fd);
    if (!listing) {
        close(directory_fd);
        return 0;
    }
    size_t base_length = strlen(base);
    int count = 0;
    struct dirent *entry;
    while (count < MAX_VARIANTS && (entry = readdir(listing)) != NULL) {
        if (strncmp(entry->d_name, base, base_length) != 0 || entry->d_name[base_length] != '.')
            continue;
        if (read_variant(r, dirfd(listing), entry->d_name, base_length, &variants[count]))
            count++;
    }
    closedir(listing);
    qsort(variants, (size_t)count, sizeof(variant), compare_names);
    return count;
}

static bool languages_equal(const mime_info *a, const mime_info *b)
{
    if (a->language_count != b->language_count)
        return false;
    for (int i = 0; i < a->language_count; i++)
        if (strcasecmp(a->languages[i], b->languages[i]) != 0)
            return false;
    return true;
}

static const char *vary_value(const variant *variants, int count)
{
    bool types = false, languages = false, encodings = false;
    for (int i = 1; i < count; i++) {
        types |= strcasecmp(variants[i].info.type, variants[0].info.type) != 0;
        languages |= !languages_equal(&variants[i].info, &variants[0].info);
        const char *e0 = variants[0].info.encoding ? variants[0].info.encoding : "";
        const char *ei = variants[i].info.encoding ? variants[i].info.encoding : "";
        encodings |= strcasecmp(e0, ei) != 0;
    }
    static const char *const values[8] = {
        "negotiate", "negotiate,accept", "negotiate,accept-language", "negotiate,accept,accept-language",
        "negotiate,accept-encoding", "negotiate,accept,accept-encoding",
        "negotiate,accept-language,accept-encoding", "negotiate,accept,accept-language,accept-encoding",
    };
    return values[(types ? 1 : 0) | (languages ? 2 : 0) | (encodings ? 4 : 0)];
}

/* The best variant not dropped; -1 if none is acceptable. */
static int choose(const variant *variants, int count, bool prefer, bool fallback)
{
    int best = -1;
    for (int i = 0; i < count; i++) {
        const variant *v = &variants[i];
        if (v->dropped || v->type_quality <= 0 || v->language_quality <= 0 || v->encoding_refused)
            continue;
        if (best < 0 || better(v, &variants[best], prefer))
            best = i;
    }
    if (best >= 0 || !fallback)
        return best;
    /* ForceLanguagePriority Fallback: the language left out of account,
     * LanguagePriority first. */
    for (int i = 0; i < count; i++) {
        const variant *v = &variants[i];
        if (v->dropped || v->type_quality <= 0 || v->encoding_refused)
            continue;
        if (best < 0 || v->priority_index < variants[best].priority_index ||
            (v->priority_index == variants[best].priority_index && better(v, &variants[best], true)))
            best = i;
    }
    return best;
}

static void read_preferences(request *r, client_preferences *prefs)
{
    memset(prefs, 0, sizeof(*prefs));
    slice field;
    if (request_header_slice(r, "Accept", &field)) {
        prefs->has_accept = true;
        prefs->accept_count = http_accept_parse(field, prefs->accept, MAX_ACCEPT_MEMBERS);
    }
    if (request_header_slice(r, "Accept-Language", &field) && field.length > 0) {
        prefs->has_languages = true;
        prefs->language_count = http_accept_parse(field, prefs->languages, MAX_ACCEPT_MEMBERS);
    }
    if (!request_header_slice(r, "Accept-Encoding", &prefs->accept_encoding))
        prefs->accept_encoding = (slice){ NULL, 0 };
}

static bool handler_is_default(const request *r)
{
    const char *handler = r->handler ? r->handler : r->dir->handler;
    return !handler || strcasecmp(handler, "default-handler") == 0;
}

static int serve_choice(request *r, variant *variants, int count, const char *url_directory, bool run_handlers);

/* Apache's handle_multi, as a fixups hook (before dir's FallbackResource). */
static int negotiation_fixups(request *r)
{
    if (!(file_effective_options(r->dir) & OPTION_MULTIVIEWS) || !r->file_path || !handler_is_default(r))
        return WEFT_DECLINED;
    const char *file_slash = strrchr(r->file_path, '/');
    const char *url_slash = strrchr(r->path, '/');
    if (!file_slash || !url_slash || !file_slash[1] || !url_slash[1])
        return WEFT_DECLINED;
    struct stat info;
    if (stat(r->file_path, &info) == 0 || errno != ENOENT)
        return WEFT_DECLINED;

    char *directory = pool_strndup(r->pool, r->file_path, (size_t)(file_slash - r->file_path) + 1);
    const char *base = file_slash + 1;
    variant *variants = pool_alloc(r->pool, sizeof(variant) * MAX_VARIANTS);
    int count = find_variants(r, directory, base, variants);
    if (count == 0)
        return WEFT_DECLINED;

    char *url_directory = pool_strndup(r->pool, r->path, (size_t)(url_slash - r->path) + 1);
    return serve_choice(r, variants, count, url_directory, false);
}

/* ---- type maps ------------------------------------------------------------ */

#define TYPE_MAP_MAX_BYTES (64 * 1024)
#define TYPE_MAP_HANDLER "type-map"

/* Is r for the type-map handler: SetHandler type-map, or an AddHandler
 * type-map for the file's extension (Debian: "AddHandler type-map var")? */
static bool is_type_map(const request *r)
{
    const char *handler = r->handler ? r->handler : r->dir->handler;
    if (handler)
        return strcasecmp(handler, TYPE_MAP_HANDLER) == 0;
    size_t length;
    const char *extension = r->file_path ? mime_path_extension(r->file_path, &length) : NULL;
    if (!extension)
        return false;
    for (const mime_addition *a = cgi_dir_settings(r->dir)->add_handlers; a; a = a->next)
        if (strlen(a->extension) == length && strncasecmp(a->extension, extension, length) == 0)
            return strcasecmp(a->type, TYPE_MAP_HANDLER) == 0;
    return false;
}

static char *trimmed(pool *p, const char *start, const char *end)
{
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    return pool_strndup(p, start, (size_t)(end - start));
}

/* "text/html; qs=0.5; charset=x": the type without qs, and qs in thousandths. */
static const char *map_type(request *r, const char *value, int *quality)
{
    *quality = 1000;
    const char *semicolon = strchr(value, ';');
    if (!semicolon)
        return value;
    char *type = trimmed(r->pool, value, semicolon);
    const char *qs = strcasestr(semicolon, "qs=");
    if (qs) {
        double factor = strtod(qs + 3, NULL);
        *quality = factor < 0 ? 0 : factor > 1 ? 1000 : (int)(factor * 1000 + 0.5);
    }
    return type;
}

/* Apache's type-map format: records of "Header: value" lines separated by
 * blank lines (a line starting with white space continues the previous
 * one); URI names the variant, relative to the map's directory.  Records
 * without URI, with an inline Body:, or naming something outside the
 * directory are left out. */
static int parse_type_map(request *r, char *text, variant *variants)
{
    int count = 0;
    variant current;
    memset(&current, 0, sizeof(current));
    bool in_record = false, usable = true;
    char *line = text;
    for (;;) {
        char *end = strchr(line, '\n');
        bool last = end == NULL;
        if (!end)
            end = line + strlen(line);
        /* Join continuation lines. */
        while (!last && (end[1] == ' ' || end[1] == '\t')) {
            *end = ' ';
            char *next = strchr(end + 1, '\n');
            if (!next) {
                end = end + 1 + strlen(end + 1);
                last = true;
                break;
            }
            end = next;
        }
        char *stripped = trimmed(r->pool, line, end);
        if (*stripped && stripped[0] != '#') {
            char *colon = strchr(stripped, ':');
            if (colon) {
                char *name = trimmed(r->pool, stripped, colon);
                char *value = trimmed(r->pool, colon + 1, stripped + strlen(stripped));
                in_record = true;
                if (strcasecmp(name, "URI") == 0)
                    current.name = value;
                else if (strcasecmp(name, "Content-Type") == 0)
                    current.info.type = map_type(r, value, &current.source_quality);
                else if (strcasecmp(name, "Content-Encoding") == 0)
                    current.info.encoding = strncasecmp(value, "x-", 2) == 0 ? value + 2 : value;
                else if (strcasecmp(name, "Content-Language") == 0) {
                    char *state = NULL;
                    for (char *tag = strtok_r(value, ", \t", &state);
                         tag && current.info.language_count < MIME_MAX_LANGUAGES; tag = strtok_r(NULL, ", \t", &state))
                        current.info.languages[current.info.language_count++] = tag;
                } else if (strcasecmp(name, "Body") == 0)
                    usable = false;
            }
        }
        if (!*stripped || last) {
            if (in_record && usable && current.name && current.info.type && count < MAX_VARIANTS &&
                current.name[0] != '/' && !strstr(current.name, "..")) {
                if (!current.source_quality)
                    current.source_quality = 1000;
                variants[count++] = current;
            }
            memset(&current, 0, sizeof(current));
            in_record = false;
            usable = true;
        }
        if (last)
            break;
        line = end + 1;
    }
    return count;
}

static char *read_type_map(request *r)
{
    int fd = open(r->file_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat info;
    char *text = NULL;
    if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size < TYPE_MAP_MAX_BYTES) {
        text = pool_alloc(r->pool, (size_t)info.st_size + 1);
        ssize_t got = read(fd, text, (size_t)info.st_size);
        text[got > 0 ? got : 0] = '\0';
    }
    close(fd);
    return text;
}

/* The variants' sizes for step 5, from the files themselves; a variant
 * whose file is missing stays (its own lookup decides). */
static void size_variants(request *r, const char *directory, variant *variants, int count)
{
    for (int i = 0; i < count; i++) {
        struct stat info;
        char *path = pool_printf(r->pool, "%s%s", directory, variants[i].name);
        variants[i].size = stat(path, &info) == 0 ? (int64_t)info.st_size : INT64_MAX;
    }
}

/* Serves the chosen variant of a set: request_lookup, then with run_handlers
 * its handlers (a content handler's own answer), else the caller's. */
static int serve_choice(request *r, variant *variants, int count, const char *url_directory, bool run_handlers)
{
    const negotiation_dir_config *settings = module_dir_config(r->dir, &negotiation_module);
    int force = settings->force_language_priority;
    bool prefer = force == 0 || (force & FORCE_PREFER);
    bool fallback = (force & FORCE_FALLBACK) != 0;
    client_preferences prefs;
    read_preferences(r, &prefs);
    for (int i = 0; i < count; i++)
        rate(&prefs, settings->language_priority, &variants[i]);
    const char *vary = vary_value(variants, count);
    for (int attempt = 0; attempt < count; attempt++) {
        int chosen = choose(variants, count, prefer, fallback);
        if (chosen < 0)
            break;
        request_mapping previous;
        int rc = request_lookup(r, pool_printf(r->pool, "%s%s", url_directory, variants[chosen].name), &previous);
        if (rc == WEFT_DONE)
            return run_handlers ? WEFT_OK : WEFT_DONE;
        if (rc == WEFT_OK && run_handlers && is_type_map(r)) {
            /* Apache's answer to a map whose choice is a map (itself, say) */
            log_message(LOG_LEVEL_ERROR, "type map variant %s is itself a type map", r->file_path);
            return 506;
        }
        if (rc == WEFT_OK) {
            response_add_header(r, "Content-Location", uri_escape_path(r->pool, variants[chosen].name));
            response_add_header_constant(r, "Vary", vary);
            response_add_header_constant(r, "TCN", "choice");
            return run_handlers ? request_run_handlers(r) : WEFT_OK;
        }
        variants[chosen].dropped = true;
    }
    /* Apache leaves out the variants its sub-requests refuse: when that is
     * all of them there is nothing to negotiate, and the name is missing
     * (404) rather than a 406 that tells the refused files exist. */
    bool all_refused = !run_handlers;
    for (int i = 0; i < count && all_refused; i++)
        all_refused = variants[i].dropped;
    if (all_refused)
        return WEFT_DECLINED;
    response_add_header_constant(r, "Vary", vary);
    response_add_header_constant(r, "TCN", "list");
    return 406;
}

/* Apache's handle_map_file. */
static int negotiation_handler(request *r)
{
    if (!r->file_path || !is_type_map(r))
        return WEFT_DECLINED;
    if (r->lookup_depth + r->switched_handlers + r->internal_redirects >= REQUEST_MAX_INTERNAL_REDIRECTS)
        return 500;  /* a map naming itself, or maps naming each other */
    char *text = read_type_map(r);
    if (!text) {
        struct stat info;
        return stat(r->file_path, &info) != 0 ? 404 : 500;
    }
    const char *file_slash = strrchr(r->file_path, '/');
    const char *url_slash = strrchr(r->path, '/');
    if (!file_slash || !url_slash)
        return 500;
    variant *variants = pool_alloc(r->pool, sizeof(variant) * MAX_VARIANTS);
    int count = parse_type_map(r, text, variants);
    if (count == 0) {
        log_message(LOG_LEVEL_ERROR, "type map %s names no variant weft can serve", r->file_path);
        return 500;
    }
    size_variants(r, pool_strndup(r->pool, r->file_path, (size_t)(file_slash - r->file_path) + 1), variants, count);
    return serve_choice(r, variants, count, pool_strndup(r->pool, r->path, (size_t)(url_slash - r->path) + 1), true);
}

/* ---- configuration ------------------------------------------------------ */

static int set_language_priority(config_parse *parse, const config_directive *d, void *target, int argc,
                                 char **argv)
{
    char ***list = target;
    *list = config_words_appended(parse, d, *list, argc, argv);
    return WEFT_OK;
}

static int set_force_language_priority(config_parse *parse, const config_directive *d, void *target, int argc,
                                       char **argv)
{
    int value = 0;
    for (int i = 0; i < argc; i++) {
        if (strcasecmp(argv[i], "None") == 0 && argc == 1)
            value = FORCE_NONE;
        else if (strcasecmp(argv[i], "Prefer") == 0)
            value |= FORCE_PREFER;
        else if (strcasecmp(argv[i], "Fallback") == 0)
            value |= FORCE_FALLBACK;
        else
            return config_error(parse, "ForceLanguagePriority takes None, or Prefer and/or Fallback, not '%s'",
                                argv[i]);
    }
    *(int *)target = value;
    return WEFT_OK;
}

static void format_force_language_priority(FILE *out, const config_directive *d, const void *base)
{
    int value = *(const int *)((const char *)base + d->offset);
    const char *argv[2];
    int argc = 0;
    if (value & FORCE_NONE)
        argv[argc++] = "None";
    if (value & FORCE_PREFER)
        argv[argc++] = "Prefer";
    if (value & FORCE_FALLBACK)
        argv[argc++] = "Fallback";
    if (argc)
        config_dump_line(out, d, argc, argv);
}

#define DIR_FIELD(field) .scope = SCOPE_DIRECTORY, .offset = offsetof(negotiation_dir_config, field), \
                         .size = sizeof(((negotiation_dir_config *)0)->field)

static const config_directive negotiation_directives[] = {
    { .name = "LanguagePriority", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(language_priority), .min_args = 1,
      .max_args = ARGS_UNLIMITED, .set = set_language_priority, .format = config_format_words,
      .syntax = "language-tag ...", .help = "the languages MultiViews prefers when the client's preferences tie",
      .overrides = OVERRIDE_FILEINFO },
    { .name = "ForceLanguagePriority", .contexts = CONTEXT_ANYWHERE, DIR_FIELD(force_language_priority),
      .min_args = 1, .max_args = 2, .set = set_force_language_priority, .format = format_force_language_priority,
      .syntax = "None|Prefer|Fallback [Prefer|Fallback]",
      .help = "Prefer (default): LanguagePriority settles ties; Fallback: it chooses instead of a 406",
      .overrides = OVERRIDE_FILEINFO },
    { .name = NULL },
};
#undef DIR_FIELD

static const char *const negotiation_handlers[] = { TYPE_MAP_HANDLER, NULL };

const module negotiation_module = {
    .name = "negotiation",
    .directives = negotiation_directives,
    .dir_config_size = sizeof(negotiation_dir_config),
    .fixups = negotiation_fixups,
    .handler = negotiation_handler,
    .handlers = negotiation_handlers,
};
