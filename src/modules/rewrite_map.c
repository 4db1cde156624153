/*
 * rewrite_map.c — RewriteMap: txt: and rnd: files (read again when they
 * change, as Apache's cache does), the int: functions, and prg: programs
 * (one long-lived process per child, started after privileges are dropped,
 * asked one key per line under a lock, as Apache's rewrite-map mutex).
 * dbm:, dbd: and fastdbd: are refused at configuration time.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/vhost.h"
#include "rewrite_internal.h"

enum { INT_TOLOWER, INT_TOUPPER, INT_ESCAPE, INT_UNESCAPE };

typedef struct {
    char *key;
    char *value;
} map_entry;

/* Mutable, shared by a child's threads: the file's contents as last read,
 * or the program's pipes. */
typedef struct rewrite_map_state {
    pthread_mutex_t lock;
    /* txt:, rnd: */
    struct timespec modified;
    off_t size;
    bool loaded;
    map_entry *entries;   /* sorted by key; malloc'ed */
    int count;
    char *storage;        /* the file's text the entries point into */
    /* prg: */
    pid_t pid;
    int to_program;
    int from_program;
} rewrite_map_state;

static void free_contents(rewrite_map_state *state)
{
    free(state->entries);
    free(state->storage);
    state->entries = NULL;
    state->storage = NULL;
    state->count = 0;
}

static void destroy_state(void *data)
{
    rewrite_map_state *state = data;
    free_contents(state);
    pthread_mutex_destroy(&state->lock);
}

int rewrite_map_define(config_parse *parse, rewrite_conf *conf, int argc, char **argv)
{
    pool *p = config_pool(parse);
    const char *name = argv[0];
    const char *source = argv[1];
    for (const rewrite_map *m = conf->maps; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return config_error(parse, "RewriteMap: the map '%s' is defined twice", name);
    rewrite_map *map = pool_calloc(p, sizeof(*map));
    map->name = pool_strdup(p, name);
    if (strncmp(source, "txt:", 4) == 0 || strncmp(source, "rnd:", 4) == 0) {
        map->kind = source[0] == 't' ? MAP_TXT : MAP_RND;
        map->path = config_resolve_path(parse, source + 4);
        struct stat info;
        if (stat(map->path, &info) != 0)
            return config_error(parse, "RewriteMap: file for map %s not found: %s", name, map->path);
    } else if (strncmp(source, "int:", 4) == 0) {
        map->kind = MAP_INT;
        const char *function = source + 4;
        if (strcasecmp(function, "tolower") == 0)
            map->function = INT_TOLOWER;
        else if (strcasecmp(function, "toupper") == 0)
            map->function = INT_TOUPPER;
        else if (strcasecmp(function, "escape") == 0)
            map->function = INT_ESCAPE;
        else if (strcasecmp(function, "unescape") == 0)
            map->function = INT_UNESCAPE;
        else
            return config_error(parse, "RewriteMap: internal map function '%s' not found "
                                       "(tolower, toupper, escape, unescape)", function);
    } else if (strncmp(source, "prg:", 4) == 0) {
        map->kind = MAP_PRG;
        map->path = pool_strdup(p, source + 4);
        const char *program = map->path;
        size_t length = strcspn(program, " \t");
        char *file = config_resolve_path(parse, pool_strndup(p, program, length));
        if (access(file, X_OK) != 0)
            return config_error(parse, "RewriteMap: map file %s not found or not executable", file);
        map->path = pool_printf(p, "%s%s", file, program + length);
        if (argc > 2)
            map->user = pool_strdup(p, argv[2]);
    } else if (strncmp(source, "dbm", 3) == 0 || strncmp(source, "dbd:", 4) == 0 ||
               strncmp(source, "fastdbd:", 8) == 0) {
        return config_error(parse, "RewriteMap %s: %.*s maps are not supported by weft; use a txt: map "
                                   "(a text file of 'key value' lines, re-read when it changes)",
                            name, (int)strcspn(source, ":="), source);
    } else {
        return config_error(parse, "RewriteMap: bad map:ext '%s' for map '%s' "
                                   "(txt:, rnd:, int: or prg:)", source, name);
    }
    if (map->kind != MAP_INT) {
        map->state = pool_calloc(p, sizeof(*map->state));
        pthread_mutex_init(&map->state->lock, NULL);
        map->state->pid = -1;
        map->state->to_program = map->state->from_program = -1;
        pool_cleanup_add(p, destroy_state, map->state);
    }
    map->next = conf->maps;
    conf->maps = map;
    return WEFT_OK;
}

/* ---- txt: and rnd: --------------------------------------------------------- */

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const map_entry *)a)->key, ((const map_entry *)b)->key);
}

