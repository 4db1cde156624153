/*
 * config_merge.c — directive bookkeeping (global indices, "set" bitmaps,
 * lookup by name) and the per-request merge of the sections (<Directory>,
 * <Files>, <Location> and their Match forms) into one dir_config.
 *
 * Regular expressions are PCRE2 (core/regex.h): compiled once, matched by
 * all threads of a child at once without a lock.
 */
#include "config_internal.h"
#include "expr.h"
#include "log.h"
#include "match.h"
#include "module.h"
#include "server.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Filled on first use.  Configuration is loaded single-threaded, so by the
 * time worker threads call config_was_set() the table is complete and only
 * read. */
static const config_directive *directives_by_index[CONFIG_MAX_DIRECTIVES];
/* The module whose own struct a row writes (its index in weft_modules), or
 * -1 for a row that writes server_config or dir_config itself. */
static signed char module_slot_by_index[CONFIG_MAX_DIRECTIVES];
static int directive_total = -1;
static int module_total;

/* module_config_private has one bit per module. */
#define MODULE_LIMIT 64

/* module_index() is called several times per request (every
 * module_dir_config): a small open-addressing table from the module's
 * address to its position, filled with the rest at the first configuration
 * load (single-threaded) and only read afterwards. */
#define MODULE_HASH_SIZE 256
static const module *module_hash_keys[MODULE_HASH_SIZE];
static signed char module_hash_values[MODULE_HASH_SIZE];

static unsigned module_hash(const module *m)
{
    uint64_t bits = (uint64_t)(uintptr_t)m;
    return (unsigned)((bits * 0x9E3779B97F4A7C15ull) >> 56) % MODULE_HASH_SIZE;
}

/* First try: the module structs sit close together in read-only data, so
 * some bits of their addresses tell them apart; module_direct_shift picks them
 * (one load and one compare per lookup), or is -1 if no shift does. */
const module *module_direct_keys[MODULE_HASH_SIZE];
unsigned char module_direct_values[MODULE_HASH_SIZE];
unsigned module_direct_shift;  /* with no key in the table, every lookup takes the slow path */

static unsigned direct_slot(const module *m, unsigned shift)
{
    return (unsigned)((uintptr_t)m >> shift) % MODULE_HASH_SIZE;
}

static void index_modules_directly(int module_count)
{
    for (unsigned shift = 3; shift < 20; shift++) {
        memset(module_direct_keys, 0, sizeof module_direct_keys);
        bool clash = false;
        for (int i = 0; i < module_count && !clash; i++) {
            unsigned slot = direct_slot(weft_modules[i], shift);
            clash = module_direct_keys[slot] != NULL;
            module_direct_keys[slot] = weft_modules[i];
            module_direct_values[slot] = (unsigned char)i;
        }
        if (!clash) {
            module_direct_shift = (unsigned)shift;
            return;
        }
    }
    memset(module_direct_keys, 0, sizeof module_direct_keys);
}

static size_t module_config_size(const module *m, config_scope scope)
{
    return scope == SCOPE_SERVER ? m->server_config_size : m->dir_config_size;
}

static void index_directives(void)
{
    if (directive_total >= 0)
        return;
    int count = 0;
    int module_count = 0;
    for (const module *const *m = weft_modules; *m; m++, module_count++) {
        if (module_count == MODULE_LIMIT) {
            fprintf(stderr, "weft: more than %d modules\n", MODULE_LIMIT);
            abort();
        }
        unsigned slot = module_hash(*m);
        while (module_hash_keys[slot])
            slot = (slot + 1) % MODULE_HASH_SIZE;
        module_hash_keys[slot] = *m;
        module_hash_values[slot] = (signed char)module_count;
        for (const config_directive *d = (*m)->directives; d && d->name; d++) {
            if (count == CONFIG_MAX_DIRECTIVES) {
                fprintf(stderr, "weft: more than %d directives; raise CONFIG_MAX_DIRECTIVES\n",
                        CONFIG_MAX_DIRECTIVES);
                abort();
            }
            module_slot_by_index[count] = (signed char)(module_config_size(*m, d->scope) ? module_count : -1);
            directives_by_index[count++] = d;
        }
    }
    module_total = module_count;
    index_modules_directly(module_count);
    directive_total = count;
}

