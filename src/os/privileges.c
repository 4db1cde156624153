/*
 * privileges.c — User, Group and ChrootDir: resolving names, and switching a
 * child to them (reference section 5).  The control process resolves the
 * names and the group list before it forks; the child's order is setgid,
 * setgroups, chroot, setuid: once the uid is no longer 0 neither the group
 * list nor the root directory can be changed any more, and nothing reads
 * /etc/passwd or /etc/group after the chroot hides them.
 */
#include "os.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../core/log.h"

#define NSS_BUFFER_SIZE 16384

/* "#123" -> 123; false if the text is not '#' followed by digits only. */
static bool parse_numeric_id(const char *name, unsigned long *id)
{
    if (name[0] != '#' || name[1] == '\0')
        return false;
    char *end;
    errno = 0;
    unsigned long value = strtoul(name + 1, &end, 10);
    if (*end != '\0' || errno != 0 || name[1] == '-' || value > (unsigned long)UINT32_MAX - 1)
        return false;
    *id = value;
    return true;
}

int os_resolve_user(const char *name, uid_t *uid, gid_t *gid, char *error, size_t error_size)
{
    char buffer[NSS_BUFFER_SIZE];
    struct passwd entry, *found = NULL;
    unsigned long id;
    int rc;
    if (parse_numeric_id(name, &id)) {
        rc = getpwuid_r((uid_t)id, &entry, buffer, sizeof buffer, &found);
        if (!found) {
            /* A numeric uid need not exist in /etc/passwd; its group is
             * then the one with the same number, as Apache's #-1 default. */
            *uid = (uid_t)id;
            *gid = (gid_t)id;
            return WEFT_OK;
        }
    } else {
        rc = getpwnam_r(name, &entry, buffer, sizeof buffer, &found);
    }
    if (!found) {
        snprintf(error, error_size, "bad user name %s: %s", name,
                 rc ? strerror(rc) : "no such user");
        return WEFT_ERROR;
    }
    *uid = entry.pw_uid;
    *gid = entry.pw_gid;
    return WEFT_OK;
}

int os_resolve_group(const char *name, gid_t *gid, char *error, size_t error_size)
{
    unsigned long id;
    if (parse_numeric_id(name, &id)) {
        *gid = (gid_t)id;
        return WEFT_OK;
    }
    char buffer[NSS_BUFFER_SIZE];
    struct group entry, *found = NULL;
    int rc = getgrnam_r(name, &entry, buffer, sizeof buffer, &found);
    if (!found) {
        snprintf(error, error_size, "bad group name %s: %s", name,
                 rc ? strerror(rc) : "no such group");
        return WEFT_ERROR;
    }
    *gid = entry.gr_gid;
    return WEFT_OK;
}

void os_group_name(gid_t gid, char *out, size_t size)
{
    char buffer[NSS_BUFFER_SIZE];
    struct group entry, *found = NULL;
    getgrgid_r(gid, &entry, buffer, sizeof buffer, &found);
    if (found)
        snprintf(out, size, "%s", entry.gr_name);
    else
        snprintf(out, size, "#%lu", (unsigned long)gid);
}

/* The login name for initgroups: the passwd entry of uid, if there is one. */
static bool user_name_of(uid_t uid, char *out, size_t size)
{
    char buffer[NSS_BUFFER_SIZE];
    struct passwd entry, *found = NULL;
    getpwuid_r(uid, &entry, buffer, sizeof buffer, &found);
    if (!found)
        return false;
    snprintf(out, size, "%s", entry.pw_name);
    return true;
}

/* ChrootDir, as Apache's mod_unixd does it: the child's root becomes the
 * directory and its working directory that root, so that no descriptor or
 * relative path leads back out. */
static int enter_chroot(const char *directory)
{
    if (chroot(directory) != 0) {
        log_error_number(LOG_LEVEL_ALERT, errno, "ChrootDir: cannot chroot to %s", directory);
        return WEFT_ERROR;
    }
    if (chdir("/") != 0) {
        log_error_number(LOG_LEVEL_ALERT, errno, "ChrootDir: cannot chdir to / after chroot to %s",
                         directory);
        return WEFT_ERROR;
    }
    return WEFT_OK;
}

/* The identity a child switches to, resolved by the control process before
 * it forks (os_prepare_privileges).  Resolving in the child instead would
 * run the name service there: initgroups() reads /etc/group and dlopen()s
 * NSS modules (libnss_systemd), which costs every child about 100 KiB of
 * private memory in loader tables, relocated pages and stdio buffers. */
typedef struct {
    const server_config *server;  /* the configuration it was resolved for; NULL = none */
    int generation;               /* and its generation: a reload may reuse the address */
    bool resolved;                /* false: resolving failed, the child reports why */
    uid_t uid;
    gid_t gid;
    gid_t *groups;                /* supplementary groups, the primary one included */
    int group_count;
} prepared_identity;