/* Reads the file into state (lock held).  Lines "key value", '#' comments;
 * the first line for a key wins, as in Apache (which stops at the first). */
static void load_file(const rewrite_map *map, rewrite_map_state *state, const struct stat *info)
{
    free_contents(state);
    FILE *file = fopen(map->path, "r");
    if (!file) {
        log_error_number(LOG_LEVEL_ERROR, errno, "RewriteMap %s: cannot open %s", map->name, map->path);
        return;
    }
    size_t size = (size_t)info->st_size;
    state->storage = malloc(size + 1);
    size_t got = state->storage ? fread(state->storage, 1, size, file) : 0;
    fclose(file);
    if (!state->storage)
        return;
    state->storage[got] = '\0';
    int capacity = 16;
    state->entries = malloc(sizeof(map_entry) * (size_t)capacity);
    for (char *line = state->storage; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *key = line + strspn(line, " \t\r");
        line = next;
        if (!*key || *key == '#')
            continue;
        char *end = key + strcspn(key, " \t\r");
        if (!*end)
            continue;  /* a key without a value */
        *end++ = '\0';
        char *value = end + strspn(end, " \t\r");
        value[strcspn(value, " \t\r")] = '\0';
        if (!*value)
            continue;
        if (state->count == capacity) {
            capacity *= 2;
            map_entry *bigger = realloc(state->entries, sizeof(map_entry) * (size_t)capacity);
            if (!bigger)
                break;
            state->entries = bigger;
        }
        state->entries[state->count++] = (map_entry){ key, value };
    }
    /* Stable for equal keys: the earlier line must stay first. */
    for (int i = 1; i < state->count; i++) {
        map_entry current = state->entries[i];
        int j = i;
        while (j > 0 && compare_entries(&state->entries[j - 1], &current) > 0) {
            state->entries[j] = state->entries[j - 1];
            j--;
        }
        state->entries[j] = current;
    }
    state->modified = info->st_mtim;
    state->size = info->st_size;
    state->loaded = true;
}

static const char *file_lookup(rewrite_run *run, const rewrite_map *map, const char *key)
{
    rewrite_map_state *state = map->state;
    struct stat info;
    if (stat(map->path, &info) != 0) {
        log_error_number(LOG_LEVEL_ERROR, errno, "RewriteMap %s: cannot stat %s", map->name, map->path);
        return NULL;
    }
    const char *found = NULL;
    pthread_mutex_lock(&state->lock);
    if (!state->loaded || info.st_mtim.tv_sec != state->modified.tv_sec ||
        info.st_mtim.tv_nsec != state->modified.tv_nsec || info.st_size != state->size)
        load_file(map, state, &info);
    int low = 0, high = state->count - 1;
    while (low <= high) {
        int middle = (low + high) / 2;
        int order = strcmp(state->entries[middle].key, key);
        if (order == 0) {
            while (middle > 0 && strcmp(state->entries[middle - 1].key, key) == 0)
                middle--;
            found = pool_strdup(run->r->pool, state->entries[middle].value);
            break;
        }
        if (order < 0)
            low = middle + 1;
        else
            high = middle - 1;
    }
    pthread_mutex_unlock(&state->lock);
    if (found && map->kind == MAP_RND) {
        int choices = 1;
        for (const char *c = found; *c; c++)
            choices += *c == '|';
        static __thread unsigned seed;
        if (!seed)
            seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
        int pick = (int)(rand_r(&seed) % (unsigned)choices);
        const char *start = found;
        for (int i = 0; i < pick; i++)
            start = strchr(start, '|') + 1;
        found = pool_strndup(run->r->pool, start, strcspn(start, "|"));
    }
    return found;
}

/* ---- int: ------------------------------------------------------------------ */

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static const char *internal_function(rewrite_run *run, int function, const char *key)
{
    char *copy = pool_strdup(run->r->pool, key);
    switch (function) {
    case INT_TOLOWER:
    case INT_TOUPPER:
        for (char *c = copy; *c; c++)
            *c = (char)(function == INT_TOLOWER ? tolower((unsigned char)*c) : toupper((unsigned char)*c));
        return copy;
    case INT_ESCAPE:
        return rewrite_escape_uri(run->r->pool, key);
    case INT_UNESCAPE: {
        char *out = copy;
        for (const char *c = key; *c; c++) {
            if (c[0] == '%' && hex_value(c[1]) >= 0 && hex_value(c[2]) >= 0) {
                *out++ = (char)(hex_value(c[1]) * 16 + hex_value(c[2]));
                c += 2;
            } else {
                *out++ = *c;
            }
        }
        *out = '\0';
        return copy;
    }
    default:
        return NULL;
    }
}