/* ---- per-module structs -------------------------------------------------- */

int module_index(const module *m)
{
    unsigned direct = direct_slot(m, module_direct_shift);
    if (module_direct_keys[direct] == m)
        return module_direct_values[direct];
    if (directive_total < 0) {
        for (int i = 0; weft_modules[i]; i++)
            if (weft_modules[i] == m)
                return i;
        return -1;
    }
    for (unsigned slot = module_hash(m); module_hash_keys[slot]; slot = (slot + 1) % MODULE_HASH_SIZE)
        if (module_hash_keys[slot] == m)
            return module_hash_values[slot];
    return -1;
}

void *module_server_config_slow(const server_config *server, const module *m)
{
    int i = module_index(m);
    return i >= 0 && server->module_config ? server->module_config[i] : NULL;
}

void *module_dir_config_slow(const dir_config *dir, const module *m)
{
    int i = module_index(m);
    return i >= 0 && dir->module_config ? dir->module_config[i] : NULL;
}

void config_create_module_configs(void *base, config_scope scope, pool *p)
{
    index_directives();
    void **array = pool_calloc(p, sizeof(void *) * (size_t)(module_total ? module_total : 1));
    for (int i = 0; i < module_total; i++) {
        size_t size = module_config_size(weft_modules[i], scope);
        array[i] = size ? pool_calloc(p, size) : NULL;
    }
    if (scope == SCOPE_SERVER) {
        ((server_config *)base)->module_config = array;
    } else {
        ((dir_config *)base)->module_config = array;
        ((dir_config *)base)->module_config_private = ~(uint64_t)0;
    }
}

void config_copy_server_modules(server_config *server, pool *p)
{
    index_directives();
    if (!server->module_config)
        return;
    void **array = pool_alloc(p, sizeof(void *) * (size_t)(module_total ? module_total : 1));
    for (int i = 0; i < module_total; i++) {
        size_t size = module_config_size(weft_modules[i], SCOPE_SERVER);
        array[i] = size ? pool_alloc(p, size) : NULL;
        if (size)
            memcpy(array[i], server->module_config[i], size);
    }
    server->module_config = array;
}

void config_copy_dir(void *copy_base, const void *original)
{
    dir_config *copy = copy_base;
    *copy = *(const dir_config *)original;
    copy->module_config_private = 0;
}

/* Copy on write: a merged dir_config starts with root_dir's structs and
 * gets its own copy of a module's struct only when a section sets one of
 * that module's rows; the array itself is copied on the first such write
 * (bit MODULE_LIMIT - 1 is never a module's while it marks the array). */
static void *writable_module_struct(dir_config *dir, int slot, pool *p)
{
    uint64_t bit = (uint64_t)1 << slot;
    if (dir->module_config_private & bit)
        return dir->module_config[slot];
    if (!dir->module_config_private) {
        void **array = pool_alloc(p, sizeof(void *) * (size_t)module_total);
        memcpy(array, dir->module_config, sizeof(void *) * (size_t)module_total);
        dir->module_config = array;
    }
    size_t size = weft_modules[slot]->dir_config_size;
    void *copy = pool_alloc(p, size);
    memcpy(copy, dir->module_config[slot], size);
    dir->module_config[slot] = copy;
    /* A module's bit also says "the array is private" (non-zero mask). */
    dir->module_config_private |= bit;
    return copy;
}

static void *row_base_at(void *base, const config_directive *d, int index)
{
    int slot = index >= 0 ? module_slot_by_index[index] : -1;
    if (slot < 0)
        return base;
    void **array = d->scope == SCOPE_SERVER ? ((server_config *)base)->module_config
                                            : ((dir_config *)base)->module_config;
    return array ? array[slot] : NULL;
}

