/*
 * autoindex.h — HTML listings of directories that have no DirectoryIndex
 * file (Apache's mod_autoindex, module "autoindex").
 *
 * The static handler calls autoindex_serve_directory() when a directory
 * has no index file: the listing is built from the descriptor static.c
 * opened under the symbolic-link rules, so the directory checked is the
 * directory listed.
 *
 * Directives (autoindex_module):
 *   IndexIgnore wildcard ...   anywhere; names matching any of them
 *                              (fnmatch, '*' also matches a leading dot)
 *                              are left out.  Lines add up, and a section
 *                              adds to what encloses it, as in Apache.
 *
 * The listing (Options Indexes must be on, else 403 as in Apache):
 *  - a table of name, last modification (UTC, "YYYY-MM-DD HH:MM") and size
 *    in bytes ("-" for directories), sorted by name (byte order) unless the
 *    query asks otherwise the way Apache's does: C=N|M|S and O=A|D,
 *    separated by ';' or '&';
 *  - a "Parent Directory" link (the parent's absolute path) except at "/";
 *  - every regular file and directory, dot files included, except those
 *    matching IndexIgnore; without FollowSymLinks symbolic links are left
 *    out, with it they are listed as what they point to (dangling ones are
 *    left out); other kinds of files (FIFOs, sockets) are never listed;
 *  - names are HTML-escaped in the text and percent-encoded, then
 *    HTML-escaped, in the links (a name with ':' gets "./" in front, so it
 *    cannot be read as a URL scheme); directories end with '/';
 *  - Content-Type: text/html;charset=UTF-8, no validators.
 */
#ifndef WEFT_MODULES_AUTOINDEX_H
#define WEFT_MODULES_AUTOINDEX_H

#include "../http/request.h"

/* The listing of the directory open at directory_fd (not taken over) as
 * r's response (WEFT_OK), or 403 when Options Indexes is off, or
 * WEFT_ERROR when the directory cannot be read. */
int autoindex_serve_directory(request *r, int directory_fd, bool follow_symlinks);

#endif
