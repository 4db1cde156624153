/*
 * mime.h — file name extension to media type (Content-Type).
 *
 * Directives (mime_module):
 *   TypesConfig file     server only.  Without it, post_config uses
 *                        /etc/mime.types when readable, else conf/mime.types
 *                        under ServerRoot, and records the choice in
 *                        server->types_config.  An explicit file that cannot
 *                        be read is a configuration error.
 *   ForceType type|None  directory: every file here has this type.
 *   AddLanguage lang ext..., AddEncoding coding ext...   anywhere: the
 *                        Content-Language and Content-Encoding an extension
 *                        gives (mime_classify).
 *   DefaultLanguage lang anywhere: the language of files that have no
 *                        language extension.
 *   AddType type ext...  anywhere.  Extensions with or without the leading
 *                        dot, case-insensitive.  A section's AddType wins
 *                        over the enclosing ones, and a later AddType over an
 *                        earlier one in the same place (as in Apache).
 *   RemoveType ext...    anywhere.  The extensions have no type here and
 *                        below (neither AddType's nor TypesConfig's) until
 *                        an AddType gives them one again.
 *
 * Contract:
 *  - The table lives in server->pool and is read-only once post_config has
 *    run, so lookups need no lock.
 *  - Only the last extension of the file name counts ("a.tar.gz" -> gz); a
 *    leading dot does not start an extension (".profile" has none).
 *  - Types are returned as written in the file or directive: no charset is
 *    added to text types.
 */
#ifndef WEFT_MODULES_MIME_H
#define WEFT_MODULES_MIME_H

#include "../core/common.h"
#include "../core/module.h"
#include "../core/pool.h"
#include "../core/server.h"

extern const module mime_module;

/* The module's own configuration (module.h). */
typedef struct {
    char *types_config;              /* TypesConfig, or the file post_config found */
    struct mime_table *mime_types;   /* loaded by post_config */
} mime_server_config;

typedef struct {
    mime_addition *add_types;        /* AddType, searched before TypesConfig */
    char *force_type;                /* ForceType; NULL = none (or None) */
    mime_addition *add_languages;    /* AddLanguage: extension -> language tag */
    mime_addition *add_encodings;    /* AddEncoding: extension -> content coding */
    char *default_language;          /* DefaultLanguage: for files without a language extension */
} mime_dir_config;

/* What a file's name says about it, Apache's way: every extension counts
 * ("doc.html.en.gz": text/html, en, gzip), each looked up as a language
 * (AddLanguage), an encoding (AddEncoding) or a type (AddType, then
 * TypesConfig); an extension that is none of them is ignored, except that
 * the type comes from the last extension when no AddLanguage or AddEncoding
 * applies to the directory (weft's rule before them: "a.html.bak" has no
 * type).  One extension may be a language, an encoding and a type at once,
 * as in Apache ("x.gz" with AddEncoding gzip .gz: application/gzip, gzip).  ForceType replaces the type.  Strings are the
 * configuration's; languages holds up to MIME_MAX_LANGUAGES. */
#define MIME_MAX_LANGUAGES 4
typedef struct {
    const char *type;
    const char *encoding;
    const char *languages[MIME_MAX_LANGUAGES];
    int language_count;
} mime_info;

void mime_classify(const server_config *server, const dir_config *dir, const char *path, mime_info *out);
/* One extension (length bytes, no dot) into *out; false if it is none of
 * a language, an encoding or a type. */
bool mime_classify_extension(const server_config *server, const dir_config *dir, const char *extension,
                             size_t length, mime_info *out);
/* Does dir have AddLanguage or AddEncoding (so that mime_classify may
 * differ from mime_type_for_path)? */
bool mime_has_variants(const dir_config *dir);

typedef struct mime_table mime_table;

/* The media type for the file name at the end of path (AddType of dir
 * first, then server->mime_types); NULL if unknown or no extension.  dir
 * may be NULL. */
const char *mime_type_for_path(const server_config *server, const dir_config *dir,
                               const char *path);

/* The last extension of path's last segment, without the dot, or NULL;
 * *length receives its length (the extension ends the string). */
const char *mime_path_extension(const char *path, size_t *length);

/* --- the table itself, for post_config, listings and tests --- */

mime_table *mime_table_create(pool *p);
/* Maps extension (any case, no dot) to type; a later call for the same
 * extension replaces the earlier one.  Both strings are copied into the
 * table's pool. */
void mime_table_set(mime_table *table, const char *extension, const char *type);
/* Adds every "type ext ext ..." line of a mime.types file ('#' starts a
 * comment).  Returns WEFT_OK, or WEFT_ERROR with errno set. */
int mime_table_load(mime_table *table, const char *path);
/* extension: length bytes, any case, no dot.  NULL if unknown. */
const char *mime_table_lookup(const mime_table *table, const char *extension, size_t length);
size_t mime_table_count(const mime_table *table);

#endif