void *config_row_base(const void *base, const config_directive *d)
{
    index_directives();
    return row_base_at((void *)base, d, config_directive_index(d));
}

int config_directive_count(void)
{
    index_directives();
    return directive_total;
}

const config_directive *config_directive_at(int index)
{
    index_directives();
    return index >= 0 && index < directive_total ? directives_by_index[index] : NULL;
}

int config_directive_index(const config_directive *directive)
{
    index_directives();
    for (int i = 0; i < directive_total; i++)
        if (directives_by_index[i] == directive)
            return i;
    return -1;
}

const config_directive *config_find_directive(const char *name)
{
    index_directives();
    for (int i = 0; i < directive_total; i++)
        if (strcasecmp(directives_by_index[i]->name, name) == 0)
            return directives_by_index[i];
    return NULL;
}

const config_directive *config_find_directive_for(const char *name, unsigned context)
{
    index_directives();
    const config_directive *first = NULL;
    for (int i = 0; i < directive_total; i++) {
        const config_directive *d = directives_by_index[i];
        if (strcasecmp(d->name, name) != 0)
            continue;
        if (d->contexts & context)
            return d;
        if (!first)
            first = d;
    }
    return first;
}

unsigned char *config_set_bits(void *base, config_scope scope)
{
    return scope == SCOPE_SERVER ? ((server_config *)base)->set : ((dir_config *)base)->set;
}

bool config_was_set(const void *base, const config_directive *directive)
{
    int index = config_directive_index(directive);
    if (index < 0)
        return false;
    const unsigned char *bits = config_set_bits((void *)base, directive->scope);
    return bits[index / 8] & (1u << (index % 8));
}

const module *config_directive_module(const config_directive *directive)
{
    for (const module *const *m = weft_modules; *m; m++) {
        const config_directive *d = (*m)->directives;
        for (; d && d->name; d++)
            if (d == directive)
                return *m;
    }
    return NULL;
}

/* ---- per-request merge ------------------------------------------------- */

/* <Directory /a> covers /a and /a/x but not /ab: whole path segments. */
static bool directory_contains(const char *directory, const char *file_path)
{
    if (strcmp(directory, "/") == 0)
        return file_path[0] == '/';
    size_t length = strlen(directory);
    return strncmp(file_path, directory, length) == 0
        && (file_path[length] == '/' || file_path[length] == '\0');
}

static int path_components(const char *path, size_t length)
{
    int count = 0;
    for (size_t i = 0; i < length; i++)
        count += path[i] == '/';
    return count;
}

/* A <Directory> with wildcards is matched, like Apache's, against the
 * leading part of the path that has as many components as the pattern. */
static bool directory_wildcard_matches(const config_section *section, const char *file_path)
{
    const char *end = file_path;
    for (int seen = 0; *end; end++) {
        if (*end == '/' && ++seen > section->depth)
            break;
    }
    size_t length = (size_t)(end - file_path);
    char prefix[PATH_MAX];
    if (length >= sizeof(prefix) || path_components(file_path, length) < section->depth)
        return false;
    memcpy(prefix, file_path, length);
    prefix[length] = '\0';
    return fnmatch(section->path, prefix, FNM_PATHNAME) == 0;
}

/* As Apache 2.4: a plain <Location /a> covers /a, /a/ and /a/x but not /ab;
 * <Location /a/> only what starts with "/a/" (match.h). */
static bool location_matches(const char *location, const char *url_path)
{
    return location[0] == '\0' || url_prefix_match(location, url_path) > 0;
}

static bool regex_matches(const config_section *section, const char *subject)
{
    return (!section->regex_prefix || text_starts_with(subject, section->regex_prefix))
        && regex_match(section->regex, subject, strlen(subject), NULL, 0);
}