/* ---- prg: ------------------------------------------------------------------ */

static void start_program(const rewrite_map *map)
{
    rewrite_map_state *state = map->state;
    int input[2], output[2];
    if (pipe2(input, O_CLOEXEC) != 0)
        return;
    if (pipe2(output, O_CLOEXEC) != 0) {
        close(input[0]);
        close(input[1]);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(input[0], STDIN_FILENO);
        dup2(output[1], STDOUT_FILENO);
        close_range(3, ~0u, 0);  /* nothing of the server's: listeners, logs, other maps */
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        char *words[64];
        int count = 0;
        char *line = strdup(map->path);
        for (char *word = strtok(line, " \t"); word && count < 63; word = strtok(NULL, " \t"))
            words[count++] = word;
        words[count] = NULL;
        execv(words[0], words);
        _exit(127);
    }
    close(input[0]);
    close(output[1]);
    if (pid < 0) {
        log_error_number(LOG_LEVEL_ERROR, errno, "RewriteMap %s: cannot start %s", map->name, map->path);
        close(input[1]);
        close(output[0]);
        return;
    }
    state->pid = pid;
    state->to_program = input[1];
    state->from_program = output[0];
}

static void start_programs_of(const rewrite_conf *conf)
{
    if (!conf)
        return;
    for (const rewrite_map *map = conf->maps; map; map = map->next)
        if (map->kind == MAP_PRG && map->state->pid < 0)
            start_program(map);
}

void rewrite_map_start_programs(const rewrite_conf *conf)
{
    start_programs_of(conf);
}

static bool write_all(int fd, const char *data, size_t length)
{
    while (length) {
        ssize_t written = write(fd, data, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        data += written;
        length -= (size_t)written;
    }
    return true;
}

static const char *program_lookup(rewrite_run *run, const rewrite_map *map, const char *key)
{
    rewrite_map_state *state = map->state;
    if (strchr(key, '\n'))
        return NULL;  /* one key per line: a newline would desynchronise the program */
    char *answer = NULL;
    pthread_mutex_lock(&state->lock);
    if (state->to_program >= 0) {
        char *line = pool_printf(run->r->pool, "%s\n", key);
        if (write_all(state->to_program, line, strlen(line))) {
            size_t capacity = 256, length = 0;
            answer = pool_alloc(run->r->pool, capacity);
            for (;;) {
                char c;
                ssize_t got = read(state->from_program, &c, 1);
                if (got < 0 && errno == EINTR)
                    continue;
                if (got <= 0) {
                    answer = NULL;
                    break;
                }
                if (c == '\n')
                    break;
                if (length + 2 > capacity) {
                    char *bigger = pool_alloc(run->r->pool, capacity * 2);
                    memcpy(bigger, answer, length);
                    answer = bigger;
                    capacity *= 2;
                }
                answer[length++] = c;
            }
            if (answer)
                answer[length] = '\0';
        }
        if (!answer) {
            log_message(LOG_LEVEL_ERROR, "RewriteMap %s: the program %s stopped answering", map->name, map->path);
            close(state->to_program);
            close(state->from_program);
            state->to_program = state->from_program = -1;
        }
    }
    pthread_mutex_unlock(&state->lock);
    if (answer && (strcmp(answer, "NULL") == 0 || !*answer))
        return NULL;
    return answer;
}

const char *rewrite_map_lookup(rewrite_run *run, const char *name, const char *key)
{
    const rewrite_map *map = NULL;
    for (const rewrite_map *m = run->server ? run->server->maps : NULL; m && !map; m = m->next)
        if (strcmp(m->name, name) == 0)
            map = m;
    if (!map) {
        log_module_message(LOG_LEVEL_ERROR, "rewrite", "mod_rewrite: can't find rewritemap '%s'", name);
        return NULL;
    }
    switch (map->kind) {
    case MAP_TXT:
    case MAP_RND:
        return file_lookup(run, map, key);
    case MAP_INT:
        return internal_function(run, map->function, key);
    case MAP_PRG:
        return program_lookup(run, map, key);
    }
    return NULL;
}