static prepared_identity prepared;

/* Resolves User, Group and the supplementary groups of server into *out;
 * logs nothing, fills error. */
static int resolve_identity(const server_config *server, prepared_identity *out, char *error, size_t error_size)
{
    const char *user = server->user ? server->user : "nobody";
    if (os_resolve_user(user, &out->uid, &out->gid, error, error_size) != WEFT_OK)
        return WEFT_ERROR;
    if (out->uid == 0) {
        snprintf(error, error_size, "User %s is root; children would serve requests as root", user);
        return WEFT_ERROR;
    }
    if (server->group && os_resolve_group(server->group, &out->gid, error, error_size) != WEFT_OK)
        return WEFT_ERROR;
    /* initgroups(login, gid) without the child doing it: the login's groups
     * plus gid.  A uid with no passwd entry has gid alone, as before. */
    char login[256];
    int count = 1;
    gid_t *groups = malloc(sizeof *groups);
    if (!groups) {
        snprintf(error, error_size, "out of memory");
        return WEFT_ERROR;
    }
    groups[0] = out->gid;
    if (user_name_of(out->uid, login, sizeof login)) {
        int wanted = 32;
        for (int attempt = 0; attempt < 8; attempt++) {
            gid_t *bigger = realloc(groups, (size_t)wanted * sizeof *groups);
            if (!bigger)
                break;
            groups = bigger;
            count = wanted;
            if (getgrouplist(login, out->gid, groups, &count) >= 0)
                break;
            wanted = count > wanted ? count : wanted * 2;
            count = 1;
            groups[0] = out->gid;
        }
    }
    free(out->groups);
    out->groups = groups;
    out->group_count = count;
    return WEFT_OK;
}

void os_prepare_privileges(const server_config *server, int generation)
{
    if (geteuid() != 0 || (prepared.server == server && prepared.generation == generation))
        return;
    char error[256];
    prepared.server = server;
    prepared.generation = generation;
    prepared.resolved = resolve_identity(server, &prepared, error, sizeof error) == WEFT_OK;
}

int os_drop_privileges(const server_config *server)
{
    if (geteuid() != 0) {
        /* Not root: keep running as the invoking user.  A chroot cannot be
         * made, and serving outside the jail the administrator asked for
         * would be worse than not serving (Apache refuses too). */
        if (server->chroot_dir) {
            log_message(LOG_LEVEL_ALERT, "ChrootDir %s: cannot chroot when not started as root",
                        server->chroot_dir);
            return WEFT_ERROR;
        }
        return WEFT_OK;
    }

    /* Normally the control process resolved it before the fork; without
     * that (or when it failed) the child resolves it and says why not. */
    prepared_identity identity = prepared;
    char error[256];
    if (identity.server != server || !identity.resolved) {
        identity = (prepared_identity){ .server = server };
        if (resolve_identity(server, &identity, error, sizeof error) != WEFT_OK) {
            log_message(LOG_LEVEL_ALERT, "cannot drop privileges: %s", error);
            return WEFT_ERROR;
        }
    }
    const char *user = server->user ? server->user : "nobody";
    uid_t uid = identity.uid;
    gid_t gid = identity.gid;
    if (setgid(gid) != 0) {
        log_error_number(LOG_LEVEL_ALERT, errno, "setgid: unable to set group id to Group %lu",
                         (unsigned long)gid);
        return WEFT_ERROR;
    }
    if (setgroups((size_t)identity.group_count, identity.groups) != 0) {
        log_error_number(LOG_LEVEL_ALERT, errno, "initgroups: unable to set groups for User %s and "
                                                 "Group %lu", user, (unsigned long)gid);
        return WEFT_ERROR;
    }
    if (server->chroot_dir && enter_chroot(server->chroot_dir) != WEFT_OK)
        return WEFT_ERROR;
    if (setuid(uid) != 0) {
        log_error_number(LOG_LEVEL_ALERT, errno, "setuid: unable to change to uid %lu",
                         (unsigned long)uid);
        return WEFT_ERROR;
    }
    if (server->core_dump_directory && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
        log_error_number(LOG_LEVEL_WARN, errno, "set dumpable failed - this child will not coredump "
                                                "after software errors");

    /* Trust, but verify: every id is the target and root cannot come back. */
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid ||
        setuid(0) == 0) {
        log_message(LOG_LEVEL_ALERT, "cannot drop privileges: still uid %lu/%lu gid %lu/%lu after "
                                     "switching to uid %lu gid %lu",
                    (unsigned long)getuid(), (unsigned long)geteuid(), (unsigned long)getgid(),
                    (unsigned long)getegid(), (unsigned long)uid, (unsigned long)gid);
        return WEFT_ERROR;
    }
    return WEFT_OK;
}