bool config_section_applies(const config_section *section, const char *file_path, const char *url_path)
{
    switch (section->kind) {
    case SECTION_DIRECTORY:
        if (!file_path)
            return false;
        return section->wildcard ? directory_wildcard_matches(section, file_path)
                                 : directory_contains(section->path, file_path);
    case SECTION_DIRECTORY_MATCH:
        /* Against the whole file name, as Apache 2.4 does. */
        return file_path && regex_matches(section, file_path);
    case SECTION_FILES:
    case SECTION_FILES_MATCH: {
        if (!file_path || (section->within && !config_section_applies(section->within, file_path, url_path)))
            return false;
        const char *slash = strrchr(file_path, '/');
        const char *name = slash ? slash + 1 : file_path;
        if (section->kind == SECTION_FILES_MATCH)
            return regex_matches(section, name);
        return section->wildcard ? fnmatch(section->path, name, FNM_PATHNAME) == 0
                                 : strcmp(section->path, name) == 0;
    }
    case SECTION_LOCATION:
        if (!url_path)
            return false;
        return section->wildcard ? fnmatch(section->path, url_path, FNM_PATHNAME) == 0
                                 : location_matches(section->path, url_path);
    case SECTION_LOCATION_MATCH:
        return url_path && regex_matches(section, url_path);
    case SECTION_IF:
        return false;  /* config_merge_conditions */
    }
    return false;
}

void config_merge_dir(void *merged_base, const void *child_base, pool *p)
{
    dir_config *merged = merged_base;
    const dir_config *child = child_base;
    /* Rows may share a field (SetEnv and PassEnv): merge each field once
     * (a field is its module's slot and its offset). */
    size_t done[CONFIG_MAX_DIRECTIVES];
    int done_count = 0;
    for (size_t byte = 0; byte < sizeof(child->set); byte++) {
        unsigned bits = child->set[byte];
        while (bits) {
            int bit = __builtin_ctz(bits);
            bits &= bits - 1;
            int index = (int)(byte * 8) + bit;
            const config_directive *d = config_directive_at(index);
            if (!d || d->scope != SCOPE_DIRECTORY || (!d->size && !d->merge))
                continue;
            int slot = module_slot_by_index[index];
            size_t field = d->offset * MODULE_LIMIT + (size_t)(slot + 1);
            bool seen = false;
            for (int i = 0; i < done_count && !seen; i++)
                seen = done[i] == field;
            if (seen)
                continue;
            done[done_count++] = field;
            const char *child_struct = slot < 0 ? (const char *)child : row_base_at((void *)child, d, index);
            char *merged_struct = slot < 0 ? (char *)merged : writable_module_struct(merged, slot, p);
            if (!child_struct || !merged_struct)
                continue;
            /* merge callbacks must build new values in p, never modify
             * `merged` in place through shared pointers: the inputs are
             * the read-only configuration. */
            char *target = merged_struct + d->offset;
            const char *source = child_struct + d->offset;
            if (d->merge)
                d->merge(target, source, p);
            else
                memcpy(target, source, d->size);
        }
        merged->set[byte] |= child->set[byte];
    }
}

/* The merge order Apache documents (and docs/config.md repeats):
 * Directory, shortest first < DirectoryMatch < Files and FilesMatch <
 * Location and LocationMatch; within a group, file order (a vhost's own
 * sections come after the main server's, so they win). */
int config_merge_group(const config_section *section)
{
    switch (section->kind) {
    case SECTION_DIRECTORY: return 0;
    case SECTION_DIRECTORY_MATCH: return 1;
    case SECTION_FILES:
    case SECTION_FILES_MATCH: return 2;
    case SECTION_LOCATION:
    case SECTION_LOCATION_MATCH: return 3;
    case SECTION_IF: return 4;
    }
    return 3;
}

static bool merges_before(const config_section *a, const config_section *b)
{
    int group_a = config_merge_group(a), group_b = config_merge_group(b);
    if (group_a != group_b)
        return group_a < group_b;
    if (group_a == 4) {
        /* Apache appends each section's <If>s to its merged list: they
         * come in the merge order of their enclosing sections (top level
         * first). */
        if (!a->within || !b->within)
            return !a->within && b->within;
        return merges_before(a->within, b->within);
    }
    return group_a == 0 && a->depth < b->depth;
}

