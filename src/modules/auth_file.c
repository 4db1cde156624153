/*
 * auth_file.c — user and group files, parsed once per change (see
 * auth_file.h).
 */
#include "auth_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "password.h"

#define AUTH_FILE_MAX_BYTES (64 << 20)  /* a user file this large is a mistake */

typedef struct {
    const char *name;   /* user or group */
    const char *value;  /* hash, or the group's members separated by blanks */
    size_t line;        /* keeps the file's order among equal names */
} file_entry;

typedef struct loaded_file {
    struct loaded_file *next;
    char *path;
    bool groups;
    bool readable;        /* at the last look */
    int error;            /* errno of the last failure */
    time_t checked;       /* monotonic second of the last look */
    struct stat identity; /* what was read */
    uint64_t generation;
    char *text;           /* the contents, cut into the entries' strings */
    file_entry *entries;
    size_t count;
} loaded_file;

static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static loaded_file *files;
static uint64_t last_generation;

static time_t monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return now.tv_sec;
}

static bool same_identity(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
        && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
        && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int compare_entries(const void *a, const void *b)
{
    const file_entry *x = a, *y = b;
    int order = strcmp(x->name, y->name);
    if (order)
        return order;
    return x->line < y->line ? -1 : x->line > y->line;
}

static char *trim(char *start, char *end)
{
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return start;
}

/* Cuts text into entries (Apache's ap_getword with ':'). */
static file_entry *parse(loaded_file *file, char *text, size_t length, size_t *count)
{
    size_t lines = 1;
    for (size_t i = 0; i < length; i++)
        lines += text[i] == '\n';
    file_entry *entries = malloc(sizeof(*entries) * lines);
    if (!entries)
        return NULL;
    size_t n = 0, number = 0;
    for (char *line = text; line < text + length; number++) {
        char *newline = memchr(line, '\n', (size_t)(text + length - line));
        char *end = newline ? newline : text + length;
        char *content = trim(line, end);
        line = end + 1;
        if (!content[0] || content[0] == '#')
            continue;
        char *colon = strchr(content, ':');
        char *value = "";
        if (colon) {
            *colon = '\0';
            value = colon + 1;
            if (file->groups) {
                value += strspn(value, " \t");
            } else {
                char *next = strchr(value, ':');
                if (next)
                    *next = '\0';
                if (password_is_plain_text(value))
                    log_message(LOG_LEVEL_WARN, "AuthUserFile %s, line %zu: the password of user %s is not "
                                "a hash (plain text?): it never matches on Unix, as with Apache; make it "
                                "with htpasswd -B", file->path, number + 1, content);
            }
        }
        entries[n++] = (file_entry){ .name = content, .value = value, .line = number };
    }
    qsort(entries, n, sizeof(*entries), compare_entries);
    *count = n;
    return entries;
}

static int read_whole(const char *path, char **text, size_t *length, struct stat *identity)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int error = 0;
    if (fstat(fd, identity) != 0) {
        error = errno;
    } else if (!S_ISREG(identity->st_mode)) {
        error = EISDIR;
    } else if (identity->st_size > AUTH_FILE_MAX_BYTES) {
        error = EFBIG;
    } else {
        size_t size = (size_t)identity->st_size;
        char *buffer = malloc(size + 1);
        size_t done = 0;
        while (buffer && done < size) {
            ssize_t got = read(fd, buffer + done, size - done);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            done += (size_t)got;
        }
        if (!buffer) {
            error = ENOMEM;
        } else {
            buffer[done] = '\0';
            *text = buffer;
            *length = done;
        }
    }
    close(fd);
    return error;
}

/* Brings file up to date: a stat at most once a second, a new reading
 * when it changed.  Called with files_lock held. */
static void refresh(loaded_file *file)
{
    time_t now = monotonic_seconds();
    if (file->checked == now)
        return;
    file->checked = now;
    struct stat current;
    if (stat(file->path, &current) != 0) {
        file->readable = false;
        file->error = errno;
        return;
    }
    if (file->readable && file->text && same_identity(&current, &file->identity))
        return;
    char *text = NULL;
    size_t length = 0;
    int error = read_whole(file->path, &text, &length, &current);
    if (error) {
        file->readable = false;
        file->error = error;
        return;
    }
    size_t count = 0;
    file_entry *entries = parse(file, text, length, &count);
    if (!entries) {
        free(text);
        file->readable = false;
        file->error = ENOMEM;
        return;
    }
    free(file->entries);
    free(file->text);
    file->text = text;
    file->entries = entries;
    file->count = count;
    file->identity = current;
    file->readable = true;
    file->generation = ++last_generation;
}

static loaded_file *find_file(const char *path, bool groups)
{
    for (loaded_file *file = files; file; file = file->next)
        if (file->groups == groups && strcmp(file->path, path) == 0)
            return file;
    loaded_file *file = calloc(1, sizeof(*file));
    if (!file || !(file->path = strdup(path))) {
        free(file);
        return NULL;
    }
    file->groups = groups;
    file->next = files;
    files = file;
    return file;
}

/* The first entry named name, or the end. */
static size_t lower_bound(const loaded_file *file, const char *name)
{
    size_t low = 0, high = file->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (strcmp(file->entries[middle].name, name) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/* The file, current and readable, with files_lock held; NULL (lock
 * released, error logged) if not. */
static loaded_file *open_locked(const char *path, bool groups)
{
    pthread_mutex_lock(&files_lock);
    loaded_file *file = find_file(path, groups);
    if (file)
        refresh(file);
    if (file && file->readable)
        return file;
    int error = file ? file->error : ENOMEM;
    pthread_mutex_unlock(&files_lock);
    log_message(LOG_LEVEL_ERROR, "Could not open %s file: %s: %s", groups ? "group" : "password", path,
                strerror(error));
    return NULL;
}

int auth_file_user_hash(const char *path, const char *user, pool *p, const char **hash, uint64_t *generation)
{
    loaded_file *file = open_locked(path, false);
    if (!file)
        return WEFT_ERROR;
    size_t at = lower_bound(file, user);
    *hash = at < file->count && strcmp(file->entries[at].name, user) == 0 ? pool_strdup(p, file->entries[at].value)
                                                                          : NULL;
    *generation = file->generation;
    pthread_mutex_unlock(&files_lock);
    return WEFT_OK;
}

static bool word_listed(const char *list, const char *word)
{
    size_t length = strlen(word);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t");
        size_t span = strcspn(p, " \t");
        if (span == length && memcmp(p, word, length) == 0)
            return true;
        p += span;
    }
    return false;
}

int auth_file_user_in_groups(const char *path, const char *user, char *const *groups, bool *member)
{
    loaded_file *file = open_locked(path, true);
    if (!file)
        return WEFT_ERROR;
    *member = false;
    for (char *const *group = groups; *group && !*member; group++)
        for (size_t at = lower_bound(file, *group); at < file->count && !*member
                                                    && strcmp(file->entries[at].name, *group) == 0; at++)
            *member = word_listed(file->entries[at].value, user);
    pthread_mutex_unlock(&files_lock);
    return WEFT_OK;
}