void config_order_sections(server_config *server, pool *p)
{
    int count = server->section_count;
    const config_section **order = pool_alloc(p, sizeof(*order) * (size_t)(count ? count : 1));
    /* Insertion sort: stable, and there are few sections. */
    for (int i = 0; i < count; i++) {
        const config_section *current = &server->sections[i];
        int j = i;
        while (j > 0 && merges_before(current, order[j - 1])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = current;
    }
    server->merge_order = order;
}

const dir_config *config_dir_for_request(const server_config *server, const char *file_path,
                                         const char *url_path, pool *p)
{
    dir_config *merged = NULL;
    for (int i = 0; i < server->section_count; i++) {
        const config_section *section = server->merge_order[i];
        if (!config_section_applies(section, file_path, url_path))
            continue;
        if (!merged) {
            merged = pool_alloc(p, sizeof(*merged));
            config_copy_dir(merged, server->root_dir);
        }
        config_merge_dir(merged, section->config, p);
    }
    return merged ? merged : server->root_dir;
}

/* ---- <If>, <ElseIf>, <Else> -------------------------------------------- */

typedef struct {
    const section_condition *condition;
    bool taken;        /* its contents were merged */
    bool chain_taken;  /* it or an earlier member of its chain was */
} condition_outcome;

static const condition_outcome *find_outcome(const condition_outcome *outcomes, int count,
                                             const section_condition *condition)
{
    for (int i = count - 1; i >= 0; i--)
        if (outcomes[i].condition == condition)
            return &outcomes[i];
    return NULL;
}

dir_config *config_merge_condition_list(const config_section *const *list, int count, const dir_config *merged,
                                        bool shared, const char *file_path, const char *url_path,
                                        struct expr_context *context, pool *p)
{
    condition_outcome *outcomes = pool_alloc(p, sizeof(*outcomes) * (size_t)(count ? count : 1));
    int seen = 0;
    dir_config *result = NULL;
    for (int i = 0; i < count; i++) {
        const config_section *section = list[i];
        const section_condition *condition = section->condition;
        if (section->within && !config_section_applies(section->within, file_path, url_path))
            continue;
        const condition_outcome *parent = condition->parent ? find_outcome(outcomes, seen, condition->parent) : NULL;
        if (condition->parent && (!parent || !parent->taken))
            continue;
        const condition_outcome *previous = condition->previous ? find_outcome(outcomes, seen, condition->previous) : NULL;
        bool earlier = previous && previous->chain_taken;
        bool taken = false;
        if (!earlier) {
            taken = true;
            if (condition->expr) {
                taken = expr_evaluate(condition->expr, context);
                if (context->error)
                    log_message(LOG_LEVEL_ERROR, "Failed to evaluate <If > condition (%s:%d): %s",
                                section->file, section->line, context->error);
            }
        }
        outcomes[seen++] = (condition_outcome){ condition, taken, taken || earlier };
        if (!taken)
            continue;
        if (!result) {
            result = pool_alloc(p, sizeof(*result));
            if (shared)
                config_copy_dir(result, merged);
            else
                *result = *merged;  /* already this request's own copy */
        }
        config_merge_dir(result, section->config, p);
    }
    return result;
}

const dir_config *config_merge_conditions(const server_config *server, const dir_config *merged,
                                          const char *file_path, const char *url_path,
                                          struct expr_context *context, pool *p)
{
    int count = server->section_count;
    /* They merge last: none at the end of merge_order means none at all. */
    if (count == 0 || server->merge_order[count - 1]->kind != SECTION_IF)
        return merged;
    int first = count - 1;
    while (first > 0 && server->merge_order[first - 1]->kind == SECTION_IF)
        first--;
    dir_config *result = config_merge_condition_list(server->merge_order + first, count - first, merged,
                                                     merged == server->root_dir, file_path, url_path, context, p);
    return result ? result : merged;
}
